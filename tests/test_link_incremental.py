"""Incremental nights: a night redoes only the groups it touches, and ends where a full rebuild ends."""
from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from test_link_world import NIGHT1, World, card, mobile, ric

from duanka.link import link_all, make_packet_id
from duanka.settings import LinkingSettings

SETTINGS = LinkingSettings()  # device 25, ip 40, phone 30, case 60; spread rule from 10 holders
TABLES = ["packet_registry", "packet_members", "packet_leads", "packet_changes", "group_roles", "group_layout",
          "group_bridges", "link_edges", "link_hubs"]
NIGHTS = [NIGHT1 + timedelta(days=i) for i in range(5)]


def snapshot(world: World) -> dict[str, list[tuple]]:
    return {t: sorted(world.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def deliver(world: World, rng: random.Random, night: int, start: int) -> int:
    """One night's leads: new holders, gang sellers on shared devices/phones, re-issues, cases both ways."""
    n = start
    for _ in range(25):
        n += 1
        kind = rng.random()
        if kind < 0.5:  # a holder alone, maybe with a second card and own SIM
            world.bank(ric(n), card(n), phone=mobile(n), devices=(f"PD{n}",), ips=(f"27.0.{n % 250}.1",))
            if rng.random() < 0.3:
                world.sim(ric(n), mobile(n), imei=f"86{n:013d}")
        elif kind < 0.8:  # a gang seller: shared device and collector phone, cards opened within days
            gang = rng.randrange(4)
            world.bank(ric(n), card(n), phone=mobile(900 + gang), devices=(f"GANG{gang}",),
                       opened=date(2026, 9, 1) + timedelta(days=rng.randrange(3)),
                       cases=(f"K{gang}",) if rng.random() < 0.3 else ())
        else:  # a NAT address used over years: over the limit it becomes a hub (and groups split)
            world.bank(ric(n), card(n), ips=("112.224.0.1",),
                       opened=date(2015, 1, 1) + timedelta(days=rng.randrange(3000)))
    if night >= 1:
        for old in rng.sample(range(1, start + 1), 4):  # re-issues: a lead moves to another device
            world.bank(ric(old), card(old), devices=(f"GANG{rng.randrange(4)}",), lead_id=f"R{old}",
                       issued=datetime(2026, 11, 1 + night, 9), sha=f"{night:x}" * 64)
        world.con.execute("DELETE FROM cases WHERE case_id = ?", [f"KC{night}"])
        world.case(f"KC{night}", accounts=(card(rng.randrange(1, start + 1)), card(rng.randrange(1, start + 1))))
    return n


def twin_nights(seed: int) -> Iterator[tuple[int, date, World, World]]:
    """Two worlds fed the same seeded `NIGHTS`, one night at a time: (night number, night, first, second).

    For comparing two ways of processing the same deliveries (incremental against full)."""
    first, second = World(), World()
    rng_a, rng_b = random.Random(seed), random.Random(seed)
    n_a = n_b = 0
    for i, night in enumerate(NIGHTS):
        n_a, n_b = deliver(first, rng_a, i, n_a), deliver(second, rng_b, i, n_b)
        yield i, night, first, second


def test_incremental_nights_equal_full_rebuilds() -> None:
    """Five seeded nights (growth, merges through cases, re-issues, a NAT address turning hub): after each
    night the incremental run's tables equal those of a run that rebuilt the whole graph."""
    for i, night, incremental, full in twin_nights(11):
        report = link_all(incremental.con, night, SETTINGS)
        link_all(full.con, night, SETTINGS, full=True)
        assert report.full is (i == 0), "only the first night rebuilds"
        assert snapshot(incremental) == snapshot(full), f"night {i + 1}"
    hubs = {node for (node,) in incremental.con.execute("SELECT node FROM link_hubs").fetchall()}
    assert "ip:112.224.0.1" in hubs, "the world must exercise a hub turning on"
    kinds = {c for (c,) in incremental.con.execute("SELECT DISTINCT change FROM packet_changes").fetchall()}
    assert {"new", "grown", "merged"} <= kinds, kinds


def test_second_night_touches_only_its_groups() -> None:
    """A night with one grown group and one new holder analyses those two packets only, and computes
    components over their nodes only."""
    world = World()
    for i in range(1, 41):
        world.bank(ric(i), card(i), devices=(f"D{i // 2}",))  # 19 pairs sharing a device, 2 alone
    link_all(world.con, NIGHT1, SETTINGS)
    before = {pid: n for pid, n in world.con.execute(
        "SELECT packet_id, count(*) FROM packet_members GROUP BY 1").fetchall()}
    grown = world.packet_of(f"account:{card(4)}")
    world.bank(ric(100), card(100), devices=("D2",))  # joins the pair of cards 4 and 5
    world.bank(ric(101), card(101))  # alone
    report = link_all(world.con, NIGHTS[1], SETTINGS)
    assert not report.full
    assert report.analysed == 2
    assert (report.packets_new, report.packets_changed) == (1, 1)
    # the grown pair (5 nodes before: 2 holders, 2 accounts, 1 device) + the new lead's 2 new nodes
    # and the new holder's 2 nodes
    assert report.region == before[grown] + 2 + 2
    assert report.groups == 22
    roles = world.con.execute("SELECT count(DISTINCT packet_id) FROM group_roles").fetchall()[0][0]
    assert roles == 22, "untouched packets keep their roles"


def test_hub_settings_change_rebuilds() -> None:
    """Changing the hub settings judges every identifier again: the next run is a full rebuild."""
    world = World()
    for i in range(1, 6):
        world.bank(ric(i), card(i), devices=("PAD",))
    assert link_all(world.con, NIGHT1, SETTINGS).full
    assert not link_all(world.con, NIGHTS[1], SETTINGS).full
    tighter = LinkingSettings(hub_fan_out={"device": 3, "ip": 40, "phone": 30, "case": 60}, cap_factor=1)
    report = link_all(world.con, NIGHTS[2], tighter)
    assert report.full and report.hubs == 1 and report.groups == 5


def colliding_cards() -> tuple[int, int]:
    """Two card numbers whose account node keys share the 8 hex digits of a packet id (birthday search)."""
    seen: dict[str, int] = {}
    for i in range(1, 1_000_000):
        head = hashlib.sha1(f"account:{card(i)}".encode()).hexdigest()[:8]
        if head in seen:
            return seen[head], i
        seen[head] = i
    raise AssertionError("no collision found")


def test_colliding_new_ids_get_a_salt() -> None:
    """New groups are issued ids in SQL, except where two would get the same id: the smaller key keeps
    the plain id and the other gets a salt, as `make_packet_id` does."""
    a, b = colliding_cards()
    world = World()
    world.bank(ric(1), card(a))
    world.bank(ric(2), card(b))
    world.bank(ric(3), card(3))
    report = link_all(world.con, NIGHT1, SETTINGS)
    assert (report.groups, report.packets_new) == (3, 3)
    first, second = sorted([f"account:{card(a)}", f"account:{card(b)}"])
    plain = make_packet_id(NIGHT1, first, set())
    assert world.packet_of(first) == plain
    assert world.packet_of(second) == make_packet_id(NIGHT1, second, {plain}) != plain
    assert world.packet_of(f"account:{card(3)}") == make_packet_id(NIGHT1, f"account:{card(3)}", set())


def test_warehouse_memory_budget_from_environment(monkeypatch) -> None:
    """DuckDB gets a fixed memory budget (default 2 GB) and thread count from the deployment's settings."""
    from duanka import warehouse

    monkeypatch.delenv(warehouse.MEMORY_ENV, raising=False)
    monkeypatch.delenv(warehouse.THREADS_ENV, raising=False)
    assert warehouse.engine_config()["memory_limit"] == "2GB"
    assert "threads" not in warehouse.engine_config()
    monkeypatch.setenv(warehouse.MEMORY_ENV, "3GB")
    monkeypatch.setenv(warehouse.THREADS_ENV, "1")
    con = warehouse.connect()
    limit, threads = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()[0]
    assert (limit, threads) == ("2.7 GiB", 1)
    monkeypatch.setenv(warehouse.THREADS_ENV, "two")
    with pytest.raises(ValueError, match="DUANKA_DUCKDB_THREADS"):
        warehouse.engine_config()
