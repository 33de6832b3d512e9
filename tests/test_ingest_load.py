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


# One file mixing every path of the loader: keys new and single go straight in, the others through versioning.
MIXED_FIRST = [_case("OLD_SAME", 1, 1), _case("OLD_NEWER", 2, 2), _case("OLD_LATE", 3, 3, datetime(2026, 11, 2))]
MIXED_SECOND = [
    _case("NEW", 10, 1),
    _case("OLD_SAME", 1, 2),
    _case("OLD_NEWER", 20, 3, datetime(2026, 11, 2)),
    _case("OLD_LATE", 30, 4, datetime(2026, 10, 1)),
    _case("TWICE_SAME", 40, 5), _case("TWICE_SAME", 40, 6),
    _case("TWICE_OTHER", 50, 7), _case("TWICE_OTHER", 51, 8, datetime(2026, 11, 2)),
]
MIXED_EXPECTED = [
    # (description, key, current loss and file, history losses)
    ("a new key seen once is current as delivered", "NEW", (10.0, "case_2.csv"), []),
    ("an unchanged re-delivery stays as first loaded", "OLD_SAME", (1.0, "case_1.csv"), []),
    ("a newer version replaces the current one, which becomes history", "OLD_NEWER", (20.0, "case_2.csv"), [2.0]),
    ("a late older version goes to history only", "OLD_LATE", (3.0, "case_1.csv"), [30.0]),
    ("an exact repeat within the file is loaded once", "TWICE_SAME", (40.0, "case_2.csv"), []),
    ("two versions within the file: the newer is current, the other history", "TWICE_OTHER",
     (51.0, "case_2.csv"), [50.0]),
]


@pytest.fixture(scope="module")
def mixed():
    con = connect()
    _load(con, "case_1.csv", MIXED_FIRST, date(2026, 11, 3))
    stats = _load(con, "case_2.csv", MIXED_SECOND, date(2026, 11, 4))
    return con, stats


@pytest.mark.parametrize(("description", "key", "current", "history"), MIXED_EXPECTED,
                         ids=[c[0] for c in MIXED_EXPECTED])
def test_mixed_file_versions_each_key(mixed, description: str, key: str, current: tuple, history: list) -> None:
    con, _ = mixed
    assert con.execute("SELECT loss, _file FROM cases WHERE case_id = ?", [key]).fetchall() == [current]
    rows = con.execute("SELECT loss FROM cases_history WHERE case_id = ? ORDER BY loss", [key]).fetchall()
    assert [r[0] for r in rows] == history


def test_mixed_file_counts_and_no_temp_tables_left(mixed) -> None:
    con, stats = mixed
    # 8 rows: OLD_SAME and the second TWICE_SAME are duplicates; OLD_LATE is loaded (to history).
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicate) == (8, 6, 2)
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 6
    temps = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    assert not temps & {"inc", "inc_flag", "inc_rowids", "contested"}


class _Recorder:
    """A connection that keeps the SQL it runs, to check which statements a load needs."""

    def __init__(self, con) -> None:
        self.con, self.sql = con, []

    def execute(self, sql: str, *args):
        self.sql.append(" ".join(sql.split()))
        return self.con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.con, name)


def test_a_file_of_new_single_keys_skips_versioning() -> None:
    con = _Recorder(connect())
    stats = _load(con, "case_1.csv", [_case(f"K{i}", i, i) for i in range(1, 6)], date(2026, 11, 3))
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicate) == (5, 5, 0)
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM cases_history").fetchone()[0] == 0
    assert not [q for q in con.sql if "TEMP TABLE inc" in q or "DELETE" in q]


def test_repeats_within_a_first_load_leave_the_table_unscanned() -> None:
    """No key of the file is current yet: no current version to move to history, delete or guard."""
    con = _Recorder(connect())
    stats = _load(con, "case_1.csv", [_case("K1", 10, 1), _case("K1", 11, 2, datetime(2026, 11, 2)),
                                      _case("K2", 5, 3), _case("K2", 5, 4), _case("K3", 1, 5)], date(2026, 11, 3))
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicate) == (5, 4, 1)
    assert con.execute("SELECT case_id, loss FROM cases ORDER BY case_id").fetchall() == [
        ("K1", 11.0), ("K2", 5.0), ("K3", 1.0)]
    assert con.execute("SELECT case_id, loss, _replaced_as_of FROM cases_history").fetchall() == [
        ("K1", 10.0, date(2026, 11, 3))]
    assert not [q for q in con.sql if "DELETE FROM cases WHERE (" in q or "HAVING count(*) > 1" in q]
    assert not [q for q in con.sql if "SELECT c.*" in q]


def test_the_same_file_loaded_again_is_all_duplicates() -> None:
    """Rows of the file are told from rows already current by the transaction's rowids, not by file hash."""
    con = connect()
    rows = [_case("K1", 10, 1), _case("K2", 5, 2)]
    _load(con, "case_1.csv", rows, date(2026, 11, 3))
    stats = _load(con, "case_1.csv", rows, date(2026, 11, 4))
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicate) == (2, 0, 2)
    assert con.execute("SELECT case_id, _as_of FROM cases ORDER BY case_id").fetchall() == [
        ("K1", date(2026, 11, 3)), ("K2", date(2026, 11, 3))]
    assert con.execute("SELECT count(*) FROM cases_history").fetchone()[0] == 0
