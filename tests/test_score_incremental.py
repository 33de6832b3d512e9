"""Incremental scoring: a night scores only the packets whose inputs changed, with the result of a full pass."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from test_link_incremental import NIGHTS, twin_nights
from test_link_world import World, card

from duanka.link import link_all
from duanka.score import load_rule_set, load_units, score_packets
from duanka.settings import LinkingSettings, ScoringSettings

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rule_set(ROOT / "rules")
UNITS = load_units(ROOT / "data" / "reference" / "units.csv")


def linked_twin_nights(seed: int) -> Iterator[tuple[int, date, World, World]]:
    """`twin_nights`, each night linked in both worlds alike: ready to be scored two ways."""
    for i, night, first, second in twin_nights(seed):
        for world in (first, second):
            link_all(world.con, night, LinkingSettings())
        yield i, night, first, second


def scores(world: World) -> dict[str, list[tuple]]:
    return {t: sorted(world.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("packet_scores", "rule_hits")}


def test_incremental_scores_equal_full_scoring() -> None:
    """Five seeded nights (growth, merges, re-issues, a hub turning on, new cases): after each night the
    incremental pass's scores and hits equal a full pass's, and later nights score fewer packets."""
    for i, night, incremental, full in linked_twin_nights(5):
        report = score_packets(incremental.con, RULES, ScoringSettings(), UNITS, night)
        score_packets(full.con, RULES, ScoringSettings(), UNITS, night, full=True)
        assert scores(incremental) == scores(full), f"night {i + 1}"
        assert report.full is (i == 0)
        if i:
            assert report.rescored < report.packets, "a night must not score every packet again"
    fired = incremental.con.execute("SELECT count(*) FROM rule_hits").fetchall()[0][0]
    assert fired > 0, "the world must make rules fire"


def test_quiet_night_scores_only_what_changed() -> None:
    """No new leads: nothing is scored again, except a packet whose holder has a birthday tonight."""
    world = World()
    world.bank("370403200811040017", card(1))  # turns 18 on 2026-11-04 (NIGHTS[1])
    world.bank("370403199001010018", card(2))
    world.bank("370403199001010026", card(3))
    link_all(world.con, NIGHTS[0], LinkingSettings())
    first = score_packets(world.con, RULES, ScoringSettings(), UNITS, NIGHTS[0])
    assert (first.full, first.rescored, first.packets) == (True, 3, 3)
    link_all(world.con, NIGHTS[1], LinkingSettings())
    second = score_packets(world.con, RULES, ScoringSettings(), UNITS, NIGHTS[1])
    assert (second.full, second.rescored, second.packets) == (False, 1, 3)
    link_all(world.con, NIGHTS[2], LinkingSettings())
    third = score_packets(world.con, RULES, ScoringSettings(), UNITS, NIGHTS[2])
    assert (third.rescored, third.packets) == (0, 3)
    changed = score_packets(world.con, RULES, ScoringSettings(tier_red=90.0), UNITS, NIGHTS[2])
    assert (changed.full, changed.rescored) == (True, 3), "new settings score everything again"
