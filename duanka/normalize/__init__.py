"""Normalisation of delivered values as vectorised Polars expressions.

`text` (full-width, blanks, lists, code words), `identifiers` (ID numbers,
cards, phones, SIM identifiers), `dates`, `numbers`; `checkdigits` does the
check-digit arithmetic on byte matrices, `distinct` runs a column's
normalisation once per distinct value. Each check returns the
normalised value and a Chinese problem text, so the caller can collect every
reason of a row in one pass over the frame.
"""
