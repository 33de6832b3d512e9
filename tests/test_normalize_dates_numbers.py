"""Dates, amounts, counts and ratios in every form the contract lists."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from duanka.normalize import numbers
from duanka.normalize.dates import parse_date, parse_datetime
from duanka.normalize.text import clean_text


def run(fn, raw: str):
    return pl.DataFrame({"v": [raw]}, schema={"v": pl.String}).select(fn(clean_text(pl.col("v"))).alias("v"))["v"][0]


DATETIMES = [
    ("ISO date", "2026-11-03", datetime(2026, 11, 3)),
    ("slashes without padding", "2026/11/3", datetime(2026, 11, 3)),
    ("compact", "20261103", datetime(2026, 11, 3)),
    ("Chinese words", "2026年11月3日", datetime(2026, 11, 3)),
    ("dots", "2026.11.3", datetime(2026, 11, 3)),
    ("date and HH:MM", "2026-11-03 08:30", datetime(2026, 11, 3, 8, 30)),
    ("date and HH:MM:SS", "2026/11/3 8:30:15", datetime(2026, 11, 3, 8, 30, 15)),
    ("ISO with T", "2026-11-03T08:30:00", datetime(2026, 11, 3, 8, 30)),
    ("Chinese date with time", "2026年11月3日 10:30", datetime(2026, 11, 3, 10, 30)),
    ("Chinese date and time words", "2026年11月3日10时30分", datetime(2026, 11, 3, 10, 30)),
    ("compact with time", "20261103 08:30:00", datetime(2026, 11, 3, 8, 30)),
    ("Excel fractional seconds", "2026-11-03 08:00:00.500", datetime(2026, 11, 3, 8, 0, 0, 500000)),
    ("full-width digits", "２０２６－１１－０３", datetime(2026, 11, 3)),
    ("blanks around", "  2026-11-03 ", datetime(2026, 11, 3)),
    ("February 30 is no date", "2026-02-30", None),
    ("month 13 is no date", "2026/13/1", None),
    ("hour 25 is no time", "2026-11-03 25:00", None),
    ("words are no date", "昨天", None),
]


@pytest.mark.parametrize(("desc", "raw", "expected"), DATETIMES, ids=[c[0] for c in DATETIMES])
def test_parse_datetime(desc: str, raw: str, expected: datetime | None) -> None:
    assert run(parse_datetime, raw) == expected


def test_parse_date_drops_time() -> None:
    assert run(parse_date, "2026/11/3 23:59") == date(2026, 11, 3)


def money(raw: str):
    value = run(numbers.money_value, raw)
    problem = pl.select(numbers.money_problem(pl.lit(value, dtype=pl.Float64)))[0, 0]
    return value, problem


MONEY = [
    ("plain", "1234.5", 1234.5, None),
    ("thousands separators", "1,234,567.80", 1234567.8, None),
    ("yuan suffix", "300元", 300.0, None),
    ("yen sign", "¥300", 300.0, None),
    ("full-width yen and digits", "￥３００", 300.0, None),
    ("ten-thousands", "1.5万元", 15000.0, None),
    ("zero", "0", 0.0, None),
    ("negative refused", "-5", -5.0, "金额不能小于 0"),
    ("words refused", "很多", None, "不是有效金额"),
]


@pytest.mark.parametrize(("desc", "raw", "value", "problem"), MONEY, ids=[c[0] for c in MONEY])
def test_money(desc: str, raw: str, value: float | None, problem: str | None) -> None:
    assert money(raw) == (value, problem)


COUNTS = [
    ("plain", "12", None, 12.0, None),
    ("thousands separator", "1,200", None, 1200.0, None),
    ("unit word", "12笔", None, 12.0, None),
    ("Excel float form", "12.0", None, 12.0, None),
    ("fraction refused", "1.5", None, 1.5, "应为整数"),
    ("negative refused", "-1", None, -1.0, "应在 不小于 0 范围内"),
    ("abroad days within 0-30", "30", 30, 30.0, None),
    ("abroad days above 30", "31", 30, 31.0, "应在 0–30 范围内"),
]


@pytest.mark.parametrize(("desc", "raw", "maximum", "value", "problem"), COUNTS, ids=[c[0] for c in COUNTS])
def test_count(desc: str, raw: str, maximum: int | None, value: float, problem: str | None) -> None:
    got = run(numbers.count_value, raw)
    assert got == value
    assert pl.select(numbers.count_problem(pl.lit(got, dtype=pl.Float64), 0, maximum))[0, 0] == problem


RATIOS = [
    ("share", "0.35", 0.35, None),
    ("percent", "35%", 0.35, None),
    ("full-width percent", "35％", 0.35, None),
    ("one", "1", 1.0, None),
    ("above one refused", "1.2", 1.2, "比例应在 0–1 之间（或 0%–100%）"),
    ("words refused", "高", None, "不是有效比例"),
]


@pytest.mark.parametrize(("desc", "raw", "value", "problem"), RATIOS, ids=[c[0] for c in RATIOS])
def test_ratio(desc: str, raw: str, value: float | None, problem: str | None) -> None:
    got = run(numbers.ratio_value, raw)
    assert got == pytest.approx(value) if value is not None else got is None
    assert pl.select(numbers.ratio_problem(pl.lit(got, dtype=pl.Float64)))[0, 0] == problem
