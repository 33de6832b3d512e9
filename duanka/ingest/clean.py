"""Normalise and check a read delivery: typed values plus every reason a row fails.

One pass of Polars expressions over the whole frame, no Python per row: each
contract column yields its normalised value and, when a check fails, a reason
in the form the issuer gets back in quarantine.csv:

    holder_id_no(证件号码): 身份证校验位错误，原值 "37040319990101123X"

All reasons of a row are collected (a clerk fixes a row once, not once per
reason), and a failed value is set to null so nothing half-checked can leak
into a clean table. Whether a row with reasons is quarantined is the loader's
decision; this module only says why.
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
from duanka.normalize.text import bank_lookup, clean_text, code_lookup, compact, split_list

REASONS = "_reasons"
PERSON_KEY = "person_key"
_TEXT = "__t_"  # cleaned text of a column
_CODE = "__c_"  # normalised code of a code column (needed by dependent checks)
_VALUE = "__v_"  # normalised value before checks
_PROBLEM = "__p_"  # problem text of the value, null when fine


def _none() -> pl.Expr:
    return pl.lit(None, dtype=pl.String)


def _text(name: str) -> pl.Expr:
    return pl.col(_TEXT + name)


def _list_items(spec: ColumnSpec, text: pl.Expr) -> pl.Expr:
    """Split a list cell and normalise its elements by item kind; duplicates dropped."""
    items = split_list(text)
    element = pl.element()
    if spec.item == "account":
        digits = compact(element)
        element = pl.when(digits.str.contains(r"^\d+$")).then(digits).otherwise(element)
    elif spec.item == "phone":
        element = ids.phone_value(element)
    elif spec.item == "ip":
        element = element.str.to_lowercase()
    return items.list.eval(element).list.unique(maintain_order=True)


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
        account_kind = pl.col(_CODE + "account_kind")
        return ids.account_value(text, account_kind), lambda v: ids.account_problem(v, account_kind)
    if kind == "id_no":
        id_type = pl.col(_CODE + "holder_id_type")
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


def clean(raw: RawFile, as_of: date, contract: Contract) -> pl.DataFrame:
    """Normalise and check every row of `raw`; one output row per input row.

    Columns: the contract columns typed as the clean tables, `person_key` for
    bank/sim leads, `_row`, `_extra`, and `_reasons` (empty list when valid).
    """
    schema = contract.kinds[raw.kind]
    specs = schema.columns
    bank_words = contract.bank_words()
    checks = {spec.name: _check(spec, as_of) for spec in specs}
    # Stages materialise intermediate columns: expressions repeated inside one
    # tree are recomputed, a column is read.
    staged = (
        raw.frame.lazy()
        .with_columns(clean_text(pl.col(s.name)).alias(_TEXT + s.name) for s in specs)
        .with_columns(
            (bank_lookup(_text(s.name), bank_words) if s.type == "bank"
             else code_lookup(_text(s.name), s.code_words())).alias(_CODE + s.name)
            for s in specs if s.type in ("code", "bank")
        )
        .with_columns(checks[s.name][0].alias(_VALUE + s.name) for s in specs)
        .with_columns(_problem(s, checks[s.name][1]).alias(_PROBLEM + s.name) for s in specs)
    )
    values = [
        pl.when(pl.col(_PROBLEM + s.name).is_null()).then(pl.col(_VALUE + s.name)).otherwise(None)
        .cast(s.dtype).alias(s.name)
        for s in specs
    ]
    reasons = [_reason(s, pl.col(_PROBLEM + s.name)) for s in specs]
    out = staged.select(*values, pl.col(ROW), pl.col(EXTRA),
                        pl.concat_list(reasons).list.drop_nulls().alias(REASONS))
    names = schema.names
    if "holder_id_no" in names:
        out = out.with_columns(ids.person_key(pl.col("holder_id_no"), pl.col("holder_id_type")).alias(PERSON_KEY))
        names = names.copy()
        names.insert(names.index("holder_id_no") + 1, PERSON_KEY)
    if "issuer" in names:
        out = out.with_columns(pl.col("issuer").fill_null(""))
    return out.select(*names, ROW, EXTRA, REASONS).collect(engine="in-memory")
