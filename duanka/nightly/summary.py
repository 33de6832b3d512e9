"""The night's accounting, read back from the warehouse.

Figures come from `ingest_files` rows of the night, not from counters kept in
the process: a run killed half-way and rerun reports exactly what an
uninterrupted run would have, and `rows_read = rows_loaded +
rows_quarantined + rows_duplicate` holds by construction for every file.
"""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from duanka.nightly.inbox import UNRECOGNISED, InboxFile


def night_summary(con: duckdb.DuckDBPyConnection, as_of: date, files: list[InboxFile]) -> dict:
    counts = con.execute(
        """SELECT
             count(*) FILTER (WHERE status = 'loaded'),
             count(*) FILTER (WHERE status = 'skipped'),
             count(*) FILTER (WHERE status = 'rejected'),
             coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
             coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0)
           FROM ingest_files WHERE as_of = ?""", [as_of]).fetchone()
    keys = ("files_loaded", "files_skipped", "files_rejected", "rows_read", "rows_loaded",
            "rows_quarantined", "rows_duplicate")
    summary: dict = {k: int(v) for k, v in zip(keys, counts, strict=True)}
    per_file = con.execute(
        """SELECT file, kind, status, reason, rows_read, rows_loaded, rows_quarantined, rows_duplicate
           FROM ingest_files WHERE as_of = ? ORDER BY file""", [as_of]).fetchall()
    summary["files"] = [
        dict(zip(("file", "kind", "status", "reason", "rows_read", "rows_loaded", "rows_quarantined",
                  "rows_duplicate"), row, strict=True))
        for row in per_file
    ]
    summary["files_rejected_reasons"] = [
        {"file": f["file"], "reason": f["reason"]} for f in summary["files"] if f["status"] == "rejected"]
    summary["files_unrecognised"] = sorted(f.name for f in files if f.action == UNRECOGNISED)
    return summary


def night_quarantine(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The rows quarantined for this night, for `quarantine.csv`."""
    table = con.sql(
        """SELECT file, "row", coalesce(lead_id, '') AS lead_id, reasons, coalesce(raw, '') AS raw
           FROM quarantine WHERE as_of = ? ORDER BY file, "row" """, params=[as_of]).to_arrow_table()
    return pl.from_arrow(table)
