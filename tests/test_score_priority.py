"""Priority formula, tiers, packet category and unit matching (longest region prefix)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from duanka.score import UNASSIGNED, load_units, priority, tier
from duanka.score.priority import category
from duanka.settings import ScoringSettings
from duanka.yamlcheck import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ScoringSettings(saturation=60, tier_red=70, tier_orange=40)


@pytest.mark.parametrize("points, expected", [
    (0, 0.0),                     # nothing fired
    (-5, 0.0),                    # never below 0
    (60, 63.2),                   # points == saturation -> 1 - 1/e
    (30, 39.3),
    (10_000, 100.0),              # saturates at 100, never above
    (72.3, 70.0),                 # just past the red line
])
def test_priority_formula(points, expected):
    assert priority(points, 60) == expected


def test_priority_matches_the_documented_formula():
    for points in range(0, 400, 7):
        assert priority(points, 45) == round(100 * (1 - math.exp(-points / 45)), 1)


@pytest.mark.parametrize("value, expected", [
    (70.0, "red"), (69.9, "orange"), (40.0, "orange"), (39.9, "yellow"), (0.0, "yellow"), (100.0, "red"),
])
def test_tiers_at_their_edges(value, expected):
    assert tier(value, SETTINGS) == expected


@pytest.mark.parametrize("points, expected", [
    ({}, None),                                                       # no hit, no category
    ({"signal": 40}, "signal"),                                       # signals alone
    ({"signal": 40, "card_farmer": 5}, "card_farmer"),                # signal excluded when others fired
    ({"organiser": 20, "collector": 30}, "collector"),                # most points wins
    ({"organiser": 20, "collector": 20}, "collector"),                # ties: order of CATEGORIES
])
def test_category_most_points(points, expected):
    assert category(points) == expected


@pytest.fixture(scope="module")
def units():
    return load_units(ROOT / "data" / "reference" / "units.csv")


@pytest.mark.parametrize("region, expected", [
    ("370403", "370400RF"),   # city prefix 3704 beats province 37
    ("379999", "370000RF"),   # only the province matches
    ("110105", "110000RF"),
    ("990000", UNASSIGNED[0]),
    (None, UNASSIGNED[0]),
    ("", UNASSIGNED[0]),
])
def test_units_longest_prefix(units, region, expected):
    assert units.match(region)[0] == expected


def test_units_six_digit_prefix_wins(tmp_path: Path):
    path = tmp_path / "units.csv"
    path.write_text("\ufeffregion_prefix,unit_code,unit_name\n37,P,省\n3704,C,市\n370403,D,区\n", encoding="utf-8")
    units = load_units(path)
    assert [units.match(r)[0] for r in ("370403", "370402", "370100")] == ["D", "C", "P"]


def test_units_file_problems_name_row(tmp_path: Path):
    path = tmp_path / "units.csv"
    path.write_text("region_prefix,unit_code,unit_name\n3,P,省\n37,,\n37,A,a\n37,B,b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_units(path)
    assert [p.split(": ")[0] for p in caught.value.problems] == [f"{path}:2", f"{path}:3", f"{path}:5"]
