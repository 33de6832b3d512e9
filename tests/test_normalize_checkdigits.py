"""Check-digit kernels (byte matrix + NumPy) against plain-Python references, shapes and buffer layouts."""
from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duanka.normalize import checkdigits as cd
from duanka.normalize import samples

RNG = random.Random(20261103)
CARD = samples.card(RNG, 19)
RIC = samples.ric(RNG)
USCC = samples.uscc(RNG, "N")


def luhn_reference(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def uscc_reference(body: str) -> str:
    total = sum(cd.USCC_ALPHABET.index(c) * w for c, w in zip(body, cd.USCC_WEIGHTS, strict=True))
    return cd.USCC_ALPHABET[(31 - total % 31) % 31]


LUHN = [
    ("19-digit card", CARD, 19, True),
    ("16-digit card", samples.card(RNG, 16), 19, True),
    ("check digit off by one", CARD[:-1] + str((int(CARD[-1]) + 1) % 10), 19, False),
    ("IMEI at width 15", samples.imei(RNG), 15, True),
    ("longer than the width", CARD + "0", 19, None),
    ("a letter inside", CARD[:5] + "A" + CARD[6:], 19, None),
    ("full-width digits are not digits", "６２２２０２１２３４５６７８９０", 19, None),
    ("null", None, 19, None),
]


@pytest.mark.parametrize(("desc", "value", "width", "expected"), LUHN, ids=[c[0] for c in LUHN])
def test_luhn(desc: str, value: str | None, width: int, expected: bool | None) -> None:
    assert cd.luhn_valid(pl.Series([value], dtype=pl.String), width).to_list() == [expected]


CHECKS = [
    ("RIC body", cd.ric_check, RIC[:17], RIC[17]),
    ("RIC body of 16 digits", cd.ric_check, RIC[:16], None),
    ("RIC body with X", cd.ric_check, RIC[:16] + "X", None),
    ("USCC body with letter authority", cd.uscc_check, USCC[:17], USCC[17]),
    ("USCC body with I (not in the alphabet)", cd.uscc_check, "I" + USCC[1:17], None),
    ("USCC body in lower case", cd.uscc_check, USCC[:17].lower(), None if USCC[:17].lower() != USCC[:17] else USCC[17]),
    ("null", cd.ric_check, None, None),
]


@pytest.mark.parametrize(("desc", "fn", "body", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_characters(desc: str, fn, body: str | None, expected: str | None) -> None:
    assert fn(pl.Series([body], dtype=pl.String)).to_list() == [expected]


def test_byte_matrix_of_sliced_and_chunked_series() -> None:
    """Arrow offsets of a slice and of several chunks are honoured, not assumed to start at 0."""
    values = [samples.ric(RNG)[:17] for _ in range(50)]
    chunked = pl.concat([pl.Series(values[:20]), pl.Series(["中文", None]), pl.Series(values[20:])], rechunk=False)
    sliced = chunked.slice(5, 40)
    expected = (values[:20] + ["中文", None] + values[20:])[5:45]
    got = cd.ric_check(sliced).to_list()
    assert got == [samples.ric_check(v) if v and v.isdigit() else None for v in expected]
    assert cd.byte_matrix(pl.Series([], dtype=pl.String), 17)[0].shape == (0, 17)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="0123456789X a中", max_size=20) | st.none(), min_size=1, max_size=30))
def test_kernels_agree_with_references_on_any_text(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    ric = cd.ric_check(series).to_list()
    luhn = cd.luhn_valid(series, 19).to_list()
    for value, r, ok in zip(values, ric, luhn, strict=True):
        digits = value is not None and value.isascii() and value.isdigit()
        assert r == (samples.ric_check(value) if digits and len(value) == 17 else None)
        assert ok == (luhn_reference(value) if value is not None and (value == "" or digits)
                      and len(value) <= 19 else None)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=cd.USCC_ALPHABET + "IOz", min_size=17, max_size=17), min_size=1, max_size=20))
def test_uscc_kernel_agrees_with_reference(bodies: list[str]) -> None:
    got = cd.uscc_check(pl.Series(bodies)).to_list()
    assert got == [uscc_reference(b) if all(c in cd.USCC_ALPHABET for c in b) else None for b in bodies]
