"""The run's own reports: `runs/<as_of>/summary.json` and `quarantine.csv` (contract §4).

quarantine.csv goes back to the issuer for correction, so it is written for a
spreadsheet: UTF-8 with BOM (Excel on Chinese Windows otherwise guesses GBK),
one row per quarantined row, and the row's raw values spread into columns named
as delivered, so the clerk sees the offending value beside its reason.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl

from duanka.publish.files import write_atomic

FIXED = ("file", "row", "lead_id", "reasons")
RAW_CLASH_PREFIX = "原始_"


def summary_bytes(summary: dict) -> bytes:
    """summary.json as UTF-8, Chinese kept readable, dates and paths as strings."""
    return (json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def _raw_values(raw: object) -> dict[str, str]:
    """The row's raw values as {column: text}; a raw that is not a JSON object is kept whole under `raw`."""
    if raw is None or raw == "":
        return {}
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {"raw": str(raw)}
    if not isinstance(data, dict):
        return {"raw": str(raw)}
    out = {}
    for key, value in data.items():
        name = f"{RAW_CLASH_PREFIX}{key}" if key in FIXED else str(key)
        out[name] = "" if value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return out


def quarantine_bytes(quarantine: pl.DataFrame) -> bytes:
    """quarantine.csv: header `file,row,lead_id,reasons` then the raw columns in first-seen order."""
    records = quarantine.to_dicts() if quarantine.height else []
    raws = [_raw_values(r.get("raw")) for r in records]
    extra: dict[str, None] = {}
    for raw in raws:
        extra.update(dict.fromkeys(raw))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIXED, *extra])
    for record, raw in zip(records, raws):
        fixed = ["" if record.get(col) is None else str(record.get(col)) for col in FIXED]
        writer.writerow([*fixed, *(raw.get(col, "") for col in extra)])
    return buffer.getvalue().encode("utf-8-sig")


def write_run_reports(runs_day: Path, summary: dict, quarantine: pl.DataFrame) -> None:
    """Write both files atomically; other files in the folder (run.log, validation/) are left alone."""
    write_atomic(runs_day / "summary.json", summary_bytes(summary))
    write_atomic(runs_day / "quarantine.csv", quarantine_bytes(quarantine))
