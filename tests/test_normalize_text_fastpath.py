"""`clean_text_series` (repair chain for the values that need it only) equals `clean_text` on every value.

The fast path trusts one regex (`CLEAN_SHAPE`) to say a value is clean already; these tests hold it
to the full chain on the contract's dirt (full-width, ideographic and no-break spaces, invisible
characters, blanks at either end, empty cells), in columns mostly clean, mostly dirty and all clean.
"""
from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duanka.normalize.text import CLEAN_SHAPE, clean_text, clean_text_series

DIRT = ["\u3000", "\u00a0", "\u200b", "\ufeff", "\u2060", " ", "\t", "１", "Ａ", "；", "￥", "（"]


def _full_chain(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(clean_text(pl.col("v")).alias("v"))["v"].to_list()


SHAPES = [
    ("ASCII identifier is clean", "6222021234567890123", True),
    ("Chinese name is clean", "张三", True),
    ("inner blank is kept as is", "a b", True),
    ("single character is clean", "x", True),
    ("leading blank needs repair", " L001", False),
    ("trailing tab needs repair", "L001\t", False),
    ("full-width digit needs repair", "１38", False),
    ("ideographic space inside needs repair", "张\u3000三", False),
    ("zero-width character needs repair", "62\u200b22", False),
    ("empty needs repair (becomes null)", "", False),
]


@pytest.mark.parametrize(("desc", "value", "clean"), SHAPES, ids=[c[0] for c in SHAPES])
def test_clean_shape(desc: str, value: str, clean: bool) -> None:
    assert pl.Series([value]).str.contains(CLEAN_SHAPE).item() is clean
    if clean:
        assert _full_chain([value]) == [value]


@pytest.mark.parametrize("dirty_share", [0.0, 0.05, 0.5, 0.95], ids=["all clean", "few dirty", "half", "most dirty"])
def test_same_as_full_chain_on_seeded_columns(dirty_share: float) -> None:
    rng = random.Random(int(dirty_share * 100))
    values: list[str | None] = []
    for i in range(3000):
        value: str | None = rng.choice([f"L{i:06d}", "中国工商银行", f"1380013{i:04d}", "a b"])
        if rng.random() < dirty_share:
            value = rng.choice([None, "", "  "]) if rng.random() < 0.1 else \
                "".join(rng.choice(DIRT) if rng.random() < 0.3 else ch for ch in f" {value} ")
        values.append(value)
    series = pl.Series("v", values, dtype=pl.String)
    out = clean_text_series(series)
    assert out.name == "v" and out.to_list() == _full_chain(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from([*DIRT, "a", "1", "张", "-", "\n"]),
                                            max_size=8)), min_size=1, max_size=40))
def test_any_mix_of_dirt(values: list[str | None]) -> None:
    assert clean_text_series(pl.Series("v", values, dtype=pl.String)).to_list() == _full_chain(values)
