"""Identifiers: table-driven normalisation and checks, stdnum cross-checks, dirt-survival properties."""
from __future__ import annotations

import random
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from duanka.normalize import identifiers as ids
from duanka.normalize import samples
from duanka.normalize.text import clean_text

AS_OF = date(2026, 11, 4)


def check(value_fn, problem_fn, raw: str) -> tuple[str | None, str | None]:
    """(normalised value, problem) of one raw value, through clean_text like `clean` does."""
    frame = pl.DataFrame({"v": [raw]}, schema={"v": pl.String})
    value = frame.select(value_fn(clean_text(pl.col("v"))).alias("v"))
    problem = value.select(problem_fn(pl.col("v")).alias("p"))
    return value["v"][0], problem["p"][0]


def _complete(body17: str) -> str:
    return body17 + samples.ric_check(body17)


def ric(raw: str) -> tuple[str | None, str | None]:
    return check(ids.ric_value, lambda v: ids.ric_problem(v, AS_OF), raw)


RIC = [
    ("valid, check digit X", "37040319990101123X", "37040319990101123X", None),
    ("lower-case x upper-cased", "37040319990101123x", "37040319990101123X", None),
    ("full-width digits and x", "３７０４０３１９９９０１０１１２３ｘ", "37040319990101123X", None),
    ("blanks around and inside", " 370403 19990101 123X ", "37040319990101123X", None),
    ("legacy 15 digits upgraded", "370403990101123", "37040319990101123X", None),
    ("HK/Macau/Taiwan residence permit region", "810000199001011230", "810000199001011230", None),
    ("born 1935 under a region code created later", "370403193501011233", "370403193501011233", None),
    ("wrong check digit", "370403199901011234", "370403199901011234", "身份证校验位错误"),
    ("17 characters", "37040319990101123", "37040319990101123", "身份证号码应为18位（或15位旧号）"),
    ("letter inside", "3704031999A101123X", "3704031999A101123X", "身份证号码应为18位（或15位旧号）"),
    ("impossible birth date (Feb 30)", _complete("37040319990230123"), None, "身份证出生日期无效"),
    ("birth after as_of", _complete("37040320300101123"), None, "身份证出生日期无效"),
    ("birth before 1900", _complete("37040318991231123"), None, "身份证出生日期无效"),
]


@pytest.mark.parametrize(("desc", "raw", "value", "problem"), RIC, ids=[c[0] for c in RIC])
def test_ric(desc: str, raw: str, value: str | None, problem: str | None) -> None:
    got_value, got_problem = ric(raw)
    assert got_problem == problem
    if value is not None:
        assert got_value == value


def test_stdnum_refuses_valid_ids_that_we_accept() -> None:
    """Documented finding: stdnum's region/birth-year table refuses real numbers (a lost lead)."""
    for number in ("810000199001011230", "370403193501011233", "110115195001011237"):
        assert not stdnum_ric.is_valid(number)
        assert ric(number) == (number, None)
    assert stdnum_ric.is_valid("37040319990101123x")  # lower-case x is accepted by stdnum too


def check_many(value_fn, problem_fn, raws: list[str]) -> list[tuple[str | None, str | None]]:
    """`check` on many values in one frame (one Polars call instead of one per value)."""
    frame = pl.DataFrame({"v": raws}, schema={"v": pl.String})
    value = frame.select(value_fn(clean_text(pl.col("v"))).alias("v"))
    problem = value.select(problem_fn(pl.col("v")).alias("p"))
    return list(zip(value["v"].to_list(), problem["p"].to_list(), strict=True))


def test_ric_check_digit_agrees_with_stdnum() -> None:
    rng = random.Random(11)
    numbers = [samples.ric(rng) for _ in range(1000)]
    assert all(stdnum_ric.calc_check_digit(n) == n[-1] for n in numbers)
    got = check_many(ids.ric_value, lambda v: ids.ric_problem(v, AS_OF), numbers)
    assert got == [(n, None) for n in numbers]


