"""Stable packet ids over nights: grow, split, merge, re-issue, unchanged; idempotent and rerunnable."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from test_link_world import NIGHT1, NIGHT2, NIGHT3, World, card, ric

from duanka import link
from duanka.link import link_all, make_packet_id, plan_packets
from duanka.link.packets import Group, Packet
from duanka.settings import LinkingSettings

SETTINGS = LinkingSettings()
TABLES = ["packet_registry", "packet_members", "packet_leads", "packet_changes", "group_roles", "group_layout",
          "link_edges", "link_hubs"]


def snapshot(world: World) -> dict[str, list[tuple]]:
    return {t: sorted(world.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def night1(world: World) -> None:
    world.bank(ric(1), card(1), devices=("DA",))
    world.bank(ric(2), card(2), devices=("DA",))
    world.bank(ric(3), card(3), devices=("DB",))
    world.bank(ric(4), card(4), devices=("DB",))
    world.bank(ric(5), card(5), devices=("DC",))
    world.bank(ric(6), card(6), devices=("DC",), lead_id="C6")
    world.bank(ric(7), card(7), lead_id="D7")


def night2(world: World) -> None:
    world.bank(ric(8), card(8), devices=("DA",))  # A grows
    world.bank(ric(6), card(6), lead_id="C6", issued=datetime(2026, 11, 4), sha="2" * 64)  # C splits


def night3(world: World) -> None:
    world.bank(ric(9), card(9), devices=("DA", "DB"))  # A and B merge
    world.bank(ric(7), card(7), lead_id="D7", issued=datetime(2026, 11, 5), sha="3" * 64)  # D re-issued


def changes(world: World, night: date) -> dict[str, tuple[str, str]]:
    rows = world.con.execute("SELECT packet_id, change, detail FROM packet_changes WHERE as_of = ?", [night])
    return {packet_id: (change, detail) for packet_id, change, detail in rows.fetchall()}


def test_three_nights_keep_ids_and_record_changes() -> None:
    world = World()
    night1(world)
    report = link_all(world.con, NIGHT1, SETTINGS)
    assert (report.groups, report.packets_new, report.packets_changed) == (4, 4, 0)
    a, b, c, d = (world.packet_of(f"account:{card(i)}") for i in (1, 3, 5, 7))
    assert all(re.fullmatch(r"DK-20261103-[0-9A-F]{8}", p) for p in (a, b, c, d))
    assert {change for change, _ in changes(world, NIGHT1).values()} == {"new"}

    night2(world)
    report = link_all(world.con, NIGHT2, SETTINGS)
    assert world.packet_of(f"account:{card(8)}") == a, "a group that grows keeps its id"
    assert world.packet_of(f"account:{card(5)}") == c, "the larger part of a split keeps the id"
    split_off = world.packet_of(f"account:{card(6)}")
    assert split_off.startswith("DK-20261104-")
    tonight = changes(world, NIGHT2)
    assert tonight[a][0] == "grown"
    assert tonight[c] == ("split", f"拆出 split off: {split_off}")
    assert tonight[split_off] == ("split", f"拆分自 split from: {c}")
    assert b not in tonight and d not in tonight, "unchanged groups get no change row"
    assert (report.packets_new, report.packets_changed, report.packets_merged) == (1, 2, 0)

    night3(world)
    report = link_all(world.con, NIGHT3, SETTINGS)
    survivor, absorbed = sorted([a, b])
    assert world.packet_of(f"account:{card(9)}") == survivor == world.packet_of(f"account:{card(3)}")
    tonight = changes(world, NIGHT3)
    assert tonight[survivor] == ("merged", f"合并 absorbed: {absorbed}")
    assert tonight[d][0] == "changed", "a re-issued lead changes its packet's content"
    registry = {r[0]: r for r in world.con.execute("SELECT * FROM packet_registry").fetchall()}
    assert registry[absorbed][3:5] == ("merged", survivor)
    assert registry[b if survivor == a else a][2] == NIGHT3
    assert registry[split_off][1:3] == (NIGHT2, NIGHT2), "unchanged packet keeps last_changed_as_of"
    assert (report.packets_new, report.packets_changed, report.packets_merged) == (0, 2, 1)
    assert absorbed not in {row[0] for row in world.con.execute("SELECT packet_id FROM group_roles").fetchall()}


def test_rerun_same_night_changes_nothing() -> None:
    """Idempotent: a second run on the same data and night leaves every link table as it was."""
    world = World()
    night1(world)
    link_all(world.con, NIGHT1, SETTINGS)
    night2(world)
    link_all(world.con, NIGHT2, SETTINGS)
    before = snapshot(world)
    report = link_all(world.con, NIGHT2, SETTINGS)
    assert snapshot(world) == before
    assert (report.packets_new, report.packets_changed, report.packets_merged) == (0, 0, 0)


def test_killed_night_rolls_back_and_rerun_gives_same_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed half-way leaves last night's packets; the rerun issues the ids an unbroken run does."""
    clean, broken = World(), World()
    for world in (clean, broken):
        night1(world)
        link_all(world.con, NIGHT1, SETTINGS)
        night2(world)
    link_all(clean.con, NIGHT2, SETTINGS)
    after_night1 = snapshot(broken)

    def killed(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(link, "write_group_analysis", killed)
    with pytest.raises(KeyboardInterrupt):
        link_all(broken.con, NIGHT2, SETTINGS)
    assert snapshot(broken) == after_night1
    monkeypatch.undo()
    link_all(broken.con, NIGHT2, SETTINGS)
    assert snapshot(broken) == snapshot(clean)


def test_ids_do_not_depend_on_load_order() -> None:
    """Ids come from the birth night and smallest member key, not from row order."""
    forward, backward = World(), World()
    for i in range(1, 7):
        forward.bank(ric(i), card(i), devices=(f"D{i // 2}",))
    for i in reversed(range(1, 7)):
        backward.bank(ric(i), card(i), devices=(f"D{i // 2}",))
    link_all(forward.con, NIGHT1, SETTINGS)
    link_all(backward.con, NIGHT1, SETTINGS)
    assert forward.groups() == backward.groups()
    ids = "SELECT * FROM packet_members ORDER BY ALL"
    assert forward.con.execute(ids).fetchall() == backward.con.execute(ids).fetchall()


D1, D2 = date(2026, 1, 1), date(2026, 2, 1)
G = Group
# (description, groups, packets, overlaps, expected assignment {component: id}, expected changes)
PLANS = [
    ("merge: the earliest first_as_of survives even with a larger id",
     [G(1, 6, "a", "x")], [Packet("DK-Z", D1, D1, 3, "p"), Packet("DK-A", D2, D2, 3, "q")],
     {("DK-Z", 1): 3, ("DK-A", 1): 3}, {1: "DK-Z"}, [("DK-Z", "merged", "合并 absorbed: DK-A")]),
    ("merge on the same night: the smaller id survives",
     [G(1, 6, "a", "x")], [Packet("DK-B", D1, D1, 3, "p"), Packet("DK-A", D1, D1, 3, "q")],
     {("DK-B", 1): 3, ("DK-A", 1): 3}, {1: "DK-A"}, [("DK-A", "merged", "合并 absorbed: DK-B")]),
    ("split: the part holding most old members keeps the id",
     [G(1, 2, "a", "x"), G(2, 4, "c", "y")], [Packet("DK-P", D1, D1, 6, "p")],
     {("DK-P", 1): 2, ("DK-P", 2): 4}, {2: "DK-P"}, None),
    ("unchanged members and digest: no change row",
     [G(1, 3, "a", "p")], [Packet("DK-P", D1, D1, 3, "p")], {("DK-P", 1): 3}, {1: "DK-P"}, []),
    ("same members, new digest: changed",
     [G(1, 3, "a", "new")], [Packet("DK-P", D1, D1, 3, "p")], {("DK-P", 1): 3}, {1: "DK-P"},
     [("DK-P", "changed", "线索内容更新 lead re-issued")]),
    ("fewer members (an identifier became a hub): changed",
     [G(1, 2, "a", "p")], [Packet("DK-P", D1, D1, 3, "p")], {("DK-P", 1): 2}, {1: "DK-P"},
     [("DK-P", "changed", "减少 1 个节点 nodes removed")]),
]


@pytest.mark.parametrize(("description", "groups", "packets", "overlaps", "assign", "expected"), PLANS,
                         ids=[p[0][:40] for p in PLANS])
def test_plan_packets(description: str, groups, packets, overlaps, assign, expected) -> None:
    plan = plan_packets(D2, groups, packets, overlaps, {p.packet_id for p in packets})
    assert {c: p for c, p in plan.assign.items() if c in assign} == assign, description
    if expected is not None:
        assert plan.changes == expected, description


def test_split_off_part_gets_new_id_and_dissolved_packet_is_recorded() -> None:
    plan = plan_packets(
        D2, [G(1, 2, "account:1", "x"), G(2, 4, "account:3", "y")],
        [Packet("DK-P", D1, D1, 6, "p"), Packet("DK-GONE", D1, D1, 2, "g")], {("DK-P", 1): 2, ("DK-P", 2): 4}, set(),
    )
    new_id = make_packet_id(D2, "account:1", set())
    assert plan.assign == {1: new_id, 2: "DK-P"}
    assert ("DK-GONE", D1, D2, "dissolved", None, "g") in plan.registry
    assert (plan.new, plan.changed, plan.merged) == (1, 1, 0)


def test_packet_id_format_and_collision_salt() -> None:
    first = make_packet_id(NIGHT1, "account:1", set())
    assert re.fullmatch(r"DK-20261103-[0-9A-F]{8}", first)
    assert first == make_packet_id(NIGHT1, "account:1", set()), "deterministic"
    second = make_packet_id(NIGHT1, "account:1", {first})
    assert second != first and second.startswith("DK-20261103-")
