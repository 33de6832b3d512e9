"""Reading without detours: UTF-8 checked in place, BOMs, blank-line detection on the rows that need it."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duanka.contract_schema import load_contract
from duanka.ingest.read import FileRefused, _is_utf8, read_delivery

HEADER = "案件编号,报案时间,案发地,诈骗类型,损失金额,涉案账号,涉案电话"
ROW = "K1,2026-11-01,370102,刷单返利,100,,"
BOM = b"\xef\xbb\xbf"

UTF8 = [
    ("ASCII", b"abc", True),
    ("Chinese", "工商银行".encode(), True),
    ("4-byte character", "𠀀".encode(), True),
    ("GBK bytes", "工商银行".encode("gbk"), False),
    ("encoded surrogate", b"\xed\xa0\x80", False),
    ("overlong slash", b"\xc0\xaf", False),
    ("beyond U+10FFFF", b"\xf4\x90\x80\x80", False),
    ("truncated sequence", "工".encode()[:2], False),
    ("empty", b"", True),
]


@pytest.mark.parametrize(("desc", "data", "expected"), UTF8, ids=[c[0] for c in UTF8])
def test_utf8_check(desc: str, data: bytes, expected: bool) -> None:
    assert _is_utf8(data) is expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_utf8_check_agrees_with_python(data: bytes) -> None:
    try:
        data.decode("utf-8")
        python = True
    except UnicodeDecodeError:
        python = False
    assert _is_utf8(data) is python


def _read(tmp_path: Path, data: bytes):
    path = tmp_path / "case_f.csv"
    path.write_bytes(data)
    return read_delivery(path, "case", load_contract())


FILES = [
    ("BOM", BOM + f"{HEADER}\n{ROW}\n".encode(), "utf-8-sig", ["K1"]),
    ("two BOMs: both dropped, as a decode would", BOM + BOM + f"{HEADER}\n{ROW}\n".encode(), "utf-8-sig", ["K1"]),
    ("GBK text", f"{HEADER}\n{ROW}\n".encode("gbk"), "gb18030", ["K1"]),
    ("CRLF lines", f"{HEADER}\r\n{ROW}\r\n".encode(), "utf-8", ["K1"]),
]


@pytest.mark.parametrize(("desc", "data", "encoding", "ids"), FILES, ids=[c[0] for c in FILES])
def test_encodings_and_boms(tmp_path: Path, desc: str, data: bytes, encoding: str, ids: list[str]) -> None:
    raw = _read(tmp_path, data)
    assert raw.encoding == encoding
    assert raw.frame["case_id"].to_list()[-len(ids):] == ids
    assert raw.header_map == {h: h2 for h, h2 in zip(HEADER.split(","), load_contract().kinds["case"].names,
                                                         strict=True)}


def test_bom_before_gbk_text_is_refused(tmp_path: Path) -> None:
    """Neither UTF-8 after the BOM nor GB18030 with it: refused as before, not read as garbage."""
    with pytest.raises(FileRefused, match="编码"):
        _read(tmp_path, BOM + f"{HEADER}\n{ROW}\n".encode("gbk"))


BLANKS = [
    ("blank first cell, content later: kept", [",,,,,,13800138000", ROW], [1, 2]),
    ("blanks and a full-width space only: dropped", [" ,\u3000, ,,,,", ROW], [2]),
    ("every row blank", [",,,,,,", " ,,,,,,"], []),
    ("no blank first cell anywhere", [ROW, ROW], [1, 2]),
    ("blank rows around content", [",,,,,,", ROW, ",,,,,,", ROW, ",,,,,,"], [2, 4]),
]


@pytest.mark.parametrize(("desc", "lines", "rows"), BLANKS, ids=[c[0] for c in BLANKS])
def test_blank_rows(tmp_path: Path, desc: str, lines: list[str], rows: list[int]) -> None:
    raw = _read(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    assert raw.frame["_row"].to_list() == rows
