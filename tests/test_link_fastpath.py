"""The integer-adjacency group analysis equals the NetworkX reference; the picture; workers equal serial.

Random groups are built from a seed in the shapes of card gangs (holders, their
accounts and cards, shared phones, SIM boxes, IPs, cases, branches with bursts
of openings), with the awkward inputs real data has: an edge given twice with
two kinds, an edge given in both directions, an account held by two holders.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import networkx as nx
import pytest
from test_link_roles import gang
from test_link_world import NIGHT1, World

from duanka.link import analysis, link_all, smallgraph, workers
from duanka.link.fastroles import analyse_small
from duanka.link.roles import Card, analyse_group, reference_analysis
from duanka.settings import LinkingSettings


def random_group(rng: random.Random) -> tuple[list[tuple[str, str, str]], list[Card]]:
    """A connected gang-like group: 2-12 holders, 1-3 items each, a few shared phones/devices/IPs/cases."""
    holders = [f"{rng.choice(['person', 'person', 'company'])}:H{h:02d}" for h in range(rng.randint(2, 12))]
    shared = [f"{k}:S{i}" for i, k in enumerate(rng.choices(["phone", "device", "ip", "case"], k=rng.randint(1, 5)))]
    edges, cards, items = [], [], []
    start = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
    for h, holder in enumerate(holders):
        for i in range(rng.randint(1, 3)):
            item = f"{rng.choice(['account', 'phone'])}:I{h:02d}{i}"
            items.append(item)
            edges.append((holder, item, "holds") if rng.random() < 0.5 else (item, holder, "holds"))
            edges.append((item, rng.choice(shared), rng.choice(["reserved_phone", "device", "ip", "case"])))
            if rng.random() < 0.4:
                edges.append((item, f"device:P{h:02d}", "device"))
            cards.append(Card(item, holder, start + timedelta(days=rng.choice([0, 1, 2, 40, 400])),
                              rng.choice([None, "branch:B1", "outlet:O1", f"branch:B{h}"])))
    for s in shared[1:]:  # keep the shared identifiers in one group
        edges.append((rng.choice(items), s, "device"))
    if rng.random() < 0.5:  # a shared phone that is itself someone's SIM: the person behind a collector
        edges.append((rng.choice(holders), shared[0], "holds"))
    if rng.random() < 0.3:  # the same edge twice, with two kinds, and reversed
        src, dst, _ = rng.choice(edges)
        edges += [(src, dst, "zz_other"), (dst, src, "case")]
    if rng.random() < 0.2:  # an account held by two holders (a re-issue under another name)
        edges.append((holders[-1], items[0], "holds"))
    rng.shuffle(edges)
    return edges, cards


def test_fast_path_equals_networkx_reference() -> None:
    """Roles, scores and bridges are exactly the reference's on 400 seeded random groups, and the
    groups exercise every role (so that the equality is not vacuous)."""
    rng, seen = random.Random(20261103), set()
    for _ in range(400):
        edges, cards = random_group(rng)
        fast, ref = analyse_small(edges, cards), reference_analysis(edges, cards)
        assert fast.bridges == ref.bridges
        assert {n: r for n, (r, _) in fast.roles.items()} == {n: r for n, (r, _) in ref.roles.items()}
        assert {n: s for n, (_, s) in fast.roles.items()} == pytest.approx(
            {n: s for n, (_, s) in ref.roles.items()}, abs=1e-9)
        assert fast.layout == ref.layout
        seen |= {r for r, _ in fast.roles.values()}
    assert seen == {"organiser", "collector", "card_farmer", "shell_company", "rogue_outlet", "member"}


def test_entry_point_uses_networkx_beyond_exact_betweenness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups over EXACT_BETWEENNESS_MAX nodes go to the NetworkX path (sampled betweenness)."""
    edges, cards = random_group(random.Random(5))
    calls: list[str] = []
    monkeypatch.setattr("duanka.link.roles.EXACT_BETWEENNESS_MAX", 3)
    monkeypatch.setattr("duanka.link.roles.analyse_small", lambda e, c: calls.append("fast"))
    analyse_group(edges, cards)
    assert calls == []


