"""The reused GX session: same outcomes as one plain GX run, no stale rows, nothing left registered.

`validate_staged` keeps one GX context per thread, runs each custom query once and asks GX for
failing rows only of the column checks that failed. The reference here is what it did before:
a fresh session, GX's own `UnexpectedRowsExpectation` and the whole suite in one COMPLETE run.
"""
from __future__ import annotations

import dataclasses
import random
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest
import sqlalchemy

from duanka.validate import gx_session as gx_session_module
from duanka.validate import runner
from duanka.validate.gx_duckdb import import_gx
from duanka.validate.gx_session import drop_gx_session
from duanka.validate.runner import StagedTable, validate_staged
from duanka.validate.suites import ExpectationSpec, Suite, load_suites

AS_OF = date(2026, 11, 3)
COLUMNS = {"_row": "INTEGER", "lead_id": "VARCHAR", "issued_at": "TIMESTAMP", "reason": "VARCHAR",
           "bank": "VARCHAR", "account_no": "VARCHAR", "account_kind": "VARCHAR", "holder_name": "VARCHAR",
           "holder_id_type": "VARCHAR", "holder_id_no": "VARCHAR", "person_key": "VARCHAR",
           "holder_phone": "VARCHAR", "open_date": "DATE", "open_region": "VARCHAR", "inflow_30d": "DOUBLE",
           "outflow_30d": "DOUBLE", "txn_count_30d": "BIGINT", "counterparties_30d": "BIGINT",
           "night_txn_ratio": "DOUBLE"}
# A fault breaks one check: (column, bad value). Several may hit one row.
FAULTS = [("lead_id", None), ("bank", None), ("reason", "FOO"), ("account_kind", "savings"),
          ("holder_id_no", "37010219900101123"), ("holder_phone", "1380013800"), ("account_no", "62220"),
          ("open_date", "2026-12-01"), ("open_region", "37010"), ("inflow_30d", -1.0),
          ("night_txn_ratio", 1.5), ("holder_id_type", "ID")]


def _bank_rows(seed: int, count: int, fault_rate: float = 0.05) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for row in range(1, count + 1):
        values = {"_row": row, "lead_id": f"L{seed}-{row}", "issued_at": "2026-11-02 10:00:00", "reason": "MULTI_CARD",
                  "bank": "ICBC", "account_no": "6222020200112233445", "account_kind": "debit", "holder_name": "张三",
                  "holder_id_type": "RIC", "holder_id_no": "370102199001011237", "person_key": "370102199001011237",
                  "holder_phone": "13800138000", "open_date": "2026-10-01", "open_region": "370102",
                  "inflow_30d": 10.0, "outflow_30d": 5.0, "txn_count_30d": 3, "counterparties_30d": 2,
                  "night_txn_ratio": round(rng.random(), 3)}
        while rng.random() < fault_rate * 3:
            column, bad = rng.choice(FAULTS)
            values[column] = bad
            if rng.random() > 0.5:
                break
        rows.append(values)
    return rows


def _stage(tables: dict[str, list[dict]]) -> list[StagedTable]:
    """Each list of rows as a typed Arrow table, as the reader hands it over, named as given."""
    con = duckdb.connect()
    staged = []
    for name, rows in tables.items():
        con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})")
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(COLUMNS))})",
                            [[r[c] for c in COLUMNS] for r in rows])
        staged.append(StagedTable(name, "bank", f"bank_{name}.csv", con.table(name).to_arrow_table()))
    con.close()
    return staged


def _plain(outcomes: dict) -> dict:
    return {table: dataclasses.asdict(outcome) for table, outcome in outcomes.items()}


def _reference(monkeypatch: pytest.MonkeyPatch, tables: list[StagedTable], suites: dict) -> dict:
    """What validation gave before the session: a fresh context, GX's own query class, one COMPLETE run."""
    gx = import_gx()

    def at_once(gx_: object, batch: object, checks: runner._GxChecks, name: str) -> list:
        suite = gx.ExpectationSuite(name=name)
        for _, _, expectation in checks.tagged.values():
            suite.add_expectation(expectation)
        return list(batch.validate(suite, result_format=runner._ROWS).results)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "unexpected_rows_once", lambda gx_: gx.expectations.UnexpectedRowsExpectation)
        patch.setattr(runner, "_run_checks", at_once)
        drop_gx_session()
        try:
            return _plain(validate_staged(tables, suites, AS_OF))
        finally:
            drop_gx_session()


def _with_broken_checks(suites: dict) -> dict:
    """The shipped bank suite plus two checks of a column no file has: GX cannot evaluate them."""
    bank = suites["bank"]
    counted = ExpectationSpec(id="V-BANK-BROKEN", expect="not_null", severity="row", reason="坏检查",
                              columns=("no_such_column",))
    queried = ExpectationSpec(id="V-BANK-BROKEN-SQL", expect="where", severity="row", reason="坏检查",
                              columns=("no_such_column",), condition="no_such_column > 1")
    specs = (*bank.expectations[:3], counted, *bank.expectations[3:6], queried, *bank.expectations[6:])
    return {**suites, "bank": Suite(bank.kind, bank.path, specs)}


