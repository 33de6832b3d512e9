"""Is a rule set folder one the nightly run would accept, and what would it change?

`problems` does what the night's preflight does with a rules folder (rule files
and categories, `settings.yaml`, `publish/publish.yaml`) plus what `duanka rules
check` adds (every rule run on empty, typed tables), so a draft passes here exactly
when a night would start with it. Paths in the messages are shown under a label
(`rules/organiser.yaml:12: E010 rule R-ORG-PHONE: …`) rather than the draft's
random folder, which means nothing to an admin.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duanka.score.model import RuleSet


@dataclass(frozen=True)
class DiffOutcome:
    """What `duanka rules diff` prints, as lines; `message` when there is nothing to compare against.

    message is set when the warehouse is busy (the nightly run holds it) or absent
    (lines empty), or when a rule fails on the warehouse's data (lines: the problems).
    """

    lines: list[str]
    message: str | None


def relabel(lines: list[str], folder: Path, label: str) -> list[str]:
    """Replace the folder's path in each message with `label`."""
    prefix = str(folder)
    return [line.replace(prefix + "/", label.rstrip("/") + "/").replace(prefix, label) for line in lines]


def problems(folder: Path, label: str) -> tuple[list[str], RuleSet | None]:
    """Every problem (one line each, naming file, line and rule id or key) and the rule set when it loads."""
    from duanka.nightly.context import load_rules_folder
    from duanka.score.check import try_rules
    from duanka.warehouse import connect

    found: list[str] = []
    rule_set: RuleSet | None = load_rules_folder(folder, found).get("rule_set")  # type: ignore[assignment]
    if rule_set is not None:
        empty = connect()
        try:
            found.extend(try_rules(empty, rule_set, date.today(), "空表 empty tables"))
        finally:
            empty.close()
    return relabel(found, folder, label), (rule_set if not found else None)


def diff_outcome(folder: Path, home: Path, top: int, label: str) -> DiffOutcome:
    """`rules diff` of the folder against the home's last run, never raising for a busy or absent warehouse."""
    from duanka.score.diff import format_rules_diff, rules_diff
    from duanka.score.homeread import HomeUnavailable
    from duanka.yamlcheck import ConfigError

    try:
        diff = rules_diff(folder, home, top)
    except HomeUnavailable as exc:
        if exc.busy:
            return DiffOutcome([], "夜间任务正在运行，仓库暂时无法读取；请在运行结束后再试算。")
        return DiffOutcome([], f"无法试算：{exc}")
    except ConfigError as exc:
        return DiffOutcome(relabel(list(exc.problems), folder, label),
                           f"候选规则无法在仓库数据上运行，{len(exc.problems)} 个问题")
    return DiffOutcome(format_rules_diff(diff).splitlines(), None)