@pytest.mark.parametrize("seed", range(4))
def test_tarjan_bridges_match_networkx_on_larger_graphs(seed: int) -> None:
    """The linear bridge pass equals NetworkX on sparse random graphs of up to 400 nodes (many bridges)."""
    rng = random.Random(seed)
    for _ in range(10):
        n = rng.randint(2, 400)
        nodes = [f"n{i:03d}" for i in range(n)]
        edges = [(nodes[i], nodes[rng.randrange(i)]) for i in range(1, n)]  # a random tree ...
        edges += [(rng.choice(nodes), rng.choice(nodes)) for _ in range(rng.randint(0, n // 3))]  # ... and cycles
        graph = nx.Graph([e for e in edges if e[0] != e[1]])
        graph.add_nodes_from(nodes)
        assert smallgraph.bridges(nodes, edges) == sorted(tuple(sorted(b)) for b in nx.bridges(graph))


def test_picture_is_in_unit_square_distinct_and_deterministic() -> None:
    """Every node and place has one point in [0,1]^2, points differ, and the same group given in
    another edge order gets the same picture (pages do not change when nothing changed)."""
    rng = random.Random(7)
    for _ in range(100):
        edges, cards = random_group(rng)
        result = analyse_small(edges, cards)
        assert set(result.layout) == {n for e in edges for n in e[:2]} | {c.place for c in cards if c.place}
        assert all(0.0 <= v <= 1.0 for xy in result.layout.values() for v in xy)
        assert len(set(result.layout.values())) == len(result.layout)
        again = analyse_small(list(reversed(edges)), list(reversed(cards)))
        assert again.layout == result.layout


def test_picture_puts_the_shared_phone_in_the_middle() -> None:
    """A collector phone binding four farmers is drawn nearer the centre than every farmer."""
    edges = [(f"person:F{i}", f"account:A{i}", "holds") for i in range(4)]
    edges += [(f"account:A{i}", "phone:K", "reserved_phone") for i in range(4)]
    edges += [(f"account:A{i}", f"device:D{i}", "device") for i in range(4)]
    layout = analyse_small(edges, []).layout

    def off_centre(node: str) -> float:
        x, y = layout[node]
        return (x - 0.5) ** 2 + (y - 0.5) ** 2

    assert all(off_centre("phone:K") < off_centre(f"person:F{i}") < off_centre(f"device:D{i}") for i in range(4))


def _mixed_world() -> World:
    """Two gangs and a family (multi-holder path) plus holders alone with a cycle (own phone's SIM)."""
    world = World()
    gang(world)
    for i in range(20):
        person = f"37040319910{i:06d}X"
        world.bank(person, f"6228{i:015d}", phone=f"137{i:08d}", opened=date(2025, 1, 1) + timedelta(days=i))
        world.sim(person, f"137{i:08d}")
    for f in range(6):
        for m in range(3):
            world.bank(f"37040319920{f:04d}{m:02d}X", f"6229{f:013d}{m:02d}", devices=(f"HOME-{f}",))
    return world


def test_worker_processes_give_the_same_tables_as_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Analysing with two spawned workers in small jobs stores exactly the rows one process stores."""
    world = _mixed_world()
    link_all(world.con, NIGHT1, LinkingSettings())
    tables = ("group_roles", "group_layout", "group_bridges")
    serial = {t: world.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    assert serial["group_roles"] and serial["group_bridges"]
    used: list[int] = []
    real_pool = workers.Pool

    def counting_pool(n: int) -> workers.Pool:
        used.append(n)
        return real_pool(n)

    monkeypatch.setattr(analysis, "PARALLEL_MIN", 0)
    monkeypatch.setattr(analysis, "GROUP_JOB", 1)
    monkeypatch.setattr(analysis, "SOLO_JOB", 3)
    monkeypatch.setattr(workers, "Pool", counting_pool)
    active = {p for (p,) in world.con.execute("SELECT packet_id FROM packet_registry WHERE state = 'active'").fetchall()}
    refresh = analysis.packets_to_refresh(world.con, active)
    analysis.write_group_analysis(world.con, refresh, processes=2)
    assert used == [2]
    assert {t: world.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} == serial


def test_small_nights_stay_in_process() -> None:
    """Worker start-up costs about a second: a night with little Python work uses no workers."""
    world = _mixed_world()
    link_all(world.con, NIGHT1, LinkingSettings())
    world.con.execute("CREATE TEMP TABLE _link_shape AS SELECT 2 AS holders, 30 AS nodes, 40 AS edges FROM range(10)")
    assert analysis._pool_size(world.con, None) == 1
    assert analysis._pool_size(world.con, 1) == 1
    world.con.execute(f"INSERT INTO _link_shape SELECT 2, 30, 40 FROM range({analysis.PARALLEL_MIN})")
    assert analysis._pool_size(world.con, 2) == 2
