"""The values of a quarantined row as delivered, for `quarantine.csv` and the issuer.

A clerk fixes a quarantined row from what the issuer sent, not from what duanka
made of it, so each quarantine row carries its raw values as a JSON object
(canonical column names, text as read). Only a few rows in a thousand are
quarantined, so the JSON is built only for them (measured at 1M leads: JSON for
every row cost ~1.2 s CPU and a third of the staging files' size):

- rows that normalisation already refused keep their JSON in the staging file
  (`raw_values`), so the loader has it at hand;
- rows that only the GX suites refuse are rare (the suites re-check what
  normalisation checks), and their values are read again from the delivered
  file (`reread_raw_values`), checked to be the same bytes by SHA-256.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from duanka.contract_schema import Contract
from duanka.ingest.read import ROW, FileRefused, read_delivery


def _json(frame: pl.DataFrame) -> pl.Series:
    columns = [c for c in frame.columns if not c.startswith("_")]
    return frame.select(pl.struct(columns).struct.json_encode()).to_series()


def raw_values(frame: pl.DataFrame, keep: pl.Series) -> pl.Series:
    """Per row of a read delivery: its raw values as JSON where `keep` is true, null elsewhere."""
    keep = keep.fill_null(False)
    values = pl.Series("_raw", [None] * frame.height, dtype=pl.String)
    rows = keep.arg_true()
    if rows.len() == 0:
        return values
    return values.scatter(rows, _json(frame[rows]))


def reread_raw_values(path: Path, kind: str, contract: Contract, sha256: str, rows: list[int]) -> dict[int, str]:
    """Raw values (JSON) of the data rows `rows` (1-based, as `_row`) read again from the delivered file.

    Empty when the file is gone or no longer has the bytes that were loaded: the row is
    still quarantined with its reasons, only without the values as delivered.
    """
    if not rows:
        return {}
    try:
        if hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha256:
            return {}
        frame = read_delivery(Path(path), kind, contract).frame
    except (OSError, FileRefused):
        return {}
    wanted = frame.filter(pl.col(ROW).is_in(rows))
    return dict(zip(wanted[ROW].to_list(), _json(wanted).to_list(), strict=True))
