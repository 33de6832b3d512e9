"""`duanka rules check`: load the rule files, then try every rule before it goes live.

Loading already binds each condition against empty, typed feature tables; this
also runs the whole scoring query chain on an empty warehouse and, when given a
warehouse, on its data, so a rule that only breaks on real values (a division,
a cast) is caught by an administrator instead of by the night run.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from duanka.score import batches
from duanka.score.engine import _stage_rule, evaluate
from duanka.score.features import FEATURE_TABLES
from duanka.score.model import RuleSet
from duanka.warehouse import connect

_TEMP_TABLES = (*FEATURE_TABLES, "score_fired", "score_hit_stage", batches.PLAN, batches.BATCH)


def try_rules(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, as_of: date, what: str) -> list[str]:
    """Every rule on `con`'s data, each failure with the rule's file, line and id.

    Batch by batch as a night scores (batches.py), so that checking a province's warehouse fits the
    budget a night fits in; a rule is reported once, at the first batch it fails on."""
    failed: dict[str, str] = {}
    try:
        for _ in batches.feature_batches(con, as_of):
            evaluate(con, RuleSet.of([]))  # creates the empty stage table
            for rule in rule_set.rules:
                if rule.id in failed:
                    continue
                try:
                    _stage_rule(con, rule)
                except duckdb.Error as exc:
                    failed[rule.id] = (f"{rule.file}:{rule.line}: E013 rule {rule.id}: 在{what}上运行失败 "
                                       f"fails on {what}: {str(exc).splitlines()[0]}")
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return [failed[rule.id] for rule in rule_set.rules if rule.id in failed]


def check_rule_set(rules_dir: Path, con: duckdb.DuckDBPyConnection | None = None,
                   as_of: date | None = None) -> list[str]:
    """Problems with the rules folder (empty list: all good). Never raises for a rule problem.

    The folder is checked as a night would load it (rules, settings.yaml, publish/publish.yaml:
    `nightly.context.load_rules_folder`), so `duanka rules check` passes exactly when a night
    would start with this folder."""
    from duanka.nightly.context import load_rules_folder

    problems: list[str] = []
    rule_set = load_rules_folder(rules_dir, problems).get("rule_set")
    if problems or not isinstance(rule_set, RuleSet):
        return problems
    as_of = as_of or date.today()
    empty = connect()
    try:
        problems = try_rules(empty, rule_set, as_of, "空表 empty tables")
    finally:
        empty.close()
    if con is not None:
        problems += try_rules(con, rule_set, as_of, "仓库数据 warehouse data")
    return problems
