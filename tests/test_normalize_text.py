"""Text normalisation: full-width, blanks, lists, code words and bank names."""
from __future__ import annotations

import polars as pl
import pytest

from duanka.contract_schema import load_contract
from duanka.normalize.text import bank_lookup, clean_text, code_lookup, halfwidth_str, split_list


def run(expr_fn, values: list) -> list:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr_fn(pl.col("v")).alias("v"))["v"].to_list()


CLEAN_TEXT = [
    ("full-width digits become ASCII", "１３８００１３８０００", "13800138000"),
    ("full-width letters become ASCII", "ＩＣＢＣ", "ICBC"),
    ("full-width punctuation becomes ASCII", "Ａ１；Ａ２（备注）", "A1;A2(备注)"),
    ("surrounding blanks stripped", "  L001 \t", "L001"),
    ("ideographic space stripped", "\u3000张三\u3000", "张三"),
    ("zero-width characters removed", "\u200b6222\ufeff", "6222"),
    ("non-breaking space stripped", "\u00a0abc\u00a0", "abc"),
    ("blank becomes null", "   ", None),
    ("null stays null", None, None),
    ("Chinese text untouched", "中国工商银行", "中国工商银行"),
]


@pytest.mark.parametrize(("desc", "raw", "expected"), CLEAN_TEXT, ids=[c[0] for c in CLEAN_TEXT])
def test_clean_text(desc: str, raw: str | None, expected: str | None) -> None:
    assert run(clean_text, [raw]) == [expected]


def test_halfwidth_str_for_headers() -> None:
    """Headers are normalised in Python with the same table as the column expressions."""
    assert halfwidth_str("ｌｅａｄ＿ｉｄ\u3000") == "lead_id "
    assert halfwidth_str("登录ＩＰ") == "登录IP"


SPLIT = [
    ("semicolon", "A1;A2", ["A1", "A2"]),
    ("full-width semicolon", "A1；A2", ["A1", "A2"]),
    ("comma", "A1,A2", ["A1", "A2"]),
    ("full-width comma", "A1，A2", ["A1", "A2"]),
    ("enumeration comma", "A1、A2", ["A1", "A2"]),
    ("pipe", "A1|A2", ["A1", "A2"]),
    ("mixed separators and blanks", " A1 ；A2、 A3 |A4 ", ["A1", "A2", "A3", "A4"]),
    ("empty elements dropped", "A1;;A2;", ["A1", "A2"]),
    ("separators only become null", ";；,", None),
    ("single element", "A1", ["A1"]),
]


@pytest.mark.parametrize(("desc", "raw", "expected"), SPLIT, ids=[c[0] for c in SPLIT])
def test_split_list(desc: str, raw: str, expected: list[str] | None) -> None:
    assert run(lambda e: split_list(clean_text(e)), [raw]) == [expected]


CODES = [
    ("reason", "涉案", "CASE_LINKED"), ("reason", "群众举报", "REPORTED"), ("reason", "multi_card", "MULTI_CARD"),
    ("reason", "ＡＢＲＯＡＤ", "ABROAD"), ("account_kind", "借记卡", "debit"), ("account_kind", "DEBIT", "debit"),
    ("account_kind", "对公账户", "corporate"), ("account_kind", "支付账户", "payment"),
    ("holder_id_type", "居民身份证", "RIC"), ("holder_id_type", "身份证", "RIC"),
    ("holder_id_type", "港澳台居民证件", "HMT"), ("holder_id_type", "ric", "RIC"),
    ("open_channel", "柜面", "counter"), ("open_channel", "代办", "agent"), ("status", "止付", "stop_payment"),
    ("status", "销户", "closed"), ("reason", "不存在", None), ("account_kind", "借 记 卡", "debit"),
]


@pytest.mark.parametrize(("column", "raw", "expected"), CODES, ids=[f"{c[0]}:{c[1]}" for c in CODES])
def test_bank_code_words(column: str, raw: str, expected: str | None) -> None:
    words = load_contract().kinds["bank"].column(column).code_words()
    assert run(lambda e: code_lookup(clean_text(e), words), [raw]) == [expected]


OTHER_CODES = [
    ("sim", "carrier", "中国移动", "CMCC"), ("sim", "carrier", "联通", "CUCC"), ("sim", "carrier", "ctcc", "CTCC"),
    ("sim", "carrier", "中国广电", "CBN"), ("sim", "carrier", "虚拟运营商", "MVNO"),
    ("sim", "card_kind", "物联网卡", "iot"), ("sim", "card_kind", "行业卡", "enterprise"),
    ("sim", "status", "停机", "suspended"), ("sim", "status", "销号", "cancelled"),
    ("feedback", "stage", "已打击", "struck"), ("feedback", "stage", "已反馈", "closed"),
    ("feedback", "outcome", "部分属实", "partial"), ("feedback", "outcome", "不属实", "unfounded"),
]


@pytest.mark.parametrize(("kind", "column", "raw", "expected"), OTHER_CODES, ids=[c[2] for c in OTHER_CODES])
def test_other_code_words(kind: str, column: str, raw: str, expected: str) -> None:
    words = load_contract().kinds[kind].column(column).code_words()
    assert run(lambda e: code_lookup(clean_text(e), words), [raw]) == [expected]


BANKS = [
    ("code", "ICBC", "ICBC"),
    ("code in lower case", "icbc", "ICBC"),
    ("full-width code", "ＣＣＢ", "CCB"),
    ("full name", "中国工商银行", "ICBC"),
    ("short name", "工商银行", "ICBC"),
    ("name with branch", "中国建设银行济南历下支行", "CCB"),
    ("postal savings full name", "中国邮政储蓄银行", "PSBC"),
    ("postal savings short name", "邮储银行", "PSBC"),
    ("bank of communications", "交通银行", "BOCOM"),
    ("Bank of China is not ICBC", "中国银行", "BOC"),
    ("city bank", "齐鲁银行", "QLBANK"),
    ("city bank with branch", "青岛银行崂山支行", "QDCCB"),
    ("rural credit union", "山东省农村信用社", "SDRCU"),
    ("code must match whole", "BOCX", None),
    ("unknown bank", "火星银行", None),
    ("ping an", "平安银行", "PAB"),
]


@pytest.mark.parametrize(("desc", "raw", "expected"), BANKS, ids=[c[0] for c in BANKS])
def test_bank_lookup(desc: str, raw: str, expected: str | None) -> None:
    words = load_contract().bank_words()
    assert run(lambda e: bank_lookup(clean_text(e), words), [raw]) == [expected]
