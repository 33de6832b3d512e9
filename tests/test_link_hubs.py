"""The hub rule: fan-out over the limit stops connecting, unless the holders' cards look like one batch."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from test_link_world import NIGHT1, World, card, mobile, ric, spread_dates

from duanka.link import HubRule, link_all
from duanka.link.edges import incidence_step
from duanka.link.hubs import HUBS, holders_step, hubs_step
from duanka.link.runner import run_steps
from duanka.settings import LinkingSettings

SETTINGS = LinkingSettings()  # device 25, ip 40, phone 30, case 60


def nat_ip(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2020, 1, 1), 60, 30)):
        world.bank(ric(i), card(i), ips=("10.8.0.1",), opened=opened, branch=f"BR{i % 7}")


def goip_box(world: World) -> None:
    for i in range(30):
        opened = date(2026, 9, 1 + i % 2)
        world.sim(ric(i), mobile(i), imei="861234567890123", opened=opened, outlet="OUT1")


def branch_tablet(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2023, 1, 1), 30, 40)):
        world.bank(ric(i), card(i), devices=("TABLET-BR1",), opened=opened, branch="BR1")


def outlet_fortnight(world: World) -> None:
    for i in range(30):
        world.sim(ric(i), mobile(i), imei="861234567890123", opened=date(2026, 9, 1 + i % 12), outlet="OUT9")


def many_outlets_fortnight(world: World) -> None:
    for i in range(30):
        world.sim(ric(i), mobile(i), imei="861234567890123", opened=date(2026, 9, 1 + i % 12), outlet=f"O{i}")


def huge_burst(world: World) -> None:
    for i in range(120):
        world.sim(ric(i), mobile(i), imei="861234567890123", opened=date(2026, 9, 1), outlet="OUT1")


def under_limit(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2020, 1, 1), 20, 90)):
        world.bank(ric(i), card(i), devices=("PAD",), opened=opened)


def few_over_years(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2020, 1, 1), 9, 200)):
        world.bank(ric(i), card(i), ips=("10.9.9.9",), opened=opened)


def recruiting_gang(world: World) -> None:
    """A collector's device with 14 sellers recruited over five weeks, plus his own account of 2019."""
    for i, opened in enumerate(spread_dates(date(2026, 8, 1), 14, 3)):
        world.bank(ric(i), card(i), devices=("GANG-PAD",), opened=opened)
    world.bank(ric(99), card(99), devices=("GANG-PAD",), opened=date(2019, 5, 1))


def collector_phone_old_accounts(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2016, 1, 1), 20, 150)):
        world.bank(ric(i), card(i), phone=mobile(999), opened=opened)


def reserved_phone_hub(world: World) -> None:
    for i, opened in enumerate(spread_dates(date(2021, 1, 1), 35, 45)):
        world.bank(ric(i), card(i), phone=mobile(999), opened=opened)
    world.sim(ric(999), mobile(999), imei="869999999999999")


def same_branch_only(world: World) -> None:
    for i in range(5):
        world.bank(ric(i), card(i), branch="BR1", opened=date(2026, 9, 1))


def same_holder_many_cards(world: World) -> None:
    for i in range(40):
        world.bank(ric(1), card(i), devices=("PHONE-OF-ONE",), opened=date(2020, 1, 1 + i % 28))


# (description, world builder, expected hubs as (node, fan_out), expected number of groups)
CASES: list[tuple[str, Callable[[World], None], list[tuple[str, int]], int]] = [
    ("carrier NAT IP, 60 holders over five years: hub, does not glue", nat_ip, [("ip:10.8.0.1", 60)], 60),
    ("GOIP box, 30 holders opened in 2 days at one outlet: connects", goip_box, [], 1),
    ("branch tablet, 30 holders over 3 years at one branch: hub", branch_tablet, [("device:TABLET-BR1", 30)], 30),
    ("30 holders over 12 days at one outlet: connects (outlet burst)", outlet_fortnight, [], 1),
    ("30 holders over 12 days at 30 outlets: hub", many_outlets_fortnight, [("device:861234567890123", 30)], 30),
    ("120 holders in one day (> 4x limit): hub whatever the context", huge_burst,
     [("device:861234567890123", 120)], 120),
    ("20 holders over years, under the limit: hub (spread out)", under_limit, [("device:PAD", 20)], 20),
    ("9 holders over years, under spread_from: connects", few_over_years, [], 1),
    ("15 holders, 14 within five weeks, under the limit: connects", recruiting_gang, [], 1),
    ("phone on 20 old accounts over years: phones have no spread rule, connects",
     collector_phone_old_accounts, [], 1),
    ("phone reserved on 35 accounts over years: hub; its SIM stays with its holder", reserved_phone_hub,
     [("phone:13900000999", 36)], 36),
    ("same branch, nothing else shared: branches never connect", same_branch_only, [], 5),
    ("one holder, 40 cards on one device: fan-out counts holders, not cards", same_holder_many_cards, [], 1),
]


