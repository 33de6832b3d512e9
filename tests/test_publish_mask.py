"""Masking helpers: what the index page and the logs may show of an identifier."""
from __future__ import annotations

import re

import pytest

from duanka.publish.mask import mask_account, mask_id, mask_phone, mask_text

ID_CASES = [
    ("RIC keeps region prefix and last four", "370403199901011234", "370403********1234"),
    ("RIC with check character X", "11010519491231002X", "110105********002X"),
    ("legacy 15-digit ID keeps 6 and 4", "370403990101123", "370403*****1123"),
    ("USCC is masked like a RIC", "91350100M000100Y43", "913501********0Y43"),
    ("passport keeps its type prefix", "PASSPORT:E12345678", "PASSPORT:E******78"),
    ("HMT permit keeps its type prefix", "HMT:H1234567", "HMT:H*****67"),
    ("blank stays blank", "", ""),
    ("None gives blank", None, ""),
    ("surrounding blanks are ignored", " 370403199901011234 ", "370403********1234"),
]

PHONE_CASES = [
    ("mobile keeps 3 and 4", "13800138000", "138****8000"),
    ("another carrier", "19912345678", "199****5678"),
    ("short landline keeps last digits only", "12345678", "****5678"),
    ("empty", "", ""),
]

ACCOUNT_CASES = [
    ("19-digit debit card", "6222021234567890123", "6222 **** **** 0123"),
    ("16-digit credit card", "4392250012345678", "4392 **** **** 5678"),
    ("corporate account with 12+ digits", "110060149018000123456", "1100 **** **** 3456"),
    ("short corporate account", "12345678", "12**5678"),
    ("payment account as free text", "zhang_san@163.com", "zh*************om"),
    ("card written with blanks", "6222 0212 3456 7890 123", "6222 **** **** 0123"),
]

TEXT_CASES = [
    ("ID inside a sentence", "持有人370403199901011234开户", "持有人370403********1234开户"),
    ("phone inside a sentence", "预留手机13800138000异常", "预留手机138****8000异常"),
    ("phone with +86 and blanks", "电话 +86 138 0013 8000 已停机", "电话 +86138****8000 已停机"),
    ("phone with dashes", "call 138-0013-8000 now", "call 138****8000 now"),
    ("card number in a log line", "account=6222021234567890123 frozen", "account=6222 **** **** 0123 frozen"),
    ("card in groups of four", "卡号 6222 0212 3456 7890 123", "卡号 6222 **** **** 0123"),
    ("USCC in text", "企业91350100M000100Y43涉案", "企业913501********0Y43涉案"),
    ("dates and amounts are left alone", "2026-11-03 20261103 损失 52000.00 元", "2026-11-03 20261103 损失 52000.00 元"),
    ("short codes are left alone", "lead B-000123 row 17", "lead B-000123 row 17"),
    ("letters touching a number do not protect it", "tel13800138000x", "tel138****8000x"),
    ("several identifiers at once", "13800138000,13900139000", "138****8000,139****9000"),
    ("empty text", "", ""),
]


@pytest.mark.parametrize("what,value,expected", ID_CASES, ids=[c[0] for c in ID_CASES])
def test_mask_id(what: str, value: str, expected: str) -> None:
    assert mask_id(value) == expected


@pytest.mark.parametrize("what,value,expected", PHONE_CASES, ids=[c[0] for c in PHONE_CASES])
def test_mask_phone(what: str, value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize("what,value,expected", ACCOUNT_CASES, ids=[c[0] for c in ACCOUNT_CASES])
def test_mask_account(what: str, value: str, expected: str) -> None:
    assert mask_account(value) == expected


@pytest.mark.parametrize("what,value,expected", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_mask_text(what: str, value: str, expected: str) -> None:
    assert mask_text(value) == expected


def test_mask_text_leaves_no_long_digit_run_on_random_text() -> None:
    """Seeded random log lines: no 11-digit mobile or 12+ digit run survives masking."""
    import random

    rng = random.Random(20261103)
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 6)):
            kind = rng.choice(["ric", "phone", "card", "word", "date"])
            if kind == "ric":
                parts.append("".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X"))
            elif kind == "phone":
                parts.append("1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9)))
            elif kind == "card":
                parts.append("62" + "".join(rng.choice("0123456789") for _ in range(rng.randint(14, 17))))
            elif kind == "date":
                parts.append("20261103")
            else:
                parts.append(rng.choice(["账户", "冻结", "号码", "note", "，"]))
        masked = mask_text(rng.choice([" ", "", "，"]).join(parts))
        assert not re.search(r"(?<!\d)1\d{10}(?!\d)", masked), masked
        assert not re.search(r"\d{12,}", masked), masked
