"""Quarantined rows carry their values as delivered, though the staged rows keep them only for refused rows.

Rows refused by normalisation keep their raw JSON in the staged rows; rows only the GX suites
refuse get it by reading the delivered file again (same bytes, by SHA-256). Built from a seed.
"""
from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import polars as pl

from duanka.contract_schema import load_contract
from duanka.ingest.rawvalues import raw_values
from duanka.nightly.inbox import InboxFile, sha256_of
from duanka.nightly.ingest_stage import load_prepared, prepare_file, validate_prepared
from duanka.progress import Progress
from duanka.validate.suites import default_suites_dir, load_suites
from duanka.warehouse import connect

AS_OF = date(2026, 11, 3)
HEADER = ["案件编号", "报案时间", "案发地", "诈骗类型", "损失金额"]
# A check the shipped suite does not have, so that GX alone refuses the rows it names.
EXTRA_CHECK = """
  - id: V-CASE-TEST-GAME
    expect: where
    columns: [fraud_type]
    condition: "fraud_type = '网络游戏'"
    severity: row
    reason: 测试用：网络游戏案件不收
"""


def _case_file(path: Path, seed: int) -> Path:
    """30 valid rows; row 3 has a loss nobody can read; row 5 is a 网络游戏 case with a full-width loss."""
    rng = random.Random(seed)
    rows = [[f"K{seed}-{i:03d}", f"2026-10-{rng.randint(1, 28)} 10:00", "370102",
             rng.choice(["刷单返利", "冒充客服", "虚假贷款"]), str(rng.randint(100, 90000))] for i in range(1, 31)]
    rows[2][4] = "很多钱"
    rows[4][3], rows[4][4] = "网络游戏", "１２３元"
    path.write_text("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _suites(tmp_path: Path) -> dict:
    folder = tmp_path / "suites"
    folder.mkdir()
    (folder / "case.yaml").write_text((default_suites_dir() / "case.yaml").read_text(encoding="utf-8") + EXTRA_CHECK,
                                      encoding="utf-8")
    return load_suites(folder)


def _night(tmp_path: Path, change_file_before_load: bool = False) -> tuple[list[tuple], pl.DataFrame, tuple]:
    path = _case_file(tmp_path / "case_q.csv", seed=7)
    f = InboxFile(path, path.name, "case", sha256_of(path), "process")
    prepared = [prepare_file(f, 1, AS_OF)]
    staged = pl.from_arrow(prepared[0].staged.arrow())
    outcomes = validate_prepared(prepared, _suites(tmp_path), AS_OF)
    if change_file_before_load:
        path.write_text(path.read_text(encoding="utf-8").replace("K7-", "X7-"), encoding="utf-8")
    con = connect()
    load_prepared(con, prepared, outcomes, AS_OF, Progress(quiet=True))
    quarantine = con.execute("SELECT row, lead_id, reasons, raw FROM quarantine ORDER BY row").fetchall()
    counts = con.execute("SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM ingest_files").fetchone()
    return quarantine, staged, counts


def test_raw_values_only_for_the_rows_kept() -> None:
    frame = pl.DataFrame({"case_id": ["A", "B", "C"], "loss": ["1", "２", None], "_row": [1, 2, 3],
                          "_extra": [None, None, None]})
    raw = raw_values(frame, pl.Series([False, True, None]))
    assert raw.to_list()[0] is None and raw.to_list()[2] is None
    assert json.loads(raw[1]) == {"case_id": "B", "loss": "２"}


def test_quarantine_has_raw_values_from_staging_and_from_the_file(tmp_path: Path) -> None:
    quarantine, staged, counts = _night(tmp_path)
    assert [row for row, *_ in quarantine] == [3, 5]
    (_, _, reasons3, raw3), (_, lead5, reasons5, raw5) = quarantine
    assert "loss(损失金额)" in reasons3 and json.loads(raw3)["loss"] == "很多钱"
    assert "V-CASE-TEST-GAME" in reasons5 and lead5 == "K7-005"
    delivered = (tmp_path / "case_q.csv").read_text(encoding="utf-8").splitlines()[5].split(",")
    assert json.loads(raw5) == {**dict(zip(load_contract().kinds["case"].names, delivered + [None, None],
                                           strict=True)), "loss": "１２３元"}
    # Staging kept the raw values of the row normalisation refused, and of no other row.
    assert staged.filter(pl.col("_raw").is_not_null())["_row"].to_list() == [3]
    rows_read, loaded, quarantined, duplicate = counts
    assert (rows_read, quarantined) == (30, 2) and rows_read == loaded + quarantined + duplicate


def test_changed_file_leaves_raw_empty_but_still_quarantines(tmp_path: Path) -> None:
    quarantine, _, counts = _night(tmp_path, change_file_before_load=True)
    assert [(row, raw is None) for row, _, _, raw in quarantine] == [(3, False), (5, True)]
    assert "V-CASE-TEST-GAME" in quarantine[1][2]
    assert counts[0] == counts[1] + counts[2] + counts[3] == 30