USCC = [
    ("valid business code", "91110000600037341L", "91110000600037341L", None),
    ("lower case upper-cased", "91110000600037341l", "91110000600037341L", None),
    ("wrong check character", "91110000600037341M", "91110000600037341M", "统一社会信用代码校验码错误"),
    ("forbidden letter O", "9111000060003734OL", "9111000060003734OL",
     "统一社会信用代码应为18位（数字与大写字母，不含 I O S V Z）"),
    ("too short", "9111000060003734", "9111000060003734", "统一社会信用代码应为18位（数字与大写字母，不含 I O S V Z）"),
]


@pytest.mark.parametrize(("desc", "raw", "value", "problem"), USCC, ids=[c[0] for c in USCC])
def test_uscc(desc: str, raw: str, value: str, problem: str | None) -> None:
    assert check(ids.uscc_value, ids.uscc_problem, raw) == (value, problem)


def test_uscc_with_letter_authority_accepted_where_stdnum_refuses() -> None:
    rng = random.Random(5)
    code = samples.uscc(rng, first="N")
    assert not stdnum_uscc.is_valid(code)
    assert check(ids.uscc_value, ids.uscc_problem, code) == (code, None)
    codes = [samples.uscc(rng, first="9") for _ in range(1000)]
    assert all(stdnum_uscc.is_valid(code) for code in codes)
    assert check_many(ids.uscc_value, ids.uscc_problem, codes) == [(code, None) for code in codes]


OTHER = [
    ("card 19 digits with blanks", ids.digits_value, ids.card_problem, "6222 0212 3456 7890 128",
     "6222021234567890128", None),
    ("card with dashes, full-width", ids.digits_value, ids.card_problem, "６２２２-０２１２-３４５６-７８９０-１２８",
     "6222021234567890128", None),
    ("card Luhn wrong", ids.digits_value, ids.card_problem, "6222021234567890127", "6222021234567890127",
     "卡号校验位错误（Luhn）"),
    ("card too short", ids.digits_value, ids.card_problem, "622202123456789", "622202123456789", "卡号应为16–19位数字"),
    ("corporate 8 digits", ids.digits_value, ids.corporate_problem, "37001234", "37001234", None),
    ("corporate 7 digits", ids.digits_value, ids.corporate_problem, "3700123", "3700123", "对公账号应为8–32位数字"),
    ("phone plain", ids.phone_value, ids.phone_problem, "13800138000", "13800138000", None),
    ("phone +86 and dashes", ids.phone_value, ids.phone_problem, "+86 138-0013-8000", "13800138000", None),
    ("phone 0086", ids.phone_value, ids.phone_problem, "008613800138000", "13800138000", None),
    ("phone 86", ids.phone_value, ids.phone_problem, "8613800138000", "13800138000", None),
    ("phone parentheses", ids.phone_value, ids.phone_problem, "(+86)138 0013 8000", "13800138000", None),
    ("phone full-width", ids.phone_value, ids.phone_problem, "＋８６１３８００１３８０００", "13800138000", None),
    ("landline refused", ids.phone_value, ids.phone_problem, "0531-88886666", "053188886666", "不是有效的大陆手机号码"),
    ("12 as second digit refused", ids.phone_value, ids.phone_problem, "12800138000", "12800138000",
     "不是有效的大陆手机号码"),
    ("IMEI valid", ids.imei_value, ids.imei_problem, "490154203237518", "490154203237518", None),
    ("IMEI with separators", ids.imei_value, ids.imei_problem, "49-015420-323751-8", "490154203237518", None),
    ("IMEI Luhn wrong", ids.imei_value, ids.imei_problem, "490154203237519", "490154203237519", "IMEI校验位错误（Luhn）"),
    ("IMEI 14 digits", ids.imei_value, ids.imei_problem, "49015420323751", "49015420323751", "IMEI应为15位数字"),
    ("ICCID 20 chars", ids.upper_value, ids.iccid_problem, "89860012345678901234", "89860012345678901234", None),
    ("ICCID 19 chars with letter", ids.upper_value, ids.iccid_problem, "898600d123456789012", "898600D123456789012",
     None),
    ("ICCID foreign prefix", ids.upper_value, ids.iccid_problem, "89440012345678901234", "89440012345678901234",
     "ICCID应为以8986开头的19–20位"),
    ("IMSI valid", ids.digits_value, ids.imsi_problem, "460001234567890", "460001234567890", None),
    ("IMSI foreign", ids.digits_value, ids.imsi_problem, "310001234567890", "310001234567890",
     "IMSI应为以460开头的15位数字"),
    ("region 6 digits", ids.digits_value, ids.region_problem, "370102", "370102", None),
    ("region 4 digits", ids.digits_value, ids.region_problem, "3701", "3701", "行政区划代码应为6位数字"),
]


