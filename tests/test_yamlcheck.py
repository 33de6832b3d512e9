"""Config files name file and line for every problem, including the ones PyYAML hides."""
from __future__ import annotations

from pathlib import Path

import pytest

from duanka.settings import load_settings
from duanka.yamlcheck import ConfigError, load_yaml_with_lines

CASES = [
    ("a duplicate key is refused, not silently overwritten", "a: 1\nb: 2\na: 3\n", "settings.yaml:3", "重复"),
    ("malformed YAML names its line", "a: [1, 2\nb: 3\n", "settings.yaml:", "YAML 语法错误"),
]


@pytest.mark.parametrize("description, text, where, what", CASES, ids=[c[0] for c in CASES])
def test_yaml_problems_name_file_and_line(tmp_path: Path, description, text, where, what) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_yaml_with_lines(path)
    assert where in str(err.value) and what in str(err.value)


def test_lines_point_at_keys(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("top:\n  inner:\n    - 1\n    - two\n", encoding="utf-8")
    data, lines = load_yaml_with_lines(path)
    assert data == {"top": {"inner": [1, "two"]}}
    assert lines[("top", "inner")] == 2 and lines[("top", "inner", "1")] == 4


SETTINGS_CASES = [
    ("unknown section", "linkng: {}\n", "未知配置项"),
    ("unknown hub kind", "linking:\n  hub_fan_out:\n    branch: 5\n", "未知标识类型"),
    ("fan-out below 2", "linking:\n  hub_fan_out:\n    ip: 1\n", "ip"),
    ("orange above red", "scoring:\n  tiers:\n    red: 30\n    orange: 50\n", "orange <= red"),
    ("bad unit matching", "scoring:\n  unit_match: nearest\n", "unit_match"),
    ("saturation is not a number", "scoring:\n  saturation: lots\n", "saturation"),
    ("unknown hub_context key", "linking:\n  hub_context:\n    burst_dayz: 3\n", "burst_dayz"),
    ("hub share above 1", "linking:\n  hub_context:\n    share: 1.5\n", "share"),
    ("burst days not a number", "linking:\n  hub_context:\n    burst_days: soon\n", "burst_days"),
    ("spread rule for an unknown kind", "linking:\n  hub_context:\n    spread_from:\n      branch: 10\n",
     "未知标识类型"),
    ("spread_from above the fan-out limit", "linking:\n  hub_context:\n    spread_from:\n      ip: 50\n",
     "hub_fan_out.ip"),
]


@pytest.mark.parametrize("description, text, what", SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
def test_bad_settings_are_refused(tmp_path: Path, description, text, what) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert what in str(err.value) and str(path) in str(err.value)


def test_shipped_settings_load() -> None:
    settings = load_settings(Path(__file__).resolve().parents[1] / "rules" / "settings.yaml")
    assert settings.scoring.tier_red > settings.scoring.tier_orange
