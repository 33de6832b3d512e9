"""Load rule files and refuse them at once, with every problem, file, line and rule id.

A rule that fails at 02:00 on live data is a packet nobody sees; so each rule's
condition is parsed and bound against empty, correctly typed feature tables
while the files load, and `check_rule_set` also runs every rule on real data.

Problem codes (stable, documented in rules/README.md):
E001 YAML syntax · E002 shape (not a list / rule not a mapping) · E003 unknown field ·
E004 missing field · E005 duplicate id · E006 bad id · E007 bad value ·
E008 bad weight · E009 bad expression · E010 unknown feature · E011 bad observed ·
E012 bad threshold · E013 rule fails on data · E014 categories.yaml missing or incomplete
(categories.yaml itself: see duanka/score/categories.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb

from duanka.score.categories import CATEGORIES_FILE, category_problems
from duanka.score.features import LEAD_FEATURES, PACKET_FEATURE_TYPES, create_empty_feature_tables
from duanka.score.model import ALL_FIELDS, CATEGORIES, REQUIRED_FIELDS, SCOPES, Rule, RuleSet
from duanka.yamlcheck import ConfigError, load_yaml_with_lines

SETTINGS_FILE = "settings.yaml"
RULE_ID = re.compile(r"^R-[A-Z0-9]+(-[A-Z0-9]+)*$")
MAX_WEIGHT = 100.0


class _Problems:
    """Collects problems in the one format every caller prints."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path | str, line: int, code: str, rule_id: str, message: str) -> None:
        self.items.append(f"{path}:{line}: {code} rule {rule_id}: {message}")


def rule_files(rules_dir: Path) -> list[Path]:
    """Every *.yaml in the folder except settings.yaml and categories.yaml, in name order."""
    return sorted(p for p in Path(rules_dir).glob("*.yaml") if p.name not in (SETTINGS_FILE, CATEGORIES_FILE))


def _column_refs(node: Any) -> tuple[set[str], set[str]]:
    """Column names and node classes in a serialized DuckDB parse tree."""
    columns: set[str] = set()
    classes: set[str] = set()
    if isinstance(node, dict):
        if node.get("class"):
            classes.add(node["class"])
        if node.get("class") == "COLUMN_REF":
            columns.add(".".join(node.get("column_names", [])))
        for value in node.values():
            c, k = _column_refs(value)
            columns |= c
            classes |= k
    elif isinstance(node, list):
        for value in node:
            c, k = _column_refs(value)
            columns |= c
            classes |= k
    return columns, classes


