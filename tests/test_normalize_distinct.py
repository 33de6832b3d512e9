"""Normalising per distinct value: the encoding round-trips, and a plan gives each row its own result."""
from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from duanka.normalize.dates import parse_date, parse_datetime
from duanka.normalize.distinct import MIN_ROWS, by_distinct, encode, worth_encoding
from duanka.normalize.text import clean_text

ENCODE = [
    ("no rows", []),
    ("only nulls", [None, None]),
    ("no nulls, repeated", ["a", "b", "a", "a"]),
    ("nulls between values", ["x", None, "y", None, "x"]),
    ("Chinese and blanks", ["工商银行", " ", "", "工商银行", "　"]),
]


@pytest.mark.parametrize(("desc", "values"), ENCODE, ids=[c[0] for c in ENCODE])
def test_encode_round_trips(desc: str, values: list[str | None]) -> None:
    series = pl.Series("c", values, dtype=pl.String)
    distinct, index = encode(series)
    assert distinct[index].to_list() == values
    assert distinct[-1] is None and distinct.name == "c" and index.dtype == pl.UInt32
    assert distinct.len() == series.drop_nulls().n_unique() + 1


def _plan(frame: pl.LazyFrame) -> pl.LazyFrame:
    text = clean_text(pl.col("c"))
    return frame.select(text.alias("text"), parse_datetime(text).alias("at"), parse_date(text).alias("on"),
                        pl.col("c").is_null().alias("missing"))


DATES = st.sampled_from(["2026-11-03", "2026/11/3 8:05", "２０２６年１１月３日", " 20261103 ", "2026-02-30",
                         "", "  ", "nonsense", "2026-11-03 08:00:00.500"])


@settings(max_examples=100, deadline=None)
@given(st.lists(DATES | st.none() | st.text(max_size=6), max_size=40))
def test_by_distinct_equals_row_evaluation(values: list[str | None]) -> None:
    frame = pl.DataFrame({"c": values}, schema={"c": pl.String})
    assert_frame_equal(by_distinct(frame, "c", _plan), _plan(frame.lazy()).collect())


WORTH = [
    ("small frame, all repeated", ["a"] * 10, False),
    ("large frame, few values", ["a", "b", "c"] * MIN_ROWS, True),
    ("large frame, all different", [str(i) for i in range(MIN_ROWS * 2)], False),
    ("large frame, mostly null", [None] * (MIN_ROWS * 2), True),
]


@pytest.mark.parametrize(("desc", "values", "expected"), WORTH, ids=[c[0] for c in WORTH])
def test_worth_encoding(desc: str, values: list[str | None], expected: bool) -> None:
    assert worth_encoding(pl.Series(values, dtype=pl.String)) is expected
