"""Dates and datetimes as delivered, parsed without per-row Python.

Issuers export dates in whatever their system or clerk prefers: `2026-11-03`,
`2026/11/3`, `2026.11.3`, `20261103`, `2026年11月3日`, each optionally followed
by a time `HH:MM[:SS]` (also `10时30分`, `T08:30`, fractional seconds from
Excel). Separators are first rewritten to one form (`2026-11-3 10:30`), then a
few exact formats are tried as whole-column parses and the first that fits
wins. Month, day and hour need no zero padding (the parser accepts `3` for
`03`). Impossible dates (`2026-02-30`, hour 25) come out null, and the caller
reports them. Measured: ~20× faster than extracting the parts by regex groups.
"""
from __future__ import annotations

import polars as pl

from duanka.normalize.text import where_plain

_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y%m%d",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y%m%d%H%M%S",
)


def canonical_text(expr: pl.Expr) -> pl.Expr:
    """`2026年11月3日 10时30分` -> `2026-11-3 10:30`; `2026/11/3T8:05` -> `2026-11-3 8:05`."""
    s = (
        expr.str.replace_many(["年", "月", "/", ".", "日", "时", "点", "分", "秒", "T", "：", "\u3000"],
                              ["-", "-", "-", "-", " ", ":", ":", ":", "", " ", ":", " "])
        .str.replace_all(r"\s*([-:])\s*", "$1")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" :")
    )
    # `2026-11-03 08:00:00-500` came from `.500` (fractional seconds) turned into `-500` above.
    return s.str.replace(r"(\d:\d{1,2})-(\d+)$", "$1.$2")


def parse_formats(texts: pl.Series) -> pl.Series:
    """Canonical texts -> Datetime("us"): the first of `_FORMATS` that parses each value, null if none.

    The same as a coalesce over every format, but each format after the first is tried only on the
    values still unparsed: a delivery uses one or two shapes, so most formats see few or no values
    (measured: 35 -> 8 ms for 24k distinct opening dates; a coalesce parses every value 8 times).
    """
    out = texts.str.to_datetime(_FORMATS[0], time_unit="us", strict=False, exact=True)
    for fmt in _FORMATS[1:]:
        missing = (out.is_null() & texts.is_not_null()).arg_true()
        if missing.len() == 0:
            break
        parsed = texts.gather(missing).str.to_datetime(fmt, time_unit="us", strict=False, exact=True)
        out = out.scatter(missing, parsed)
    return out


# Digits with `-` or `/` between year, month and day (or none), optionally ` H:MM[:SS]`: the shapes most
# systems export. `canonical_text` only turns their `/` into `-`.
PLAIN_DATE = (r"^(?:[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}|[0-9]{8})"
              r"(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?$")


def canonical_texts(texts: pl.Series) -> pl.Series:
    """`canonical_text` of a column; plain shapes (`PLAIN_DATE`) skip its five passes.

    Measured on the 1M-lead bench files (27k distinct opening dates a file, most of them plain): 12 -> 5 ms.
    """
    return where_plain(texts, PLAIN_DATE, canonical_text, lambda t: t.str.replace_all("/", "-", literal=True))


def parse_datetime(expr: pl.Expr) -> pl.Expr:
    """Cleaned text -> Datetime("us"); null when the text is no recognisable date or time."""
    return expr.map_batches(lambda texts: parse_formats(canonical_texts(texts)), return_dtype=pl.Datetime("us"),
                            is_elementwise=True)


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Cleaned text -> Date; a time part, if any, is accepted and dropped."""
    return parse_datetime(expr).dt.date()
