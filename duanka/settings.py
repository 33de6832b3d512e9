"""Admin-owned settings (`rules/settings.yaml`), checked the moment they load.

A typo in a threshold must stop the run before Prefect starts, with the file,
line and key named, rather than silently fall back to a default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from duanka.yamlcheck import ConfigError, load_yaml_with_lines

HUB_KINDS = ("device", "ip", "phone", "case")
UNIT_MATCH = ("open_region", "household")


@dataclass(frozen=True)
class LinkingSettings:
    """Hub limits and the context thresholds of the hub rule (`duanka/link/hubs.py` explains them)."""

    hub_fan_out: dict[str, int] = field(
        default_factory=lambda: {"device": 25, "ip": 40, "phone": 30, "case": 60}
    )
    burst_days: int = 3
    outlet_days: int = 14
    share: float = 0.8
    cap_factor: int = 4
    spread_days: int = 90
    spread_from: dict[str, int] = field(default_factory=lambda: {"device": 10, "ip": 10})


@dataclass(frozen=True)
class ScoringSettings:
    saturation: float = 60.0
    tier_red: float = 70.0
    tier_orange: float = 40.0
    unit_match: str = "open_region"


@dataclass(frozen=True)
class Settings:
    linking: LinkingSettings = field(default_factory=LinkingSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)


def load_settings(path: Path) -> Settings:
    """Load and check `settings.yaml`; every problem is reported at once."""
    if not path.exists():
        return Settings()
    data, lines = load_yaml_with_lines(path)
    problems: list[str] = []

    def where(*keys: str) -> str:
        return f"{path}:{lines.get(keys, 1)}: {'.'.join(keys)}"

    def number(value: object, *keys: str, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            problems.append(f"{where(*keys)}: 应为不小于 {minimum:g} 的数 (got {value!r})")
            return minimum
        return float(value)

    def known(section: dict, allowed: set[str], *keys: str) -> None:
        for key in section:
            if key not in allowed:
                problems.append(f"{where(*keys, str(key))}: 未知配置项 unknown key")

    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: 顶层应为映射 (mapping)"])
    known(data, {"linking", "scoring"})
    linking = data.get("linking") or {}
    scoring = data.get("scoring") or {}
    known(linking, {"hub_fan_out", "hub_context"}, "linking")
    known(scoring, {"saturation", "tiers", "unit_match"}, "scoring")
    fan_out = dict(LinkingSettings().hub_fan_out)
    for kind, value in (linking.get("hub_fan_out") or {}).items():
        if kind not in HUB_KINDS:
            problems.append(f"{where('linking', 'hub_fan_out', str(kind))}: 未知标识类型, 可选 {HUB_KINDS}")
            continue
        fan_out[kind] = int(number(value, "linking", "hub_fan_out", kind, minimum=2))
    context = _hub_context(linking.get("hub_context") or {}, fan_out, where, number, known, problems)
    tiers = scoring.get("tiers") or {}
    known(tiers, {"red", "orange"}, "scoring", "tiers")
    red = number(tiers.get("red", 70), "scoring", "tiers", "red")
    orange = number(tiers.get("orange", 40), "scoring", "tiers", "orange")
    if red > 100 or orange > red:
        problems.append(f"{where('scoring', 'tiers')}: 需 0 <= orange <= red <= 100")
    unit_match = scoring.get("unit_match", "open_region")
    if unit_match not in UNIT_MATCH:
        problems.append(f"{where('scoring', 'unit_match')}: 应为 {' 或 '.join(UNIT_MATCH)}")
    saturation = number(scoring.get("saturation", 60), "scoring", "saturation", minimum=1)
    if problems:
        raise ConfigError(problems)
    return Settings(
        linking=LinkingSettings(hub_fan_out=fan_out, **context),
        scoring=ScoringSettings(saturation=saturation, tier_red=red, tier_orange=orange, unit_match=unit_match),
    )


def _hub_context(section: dict, fan_out: dict[str, int], where, number, known, problems: list[str]) -> dict:
    """`linking.hub_context`: the hub rule's thresholds; each checked, unknown keys and kinds refused."""
    keys = ("linking", "hub_context")
    defaults = LinkingSettings()
    if not isinstance(section, dict):
        problems.append(f"{where(*keys)}: 应为映射 (mapping)")
        return {}
    known(section, {"burst_days", "outlet_days", "share", "cap_factor", "spread_days", "spread_from"}, *keys)
    out: dict = {}
    for key in ("burst_days", "outlet_days", "cap_factor", "spread_days"):
        out[key] = int(number(section.get(key, getattr(defaults, key)), *keys, key, minimum=1))
    share = number(section.get("share", defaults.share), *keys, "share", minimum=0.01)
    if share > 1:
        problems.append(f"{where(*keys, 'share')}: 应在 0.01 到 1 之间 (got {share!r})")
    out["share"] = share
    spread = section.get("spread_from", defaults.spread_from)
    out["spread_from"] = {}
    for kind, value in (spread or {}).items() if isinstance(spread, dict) else ():
        if kind not in HUB_KINDS:
            problems.append(f"{where(*keys, 'spread_from', str(kind))}: 未知标识类型, 可选 {HUB_KINDS}")
            continue
        out["spread_from"][kind] = int(number(value, *keys, "spread_from", kind, minimum=2))
        if out["spread_from"][kind] > fan_out[kind]:
            problems.append(f"{where(*keys, 'spread_from', str(kind))}: 不应大于 hub_fan_out.{kind} "
                            f"({fan_out[kind]})")
    if spread is not None and not isinstance(spread, dict):
        problems.append(f"{where(*keys, 'spread_from')}: 应为映射 (mapping)")
    return out


__all__ = ["ConfigError", "LinkingSettings", "ScoringSettings", "Settings", "load_settings", "yaml"]
