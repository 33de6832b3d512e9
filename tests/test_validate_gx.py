"""GX on DuckDB: the patch works, and each failed expectation maps to row reasons or a file refusal."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from duanka.validate.runner import StagedTable, unexpected_rows_query, validate_staged
from duanka.validate.suites import ExpectationSpec, load_suites
from duanka.yamlcheck import ConfigError

AS_OF = date(2026, 11, 3)


def _bank_con(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the bank rows as table f1, typed as the reader stages them."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE f1 (_row INTEGER, lead_id VARCHAR, issued_at TIMESTAMP, reason VARCHAR, bank VARCHAR,
        account_no VARCHAR, account_kind VARCHAR, holder_name VARCHAR, holder_id_type VARCHAR,
        holder_id_no VARCHAR, person_key VARCHAR, holder_phone VARCHAR, open_date DATE, open_region VARCHAR,
        inflow_30d DOUBLE, outflow_30d DOUBLE, txn_count_30d BIGINT, counterparties_30d BIGINT,
        night_txn_ratio DOUBLE)""")
    for r in rows:
        con.execute("INSERT INTO f1 BY NAME SELECT * FROM (SELECT unnest([$r], recursive := true))", {"r": r})
    return con


def _staged(con: duckdb.DuckDBPyConnection, table: str, file: str) -> StagedTable:
    return StagedTable(table, "bank", file, con.table(table).to_arrow_table())


def _good(row: int, **over) -> dict:
    base = {"_row": row, "lead_id": f"L{row}", "issued_at": "2026-11-02 10:00:00", "reason": "MULTI_CARD", "bank": "ICBC",
                "account_no": "6222020200112233445", "account_kind": "debit", "holder_name": "张三",
                "holder_id_type": "RIC", "holder_id_no": "370102199001011237", "person_key": "370102199001011237",
                "holder_phone": "13800138000", "open_date": "2026-10-01", "open_region": "370102",
                "inflow_30d": 10.0, "outflow_30d": 5.0, "txn_count_30d": 3, "counterparties_30d": 2, "night_txn_ratio": 0.1}
    base.update(over)
    return base


def test_each_failed_row_expectation_names_the_rows() -> None:
    rows = [_good(i) for i in range(1, 301)]
    rows[4] = _good(5, holder_phone="1380013800")  # 10 digits
    rows[9] = _good(10, open_date="2026-12-01")  # after the night
    rows[19] = _good(20, night_txn_ratio=1.5, reason="FOO")
    for i in range(100, 300):  # more than GX's 200-row result cap
        rows[i] = _good(i + 1, open_region="37010")
    out = validate_staged([_staged(_bank_con(rows), "f1", "bank_a.csv")], load_suites(), AS_OF)["f1"]
    assert out.refused is None
    assert any("V-BANK-PHONE" in r for r in out.row_reasons[5])
    assert any("V-BANK-OPEN-DATE" in r for r in out.row_reasons[10])
    assert {r.split("[")[1] for r in out.row_reasons[20]} == {"V-BANK-NIGHT]", "V-BANK-REASON]"}
    region_rows = [row for row, reasons in out.row_reasons.items() if any("V-BANK-REGION" in r for r in reasons)]
    assert sorted(region_rows) == list(range(101, 301))
    assert 1 not in out.row_reasons


def test_empty_file_is_refused() -> None:
    out = validate_staged([_staged(_bank_con([]), "f1", "bank_empty.csv")], load_suites(), AS_OF)["f1"]
    assert out.refused and "bank_empty.csv" in out.refused and "没有数据行" in out.refused


def test_regex_braces_survive_gx_formatting() -> None:
    spec = ExpectationSpec(id="X", expect="match", severity="row", reason="r", columns=("c",), pattern=r"\d{6}")
    query = unexpected_rows_query(spec, AS_OF)
    assert query.format(batch="t").count(r"\d{6}") == 1


@pytest.mark.parametrize("text, expected", [
    ("expectations: [{id: A, expect: nope, severity: row, reason: r}]", "expect 应为"),
    ("expectations: [{id: A, expect: not_null, severity: row, reason: r, colums: [a]}]", "未知字段 colums"),
    ("expectations: [{id: A, expect: in_set, severity: always, reason: r, column: a, values: [1]}]", "severity"),
    ("expectations:\n  - id: A\n    expect: match\n    severity: row\n    reason: r\n    column: a\n    pattern: '('\n",
     "正则表达式错误"),
    ("expectations: [{id: A, expect: between, severity: row}]", "缺少字段"),
])
def test_bad_suite_is_refused_with_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bank.yaml").write_text("kind: bank\n" + text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_suites(tmp_path)
    assert expected in str(err.value) and "bank.yaml:" in str(err.value)


def test_shipped_suites_load() -> None:
    suites = load_suites()
    assert {"bank", "sim", "case"} <= set(suites)


def test_files_of_one_kind_are_validated_together_but_judged_apart() -> None:
    con = _bank_con([_good(1), _good(2, holder_phone="123")])
    con.execute("CREATE TABLE f2 AS SELECT * FROM f1 LIMIT 0")  # an empty second file
    con.execute("CREATE TABLE f3 AS SELECT * FROM f1")
    con.execute("UPDATE f3 SET open_region = 'x' WHERE _row = 1")
    staged = [_staged(con, "f1", "bank_a.csv"), _staged(con, "f2", "bank_b.csv"), _staged(con, "f3", "bank_c.csv")]
    con.close()
    out = validate_staged(staged, load_suites(), AS_OF)
    assert out["f1"].refused is None and list(out["f1"].row_reasons) == [2]
    assert out["f2"].refused and "bank_b.csv" in out["f2"].refused
    assert out["f3"].refused is None and sorted(out["f3"].row_reasons) == [1, 2]
    assert any("V-BANK-REGION" in r for r in out["f3"].row_reasons[1])
    assert not any("V-BANK-REGION" in r for reasons in out["f1"].row_reasons.values() for r in reasons)
