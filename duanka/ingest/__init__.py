"""Ingest: read delivered files (`read`), normalise and check them row by row (`clean`).

`load` (written separately) puts clean rows into the warehouse and the rest in
quarantine; validation with Great Expectations sits between them.
"""
