"""Reading deliveries: encodings detected, XLSX cells as typed, headers mapped, bad files refused."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from duanka.contract_schema import load_contract
from duanka.ingest.read import FileRefused, read_delivery

CASE_HEADER = ["案件编号", "报案时间", "案发地", "诈骗类型", "损失金额", "涉案账号", "涉案电话"]
CASE_ROWS = [
    ["K1", "2026-11-01", "370102", "刷单返利", "1,000元", "6222021234567890128", "13800138000"],
    ["K2", "2026/11/2 8:00", "370203", "冒充客服", "50", "", "+86 139 0013 9000；13700137000"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    text = "\r\n".join(",".join(f'"{v}"' if "," in v else v for v in row) for row in [header, *rows]) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


ENCODINGS = [
    ("UTF-8", "utf-8", "utf-8"),
    ("UTF-8 with BOM", "utf-8-sig", "utf-8-sig"),
    ("GBK from Chinese Excel", "gbk", "gb18030"),
    ("GB18030", "gb18030", "gb18030"),
]


@pytest.mark.parametrize(("desc", "encoding", "detected"), ENCODINGS, ids=[c[0] for c in ENCODINGS])
def test_csv_encodings_detected(tmp_path: Path, desc: str, encoding: str, detected: str) -> None:
    path = write_csv(tmp_path / "case_1.csv", CASE_HEADER, CASE_ROWS, encoding)
    raw = read_delivery(path, "case", load_contract())
    assert raw.encoding == detected
    assert raw.frame["fraud_type"].to_list() == ["刷单返利", "冒充客服"]
    assert raw.frame["loss"].to_list() == ["1,000元", "50"]
    assert raw.frame["_row"].to_list() == [1, 2]
    assert raw.frame.schema["_row"] == pl.Int32


def test_gb18030_only_characters(tmp_path: Path) -> None:
    """A rare character outside GBK (㐀, CJK extension A) only GB18030 can carry."""
    rows = [["K1", "2026-11-01", "370102", "冒充㐀客服", "1", "", ""]]
    raw = read_delivery(write_csv(tmp_path / "case_x.csv", CASE_HEADER, rows, "gb18030"), "case", load_contract())
    assert raw.frame["fraud_type"].to_list() == ["冒充㐀客服"]


def test_xlsx_cells_come_back_as_typed(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["case_id", "reported_at", "region", "fraud_type", "loss", "accounts", "phones"])
    sheet.append(["K1", datetime(2026, 11, 3, 8, 30), 370102, "刷单返利", 1234.5, 62220212345678, 13800138000])
    sheet.append(["K2", date(2026, 11, 4), 370203.0, "虚假贷款", 1e7, "6222021234567890128", None])
    sheet.append([None] * 7)  # formatted but empty trailing row
    book.save(tmp_path / "case_book.xlsx")
    raw = read_delivery(tmp_path / "case_book.xlsx", "case", load_contract())
    assert raw.encoding == "xlsx"
    rows = raw.frame.select("reported_at", "region", "loss", "accounts", "phones").rows()
    assert rows == [
        ("2026-11-03 08:30:00", "370102", "1234.5", "62220212345678", "13800138000"),
        ("2026-11-04", "370203", "10000000", "6222021234567890128", None),
    ]


def test_xlsx_column_empty_in_its_first_rows_still_reads(tmp_path: Path) -> None:
    """An optional column blank for the first few hundred rows, then filled (Polars would have guessed
    its type from the first 100 rows as empty and refused the file at the first value)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(CASE_HEADER)
    width = len(CASE_HEADER)
    phones = CASE_HEADER.index("涉案电话")
    for i in range(1, 301):
        row = list(CASE_ROWS[0])[:width] + [None] * (width - len(CASE_ROWS[0]))
        row[0], row[phones] = f"K{i}", (13800138000 + i if i > 250 else None)
        sheet.append(row)
    book.save(tmp_path / "case_late.xlsx")
    raw = read_delivery(tmp_path / "case_late.xlsx", "case", load_contract())
    values = raw.frame["phones"].to_list()
    assert values[:250] == [None] * 250 and values[250:] == [str(13800138000 + i) for i in range(251, 301)]


