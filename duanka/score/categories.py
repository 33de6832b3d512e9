"""Packet categories with their casework: what an investigator asks and which law applies.

A packet's category (the one with the most rule points) tells a unit what kind of
group it is looking at; the category's checklist (询问提纲) is what the officer
asks the holder, the outlet or the company, and the penalty references (罚则)
are what the unit may act on once it is verified. Admins own the text in
`rules/categories.yaml`; it is checked when it loads, like the rules, so a
missing checklist is refused at once instead of showing an empty box in a packet.

Problem codes (shared with the rule loader, see rules/README.md):
E001 YAML syntax · E002 shape · E003 unknown field · E004 missing field ·
E007 bad value · E014 categories.yaml missing or a core category not defined.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duanka.score.model import CATEGORIES
from duanka.yamlcheck import ConfigError, load_yaml_with_lines

CATEGORIES_FILE = "categories.yaml"
CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
REQUIRED = ("name_zh", "checklist", "penalties")
OPTIONAL = ("name_en", "description")


@dataclass(frozen=True)
class Category:
    """One checked category: Chinese name, questions to ask, penalty references."""

    code: str
    name_zh: str
    checklist: tuple[str, ...]
    penalties: tuple[str, ...]
    name_en: str | None = None
    description: str = ""
    file: str = ""
    line: int = 0


def _texts(value: Any) -> tuple[str, ...] | None:
    """A non-empty list of non-empty strings, stripped; None when it is anything else."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, str) and item.strip() for item in value):
        return None
    return tuple(item.strip() for item in value)


def _category(code: str, item: Any, path: Path, lines: dict, problems: list[str]) -> Category | None:
    """Check one category mapping; append every problem; return it when it can be built."""
    def line(*keys: str) -> int:
        return lines.get((code, *keys), lines.get((code,), 1))

    def bad(key: str, problem_code: str, message: str) -> None:
        problems.append(f"{path}:{line(key) if key else line()}: {problem_code} category {code}: {message}")

    if not CATEGORY_CODE.match(code):
        bad("", "E007", f"类别编号应为小写英文、数字和下划线 (got {code!r})")
        return None
    if not isinstance(item, dict):
        bad("", "E002", "类别应为映射 (name_zh, checklist, penalties ...)")
        return None
    before = len(problems)
    for key in item:
        if key not in REQUIRED + OPTIONAL:
            bad(key, "E003", f"未知字段 unknown field '{key}'（可用: {', '.join(REQUIRED + OPTIONAL)}）")
    for key in REQUIRED:
        if key not in item or item[key] is None:
            bad("", "E004", f"缺少字段 missing field '{key}'")
    name = item.get("name_zh")
    if name is not None and not (isinstance(name, str) and any("\u4e00" <= ch <= "\u9fff" for ch in name)):
        bad("name_zh", "E007", f"name_zh 应为中文名称 (got {name!r})")
    for key in ("checklist", "penalties"):
        if item.get(key) is not None and _texts(item[key]) is None:
            bad(key, "E007", f"{key} 应为非空的文本列表（每项一条）")
    for key in OPTIONAL:
        if item.get(key) is not None and not isinstance(item[key], str):
            bad(key, "E007", f"{key} 应为文本")
    if len(problems) > before:
        return None
    return Category(code=code, name_zh=name.strip(), checklist=_texts(item["checklist"]) or (),
                    penalties=_texts(item["penalties"]) or (), name_en=item.get("name_en"),
                    description=(item.get("description") or "").strip(), file=str(path), line=line())


def category_problems(rules_dir: Path) -> tuple[dict[str, Category], list[str]]:
    """The categories that loaded, and every problem (empty list: all good). Never raises."""
    path = Path(rules_dir) / CATEGORIES_FILE
    if not path.exists():
        return {}, [f"{path}:1: E014 category -: 缺少类别文件 categories.yaml（类别、询问提纲、罚则，见 rules/README.md）"]
    try:
        data, lines = load_yaml_with_lines(path)
    except ConfigError as exc:
        return {}, [f"{p.partition(': ')[0]}: E001 category -: {p.partition(': ')[2]}" for p in exc.problems]
    if not isinstance(data, dict):
        return {}, [f"{path}:1: E002 category -: 类别文件顶层应为映射（类别编号: 内容）"]
    problems: list[str] = []
    categories = {}
    for code, item in data.items():
        category = _category(str(code), item, path, lines, problems)
        if category is not None:
            categories[category.code] = category
    for code in CATEGORIES:
        if code not in data:
            problems.append(f"{path}:1: E014 category {code}: 缺少核心类别 {code}（{CATEGORIES[code]}）")
    return categories, problems


def load_categories(rules_dir: Path) -> dict[str, Category]:
    """`rules_dir/categories.yaml`, checked; raises ConfigError with ALL problems, each with file and line."""
    categories, problems = category_problems(rules_dir)
    if problems:
        raise ConfigError(problems)
    return categories