@pytest.mark.parametrize(("desc", "value_fn", "problem_fn", "raw", "value", "problem"), OTHER,
                         ids=[c[0] for c in OTHER])
def test_other_identifiers(desc, value_fn, problem_fn, raw: str, value: str, problem: str | None) -> None:
    assert check(value_fn, problem_fn, raw) == (value, problem)


def test_luhn_agrees_with_stdnum() -> None:
    rng = random.Random(3)
    numbers = [samples.card(rng) for _ in range(300)] + [str(rng.randrange(10**15, 10**19)) for _ in range(300)]
    got = pl.DataFrame({"n": numbers}).select(ids.luhn_ok(pl.col("n")))["n"].to_list()
    assert got == [luhn.is_valid(n) for n in numbers]


def test_person_key() -> None:
    frame = pl.DataFrame({"no": ["37040319990101123X", "E1234567", "H123", "91110000600037341L", None],
                          "type": ["RIC", "PASSPORT", "HMT", "USCC", "RIC"]})
    got = frame.select(ids.person_key(pl.col("no"), pl.col("type")).alias("k"))["k"].to_list()
    assert got == ["37040319990101123X", "PASSPORT:E1234567", "HMT:H123", "91110000600037341L", None]


# --- properties: a valid identifier survives any combination of the contract's dirt ---------

def _fullwidth(text: str, mask: list[bool]) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if m and "!" <= c <= "~" else c for c, m in zip(text, mask, strict=False))


@st.composite
def dirty(draw, clean_value: str, separators: str = " -", lower: bool = True) -> str:
    """`clean_value` with separators inside, random full-width chars, lower case and blanks around."""
    chars = list(clean_value.lower() if lower and draw(st.booleans()) else clean_value)
    out = []
    for i, c in enumerate(chars):
        out.append(c)
        if separators and i < len(chars) - 1 and draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(separators)))
    text = "".join(out)
    text = _fullwidth(text, draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text))))
    blanks = st.sampled_from(["", " ", "\u3000", "\t", " \u3000 "])
    return draw(blanks) + text + draw(blanks)


SEED = st.integers(0, 2**32)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=SEED, legacy=st.booleans())
def test_ric_survives_dirt(data, seed: int, legacy: bool) -> None:
    number = samples.ric(random.Random(seed))
    raw = number[:6] + number[8:17] if legacy and number[6:8] == "19" else number
    assert ric(data.draw(dirty(raw, separators=" "))) == (number, None)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=SEED)
def test_uscc_survives_dirt(data, seed: int) -> None:
    code = samples.uscc(random.Random(seed))
    assert check(ids.uscc_value, ids.uscc_problem, data.draw(dirty(code))) == (code, None)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=SEED)
def test_card_survives_dirt(data, seed: int) -> None:
    number = samples.card(random.Random(seed))
    assert check(ids.digits_value, ids.card_problem, data.draw(dirty(number))) == (number, None)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=SEED, prefix=st.sampled_from(["", "+86", "86", "0086", "+86 ", "(+86)"]))
def test_phone_survives_dirt(data, seed: int, prefix: str) -> None:
    number = samples.phone(random.Random(seed))
    raw = data.draw(dirty(prefix + number, separators=" -()"))
    assert check(ids.phone_value, ids.phone_problem, raw) == (number, None)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=SEED)
def test_imei_survives_dirt(data, seed: int) -> None:
    number = samples.imei(random.Random(seed))
    assert check(ids.imei_value, ids.imei_problem, data.draw(dirty(number, separators=" -/"))) == (number, None)
