"""Roles, centrality, bridges and layout of a group, and the skipping of unchanged groups."""
from __future__ import annotations

from datetime import date

import pytest
from test_link_world import NIGHT1, NIGHT2, World, card, mobile, ric

from duanka.link import Card, analyse_group, link_all, workers
from duanka.settings import LinkingSettings

COMPANY = "91370400MA3C12345X"


def gang(world: World) -> None:
    """Collector phone K1 with 4 farmers, a SIM box with 4 farmers, an organiser between the two."""
    world.sim(ric(100), mobile(100), imei="860000000000100")  # K1, the collector's own phone
    for i in range(1, 5):
        world.bank(ric(i), card(i), phone=mobile(100), opened=date(2019 + i, 3, 1), branch=f"BR-{i % 2}")
    for i in range(5, 9):
        world.sim(ric(i), mobile(i), imei="GOIP-2", opened=date(2026, 9, 1 + i % 3), outlet="OUT-X")
    world.bank(ric(50), card(50), phone=mobile(100))  # the organiser's account on K1's phone ...
    world.sim(ric(50), mobile(50), imei="GOIP-2", opened=date(2026, 5, 1), outlet="OUT-Y")  # ... and SIM in the box
    world.bank(COMPANY, "37001234567890", id_type="USCC", phone=mobile(100))
    world.bank(ric(60), card(60), phone=mobile(60))  # a loner: own phone, own account
    world.sim(ric(60), mobile(60))


def roles(world: World) -> dict[str, tuple[str, float]]:
    rows = world.con.execute("SELECT node, role, score FROM group_roles").fetchall()
    return {node: (role, score) for node, role, score in rows}


# (description, node, role)
EXPECTED = [
    ("the phone binding five holders' accounts is a collector", f"phone:{mobile(100)}", "collector"),
    ("the person behind the collector phone is a collector", f"person:{ric(100)}", "collector"),
    ("the SIM box binding five holders' cards is a collector", "device:GOIP-2", "collector"),
    ("a holder whose account sits on another's phone is a card farmer", f"person:{ric(1)}", "card_farmer"),
    ("a holder whose SIM sits in the box is a card farmer", f"person:{ric(6)}", "card_farmer"),
    ("the person bridging both collectors is the organiser", f"person:{ric(50)}", "organiser"),
    ("a company holding an account in the group is a shell company", f"company:{COMPANY}", "shell_company"),
    ("the outlet where the box's cards were opened in days is rogue", "outlet:OUT-X", "rogue_outlet"),
    ("a branch with two cards years apart is only a member", "branch:BR-1", "member"),
    ("an account is a member", f"account:{card(1)}", "member"),
    ("a loner with own phone is a member", f"person:{ric(60)}", "member"),
]


@pytest.fixture(scope="module")
def linked() -> World:
    world = World()
    gang(world)
    link_all(world.con, NIGHT1, LinkingSettings())
    return world


@pytest.mark.parametrize(("description", "node", "role"), EXPECTED, ids=[e[0][:40] for e in EXPECTED])
def test_roles(linked: World, description: str, node: str, role: str) -> None:
    assert roles(linked)[node][0] == role, description


def test_organiser_is_the_most_central_person(linked: World) -> None:
    scores = {n: s for n, (_, s) in roles(linked).items() if n.startswith("person:") and n != f"person:{ric(60)}"}
    assert max(scores, key=lambda n: scores[n]) == f"person:{ric(50)}"


def test_layout_covers_every_node_in_unit_square(linked: World) -> None:
    layout = linked.con.execute("SELECT packet_id, node, x, y FROM group_layout").fetchall()
    role_rows = linked.con.execute("SELECT packet_id, node FROM group_roles").fetchall()
    assert sorted((p, n) for p, n, _, _ in layout) == sorted(role_rows)
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for _, _, x, y in layout)


def test_layout_is_deterministic() -> None:
    """Same group, built twice from scratch: identical coordinates (pages do not jitter between nights)."""
    layouts = []
    for _ in range(2):
        world = World()
        gang(world)
        link_all(world.con, NIGHT1, LinkingSettings())
        layouts.append(world.con.execute("SELECT * FROM group_layout ORDER BY ALL").fetchall())
    assert layouts[0] == layouts[1]


def test_bridges_and_small_groups() -> None:
    """A chain holder-account-phone-holder: every edge is a bridge; a two-node group still gets a layout."""
    edges = [("person:1", "account:1", "holds"), ("account:1", "phone:1", "reserved_phone"),
             ("person:2", "phone:1", "holds")]
    result = analyse_group(edges, [Card("account:1", "person:1", date(2026, 1, 1), None)])
    assert len(result.bridges) == 3
    assert set(result.layout) == {"person:1", "account:1", "phone:1", "person:2"}
    pair = analyse_group([("person:1", "account:1", "holds")], [])
    assert len(pair.layout) == 2 and len(set(pair.layout.values())) == 2
    assert all(0.0 <= v <= 1.0 for xy in pair.layout.values() for v in xy)


def test_only_changed_groups_are_analysed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    gang(world)
    link_all(world.con, NIGHT1, LinkingSettings())
    before = world.con.execute("SELECT * FROM group_roles ORDER BY ALL").fetchall()
    calls: list[int] = []
    real = workers.analyse_group

    def counting(edges, cards):  # type: ignore[no-untyped-def]
        calls.append(len(edges))
        return real(edges, cards)

    monkeypatch.setattr(workers, "analyse_group", counting)  # small night: analysed in this process
    link_all(world.con, NIGHT2, LinkingSettings())
    assert calls == [], "nothing changed: nothing analysed"
    assert world.con.execute("SELECT * FROM group_roles ORDER BY ALL").fetchall() == before
    world.bank(ric(61), card(61), phone=mobile(60))  # the loner's group grows
    link_all(world.con, NIGHT2, LinkingSettings())
    assert len(calls) == 1
