"""Two loads at once, each on its own cursor of one warehouse, end where loading one after the other ends.

Why: the ingest lanes (duanka/nightly/ingest_lanes.py) load each lead kind on its own thread and cursor,
one transaction per file. The lead tables differ per lane, but every file also appends to the
bookkeeping tables (ingest_files, quarantine, validation_results), and the loader keeps TEMP tables
(`contested`, `inc`, ...) that must not be seen across cursors. Files are built in code from a seed,
with re-issues across files, versions and exact repeats within a file, so the version logic runs too.
"""
from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from duanka.ingest.load import load_file
from duanka.warehouse import LEAD_TABLES, connect

AS_OF = date(2026, 11, 3)
POLARS_TYPE = {"VARCHAR": pl.String, "VARCHAR[]": pl.List(pl.String), "TIMESTAMP": pl.Datetime("us"),
               "DATE": pl.Date, "DOUBLE": pl.Float64, "BIGINT": pl.Int64}
# Tables compared between the two ways of loading (ingest_files without its wall-clock column).
TABLES = {"bank_leads": "*", "bank_leads_history": "*", "sim_leads": "*", "sim_leads_history": "*",
          "cases": "*", "cases_history": "*", "quarantine": "*", "validation_results": "*",
          "ingest_files": "* EXCLUDE (loaded_at)"}


def _value(rng: random.Random, column: str, sql_type: str) -> object:
    if sql_type == "VARCHAR":
        return f"{column}-{rng.randrange(40)}"
    if sql_type == "VARCHAR[]":
        return [f"{column}-{rng.randrange(40)}" for _ in range(rng.randrange(3))]
    if sql_type == "TIMESTAMP":
        return datetime(2026, 10, 1) + timedelta(minutes=rng.randrange(40_000))
    if sql_type == "DATE":
        return date(2025, 1, 1) + timedelta(days=rng.randrange(600))
    if sql_type == "DOUBLE":
        return float(rng.randrange(100_000))
    return rng.randrange(1_000)


def _file(con, kind: str, rng: random.Random, rows: int, pool: int, earlier: list[dict]) -> pl.DataFrame:
    """One file's valid rows: keys drawn from a pool smaller than the rows (re-issues and versions),
    some rows exact repeats of an earlier row of this file or of an earlier file."""
    table, _, key = LEAD_TABLES[kind]
    columns = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {table}").fetchall() if not c.startswith("_")]
    out: list[dict] = []
    for i in range(1, rows + 1):
        roll = rng.random()
        if roll < 0.05 and out:
            row = dict(rng.choice(out))
        elif roll < 0.10 and earlier:
            row = dict(rng.choice(earlier))
        else:
            row = {c: _value(rng, c, t) for c, t in columns}
            row.update({k: f"{k}-{rng.randrange(4 if k == 'issuer' else pool)}" for k in key})
        row.update(_row=i, _extra=None, _reasons=[])
        out.append(row)
    earlier.extend(out)
    schema = {c: POLARS_TYPE[t] for c, t in columns} | {"_row": pl.Int32, "_extra": pl.String,
                                                         "_reasons": pl.List(pl.String)}
    return pl.DataFrame(out, schema=schema)


def _quarantine(name: str, rows: int) -> pl.DataFrame:
    return pl.DataFrame({"row": [rows + 1], "lead_id": [f"{name}-bad"], "reasons": ["lead_id(线索编号): 缺失"],
                         "raw": ["{}"]}, schema={"row": pl.Int32, "lead_id": pl.String, "reasons": pl.String,
                                                 "raw": pl.String})


def _files(seed: int) -> dict[str, list[tuple[str, str, pl.DataFrame]]]:
    """Per lane, its files in order: bank on one lane; sim and case, alternating, on the other."""
    rng = random.Random(seed)
    con = connect()
    earlier: dict[str, list[dict]] = {"bank": [], "sim": [], "case": []}
    lanes: dict[str, list[tuple[str, str, pl.DataFrame]]] = {"bank": [], "sim+case": []}
    for i in range(1, 5):
        lanes["bank"].append(("bank", f"bank_{i}.csv", _file(con, "bank", rng, 1500, 2500, earlier["bank"])))
        other = "sim" if i % 2 else "case"
        lanes["sim+case"].append((other, f"{other}_{i}.csv", _file(con, other, rng, 1500, 2000, earlier[other])))
    con.close()
    return lanes


def _load(cursor, kind: str, name: str, frame: pl.DataFrame) -> None:
    def record_check(c) -> None:
        c.execute("INSERT INTO validation_results VALUES (?, ?, ?, ?, 'G-1', true, 'row', NULL, 0, NULL)",
                  [AS_OF, name, name, kind])

    load_file(cursor, kind=kind, file_name=name, sha256=name, as_of=AS_OF, rows=frame,
              quarantine=_quarantine(name, frame.height), also=record_check)


def _snapshot(con) -> dict[str, list[str]]:
    return {t: sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall())) for t, cols in TABLES.items()}


@pytest.fixture(scope="module")
def lanes():
    return _files(seed=29)


def test_two_cursors_loading_at_once_equal_one_after_the_other(lanes, tmp_path: Path) -> None:
    sequential = connect(tmp_path / "sequential.duckdb")
    for files in lanes.values():
        for kind, name, frame in files:
            _load(sequential, kind, name, frame)

    together = connect(tmp_path / "together.duckdb")
    # Each step starts both lanes' next file at the same moment, so their transactions overlap.
    step = threading.Barrier(len(lanes), timeout=60)
    errors: list[BaseException] = []

    def lane(files: list[tuple[str, str, pl.DataFrame]], cursor) -> None:
        try:
            for kind, name, frame in files:
                step.wait()
                _load(cursor, kind, name, frame)
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            errors.append(exc)
            step.abort()
        finally:
            cursor.close()

    threads = [threading.Thread(target=lane, args=(files, together.cursor())) for files in lanes.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    expected, got = _snapshot(sequential), _snapshot(together)
    for table in TABLES:
        assert got[table] == expected[table], table
    # The data did exercise every path: versions to history, duplicates, quarantine, four files a lane.
    counts = dict(sequential.execute("SELECT kind, sum(rows_duplicate) FROM ingest_files GROUP BY kind").fetchall())
    assert min(counts.values()) > 0
    for table in ("bank_leads_history", "sim_leads_history", "cases_history"):
        assert len(expected[table]) > 0, table
    assert len(expected["ingest_files"]) == 8 and len(expected["quarantine"]) == 8


def test_each_lane_keeps_its_temp_tables_to_itself(lanes, tmp_path: Path) -> None:
    """A lane's `contested`/`inc` never reach the other cursor: after both loads neither sees any."""
    con = connect(tmp_path / "w.duckdb")
    a, b = con.cursor(), con.cursor()
    kind_a, name_a, frame_a = lanes["bank"][0]
    kind_b, name_b, frame_b = lanes["sim+case"][0]
    a.execute("CREATE TEMP TABLE contested AS SELECT 1 AS marker")  # a stray table of the same name on `a`
    _load(b, kind_b, name_b, frame_b)
    assert a.execute("SELECT * FROM contested").fetchall() == [(1,)]
    a.execute("DROP TABLE contested")
    _load(a, kind_a, name_a, frame_a)
    for cursor in (a, b, con):
        temps = {r[0] for r in cursor.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert not temps & {"contested", "inc", "inc_flag", "inc_rowids"}