@pytest.mark.parametrize("seed", [1, 2])
def test_session_gives_the_outcome_of_one_plain_gx_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       seed: int) -> None:
    tables = _stage({"f1": _bank_rows(seed, 400), "f2": [], "f3": _bank_rows(seed + 100, 250, 0.2)})
    suites = load_suites()
    expected = _reference(monkeypatch, tables, suites)
    first = _plain(validate_staged(tables, suites, AS_OF))
    again = _plain(validate_staged(tables, suites, AS_OF))  # reused session, cached suite
    assert first == expected
    assert again == expected
    assert expected["f2"]["refused"] and "bank_f2.csv" in expected["f2"]["refused"]
    assert len(expected["f3"]["row_reasons"]) > 20  # the data does exercise the row checks


def test_a_check_gx_cannot_evaluate_refuses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, GX's report of a metric it could not compute went unnoticed: the check counted as passed.

    Which other checks of that run GX then gives up on depends on its metric order (it differs
    between two plain runs too); the refusal and the two broken checks do not."""
    tables = _stage({"f1": _bank_rows(3, 300), "f2": _bank_rows(4, 100, 0.2)})
    suites = _with_broken_checks(load_suites())
    expected = _reference(monkeypatch, tables, suites)
    for _ in range(2):
        got = _plain(validate_staged(tables, suites, AS_OF))
        for table in ("f1", "f2"):
            for out in (expected[table], got[table]):
                assert out["refused"] and f"bank_{table}.csv" in out["refused"] and "无法执行" in out["refused"]
                assert {"V-BANK-BROKEN", "V-BANK-BROKEN-SQL"} <= {c["id"] for c in out["checks"] if c["error"]}
    assert validate_staged(_stage({"f1": _bank_rows(3, 300)}), load_suites(), AS_OF)["f1"].refused is None


def test_new_rows_under_the_same_name_are_seen_not_the_last_ones() -> None:
    suites = load_suites()
    first = _stage({"f1": _bank_rows(7, 300, 0.2)})
    second = _stage({"f1": _bank_rows(8, 120, 0.2)})  # same table name and view, other rows
    out_first = _plain(validate_staged(first, suites, AS_OF))
    out_second = _plain(validate_staged(second, suites, AS_OF))
    drop_gx_session()
    fresh_second = _plain(validate_staged(second, suites, AS_OF))
    assert out_second == fresh_second
    assert out_first != out_second
    assert max(out_second["f1"]["row_reasons"]) <= 120
    assert _plain(validate_staged(first, suites, AS_OF)) == out_first


def _registered(session) -> set[str]:
    return {name for (name,) in session._driver_connection().execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def test_nothing_stays_registered_also_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's rows are unregistered when it ends, whatever happened: the session keeps no rows of a
    batch alive. The session is kept here after the failure (the night drops it) to see that."""
    from duanka.validate.gx_session import gx_session

    staged = _stage({"f1": _bank_rows(4, 50, 0.3)})
    expected = _plain(validate_staged(staged, load_suites(), AS_OF))
    session = gx_session(import_gx())
    assert _registered(session) == set()
    monkeypatch.setattr(gx_session_module, "drop_gx_session", lambda: None)
    broken = StagedTable("f2", "bank", "bank_f2.csv", object())  # DuckDB cannot scan this
    with pytest.raises(duckdb.InvalidInputException):
        validate_staged([*staged, broken], load_suites(), AS_OF)
    assert gx_session(import_gx()) is session and _registered(session) == set()
    assert _plain(validate_staged(staged, load_suites(), AS_OF)) == expected
    drop_gx_session()


def test_each_query_runs_once_and_only_failed_columns_list_rows(tmp_path: Path) -> None:
    rows = _bank_rows(5, 200, 0.0)
    rows[10]["bank"] = None
    rows[11]["holder_phone"] = "123"
    staged = _stage({"f1": rows})
    suites = load_suites()
    validate_staged(staged, suites, AS_OF)  # the session exists from here on
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", seen)
    try:
        out = validate_staged(staged, suites, AS_OF)["f1"]
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", seen)
    queries = [s for s in statements if "failing_tables" in s]
    n_queried = sum(1 for spec in suites["bank"].expectations if spec.expect not in ("not_null", "in_set", "between"))
    assert len(queries) == len(set(queries)) == n_queried
    assert not [s for s in statements if "unexpected_row_count" in s]
    listed = [s for s in statements if "AS unexpected_values" in s]
    assert len(listed) == 1 and "bank IS NULL" in listed[0]
    assert sorted(out.row_reasons) == [11, 12]
    assert [c.id for c in out.checks if not c.success] == ["V-BANK-PHONE", "V-BANK-REQUIRED"]  # GX: no-column first


def test_each_thread_has_its_own_session(tmp_path: Path) -> None:
    batches = {"a": _stage({"f1": _bank_rows(11, 150, 0.2)}), "b": _stage({"f1": _bank_rows(12, 150, 0.2)})}
    suites = load_suites()
    expected = {name: _plain(validate_staged(staged, suites, AS_OF)) for name, staged in batches.items()}
    got: dict[str, dict] = {}

    def work(name: str) -> None:
        for _ in range(2):
            got[name] = _plain(validate_staged(batches[name], suites, AS_OF))

    threads = [threading.Thread(target=work, args=(name,)) for name in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected
