"""Normalise and check a read delivery: typed values plus every reason a row fails.

Polars expressions over whole columns, no Python per row: each contract column
yields its normalised value and, when a check fails, a reason in the form the
issuer gets back in quarantine.csv:

    holder_id_no(证件号码): 身份证校验位错误，原值 "37040319990101123X"

All reasons of a row are collected (a clerk fixes a row once, not once per
reason), and a failed value is set to null so nothing half-checked can leak
into a clean table. Whether a row with reasons is quarantined is the loader's
decision; this module only says why.

Speed (1M leads must ingest within 3× a bare CSV read): a column whose checks
read only its own value is normalised once per distinct value when it repeats
(`normalize.distinct`: codes, banks, regions, dates); the few checks that read
another column (card number by account kind, ID number by ID type) run per row
afterwards; reason texts are built only for the rows that have a problem.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from duanka.contract_schema import ColumnSpec, Contract
from duanka.ingest.read import EXTRA, ROW, RawFile
from duanka.normalize import identifiers as ids
from duanka.normalize import numbers
from duanka.normalize.dates import parse_date, parse_datetime
from duanka.normalize.distinct import MIN_ROWS, by_distinct, worth_encoding
from duanka.normalize.lists import list_items
from duanka.normalize.text import bank_lookup, clean_text, clean_text_series, code_lookup

REASONS = "_reasons"
PERSON_KEY = "person_key"
_TEXT = "__t_"  # cleaned text of a column
_CODE = "__c_"  # normalised code of a code column (needed by dependent checks)
_VALUE = "__v_"  # normalised value before checks
_PROBLEM = "__p_"  # problem text of the value, null when fine
_FINAL = "__f_"  # checked value in the clean table's type, null when it has a problem
# Types whose value is checked against another column's code (the column named here).
_DEPENDS_ON = {"account_no": "account_kind", "id_no": "holder_id_type"}
# Types costly enough per row that encoding pays even when most values differ, and codes, whose values
# repeat by nature: both are encoded without counting their values first (`_encode`).
_COSTLY = ("date", "timestamp", "code", "bank")
# Identifiers (and columns checked against another column) are mostly unique: never encoded by default.
_UNIQUE = ("account_no", "id_no", "phone", "imei", "iccid", "imsi")


def _none() -> pl.Expr:
    return pl.lit(None, dtype=pl.String)


def _text(name: str) -> pl.Expr:
    return pl.col(_TEXT + name)


def _list_items(spec: ColumnSpec, text: pl.Expr) -> pl.Expr:
    """Split a list cell and normalise its elements by item kind; duplicates dropped (`list_items`)."""
    return text.map_batches(lambda s: list_items(s, spec.item), return_dtype=pl.List(pl.String),
                            is_elementwise=True)


Problem = Callable[[pl.Expr], pl.Expr]


def _none_problem(value: pl.Expr) -> pl.Expr:
    return _none()


def _check(spec: ColumnSpec, as_of: date) -> tuple[pl.Expr, Problem]:
    """(value from cleaned text, problem of the materialised value) of one column, by type."""
    text = _text(spec.name)
    kind = spec.type
    if kind == "bank":
        # The contract allows a bank's Chinese name: a bank missing from schemas/banks.yaml (there are
        # thousands of village banks) keeps its name as delivered rather than costing the lead.
        return pl.coalesce(pl.col(_CODE + spec.name), text), _none_problem
    if kind == "code":
        word = "未知代码，可选 " + "、".join(f"{code} {'/'.join(w)}" for code, w in spec.codes)
        return pl.col(_CODE + spec.name), lambda v: pl.when(v.is_null()).then(pl.lit(word)).otherwise(_none())
    if kind in ("timestamp", "date"):
        def date_problem(v: pl.Expr) -> pl.Expr:
            problem = pl.when(v.is_null()).then(pl.lit("日期无法识别（如 2026-11-03 或 2026-11-03 08:30）"))
            if kind == "date":
                problem = problem.when(v > as_of).then(pl.lit(f"日期晚于运行日期 {as_of.isoformat()}"))
            return problem.otherwise(_none())
        return (parse_datetime(text) if kind == "timestamp" else parse_date(text)), date_problem
    low = spec.minimum if spec.minimum is not None else 0.0
    if kind == "money":
        return numbers.money_value(text), lambda v: numbers.money_problem(v, low)
    if kind == "count":
        return numbers.count_value(text), lambda v: numbers.count_problem(v, low, spec.maximum)
    if kind == "ratio":
        return numbers.ratio_value(text), numbers.ratio_problem
    if kind == "list":
        return _list_items(spec, text), _none_problem
    if kind == "account_no":
        account_kind = pl.col(_CODE + _DEPENDS_ON[kind])
        return ids.account_value(text, account_kind), lambda v: ids.account_problem(v, account_kind)
    if kind == "id_no":
        id_type = pl.col(_CODE + _DEPENDS_ON[kind])
        return ids.id_value(text, id_type), lambda v: ids.id_problem(v, id_type, as_of)
    if kind in ids.SIMPLE:
        value_of, problem_of = ids.SIMPLE[kind]
        return value_of(text), problem_of
    return text, _none_problem  # free text


def _problem(spec: ColumnSpec, problem_of: Problem) -> pl.Expr:
    """The column's problem including missing-value rules; null when the value is fine."""
    text = _text(spec.name)
    problem = pl.when(text.is_not_null()).then(problem_of(pl.col(_VALUE + spec.name)))
    if spec.required:
        problem = problem.when(text.is_null()).then(pl.lit("必填项缺失"))
    elif spec.required_when is not None:
        other, code = spec.required_when
        problem = problem.when(text.is_null() & (pl.col(_CODE + other) == code)).then(
            pl.lit(f"{other} 为 {code} 时必填"))
    return problem.otherwise(_none())


def _reason(spec: ColumnSpec, problem: pl.Expr) -> pl.Expr:
    raw = pl.col(spec.name).fill_null("")
    return (pl.when(problem.is_not_null())
            .then(pl.concat_str(pl.lit(f"{spec.label}: "), problem, pl.lit('，原值 "'), raw, pl.lit('"')))
            .otherwise(_none()))


def _value_reads_others(spec: ColumnSpec) -> bool:
    return spec.type in _DEPENDS_ON


def _problem_reads_others(spec: ColumnSpec) -> bool:
    return _value_reads_others(spec) or spec.required_when is not None


def _final(spec: ColumnSpec) -> pl.Expr:
    return (pl.when(pl.col(_PROBLEM + spec.name).is_null()).then(pl.col(_VALUE + spec.name)).otherwise(None)
            .cast(spec.dtype).alias(_FINAL + spec.name))


def _own_value_plan(frame: pl.LazyFrame, specs: list[ColumnSpec], checks: dict[str, tuple[pl.Expr, Problem]],
                    bank_words: dict[str, str], referenced: frozenset[str]) -> pl.LazyFrame:
    """Everything about `specs` that follows from each column's own value; one output row per row.

    Stages materialise intermediate columns: expressions repeated inside one
    tree are recomputed, a column is read. A column whose checks need another
    column's code stops at its cleaned text (and value), `_other_value_plan` goes on.
    Only the codes in `referenced` (`_referenced_codes`) are kept: each kept column is one more
    gather back per row on the per-distinct path.
    """
    own_value = [s for s in specs if not _value_reads_others(s)]
    done = [s for s in specs if not _problem_reads_others(s)]
    codes = [s for s in specs if s.type in ("code", "bank")]
    names = frame.collect_schema().names()
    staged = (
        frame
        .with_columns(clean_text(pl.col(s.name)).alias(_TEXT + s.name) for s in specs
                      if _TEXT + s.name not in names)  # the per-row path brings them (`_texts`)
        .with_columns(
            (bank_lookup(_text(s.name), bank_words) if s.type == "bank"
             else code_lookup(_text(s.name), s.code_words())).alias(_CODE + s.name)
            for s in codes
        )
        .with_columns(checks[s.name][0].alias(_VALUE + s.name) for s in own_value)
        .with_columns(_problem(s, checks[s.name][1]).alias(_PROBLEM + s.name) for s in done)
        .with_columns(_final(s) for s in done)
    )
    keep = [_CODE + s.name for s in codes if s.name in referenced]
    for s in specs:
        if s in done:
            keep += [_FINAL + s.name, _PROBLEM + s.name]
        else:
            keep += [_TEXT + s.name] + ([_VALUE + s.name] if s in own_value else [])
    return staged.select(keep)


def _referenced_codes(specs: list[ColumnSpec]) -> frozenset[str]:
    """Columns whose code another column's check reads (account kind, ID type, `required_when`)."""
    names = {s.name for s in specs}
    read = {_DEPENDS_ON[s.type] for s in specs if s.type in _DEPENDS_ON}
    read |= {s.required_when[0] for s in specs if s.required_when is not None}
    return frozenset(read & names)


def _texts(frame: pl.DataFrame, specs: list[ColumnSpec]) -> pl.DataFrame:
    """`frame` with the cleaned text of `specs` (columns of mostly unique values, cleaned row by row).

    Most such values arrive clean: only the others go through the repair chain (`clean_text_series`).
    """
    return frame.with_columns(clean_text_series(frame[s.name]).alias(_TEXT + s.name) for s in specs)


def _other_value_plan(frame: pl.LazyFrame, specs: list[ColumnSpec],
                      checks: dict[str, tuple[pl.Expr, Problem]]) -> pl.LazyFrame:
    """Per row: the values and problems that need another column's code (see `_own_value_plan`)."""
    rest = [s for s in specs if _problem_reads_others(s)]
    return (
        frame
        .with_columns(checks[s.name][0].alias(_VALUE + s.name) for s in rest if _value_reads_others(s))
        .with_columns(_problem(s, checks[s.name][1]).alias(_PROBLEM + s.name) for s in rest)
        .with_columns(_final(s) for s in rest)
    )


def _encode(spec: ColumnSpec, column: pl.Series, distinct: bool | None) -> bool:
    """Whether `spec` is normalised per distinct value (None: when it pays, see `normalize.distinct`)."""
    if distinct is not None:
        return distinct
    if spec.type in _COSTLY:
        return column.len() >= MIN_ROWS
    if spec.type in _UNIQUE:
        return False
    return worth_encoding(column)  # counting the distinct values costs ~1 ms per 100k rows


def _reasons(wide: pl.DataFrame, raw: pl.DataFrame, specs: list[ColumnSpec]) -> pl.Series:
    """Every reason of each row (empty list when valid); texts are built for rows with a problem only.

    `wide` holds the problems, `raw` the values as delivered that the reasons quote.
    """
    problems = [pl.col(_PROBLEM + s.name) for s in specs]
    flagged = wide.lazy().select(pl.any_horizontal(p.is_not_null() for p in problems)).collect().to_series()
    # Lazy: an eager filter or gather first copies the reader's chunks into one (~20 ms per 200k rows).
    raw_values = raw.lazy().select(s.name for s in specs).filter(pl.lit(flagged)).collect()
    rows = pl.concat([raw_values, wide.lazy().select(problems).filter(pl.lit(flagged)).collect()], how="horizontal")
    listed = (
        rows.lazy()
        .select(pl.concat_list([_reason(s, p) for s, p in zip(specs, problems, strict=True)])
                .list.drop_nulls().alias(REASONS))
        .collect().to_series()
    )
    # Row i takes its own entry of `listed`, or the empty list appended after them when it is valid.
    table = pl.concat([listed, pl.Series(REASONS, [[]], dtype=listed.dtype)], rechunk=True)
    position = pl.select(pl.when(pl.lit(flagged)).then(pl.lit(flagged).cum_sum() - 1)
                         .otherwise(listed.len()).cast(pl.UInt32)).to_series()
    return table[position]


def clean(raw: RawFile, as_of: date, contract: Contract, *, distinct: bool | None = None) -> pl.DataFrame:
    """Normalise and check every row of `raw`; one output row per input row.

    Columns: the contract columns typed as the clean tables, `person_key` for
    bank/sim leads, `_row`, `_extra`, and `_reasons` (empty list when valid).
    `distinct` forces (True) or forbids (False) per-distinct-value normalisation;
    the result is the same either way, only the time differs.
    """
    schema = contract.kinds[raw.kind]
    specs = schema.columns
    bank_words = contract.bank_words()
    checks = {spec.name: _check(spec, as_of) for spec in specs}
    frame = raw.frame
    referenced = _referenced_codes(specs)
    encoded = [s for s in specs if _encode(s, frame[s.name], distinct)]
    per_row = [s for s in specs if s not in encoded]
    # The raw frame stays out of `wide`: its columns come in the reader's chunks, and a frame whose
    # columns are chunked differently is copied whole into one chunk by the next Polars operation
    # (measured at 1M leads: ~0.2 s CPU). Only the reasons read raw values, and for flagged rows only.
    parts = []
    if per_row:
        parts.append(_own_value_plan(_texts(frame, per_row).lazy(), per_row, checks, bank_words, referenced)
                     .collect(engine="in-memory"))
    for spec in encoded:
        parts.append(by_distinct(frame, spec.name,
                                 lambda lf, spec=spec: _own_value_plan(lf, [spec], checks, bank_words, referenced)))
    wide = _other_value_plan(pl.concat(parts, how="horizontal").lazy(), specs, checks).collect(engine="in-memory")
    out = wide.lazy().select(*[pl.col(_FINAL + s.name).alias(s.name) for s in specs],
                             pl.lit(frame[ROW].rechunk()), pl.lit(frame[EXTRA].rechunk()),
                             pl.lit(_reasons(wide, frame, specs)).alias(REASONS))
    names = schema.names
    if "holder_id_no" in names:
        out = out.with_columns(ids.person_key(pl.col("holder_id_no"), pl.col("holder_id_type")).alias(PERSON_KEY))
        names = names.copy()
        names.insert(names.index("holder_id_no") + 1, PERSON_KEY)
    if "issuer" in names:
        out = out.with_columns(pl.col("issuer").fill_null(""))
    return out.select(*names, ROW, EXTRA, REASONS).collect(engine="in-memory")
