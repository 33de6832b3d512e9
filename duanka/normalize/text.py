"""Text normalisation as Polars expressions: full-width, blanks, lists, code words.

Deliveries are typed by hand into Chinese systems, so digits and letters often
arrive full-width (`１３８…`, `ＩＣＢＣ`), values carry blanks (also the
ideographic space U+3000 and invisible zero-width characters), and lists use
whatever separator the clerk's input method produced. Everything here is a
vectorised expression so that a million rows normalise in seconds.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import polars as pl

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the
# ideographic space. ￥ and ｀-like symbols outside that block are added by hand.
_FULLWIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "\uffe5", "\u00a0"]
_HALFWIDTH = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" ", "¥", " "]
# Invisible characters that spreadsheets and web forms leave inside values.
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]

LIST_SEPARATORS = r"[;；,，、|]"
# Full-width `；` and `，` become `;` `,` in `halfwidth`; `、` has no half-width form.


def halfwidth(expr: pl.Expr) -> pl.Expr:
    """Full-width ASCII forms to half-width, invisible characters removed."""
    return expr.str.replace_many(_FULLWIDTH + _INVISIBLE, _HALFWIDTH + [""] * len(_INVISIBLE))


_TRANSLATE = str.maketrans(dict(zip(_FULLWIDTH + _INVISIBLE, _HALFWIDTH + [""] * len(_INVISIBLE),
                                    strict=True)))


def halfwidth_str(value: str) -> str:
    """`halfwidth` for one Python string (headers, messages)."""
    return value.translate(_TRANSLATE)


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """An empty string means 'not delivered': make it null so one test covers both."""
    return pl.when(expr.str.len_bytes() == 0).then(None).otherwise(expr)  # bytes: no UTF-8 scan


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Half-width, surrounding blanks stripped, blank as null: the base of every column."""
    return blank_to_null(halfwidth(expr).str.strip_chars())


# Characters `clean_text` changes wherever they stand (full-width forms, ideographic and no-break
# spaces, ￥, invisible characters): a value without any of them, without a blank at either end and
# not empty is already clean text.
_DIRTY = "\uff01-\uff5e\u3000\uffe5\u00a0\u200b-\u200d\u2060\ufeff"
CLEAN_SHAPE = f"^[^\\s{_DIRTY}](?:[^{_DIRTY}]*[^\\s{_DIRTY}])?$"


def clean_text_series(series: pl.Series) -> pl.Series:
    """`clean_text` of a whole column, with the repair chain run only on values that need it.

    Most delivered identifiers and names are clean already; one anchored regex over the column
    finds the rest, and only those go through full-width mapping, stripping and blank-to-null
    (measured on the 1M-lead bench files, 2-5 % dirty values: 0.46 -> 0.21 s CPU for the identifier
    and name columns of 190k rows). The result is the same as `clean_text` value for value.
    """
    needs = (~series.str.contains(CLEAN_SHAPE)).fill_null(False)
    dirty = int(needs.sum())
    if dirty == 0:
        return series
    if dirty * 2 > series.len():  # mostly dirty: one pass over all values beats gather + scatter
        return series.to_frame().select(clean_text(pl.col(series.name)).alias(series.name)).to_series()
    rows = needs.arg_true()
    fixed = series.gather(rows).to_frame().select(clean_text(pl.col(series.name)).alias(series.name)).to_series()
    return series.clone().scatter(rows, fixed)


def where_plain(texts: pl.Series, plain: str, full: Callable[[pl.Expr], pl.Expr],
                simple: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`full` of every text, where texts matching the regex `plain` take the cheaper `simple` instead.

    For normalisers whose chain (several regex replacements) changes nothing in most delivered values:
    `simple` (often the text itself, or a cast) must give what `full` gives on every text `plain`
    matches; the tests hold each use to that. Only the other texts go through `full`.
    """
    column = pl.col(texts.name)
    frame = texts.to_frame()
    odd = (~texts.str.contains(plain)).fill_null(True)
    count = int(odd.sum())
    if count * 2 > texts.len():  # mostly not plain: one pass over all values beats gather + scatter
        return frame.select(full(column).alias(texts.name)).to_series()
    out = frame.select(simple(column).alias(texts.name)).to_series()
    if count == 0:
        return out
    rows = odd.arg_true()
    return out.scatter(rows, frame[rows].select(full(column).alias(texts.name)).to_series())


def compact(expr: pl.Expr, separators: str = r"[\s\-]") -> pl.Expr:
    """Remove separators inside an identifier (blanks and `-` by default)."""
    return expr.str.replace_all(separators, "")


def split_list(expr: pl.Expr) -> pl.Expr:
    """Split a cleaned list cell on `; ； , ， 、 |` into stripped, non-empty elements.

    Null stays null (not delivered); a cell of separators only becomes null too.
    """
    parts = (
        expr.str.replace_all(LIST_SEPARATORS, ";")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.len_chars() > 0))
    )
    return pl.when(parts.list.len() == 0).then(None).otherwise(parts)


def code_lookup(expr: pl.Expr, words: Mapping[str, str]) -> pl.Expr:
    """Map a cleaned value to its code; `words` maps lower-cased spellings to codes.

    Case is ignored for codes (`Debit`, `DEBIT`) and inner blanks are dropped
    (`借 记 卡`). Unknown words give null; the caller turns that into a reason.
    """
    key = expr.str.replace_all(r"\s+", "").str.to_lowercase()
    return key.replace_strict(dict(words), default=None, return_dtype=pl.String)


def bank_lookup(expr: pl.Expr, words: Mapping[str, str]) -> pl.Expr:
    """Map a bank code or Chinese name to its code; `words` maps upper-cased spellings to codes.

    The 开户行 column often carries the branch too (`工商银行济南历下支行`), so a
    Chinese name also matches as a prefix, longest name first (`中国银行` must not
    swallow `中国银行保险…` before a longer listed name had its chance).
    Codes (ASCII) must match whole: `BOCX` is not `BOC`.
    """
    key = expr.str.replace_all(r"\s+", "").str.to_uppercase()
    exact = key.replace_strict(dict(words), default=None, return_dtype=pl.String)
    names = sorted((w for w in words if not w.isascii()), key=len, reverse=True)
    if not names:
        return exact
    prefix = key.str.extract("^(" + "|".join(re.escape(n) for n in names) + ")", 1)
    by_prefix = prefix.replace_strict(dict(words), default=None, return_dtype=pl.String)
    return pl.coalesce(exact, by_prefix)
