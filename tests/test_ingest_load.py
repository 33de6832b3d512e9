"""Loading a checked file: duplicates counted once, re-issues versioned, one transaction per file."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from duanka.ingest.load import load_file
from duanka.warehouse import connect

EMPTY_Q = pl.DataFrame(schema={"row": pl.Int32, "lead_id": pl.String, "reasons": pl.String, "raw": pl.String})


def _case(case_id: str, loss: float, row: int, reported: datetime = datetime(2026, 11, 1)) -> dict:
    return {"case_id": case_id, "reported_at": reported, "region": "370102", "fraud_type": "刷单返利", "loss": loss,
                "accounts": ["6222020200112233445"], "phones": None, "_row": row, "_extra": None, "_reasons": []}


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"_reasons": pl.List(pl.String), "phones": pl.List(pl.String),
                                                "_row": pl.Int32, "_extra": pl.String})


def _load(con, name: str, rows: list[dict], as_of: date, quarantine: pl.DataFrame = EMPTY_Q):
    return load_file(con, kind="case", file_name=name, sha256=name, as_of=as_of, rows=_frame(rows),
                     quarantine=quarantine)


def test_duplicate_rows_in_a_file_count_once() -> None:
    con = connect()
    stats = _load(con, "case_1.csv", [_case("K1", 10, 1), _case("K1", 10, 2), _case("K2", 5, 3)], date(2026, 11, 3))
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicate) == (3, 2, 1)
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 2


def test_redelivered_unchanged_row_is_a_duplicate_not_a_version() -> None:
    con = connect()
    _load(con, "case_1.csv", [_case("K1", 10, 1)], date(2026, 11, 3))
    stats = _load(con, "case_2.csv", [_case("K1", 10, 1)], date(2026, 11, 4))
    assert (stats.rows_loaded, stats.rows_duplicate) == (0, 1)
    assert con.execute("SELECT count(*) FROM cases_history").fetchone()[0] == 0
    assert con.execute("SELECT _file FROM cases").fetchone()[0] == "case_1.csv"


def test_reissue_replaces_current_and_keeps_history() -> None:
    con = connect()
    _load(con, "case_1.csv", [_case("K1", 10, 1)], date(2026, 11, 3))
    stats = _load(con, "case_2.csv", [_case("K1", 99, 1, datetime(2026, 11, 2))], date(2026, 11, 4))
    assert stats.rows_loaded == 1
    assert con.execute("SELECT loss FROM cases").fetchall() == [(99.0,)]
    assert con.execute("SELECT loss, _replaced_as_of FROM cases_history").fetchall() == [(10.0, date(2026, 11, 4))]


def test_late_older_version_goes_to_history_only() -> None:
    con = connect()
    _load(con, "case_1.csv", [_case("K1", 99, 1, datetime(2026, 11, 2))], date(2026, 11, 3))
    _load(con, "case_2.csv", [_case("K1", 10, 1, datetime(2026, 10, 1))], date(2026, 11, 4))
    assert con.execute("SELECT loss FROM cases").fetchall() == [(99.0,)]
    assert con.execute("SELECT loss FROM cases_history").fetchall() == [(10.0,)]


def test_quarantine_and_file_record_are_written_with_the_rows() -> None:
    con = connect()
    q = pl.DataFrame({"row": [2], "lead_id": ["K9"], "reasons": ["loss(损失金额): 不能为负"], "raw": ["{}"]},
                     schema=EMPTY_Q.schema)
    stats = _load(con, "case_1.csv", [_case("K1", 10, 1)], date(2026, 11, 3), q)
    assert (stats.rows_read, stats.rows_loaded, stats.rows_quarantined) == (2, 1, 1)
    assert con.execute('SELECT file, "row", lead_id FROM quarantine').fetchall() == [("case_1.csv", 2, "K9")]
    assert con.execute("SELECT status, rows_read FROM ingest_files").fetchall() == [("loaded", 2)]


def test_a_failure_mid_file_leaves_nothing_behind() -> None:
    con = connect()
    bad_q = pl.DataFrame({"row": ["not a number"], "lead_id": ["x"], "reasons": ["r"], "raw": ["{}"]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        _load(con, "case_1.csv", [_case("K1", 10, 1)], date(2026, 11, 3), bad_q)
    for table in ("cases", "quarantine", "ingest_files"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_the_key_guard_finds_a_key_current_twice() -> None:
    from duanka.ingest.load import sql_repeated_keys

    con = connect()
    _load(con, "case_1.csv", [_case("K1", 10, 1), _case("K2", 5, 2)], date(2026, 11, 3))
    con.execute("CREATE TEMP TABLE inc AS SELECT * FROM cases")
    assert con.execute(sql_repeated_keys("cases", ("case_id",))).fetchall() == []
    con.execute("INSERT INTO cases SELECT * FROM cases WHERE case_id = 'K2'")
    assert con.execute(sql_repeated_keys("cases", ("case_id",))).fetchall() == [("K2",)]
