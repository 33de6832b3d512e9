"""Validation suites (`schemas/suites/<kind>.yaml`), checked the moment they load.

Each expectation carries a severity — `row` quarantines the failing rows with
its reason, `file` refuses the whole file — so that a failed check always ends
in an action a data clerk can take. GX itself is imported only when a run
validates (it costs seconds at import), never to read these files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from duanka.yamlcheck import ConfigError, load_yaml_with_lines

EXPECT_KINDS = ("row_count_at_least", "not_null", "in_set", "between", "match", "where")
SEVERITIES = ("row", "file")
_REQUIRED = {
    "row_count_at_least": ("min",),
    "not_null": ("columns",),
    "in_set": ("column", "values"),
    "between": ("column",),
    "match": ("column", "pattern"),
    "where": ("columns", "condition"),
}
_ALLOWED = {"id", "expect", "severity", "reason", "min", "max", "columns", "column", "values", "pattern",
            "where", "condition"}


@dataclass(frozen=True)
class ExpectationSpec:
    id: str
    expect: str
    severity: str
    reason: str
    columns: tuple[str, ...] = ()
    values: tuple[object, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    where: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class Suite:
    kind: str
    path: Path
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)


def default_suites_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "schemas" / "suites"


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    """All suites by kind; raises ConfigError listing every problem with file and line."""
    directory = directory or default_suites_dir()
    suites: dict[str, Suite] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            suite = _load_suite(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        suites[suite.kind] = suite
    if problems:
        raise ConfigError(problems)
    return suites


def _load_suite(path: Path) -> Suite:
    data, lines = load_yaml_with_lines(path)
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError([f"{path}:1: 应包含 kind 和 expectations 列表"])
    specs = []
    seen: set[str] = set()
    for i, item in enumerate(data["expectations"]):
        line = lines.get(("expectations", str(i)), 1)
        where = f"{path}:{line}"
        if not isinstance(item, dict):
            problems.append(f"{where}: 每条检查应为映射")
            continue
        ident = str(item.get("id", f"#{i}"))
        for key in item:
            if key not in _ALLOWED:
                problems.append(f"{path}:{lines.get(('expectations', str(i), key), line)}: {ident}: 未知字段 {key}")
        expect = item.get("expect")
        if expect not in EXPECT_KINDS:
            problems.append(f"{where}: {ident}: expect 应为 {', '.join(EXPECT_KINDS)} 之一")
            continue
        missing = [k for k in ("id", "severity", "reason", *_REQUIRED[expect]) if k not in item]
        if missing:
            problems.append(f"{where}: {ident}: 缺少字段 {', '.join(missing)}")
            continue
        if ident in seen:
            problems.append(f"{where}: {ident}: 编号重复")
        seen.add(ident)
        if item["severity"] not in SEVERITIES:
            problems.append(f"{where}: {ident}: severity 应为 row 或 file")
        if "pattern" in item:
            try:
                re.compile(item["pattern"])
            except re.error as exc:
                problems.append(f"{where}: {ident}: 正则表达式错误: {exc}")
        columns = item.get("columns") or ([item["column"]] if "column" in item else [])
        specs.append(ExpectationSpec(
            id=ident, expect=expect, severity=item["severity"], reason=str(item["reason"]),
            columns=tuple(str(c) for c in columns), values=tuple(item.get("values") or ()),
            minimum=item.get("min"), maximum=item.get("max"), pattern=item.get("pattern"),
            where=item.get("where"), condition=item.get("condition"),
        ))
    if problems:
        raise ConfigError(problems)
    return Suite(kind=str(data.get("kind", path.stem)), path=path, expectations=tuple(specs))
