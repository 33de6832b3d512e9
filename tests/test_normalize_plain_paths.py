"""The plain-value fast paths of issue 3 give exactly what the full chains give, value for value.

Each normaliser here skips work for the values most deliveries consist of (bare digits, plain amounts,
card numbers of ASCII digits) and sends every other value through the expression it had before:
- `text.where_plain` behind `identifiers.phone_value` and `numbers.money_value`;
- `identifiers.account_problems`: card rows by their Luhn verdict read from bytes, others by the
  expressions `card_problem` and `corporate_problem`;
- `identifiers.id_value`: compact and upper-case once, the legacy upgrade on RIC rows only;
- `checkdigits.ric_verdicts`, position-major (held to the expressions in test_normalize_fastpaths.py);
- `dates.canonical_texts`: plain date shapes only get `/` turned into `-`;
- `lists.list_items`: cells whose elements have no blanks and none empty skip the stripping.
Each is held to the expressions it replaces on table-driven edge cases and on seeded random mixes in
which plain values are the majority (the gather-and-scatter path) and the minority (one full pass).
"""
from __future__ import annotations

import random

import polars as pl
import pytest

from duanka.normalize import identifiers as ids
from duanka.normalize import numbers, samples
from duanka.normalize.dates import PLAIN_DATE, canonical_text, canonical_texts
from duanka.normalize.lists import _chain, list_items
from duanka.normalize.text import where_plain


def _frame(values: list[str | None], **others: list[str | None]) -> pl.DataFrame:
    data = {"v": values} | others
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def _run(expr: pl.Expr, frame: pl.DataFrame) -> list:
    return frame.select(expr.alias("out"))["out"].to_list()


PHONES = [
    ("bare mobile", "13800138000"),
    ("86 prefix", "8613800138000"),
    ("0086 prefix", "008613800138000"),
    ("+86 prefix", "+8613800138000"),
    ("prefix before a landline", "86053188886666"),
    ("12 digits", "138001380001"),
    ("prefix, 10 digits after", "861380013800"),
    ("prefix, 12 digits after", "86138001380001"),
    ("blanks and dashes", "+86 138-0013-8000"),
    ("parentheses", "(0086)13800138000"),
    ("Unicode digits", "１３８００１３８０００"),
    ("Arabic-Indic digits after the prefix", "86١٣٨٠٠١٣٨٠٠٠"),
    ("letters", "138a0013800"),
    ("empty", ""),
    ("null", None),
    ("86 alone", "86"),
    ("double prefix", "86008613800138000"),
]

AMOUNTS = [
    ("plain", "1234.50"), ("integer", "300"), ("two dots", "1.2.3"), ("dot only", "."), ("leading dot", ".5"),
    ("thousands", "1,234.5"), ("yuan", "12元"), ("yuan then comma", "12元,"), ("wan", "1.5万"),
    ("RMB", "RMB300"), ("renminbi", "人民币300"), ("yen sign", "¥300"), ("negative", "-3"), ("exponent", "1e5"),
    ("inf", "inf"), ("blank inside", "1 000"), ("words", "abc"), ("empty", ""), ("null", None),
]


@pytest.mark.parametrize(("desc", "raw"), PHONES, ids=[c[0] for c in PHONES])
def test_phone_value_equals_the_chain(desc: str, raw: str | None) -> None:
    frame = _frame([raw])
    assert _run(ids.phone_value(pl.col("v")), frame) == _run(ids.phone_chain(pl.col("v")), frame)


@pytest.mark.parametrize(("desc", "raw"), AMOUNTS, ids=[c[0] for c in AMOUNTS])
def test_money_value_equals_the_chain(desc: str, raw: str | None) -> None:
    frame = _frame([raw])
    assert _run(numbers.money_value(pl.col("v")), frame) == _run(numbers.money_chain(pl.col("v")), frame)


@pytest.mark.parametrize("plain_share", [0.9, 0.3])
def test_phone_and_money_equal_the_chains_on_random_mixes(plain_share: float) -> None:
    rng = random.Random(int(plain_share * 10))
    phones = [samples.phone(rng) if rng.random() < plain_share else
              rng.choice(["86", "0086", "+86", "+86 ", "(86)"]) + samples.phone(rng) if rng.random() < 0.7 else
              rng.choice([c[1] for c in PHONES]) for _ in range(3000)]
    amounts = [f"{rng.randint(0, 10**6) / 100}" if rng.random() < plain_share else
               rng.choice([c[1] for c in AMOUNTS]) for _ in range(3000)]
    frame = _frame(phones, a=amounts)
    assert _run(ids.phone_value(pl.col("v")), frame) == _run(ids.phone_chain(pl.col("v")), frame)
    assert _run(numbers.money_value(pl.col("a")), frame) == _run(numbers.money_chain(pl.col("a")), frame)


@pytest.mark.parametrize("cells", [["1", None, "x-", "2", "-", "3", "4"], ["1", None, "x-", "-", "y-"]],
                         ids=["mostly plain", "mostly not"])
def test_where_plain_keeps_order_and_nulls(cells: list[str | None]) -> None:
    texts = pl.Series("t", cells * 10)
    def full(e: pl.Expr) -> pl.Expr:
        return e.str.replace_all("-", "").str.to_uppercase()

    out = where_plain(texts, r"^[0-9]$", full, lambda e: e)
    assert out.to_list() == texts.to_frame().select(full(pl.col("t")))["t"].to_list()
    assert out.to_list()[:3] == ["1", None, "X"]
    assert where_plain(texts.head(0), r"^[0-9]$", full, lambda e: e).len() == 0


