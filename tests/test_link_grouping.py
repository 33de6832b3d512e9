"""Grouping quality on crafted worlds: gangs, families and noise sharing busy identifiers."""
from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest
from test_link_world import NIGHT1, World, card, mobile, ric

from duanka.link import link_all
from duanka.settings import LinkingSettings


def build_world(seed: int) -> tuple[World, dict[str, str]]:
    """Gangs, families and unrelated customers; returns the world and each lead node's true group."""
    rng = random.Random(seed)
    world, truth, n = World(), {}, itertools.count(1)
    for gang in range(8):
        boss, burst = next(n), date(2026, 1, 1) + timedelta(days=rng.randrange(250))
        world.sim(ric(boss), mobile(boss), imei=f"86{gang:013d}")  # the collector's own phone
        truth[f"phone:{mobile(boss)}"] = f"gang{gang}"
        goip = f"GOIP-{gang}"
        # Gang 0 is a big batch: 32 farmers in 2 days, over the phone and device limits, still one gang.
        for _ in range(32 if gang == 0 else rng.randint(3, 8)):
            farmer = next(n)
            opened = burst + timedelta(days=rng.randrange(2))
            world.bank(ric(farmer), card(farmer), phone=mobile(boss), ips=("10.8.0.1",), opened=opened,
                       branch="BR-GANG")
            truth[f"account:{card(farmer)}"] = f"gang{gang}"
            if gang == 0 or rng.random() < 0.6:  # the farmer's SIM sits in the gang's SIM box
                world.sim(ric(farmer), mobile(farmer), imei=goip, opened=opened, outlet=f"OUT{gang}")
                truth[f"phone:{mobile(farmer)}"] = f"gang{gang}"
        world.case(f"C{gang}", accounts=(card(boss + 1),), phones=(mobile(boss),))
    for family in range(5):
        for _ in range(rng.randint(2, 4)):
            member = next(n)
            opened = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
            world.bank(ric(member), card(member), devices=(f"HOME-PAD-{family}",), ips=("10.8.0.1",),
                       opened=opened, branch="BR-TOWN")
            truth[f"account:{card(member)}"] = f"family{family}"
    for _ in range(70):  # unrelated customers behind the carrier NAT and the branch tablet
        person = next(n)
        opened = date(2012, 1, 1) + timedelta(days=rng.randrange(5000))
        world.bank(ric(person), card(person), ips=("10.8.0.1",), devices=("TABLET-BR-TOWN",), opened=opened,
                   branch="BR-TOWN")
        truth[f"account:{card(person)}"] = f"single{person}"
    return world, truth


def pairwise(world: World, truth: dict[str, str]) -> tuple[float, float]:
    """Precision and recall over pairs of lead nodes put in one group."""
    predicted = dict(world.con.execute("SELECT node, packet_id FROM packet_members").fetchall())
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        same_truth, same_pred = truth[a] == truth[b], predicted[a] == predicted[b]
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_gangs_families_and_noise_are_grouped_exactly(seed: int) -> None:
    """NAT IP and branch tablet do not glue; collector phones, SIM boxes and home devices do."""
    world, truth = build_world(seed)
    report = link_all(world.con, NIGHT1, LinkingSettings())
    precision, recall = pairwise(world, truth)
    assert (precision, recall) == (1.0, 1.0)
    assert report.groups == len(set(truth.values()))
    hubs = {row[0] for row in world.con.execute("SELECT node FROM link_hubs").fetchall()}
    assert hubs == {"ip:10.8.0.1", "device:TABLET-BR-TOWN"}


def test_family_sharing_a_device_is_one_group() -> None:
    """Parents and child logging in from the home tablet, accounts opened years apart: one group."""
    world = World()
    for i, opened in enumerate([date(2009, 3, 1), date(2012, 7, 9), date(2024, 2, 2)]):
        world.bank(ric(i), card(i), devices=("HOME-PAD",), opened=opened)
    world.bank(ric(9), card(9), devices=("OTHER-PAD",))
    report = link_all(world.con, NIGHT1, LinkingSettings())
    assert report.groups == 2
    assert len({world.packet_of(f"account:{card(i)}") for i in range(3)}) == 1


# (description, builder, lead nodes expected in one group, nodes expected in no group)
CASE_LINKS = [
    ("lead's case_ids and the case's account list meet at the case",
     lambda w: (w.bank(ric(1), card(1), cases=("C1",)), w.bank(ric(2), card(2)), w.case("C1", accounts=(card(2),))),
     [f"account:{card(1)}", f"account:{card(2)}"], []),
    ("case's phone list reaches a SIM lead and a reserved phone",
     lambda w: (w.sim(ric(1), mobile(1)), w.bank(ric(2), card(2), phone=mobile(2)),
                w.case("C2", phones=(mobile(1), mobile(2)))),
     [f"phone:{mobile(1)}", f"account:{card(2)}"], []),
    ("a case account that is no lead adds no node and glues nothing",
     lambda w: (w.bank(ric(1), card(1), cases=("C3",)), w.case("C3", accounts=(card(77),)),
                w.case("C4", accounts=(card(77),))),
     [f"account:{card(1)}"], [f"account:{card(77)}", "case:C4"]),
    ("a company holds its corporate account as a company node",
     lambda w: w.bank("91370400MA3C123456", "37001234567890", id_type="USCC"),
     ["company:91370400MA3C123456", "account:37001234567890"], []),
]


@pytest.mark.parametrize(("description", "build", "together", "absent"), CASE_LINKS, ids=[c[0][:40] for c in CASE_LINKS])
def test_case_and_holder_links(description: str, build, together: list[str], absent: list[str]) -> None:
    world = World()
    build(world)
    link_all(world.con, NIGHT1, LinkingSettings())
    assert len({world.packet_of(node) for node in together}) == 1, description
    members = {row[0] for row in world.con.execute("SELECT node FROM packet_members").fetchall()}
    assert not members & set(absent), description
