"""The ingest fast paths give exactly what the plain expressions give, value for value.

Three places skip work most values do not need (issue 3, ingest within 3x DuckDB's bare read):
- `identifiers.id_problems` checks RIC numbers in one NumPy pass over their bytes and USCC codes
  on their own rows only, instead of both expression chains on every row;
- `lists.list_items` leaves cells without a separator out of the split-and-evaluate chain;
- `dates.parse_formats` tries each date format after the first only on the values still unparsed.
Each is held here to the expression it replaces, on table-driven edge cases and on seeded random
mixes of valid and broken values.
"""
from __future__ import annotations

import calendar
import random
from datetime import date

import polars as pl
import pytest

from duanka.normalize import identifiers as ids
from duanka.normalize.checkdigits import ric_check
from duanka.normalize.dates import _FORMATS, canonical_text, parse_datetime
from duanka.normalize.lists import list_items
from duanka.normalize.text import clean_text, split_list

AS_OF = date(2026, 11, 3)


def _reference_problem(values: list[str | None], types: list[str | None]) -> list[str | None]:
    """The expressions `id_problem` used before the fast path: both checks under when/then."""
    frame = pl.DataFrame({"v": values, "t": types}, schema={"v": pl.String, "t": pl.String})
    v, t = pl.col("v"), pl.col("t")
    return frame.select(pl.when(t == "RIC").then(ids.ric_problem(v, AS_OF))
                        .when(t == "USCC").then(ids.uscc_problem(v)).otherwise(None))[:, 0].to_list()


def _fast_problem(values: list[str | None], types: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"v": values, "t": types}, schema={"v": pl.String, "t": pl.String})
    return frame.select(ids.id_problem(pl.col("v"), pl.col("t"), AS_OF))[:, 0].to_list()


def _ric(body17: str) -> str:
    return body17 + ric_check(pl.Series([body17]))[0]


ID_CASES = [
    ("valid RIC", _ric("37040319990101123"), "RIC"),
    ("valid RIC with check X", next(r for i in range(999) if (r := _ric(f"11010519900101{i:03d}")).endswith("X")),
     "RIC"),
    ("wrong check digit", _ric("37040319990101123")[:-1] + ("1" if _ric("37040319990101123")[-1] == "0" else "0"),
     "RIC"),
    ("17 characters", "37040319990101123", "RIC"),
    ("letters inside", "3704031999010112AB", "RIC"),
    ("lower-case x (not normalised here)", _ric("37040319990101123")[:-1] + "x", "RIC"),
    ("Unicode digits pass the regex, not the byte check", "३७०४०३१९९९०१०११२३४", "RIC"),
    ("Arabic-Indic digit at the end", _ric("37040319990101123")[:-1] + "٣", "RIC"),
    ("born 29 Feb of a leap year", _ric("11010520000229123"), "RIC"),
    ("born 29 Feb of 1900 (no leap year)", _ric("11010519000229123"), "RIC"),
    ("born on 1900-01-01", _ric("11010519000101123"), "RIC"),
    ("born 1899-12-31", _ric("11010518991231123"), "RIC"),
    ("born on the run date", _ric("110105" + AS_OF.strftime("%Y%m%d") + "123"), "RIC"),
    ("born the day after the run date", _ric("11010520261104123"), "RIC"),
    ("month 13", _ric("11010519991301123"), "RIC"),
    ("day 00", _ric("11010519990100123"), "RIC"),
    ("null value", None, "RIC"),
    ("empty value", "", "RIC"),
    ("valid USCC", "91350100M000100Y43", "USCC"),
    ("USCC with wrong check", "91350100M000100Y44", "USCC"),
    ("USCC read as RIC", "91350100M000100Y43", "RIC"),
    ("RIC read as USCC", _ric("37040319990101123"), "USCC"),
    ("passport is not checked", "E12345678", "PASSPORT"),
    ("unknown type is not checked", "whatever", None),
]


@pytest.mark.parametrize(("desc", "value", "id_type"), ID_CASES, ids=[c[0] for c in ID_CASES])
def test_id_problem_equals_the_expressions(desc: str, value: str | None, id_type: str | None) -> None:
    assert _fast_problem([value], [id_type]) == _reference_problem([value], [id_type])