def _reference_account_problem(values: list[str | None], kinds: list[str | None]) -> list[str | None]:
    """The expressions `account_problem` used before the fast path: both checks under when/then."""
    v, k = pl.col("v"), pl.col("k")
    return _run(pl.when(k.is_in(ids.CARD_KINDS)).then(ids.card_problem(v))
                .when(k == "corporate").then(ids.corporate_problem(v)).otherwise(None), _frame(values, k=kinds))


ACCOUNTS = [
    ("valid card", samples.card(random.Random(1))),
    ("card with wrong check digit", "6222021234567890127"),
    ("15 digits", "622202123456789"),
    ("20 digits", "62220212345678901234"),
    ("16 digits", "4111111111111111"),
    ("Unicode digits pass the regex, not the byte check", "６２２２０２１２３４５６７８９０１２３"),
    ("Arabic-Indic digits", "٦٢٢٢٠٢١٢٣٤٥٦٧٨٩٠١٢٣"),
    ("sign in front", "+4111111111111111"),
    ("letters", "6222abc"),
    ("corporate length", "37001234567"),
    ("empty", ""),
    ("null", None),
]


@pytest.mark.parametrize("kind", ["debit", "credit", "corporate", "payment", None])
def test_account_problem_equals_the_expressions(kind: str | None) -> None:
    values = [c[1] for c in ACCOUNTS]
    kinds = [kind] * len(values)
    fast = _run(ids.account_problem(pl.col("v"), pl.col("k")), _frame(values, k=kinds))
    assert fast == _reference_account_problem(values, kinds)


def test_account_problem_equals_the_expressions_on_random_mixes() -> None:
    rng = random.Random(4)
    values = [rng.choice([samples.card(rng), samples.card(rng)[:-1] + "0", *[c[1] for c in ACCOUNTS]])
              for _ in range(5000)]
    kinds = [rng.choice(["debit", "debit", "credit", "corporate", "payment", None]) for _ in values]
    fast = _run(ids.account_problem(pl.col("v"), pl.col("k")), _frame(values, k=kinds))
    assert fast == _reference_account_problem(values, kinds)
    assert sum(p == "卡号校验位错误（Luhn）" for p in fast) > 100 and fast.count(None) > 1000


def test_id_value_equals_the_two_expressions() -> None:
    rng = random.Random(6)
    legacy = [samples.ric(rng)[:6] + samples.ric(rng)[8:17] for _ in range(20)]
    values = [rng.choice([samples.ric(rng).lower(), " 1101-0519 90", "e1234567", *legacy, None, ""])
              for _ in range(3000)]
    types = [rng.choice(["RIC", "RIC", "USCC", "PASSPORT", None]) for _ in values]
    frame = _frame(values, t=types)
    reference = pl.when(pl.col("t") == "RIC").then(ids.ric_value(pl.col("v"))).otherwise(ids.upper_value(pl.col("v")))
    got = _run(ids.id_value(pl.col("v"), pl.col("t")), frame)
    assert got == _run(reference, frame)
    assert any(len(g or "") == 18 and (v or "").isdigit() and len(v or "") == 15
               for g, v, t in zip(got, values, types, strict=True) if t == "RIC")


DATES = ["2026-11-03", "2026/11/3", "20261103", "2026-11-03 08:30", "2026/11/3 8:05:09", "20261103 08:30:00",
         "2026-1-2 3:04", "2026/11/3 08:30:00.500", "2026-11-03T08:30", "2026年11月3日", "2026.11.3",
         "2026 - 11 - 03", "2026-11-03  08:30", "2026-11-03 08:30:", "20261103083000", "2026/11/3 8:5",
         "2026/11/3 123:45", "202611031", "2026-11-03 08:00:00-500", "昨天", "", None]


def test_canonical_texts_equal_canonical_text() -> None:
    rng = random.Random(9)
    plain = [d for d in DATES if d and pl.Series([d]).str.contains(PLAIN_DATE)[0]]
    assert len(plain) >= 7
    for cells in (DATES, DATES + [rng.choice(plain) for _ in range(200)]):  # mostly odd, mostly plain
        texts = pl.Series("t", cells, dtype=pl.String)
        assert canonical_texts(texts).to_list() == texts.to_frame().select(canonical_text(pl.col("t")))["t"].to_list()


SEVERAL_PLAIN = ["a;b", "x,x,x", "a;b；c,d，e、f|g", "867112053941907,90AB7BFCE14AC9A593A5", "FE80::1|10.0.0.1",
                 "+8613800138000;13800138000", "6222-0212,6222-0212"]
SEVERAL_ODD = [" a ； b ；a ", ";;、", "a;;b", "a; b", ";a", "b,", "+86 138-0013-8000,13800138000", "a b;c"]


@pytest.mark.parametrize("item", [None, "ip", "phone", "account"])
@pytest.mark.parametrize("several", [SEVERAL_PLAIN, SEVERAL_ODD, SEVERAL_PLAIN + SEVERAL_ODD],
                         ids=["plain only", "odd only", "both"])
def test_list_items_equal_the_chain_whatever_the_mix(item: str | None, several: list[str]) -> None:
    """Cells with a separator in the minority, all plain, none plain or mixed (`lists._split`)."""
    rng = random.Random(len(several))
    cells = [rng.choice(["x", "X1", None, "13800138000"]) for _ in range(300)] + several * 3
    rng.shuffle(cells)
    texts = pl.Series("c", cells, dtype=pl.String)
    chain = texts.to_frame().select(_chain(pl.col("c"), item).alias("c"))["c"]
    assert list_items(texts, item).to_list() == chain.to_list()
