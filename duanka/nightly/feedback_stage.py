"""Apply `feedback_*` files from units to the casework store, at the start of a night.

Rows that cannot be applied — unknown packet, a step backwards, a
verification without its outcome — are quarantined with the reason, like bad
lead rows. Each applied row is an event whose source names the file's hash
and row, so a night killed half-way and rerun never applies a row twice.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import date

import duckdb
import polars as pl

from duanka import casework
from duanka.contract_schema import Contract
from duanka.ingest.clean import clean
from duanka.ingest.load import FileLoadStats, record_file, record_quarantine
from duanka.ingest.read import FileRefused, read_delivery
from duanka.nightly.inbox import InboxFile

_QUARANTINE_SCHEMA = {"row": pl.Int32, "lead_id": pl.String, "reasons": pl.String, "raw": pl.String}


def _transition(row: dict, source: str) -> casework.Transition:
    at = row["reported_at"]
    return casework.Transition(
        packet_id=row["packet_id"], stage=row["stage"], actor=row["officer"],
        at=at.isoformat(sep=" ") if hasattr(at, "isoformat") else str(at),
        outcome=row.get("outcome"), note=row.get("note"),
        figures=tuple((f, row.get(f)) for f in casework.FIGURES), source=source)


def apply_feedback_file(con: duckdb.DuckDBPyConnection, store: sqlite3.Connection, f: InboxFile,
                        contract: Contract, as_of: date) -> tuple[FileLoadStats, pl.DataFrame] | str:
    """Apply one file; return its stats, or the refusal reason."""
    try:
        raw = read_delivery(f.path, "feedback", contract)
        frame = clean(raw, as_of, contract)
    except FileRefused as exc:
        return exc.reason
    raws = {r["_row"]: r for r in raw.frame.to_dicts()}
    quarantine: list[dict] = []
    applied = 0
    already = {s for (s,) in store.execute(
        "SELECT source FROM events WHERE source LIKE ?", (f"feedback:{f.sha256}:%",)).fetchall()}
    for row in frame.sort("reported_at", "_row", nulls_last=True).to_dicts():
        source = f"feedback:{f.sha256}:{row['_row']}"
        raw_row = {k: v for k, v in raws.get(row["_row"], {}).items() if not k.startswith("_")}
        reasons = list(row["_reasons"] or [])
        if not reasons and source in already:
            applied += 1
            continue
        if not reasons:
            try:
                casework.apply(store, _transition(row, source))
                applied += 1
                continue
            except casework.TransitionRefused as exc:
                reasons.append(f"stage(环节): {exc}")
        quarantine.append({"row": row["_row"], "lead_id": raw_row.get("packet_id") or "",
                           "reasons": "；".join(reasons), "raw": json.dumps(raw_row, ensure_ascii=False)})
    q = pl.DataFrame(quarantine, schema=_QUARANTINE_SCHEMA)
    return FileLoadStats(rows_read=frame.height, rows_loaded=applied, rows_quarantined=q.height, rows_duplicate=0), q


def apply_feedback_files(con: duckdb.DuckDBPyConnection, store: sqlite3.Connection, files: list[InboxFile],
                         contract: Contract, as_of: date) -> dict:
    totals = {"applied": 0, "quarantined": 0, "rejected": 0}
    for f in files:
        result = apply_feedback_file(con, store, f, contract, as_of)
        con.execute("BEGIN TRANSACTION")
        if isinstance(result, str):
            record_file(con, sha256=f.sha256, file_name=f.name, kind="feedback", status="rejected",
                        reason=result, as_of=as_of)
            totals["rejected"] += 1
        else:
            stats, q = result
            record_quarantine(con, as_of=as_of, file_name=f.name, sha256=f.sha256, kind="feedback", quarantine=q)
            record_file(con, sha256=f.sha256, file_name=f.name, kind="feedback", status="loaded", reason=None,
                        as_of=as_of, stats=stats)
            totals["applied"] += stats.rows_loaded
            totals["quarantined"] += stats.rows_quarantined
        con.execute("COMMIT")
    return totals