def test_id_problem_equals_the_expressions_on_random_mixes() -> None:
    rng = random.Random(3)
    values, types = [], []
    for _ in range(20_000):
        year, month = rng.choice([1899, 1900, 1988, 2000, 2024, 2026, 2027]), rng.randint(0, 13)
        day = rng.randint(0, 32)
        body = f"{rng.randint(110000, 659999)}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        value = _ric(body) if rng.random() < 0.6 else body + rng.choice("0123456789Xx")
        if rng.random() < 0.1:
            value = value[: rng.randint(0, 18)] + rng.choice(["", "A", "１", "٣", "-"]) + value[rng.randint(0, 18):]
        values.append(value if rng.random() > 0.02 else None)
        types.append(rng.choice(["RIC", "RIC", "RIC", "USCC", "PASSPORT", None]))
    assert sum(1 for v, t in zip(values, types, strict=True) if t == "RIC" and v and len(v) == 18) > 5_000
    assert _fast_problem(values, types) == _reference_problem(values, types)


def test_birth_dates_agree_with_the_calendar() -> None:
    """Every y/m/d around the edges: the byte check accepts exactly the real days in range."""
    bodies = [f"110105{y:04d}{m:02d}{d:02d}123" for y in (1899, 1900, 1904, 1999, 2000, 2024, 2026, 2100)
              for m in range(14) for d in range(33)]
    values = [_ric(b) for b in bodies]
    fast = _fast_problem(values, ["RIC"] * len(values))
    assert fast == _reference_problem(values, ["RIC"] * len(values))
    for body, problem in zip(bodies, fast, strict=True):
        y, m, d = int(body[6:10]), int(body[10:12]), int(body[12:14])
        real = 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]
        assert (problem is None) == (real and date(1900, 1, 1) <= date(y, m, d) <= AS_OF), body


LIST_CELLS = [
    ("one value", "867112053941907"),
    ("two values, comma", "867112053941907,90AB7BFCE14AC9A593A5"),
    ("full-width semicolon and blanks", " a ； b ；a "),
    ("every separator", "a;b；c,d，e、f|g"),
    ("only separators", ";;、"),
    ("repeated value", "x,x,x"),
    ("phone with prefix", "+86 138-0013-8000"),
    ("account with blanks", "6222 0212 3456 7890 123"),
    ("upper-case IP", "FE80::1"),
    ("null", None),
    ("blank", "   "),
]


@pytest.mark.parametrize("item", ["device", "ip", "phone", "account", "case_id"])
def test_list_items_equal_the_chain(item: str) -> None:
    rng = random.Random(5)
    cells = [c for _, c in LIST_CELLS]
    # Mostly single values (the fast path gathers the rest), mostly several (one pass), and all single.
    several = [c for c in cells if c and any(ch in c for ch in ";；,，、|")]
    for column in (cells + [f"v{rng.randint(0, 99)}" for _ in range(200)], several * 10 + cells,
                   [f"V{i}" for i in range(50)]):
        texts = pl.DataFrame({"c": column}, schema={"c": pl.String}).select(clean_text(pl.col("c")).alias("c"))["c"]
        element = {"ip": pl.element().str.to_lowercase(), "phone": ids.phone_value(pl.element())}.get(
            item, pl.element())
        if item == "account":
            digits = pl.element().str.replace_all(r"[\s\-]", "")
            element = pl.when(digits.str.contains(r"^\d+$")).then(digits).otherwise(pl.element())
        chain = texts.to_frame().select(split_list(pl.col("c")).list.eval(element).list.unique(maintain_order=True))
        assert list_items(texts, item).to_list() == chain[:, 0].to_list()


DATE_TEXTS = ["2026-11-03", "2026/11/3", "20261103", "2026年11月3日 10时30分", "2026-11-03 08:00:00.500",
              "20261103083000", "2026-02-30", "2026-11-03T25:00", "昨天", "", None, "2026.1.2 3:4:5"]


def test_dates_equal_a_coalesce_over_every_format() -> None:
    rng = random.Random(8)
    texts = DATE_TEXTS + [rng.choice(DATE_TEXTS[:6]).replace("3", str(rng.randint(0, 9))) for _ in range(500)]
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    canonical = canonical_text(pl.col("t"))
    expected = frame.select(pl.coalesce(canonical.str.to_datetime(f, time_unit="us", strict=False, exact=True)
                                        for f in _FORMATS))[:, 0]
    got = frame.select(parse_datetime(pl.col("t")))[:, 0]
    assert got.to_list() == expected.to_list()
    assert got.null_count() < len(texts)
