"""The fast analysis paths agree with the full NetworkX analysis; bridges are stored.

One-holder groups skip `analyse_group` (SQL closed form for trees, plain-Python
betweenness for groups with a cycle), and multi-holder groups go through the
integer-adjacency path. On seeded random worlds every stored role, score and
bridge must equal what `roles.reference_analysis` (NetworkX) computes for the
same group; only the picture is not compared.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from test_link_world import NIGHT1, World, card, mobile, ric

from duanka.link import Card, link_all
from duanka.link.roles import reference_analysis
from duanka.settings import LinkingSettings

COMPANY = "91370400MA3C{:05d}X"


def solo_world(seed: int) -> World:
    """Holders alone with 1-4 accounts and 0-2 SIMs (own phones, devices, cases, bursts at one branch),
    plus a few two-holder families so that both paths run in one night."""
    rng, world = random.Random(seed), World()
    for h in range(60):
        company = rng.random() < 0.1
        holder = COMPANY.format(h) if company else ric(h)
        phones = [mobile(h * 10 + i) for i in range(rng.randint(1, 2))]
        base = date(2026, 3, 1) + timedelta(days=rng.randrange(200))
        for i in range(rng.randint(0, 2)):
            world.sim(holder, phones[i % len(phones)], imei=f"86{h:06d}{i:07d}" if rng.random() < 0.7 else None,
                      opened=base, outlet=rng.choice((None, f"OUT{h}")))
        for i in range(rng.randint(1, 4)):
            world.bank(holder, card(h * 10 + i), id_type="USCC" if company else "RIC",
                       phone=rng.choice(phones) if rng.random() < 0.8 else None,
                       devices=tuple(rng.sample([f"D{h}-{k}" for k in range(3)], rng.randint(0, 2))),
                       cases=(f"C{h}",) if rng.random() < 0.3 else (),
                       opened=base + timedelta(days=rng.randrange(10)), branch=rng.choice((None, f"BR{h}")))
    for f in range(5):  # families: two holders on one home device
        for m in range(2):
            world.bank(ric(1000 + 2 * f + m), card(10_000 + 2 * f + m), devices=(f"HOME-{f}",))
    return world


@pytest.fixture(scope="module", params=[1, 2, 3], ids=["seed1", "seed2", "seed3"])
def linked(request) -> World:
    world = solo_world(request.param)
    link_all(world.con, NIGHT1, LinkingSettings())
    return world


def _reference(world: World) -> dict[str, object]:
    """The NetworkX analysis run on every packet, as the analysis before the fast paths did."""
    con, out = world.con, {}
    edges: dict[str, list] = {}
    for packet_id, src, dst, kind in con.execute(
            "SELECT m.packet_id, e.src, e.dst, e.kind FROM link_edges e JOIN packet_members m ON m.node = e.src"
    ).fetchall():
        edges.setdefault(packet_id, []).append((src, dst, kind))
    cards: dict[str, list] = {}
    for row in con.execute(
            """SELECT l.packet_id, 'account:' || b.account_no, CASE WHEN b.holder_id_type = 'USCC'
                      THEN 'company:' ELSE 'person:' END || b.person_key, b.open_date, 'branch:' || b.open_branch
                 FROM packet_leads l JOIN bank_leads b USING (issuer, lead_id)
               UNION ALL
               SELECT l.packet_id, 'phone:' || s.msisdn, 'person:' || s.person_key, s.open_date,
                      'outlet:' || s.open_outlet FROM packet_leads l JOIN sim_leads s USING (issuer, lead_id)"""
    ).fetchall():
        cards.setdefault(row[0], []).append(Card(*row[1:]))
    for packet_id, group_edges in edges.items():
        out[packet_id] = reference_analysis(group_edges, cards.get(packet_id, []))
    return out


def test_world_has_every_shape(linked: World) -> None:
    """The world holds one-holder trees, one-holder groups with a cycle, and two-holder groups."""
    shapes = linked.con.execute(
        """WITH e AS (SELECT m.packet_id, count(DISTINCT (e.src, e.dst)) AS edges FROM link_edges e
                       JOIN packet_members m ON m.node = e.src GROUP BY 1),
                n AS (SELECT packet_id, count(*) AS nodes, count(*) FILTER (WHERE node SIMILAR TO
                       '(person|company):.*') AS holders FROM packet_members GROUP BY 1)
           SELECT DISTINCT least(holders, 2), edges = nodes - 1 FROM n JOIN e USING (packet_id)"""
    ).fetchall()
    assert {(1, True), (1, False), (2, False)} <= set(shapes)


def test_roles_and_scores_match_networkx(linked: World) -> None:
    """Every node's role and centrality score equals the NetworkX analysis's, on all three paths."""
    stored: dict[str, dict] = {}
    for packet_id, node, role, score in linked.con.execute("SELECT * FROM group_roles").fetchall():
        stored.setdefault(packet_id, {})[node] = (role, score)
    reference = _reference(linked)
    assert set(stored) == set(reference)
    for packet_id, result in reference.items():
        want = {n: (r, round(s, 6)) for n, (r, s) in result.roles.items()}  # type: ignore[attr-defined]
        got = {n: (r, pytest.approx(s, abs=1e-6)) for n, (r, s) in stored[packet_id].items()}
        assert got == want, packet_id


def test_bridges_match_networkx(linked: World) -> None:
    """group_bridges holds exactly the bridges NetworkX finds in each group."""
    stored: dict[str, list] = {}
    for packet_id, src, dst in linked.con.execute("SELECT * FROM group_bridges ORDER BY ALL").fetchall():
        stored.setdefault(packet_id, []).append((src, dst))
    for packet_id, result in _reference(linked).items():
        assert stored.get(packet_id, []) == result.bridges, packet_id  # type: ignore[attr-defined]


def test_radial_layout_covers_every_node(linked: World) -> None:
    """Every node with a role has one position in the unit square, distinct within its packet."""
    layout = linked.con.execute("SELECT packet_id, node, x, y FROM group_layout").fetchall()
    roles = linked.con.execute("SELECT packet_id, node FROM group_roles").fetchall()
    assert sorted((p, n) for p, n, _, _ in layout) == sorted(roles)
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for *_, x, y in layout)
    by_packet: dict[str, list] = {}
    for packet_id, _, x, y in layout:
        by_packet.setdefault(packet_id, []).append((x, y))
    assert all(len(set(points)) == len(points) for points in by_packet.values())


@pytest.mark.parametrize("seed", range(6))
def test_smallgraph_matches_networkx_on_random_graphs(seed: int) -> None:
    """Plain-Python betweenness and bridges equal NetworkX's on seeded random small graphs."""
    import networkx as nx

    from duanka.link import smallgraph

    rng = random.Random(seed)
    for _ in range(40):
        n = rng.randint(1, 14)
        nodes = [f"n{i:02d}" for i in range(n)]
        edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(rng.randint(0, 2 * n))]
        edges = [e for e in edges if e[0] != e[1]] or [(nodes[0], nodes[0])]
        graph = nx.Graph()
        graph.add_nodes_from(nodes)
        graph.add_edges_from(e for e in edges if e[0] != e[1])
        want = nx.betweenness_centrality(graph)
        got = smallgraph.betweenness(nodes, edges)
        assert got == pytest.approx(want, abs=1e-9)
        assert smallgraph.bridges(nodes, edges) == sorted(tuple(sorted(b)) for b in nx.bridges(graph))


def test_solo_layout_in_many_chunks_equals_one_chunk(monkeypatch) -> None:
    """The one-holder radial layout is drawn chunk by chunk from rows copied per chunk: a night in
    chunks of 7 packets stores exactly the layout one chunk stores."""
    from duanka.link import analysis

    layouts = []
    for chunk in (10**6, 7):
        monkeypatch.setattr(analysis, "LAYOUT_CHUNK", chunk)
        world = solo_world(4)
        link_all(world.con, NIGHT1, LinkingSettings())
        layouts.append(world.con.execute("SELECT packet_id, node, x, y FROM group_layout ORDER BY ALL").fetchall())
    assert len(layouts[0]) > 200
    assert layouts[0] == layouts[1]