def test_xlsx_detected_by_magic_bytes_not_name(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(CASE_HEADER)
    book.active.append(CASE_ROWS[0])
    book.save(tmp_path / "case_wrong_suffix.csv")
    raw = read_delivery(tmp_path / "case_wrong_suffix.csv", "case", load_contract())
    assert raw.encoding == "xlsx" and raw.frame["case_id"].to_list() == ["K1"]


def test_headers_any_order_any_spelling_extras_kept(tmp_path: Path) -> None:
    header = [" LOSS ", "案件编号", "Region", "报案时间 ", "诈骗类型", "经办人", "来源"]
    rows = [["5", "K1", "370102", "2026-11-01", "刷单返利", "王警官", ""], ["6", "K2", "370102", "2026-11-01", "x", "", ""]]
    raw = read_delivery(write_csv(tmp_path / "case_h.csv", header, rows, "utf-8"), "case", load_contract())
    assert raw.frame.columns[:7] == load_contract().kinds["case"].names
    assert raw.frame["loss"].to_list() == ["5", "6"]
    assert raw.frame["accounts"].to_list() == [None, None]  # optional column absent: nulls
    assert raw.extra_columns == ["经办人", "来源"]
    assert json.loads(raw.frame["_extra"][0]) == {"经办人": "王警官", "来源": None}
    assert raw.header_map[" LOSS "] == "loss" and raw.header_map["Region"] == "region"


def test_no_extra_columns_means_null_extra(tmp_path: Path) -> None:
    raw = read_delivery(write_csv(tmp_path / "case_1.csv", CASE_HEADER, CASE_ROWS, "utf-8"), "case", load_contract())
    assert raw.frame["_extra"].to_list() == [None, None]


def test_blank_lines_dropped_but_row_numbers_kept(tmp_path: Path) -> None:
    rows = [CASE_ROWS[0], ["", "", "", "", "", "", ""], CASE_ROWS[1]]
    raw = read_delivery(write_csv(tmp_path / "case_b.csv", CASE_HEADER, rows, "utf-8"), "case", load_contract())
    assert raw.frame["case_id"].to_list() == ["K1", "K2"]
    assert raw.frame["_row"].to_list() == [1, 3]


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    raw = read_delivery(write_csv(tmp_path / "case_0.csv", CASE_HEADER, [], "utf-8"), "case", load_contract())
    assert raw.frame.height == 0 and "case_id" in raw.frame.columns


def _refusal(path: Path, kind: str = "case") -> str:
    with pytest.raises(FileRefused) as info:
        read_delivery(path, kind, load_contract())
    assert path.name in info.value.reason
    assert "\n" not in info.value.reason
    return info.value.reason


def test_missing_required_column_named_in_both_languages(tmp_path: Path) -> None:
    header = [h for h in CASE_HEADER if h != "损失金额"]
    rows = [r[:4] + r[5:] for r in CASE_ROWS]
    reason = _refusal(write_csv(tmp_path / "case_m.csv", header, rows, "utf-8"))
    assert "loss" in reason and "损失金额" in reason


def test_several_missing_columns_all_named(tmp_path: Path) -> None:
    reason = _refusal(write_csv(tmp_path / "bank_m.csv", ["线索编号", "开户行"], [["L1", "ICBC"]], "gbk"), "bank")
    for name in ("issued_at", "下发时间", "holder_id_no", "证件号码", "open_date"):
        assert name in reason


def test_duplicate_header_refused(tmp_path: Path) -> None:
    header = ["case_id", *CASE_HEADER]
    rows = [["K1", *r] for r in CASE_ROWS]
    reason = _refusal(write_csv(tmp_path / "case_d.csv", header, rows, "utf-8"))
    assert "表头重复" in reason and "case_id" in reason and "案件编号" in reason


REFUSED = [
    ("empty file", b"", "文件为空"),
    ("only a BOM and blanks", b"\xef\xbb\xbf \r\n", "文件为空"),
    ("bytes no encoding decodes", b"\xff\xfe\xfa\x80\x81" * 20, "编码"),
    ("zip that is no workbook", b"PK\x03\x04not really a workbook", "Excel"),
    ("ragged CSV line", "案件编号,报案时间\nK1,2026-11-01,extra,more\n".encode(), "CSV"),
]


@pytest.mark.parametrize(("desc", "data", "what"), REFUSED, ids=[c[0] for c in REFUSED])
def test_unusable_files_refused(tmp_path: Path, desc: str, data: bytes, what: str) -> None:
    path = tmp_path / "case_bad.csv"
    path.write_bytes(data)
    assert what in _refusal(path)
