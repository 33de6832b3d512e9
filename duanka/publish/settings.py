"""Publishing settings that admins own (`rules/publish/publish.yaml`), checked the moment they load.

The deadline a unit works against and whether PDFs are printed are policy, not
code: a province sets them in a file. The file sits in `rules/publish/` because
the rule loader reads every `rules/*.yaml` (except settings.yaml) as a rule
file. A typo stops the run before Prefect starts, with file, line and key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from duanka.yamlcheck import ConfigError, load_yaml_with_lines

TIERS = ("red", "orange", "yellow")
MET_AT = ("analyzed", "verified", "struck", "closed")
RELATIVE_PATH = Path("publish") / "publish.yaml"


@dataclass(frozen=True)
class DeadlineSettings:
    days: dict[str, int] = field(default_factory=lambda: {"red": 7, "orange": 15, "yellow": 30})
    at_risk_days: int = 2
    met_at: str = "verified"


@dataclass(frozen=True)
class PdfSettings:
    enabled: bool = False
    tiers: tuple[str, ...] = TIERS
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class PublishSettings:
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    pdf: PdfSettings = field(default_factory=PdfSettings)


def settings_path(rules_dir: Path) -> Path:
    """Where the publishing settings of a rules folder live."""
    return Path(rules_dir) / RELATIVE_PATH


class _Checker:
    """Collects every problem of one file, each naming file, line and key."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path, self.lines, self.problems = path, lines, []  # type: ignore[var-annotated]

    def bad(self, keys: tuple[str, ...], message: str) -> None:
        self.problems.append(f"{self.path}:{self.lines.get(keys, 1)}: {'.'.join(keys)}: {message}")

    def mapping(self, value: object, keys: tuple[str, ...], allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(keys, "应为映射 (mapping)")
            return {}
        for key in value:
            if key not in allowed:
                self.bad((*keys, str(key)), f"未知配置项 unknown key（可用: {'、'.join(sorted(allowed))}）")
        return value

    def integer(self, value: object, keys: tuple[str, ...], minimum: int, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.bad(keys, f"应为不小于 {minimum} 的整数 (got {value!r})")
            return default
        return value


def load_publish_settings(path: Path) -> PublishSettings:
    """Load and check the file; a missing file means the defaults. Raises ConfigError with ALL problems."""
    path = Path(path)
    if not path.exists():
        return PublishSettings()
    data, lines = load_yaml_with_lines(path)
    c = _Checker(path, lines)
    top = c.mapping(data, (), {"deadlines", "pdf"}) if data is not None else {}
    dl = c.mapping(top.get("deadlines"), ("deadlines",), {*TIERS, "at_risk_days", "met_at"})
    defaults = DeadlineSettings()
    days = {t: c.integer(dl.get(t), ("deadlines", t), 1, defaults.days[t]) for t in TIERS}
    at_risk = c.integer(dl.get("at_risk_days"), ("deadlines", "at_risk_days"), 0, defaults.at_risk_days)
    met_at = dl.get("met_at", defaults.met_at)
    if met_at not in MET_AT:
        c.bad(("deadlines", "met_at"), f"应为 {' | '.join(MET_AT)} (got {met_at!r})")
    pdf = c.mapping(top.get("pdf"), ("pdf",), {"enabled", "tiers", "timeout_seconds"})
    enabled = pdf.get("enabled", False)
    if not isinstance(enabled, bool):
        c.bad(("pdf", "enabled"), f"应为 true 或 false (got {enabled!r})")
    tiers = pdf.get("tiers", list(TIERS))
    if not isinstance(tiers, list) or any(t not in TIERS for t in tiers):
        c.bad(("pdf", "tiers"), f"应为等级列表，取值 {' | '.join(TIERS)} (got {tiers!r})")
        tiers = list(TIERS)
    timeout = pdf.get("timeout_seconds", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        c.bad(("pdf", "timeout_seconds"), f"应为正数 (got {timeout!r})")
        timeout = 60
    if c.problems:
        raise ConfigError(c.problems)
    return PublishSettings(
        deadlines=DeadlineSettings(days=days, at_risk_days=at_risk, met_at=str(met_at)),
        pdf=PdfSettings(enabled=bool(enabled), tiers=tuple(tiers), timeout_seconds=float(timeout)))
