"""Everything a night needs, loaded and checked before any work starts.

The cheap checks (home writable, inbox readable, rule files, settings,
contract schemas, validation suites) come first, before Prefect's server starts
(~10 s), so that a typo in a rule file is refused at once with its file, line
and rule id, and the exit status says the run could not start.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from duanka.contract_schema import Contract, load_contract
from duanka.home import Home, HomeError
from duanka.publish.settings import PublishSettings, load_publish_settings
from duanka.publish.settings import settings_path as publish_settings_path
from duanka.rulestore import RuleStoreError, rules_for_run
from duanka.score.loader import load_rule_set
from duanka.score.model import RuleSet
from duanka.score.units import Units, load_units
from duanka.settings import Settings, load_settings
from duanka.validate.suites import Suite, load_suites
from duanka.yamlcheck import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = PROJECT_ROOT / "rules"
DEFAULT_UNITS = PROJECT_ROOT / "data" / "reference" / "units.csv"


class PreflightError(Exception):
    """The run cannot start; `problems` are one line each, naming file and line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class NightConfig:
    inbox: Path
    home: Home
    as_of: date
    rules_dir: Path
    settings: Settings
    rule_set: RuleSet
    units: Units
    contract: Contract
    suites: dict[str, Suite]
    publish: PublishSettings


def _rules_dir(home: Home, explicit: Path | str | None, problems: list[str]) -> Path:
    """An explicit folder wins; else the home's active rule version (admins activate it); else rules/."""
    try:
        rules = rules_for_run(home.root, Path(explicit) if explicit else None)
    except RuleStoreError as exc:
        problems.append(str(exc))
        return DEFAULT_RULES
    if not rules.is_dir():
        problems.append(f"规则目录不存在或不是目录: {rules}")
    return rules


def _load_all(loaders: tuple[tuple[str, Callable[[], object]], ...], problems: list[str]) -> dict[str, object]:
    """Run every loader; what loads is returned by name, what does not adds its problems (all at once)."""
    loaded: dict[str, object] = {}
    for name, loader in loaders:
        try:
            loaded[name] = loader()
        except ConfigError as exc:
            problems.extend(exc.problems)
        except OSError as exc:
            problems.append(f"无法读取配置 ({name}): {exc}")
    return loaded


def load_rules_folder(rules: Path, problems: list[str]) -> dict[str, object]:
    """What a night takes from a rules folder: `rule_set`, `settings` and `publish` (publish.yaml).

    The one place that says what a valid rules folder is: the nightly preflight and the rule store's
    check of an admin's draft both call it, so a draft passes exactly when a night would start with it.
    """
    return _load_all((
        ("settings", lambda: load_settings(rules / "settings.yaml")),
        ("rule_set", lambda: load_rule_set(rules)),
        ("publish", lambda: load_publish_settings(publish_settings_path(rules))),
    ), problems)


def preflight(inbox: Path | str, home: Path | str, as_of: date, rules_dir: Path | str | None = None) -> NightConfig:
    """Load and check everything; raise PreflightError with every problem found."""
    problems: list[str] = []
    inbox, the_home = Path(inbox), Home(Path(home))
    rules = _rules_dir(the_home, rules_dir, problems)
    if not inbox.is_dir():
        problems.append(f"收件目录不存在或不是目录: {inbox}")
    try:
        the_home.ensure()
    except HomeError as exc:
        problems.append(str(exc))
    units_path = the_home.units_override if the_home.units_override.exists() else DEFAULT_UNITS
    loaded = load_rules_folder(rules, problems)
    loaded.update(_load_all((
        ("units", lambda: load_units(units_path)),
        ("contract", lambda: load_contract()),
        ("suites", lambda: load_suites()),
    ), problems))
    if problems:
        raise PreflightError(problems)
    return NightConfig(inbox=inbox, home=the_home, as_of=as_of, rules_dir=rules, **loaded)  # type: ignore[arg-type]