@pytest.mark.parametrize(("description", "build", "hubs", "groups"), CASES, ids=[c[0][:40] for c in CASES])
def test_hub_rule(description: str, build: Callable[[World], None], hubs: list, groups: int) -> None:
    world = World()
    build(world)
    report = link_all(world.con, NIGHT1, SETTINGS)
    assert world.con.execute("SELECT node, fan_out FROM link_hubs ORDER BY node").fetchall() == hubs, description
    assert report.hubs == len(hubs)
    assert report.groups == groups == len(world.groups()), description
    hub_nodes = {h[0] for h in hubs}
    edges = world.con.execute("SELECT src, dst, kind FROM link_edges").fetchall()
    assert not [e for e in edges if (e[0] in hub_nodes or e[1] in hub_nodes) and e[2] != "holds"]


def test_hub_phone_keeps_its_holder() -> None:
    """A hub msisdn stops connecting but stays in its own holder's packet (ownership is not sharing)."""
    world = World()
    reserved_phone_hub(world)
    link_all(world.con, NIGHT1, SETTINGS)
    assert world.packet_of("phone:13900000999") == world.packet_of(f"person:{ric(999)}")
    # ...and nothing else: its handset hangs on the hub's side only, so it is in no packet.
    assert world.con.execute("SELECT * FROM packet_members WHERE node LIKE 'device:%'").fetchall() == []


def test_limits_come_from_settings() -> None:
    """Raising the IP limit above the fan-out (spread rule off) lets the NAT address connect again."""
    world = World()
    nat_ip(world)
    settings = replace(SETTINGS, hub_fan_out={**SETTINGS.hub_fan_out, "ip": 100}, spread_from={})
    report = link_all(world.con, NIGHT1, settings)
    assert (report.hubs, report.groups) == (0, 1)


@pytest.mark.parametrize(
    ("rule", "is_hub", "description"),
    [
        (HubRule(), False, "default: 2-day GOIP burst connects"),
        (HubRule(burst_days=1, outlet_days=1), True, "a 1-day window misses a 2-day batch"),
        (HubRule(share=0.4, burst_days=1, outlet_days=1), False, "but half the cards in one day is enough at 40 %"),
        (HubRule(cap_factor=1), True, "cap at the limit itself: every over-limit identifier is a hub"),
    ],
)
def test_hub_rule_thresholds(rule: HubRule, is_hub: bool, description: str) -> None:
    world = World()
    goip_box(world)
    limits = SETTINGS.hub_fan_out
    run_steps(world.con, [incidence_step(), holders_step(limits), hubs_step(limits, rule)])
    hubs = world.con.execute(f"SELECT node FROM {HUBS}").fetchall()
    assert (hubs == [("device:861234567890123",)]) is is_hub, description


@pytest.mark.parametrize(
    ("rule", "is_hub", "description"),
    [
        (HubRule(), False, "default: 14 of 15 holders within 90 days connects"),
        (HubRule(spread_days=20), True, "a 20-day campaign window misses five weeks of recruiting"),
        (HubRule(spread_from={"ip": 10}), False, "no spread rule for devices: under the limit connects"),
        (HubRule(spread_days=20, share=0.3), False, "a third of the holders within 20 days is enough at 30 %"),
    ],
)
def test_spread_rule_thresholds(rule: HubRule, is_hub: bool, description: str) -> None:
    world = World()
    recruiting_gang(world)
    limits = SETTINGS.hub_fan_out
    run_steps(world.con, [incidence_step(), holders_step(limits), hubs_step(limits, rule)])
    hubs = world.con.execute(f"SELECT node FROM {HUBS}").fetchall()
    assert (hubs == [("device:GANG-PAD",)]) is is_hub, description


def test_hub_rule_comes_from_settings() -> None:
    """`linking.hub_context` reaches the rule: a narrower campaign window turns the gang pad into a hub."""
    world = World()
    recruiting_gang(world)
    report = link_all(world.con, NIGHT1, replace(SETTINGS, spread_days=20))
    assert (report.hubs, report.groups) == (1, 15)