def check_expression(con: duckdb.DuckDBPyConnection, expr: str, per_lead: bool) -> tuple[str, str] | None:
    """Parse and bind one condition; return (code, message) when it is refused.

    It must be one boolean expression over known features of its scope: no FROM,
    no sub-query, no second statement, no column the feature table lacks.
    """
    known = set(LEAD_FEATURES) if per_lead else set(PACKET_FEATURE_TYPES)
    table = "score_leads" if per_lead else "score_features"
    parsed = json.loads(con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expr}) AS hit"]).fetchone()[0])
    if parsed.get("error"):
        return "E009", f"表达式无法解析 cannot parse: {parsed.get('error_message', '')}".strip()
    statements = parsed["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if (len(statements) != 1 or node.get("type") != "SELECT_NODE" or len(node.get("select_list", [])) != 1
            or node.get("from_table", {}).get("type") != "EMPTY" or node.get("where_clause")
            or node.get("group_expressions") or node.get("modifiers")):
        return "E009", "只允许一个条件表达式 (one expression, no FROM/WHERE/LIMIT/second statement)"
    columns, classes = _column_refs(node["select_list"])
    if "SUBQUERY" in classes:
        return "E009", "不允许子查询 (no sub-queries)"
    unknown = sorted(columns - known)
    if unknown:
        other = set(PACKET_FEATURE_TYPES) if per_lead else set(LEAD_FEATURES)
        hint = ("；" + "、".join(sorted(set(unknown) & other)) + (" 是线索包特征, 用于 scope: entity/group/pattern"
                if per_lead else " 是单条线索特征, 只能用于 scope: lead")) if set(unknown) & other else ""
        return "E010", f"未知特征 unknown feature {', '.join(unknown)}{hint}（特征表见 rules/README.md）"
    try:
        kind = con.execute(f"DESCRIBE SELECT ({expr}) AS hit FROM {table}").fetchall()[0][1]
        con.execute(f"SELECT packet_id FROM {table}_probe WHERE coalesce(({expr}), FALSE)").fetchall()
    except duckdb.Error as exc:
        return "E009", f"表达式无法执行 cannot bind: {str(exc).splitlines()[0]}"
    if kind != "BOOLEAN":
        return "E009", f"表达式应为真/假条件 must be boolean, got {kind}"
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_rule(item: dict, where: Any, problems: _Problems, rule_id: str, categories: set[str]) -> bool:
    """Field-level checks of one rule mapping; True when it can be built."""
    ok = True

    def bad(field: str, code: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(where.path, where(field), code, rule_id, message)

    for key in item:
        if key not in ALL_FIELDS:
            bad(key, "E003", f"未知字段 unknown field '{key}'（可用: {', '.join(ALL_FIELDS)}）")
    for key in REQUIRED_FIELDS:
        if key not in item or item[key] is None:
            bad("", "E004", f"缺少字段 missing field '{key}'")
    if "id" in item and not (isinstance(item["id"], str) and RULE_ID.match(item["id"])):
        bad("id", "E006", f"规则编号应形如 R-ORG-PHONE (got {item['id']!r})")
    version = item.get("version")
    if "version" in item and not (isinstance(version, int) and not isinstance(version, bool) and version >= 1):
        bad("version", "E007", f"version 应为 ≥1 的整数 (got {version!r})")
    for key in ("title", "explanation", "legal_basis", "evidence"):
        if key in item and not _text(item[key]):
            bad(key, "E007", f"{key} 应为非空文本")
    if "category" in item and item["category"] not in categories:
        bad("category", "E007", f"category 应为 categories.yaml 中定义的类别 {' | '.join(sorted(categories))} "
                                f"(got {item['category']!r})")
    if "scope" in item and item["scope"] not in SCOPES:
        bad("scope", "E007", f"scope 应为 {' | '.join(SCOPES)} (got {item['scope']!r})")
    weight = item.get("weight")
    if "weight" in item and not (_number(weight) and 0 < weight <= MAX_WEIGHT):
        bad("weight", "E008", f"weight 应为 (0, {MAX_WEIGHT:g}] 之间的分值 (got {weight!r})")
    threshold = item.get("threshold")
    if threshold is not None and not _number(threshold):
        bad("threshold", "E012", f"threshold 应为数值 (got {threshold!r})")
    return ok


def _condition(item: dict, where: Any, problems: _Problems, rule_id: str, con: duckdb.DuckDBPyConnection
               ) -> tuple[str, str | None, float] | None:
    """The rule's condition, observed feature and threshold, checked against its scope."""
    per_lead = item.get("scope") == "lead"
    observed, threshold, when = item.get("observed"), item.get("threshold"), item.get("when")
    if threshold is not None and not _number(threshold):
        return None  # already reported as E012
    if per_lead:
        if observed is not None:
            problems.add(where.path, where("observed"), "E011", rule_id,
                         "lead 规则的观察值固定为命中线索数, 不应写 observed")
            return None
        if when is None:
            problems.add(where.path, where(""), "E004", rule_id, "lead 规则缺少字段 missing field 'when'")
            return None
        threshold = 1 if threshold is None else threshold
        if threshold < 1:
            problems.add(where.path, where("threshold"), "E012", rule_id, "lead 规则 threshold（最少命中线索数）应 ≥ 1")
            return None
    else:
        if observed not in PACKET_FEATURE_TYPES:
            code = "E004" if observed is None else "E010"
            problems.add(where.path, where("observed" if observed else ""), code, rule_id,
                         f"observed 应为线索包特征名 (got {observed!r})")
            return None
        if threshold is None:
            problems.add(where.path, where(""), "E004", rule_id, "缺少字段 missing field 'threshold'")
            return None
        when = f"{observed} >= {threshold}" if when is None else when
    if not _text(when):
        problems.add(where.path, where("when"), "E009", rule_id, "when 应为非空表达式")
        return None
    refused = check_expression(con, when, per_lead)
    if refused:
        problems.add(where.path, where("when"), refused[0], rule_id, refused[1])
        return None
    if not per_lead and not re.search(rf"\b{re.escape(observed)}\b", when):
        problems.add(where.path, where("observed"), "E011", rule_id,
                     f"when 条件中未使用 observed 特征 {observed}")
        return None
    return when, observed, float(threshold)


class _Where:
    """Line lookup for the fields of rule number `index` in one file."""

    def __init__(self, path: Path, lines: dict, index: int):
        self.path, self.lines, self.index = path, lines, str(index)

    def __call__(self, field: str) -> int:
        key = (self.index, field) if field else (self.index,)
        return self.lines.get(key, self.lines.get((self.index,), 1))


def _load_file(path: Path, problems: _Problems, con: duckdb.DuckDBPyConnection, seen: dict[str, str],
               categories: set[str]) -> list[Rule]:
    try:
        data, lines = load_yaml_with_lines(path)
    except ConfigError as exc:
        for problem in exc.problems:
            file_line, _, message = problem.partition(": ")
            problems.items.append(f"{file_line}: E001 rule -: {message}")
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(path, 1, "E002", "-", "规则文件顶层应为规则列表 (a YAML list of rules)")
        return []
    rules = []
    for index, item in enumerate(data):
        where = _Where(path, lines, index)
        if not isinstance(item, dict):
            problems.add(path, where(""), "E002", "-", f"第 {index + 1} 项应为映射 (a mapping with id, title ...)")
            continue
        rule_id = str(item.get("id", f"#{index + 1}"))
        fields_ok = _check_rule(item, where, problems, rule_id, categories)
        if isinstance(item.get("id"), str):
            if item["id"] in seen:
                problems.add(path, where("id"), "E005", rule_id, f"规则编号重复 duplicate id, 已见于 {seen[item['id']]}")
                fields_ok = False
            else:
                seen[item["id"]] = f"{path}:{where('id')}"
        condition = _condition(item, where, problems, rule_id, con) if item.get("scope") in SCOPES else None
        if not fields_ok or condition is None:
            continue
        when, observed, threshold = condition
        rules.append(Rule(
            id=item["id"], version=item["version"], title=item["title"].strip(),
            explanation=item["explanation"].strip(), category=item["category"], scope=item["scope"],
            weight=float(item["weight"]), legal_basis=item["legal_basis"].strip(),
            evidence=item["evidence"].strip(), when=when.strip(), observed=observed, threshold=threshold,
            title_en=item.get("title_en"), note=item.get("note"), file=str(path), line=where(""),
        ))
    return rules


def load_rule_set(rules_dir: Path) -> RuleSet:
    """Every rule file in `rules_dir` and its categories.yaml, checked; raises ConfigError with ALL problems.

    A rule may only name a category that categories.yaml defines, so every packet
    has a checklist and penalty references to show.
    """
    problems = _Problems()
    categories, category_errors = category_problems(rules_dir)
    problems.items.extend(category_errors)
    # With a broken categories file, check rules against the core set too, so one
    # mistake there does not also flag every rule that uses a core category.
    known = set(categories) | (set(CATEGORIES) if category_errors else set())
    files = rule_files(rules_dir)
    if not files:
        raise ConfigError([f"{rules_dir}:1: E002 rule -: 没有规则文件 (no *.yaml besides {SETTINGS_FILE})"])
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        create_empty_feature_tables(con)
        seen: dict[str, str] = {}
        rules = [rule for path in files for rule in _load_file(path, problems, con, seen, known)]
    finally:
        con.close()
    if problems.items:
        raise ConfigError(problems.items)
    return RuleSet.of(rules, categories)
