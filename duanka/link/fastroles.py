"""The group analysis of `roles.py` on integer adjacency, without NetworkX graph objects.

A first night analyses tens of thousands of groups with several holders
(~62k at 5M leads); through NetworkX each cost ~10 ms, most of it building
graph objects, a spring layout and a graph copy for the picture. Here the
group is indexed once (nodes in sorted order, neighbours in the order NetworkX
would hold them) and that one structure serves betweenness, bridges, the
organiser's two-hop reach, the roles and the picture.

It must give exactly what `roles.reference_analysis` (NetworkX) gives for roles,
scores and bridges, so it copies the reference's orders where they decide an
outcome: an account held twice keeps the holder of the last `holds` edge in
NetworkX's edge order, an edge given twice keeps the kind of its last copy in
sorted order, betweenness runs on the same sorted adjacency (same floats).
Tested against the reference on seeded random groups.
"""
from __future__ import annotations

from duanka.link import picture, smallgraph
from duanka.link.rolemodel import (
    COLLECTOR_MIN_HOLDERS,
    HOLDER_KINDS,
    Card,
    GroupAnalysis,
    add_places,
    kind_of,
    role_of,
)


def analyse_small(edges: list[tuple[str, str, str]], cards: list[Card]) -> GroupAnalysis:
    """Roles, centrality scores, bridges and picture of one group (its connecting edges and its leads)."""
    names = sorted({n for e in edges for n in e[:2]})
    index = {n: i for i, n in enumerate(names)}
    kinds = [kind_of(n) for n in names]
    # neighbour -> edge kind, in insertion order; a repeated edge keeps its place and takes the new kind
    nbrs: list[dict[int, str]] = [{} for _ in names]
    for src, dst, kind in sorted(edges):
        a, b = index[src], index[dst]
        nbrs[a][b] = kind
        nbrs[b][a] = kind
    adj = [sorted(j for j in d if j != i) for i, d in enumerate(nbrs)]
    centrality = [round(c, 12) for c in smallgraph.betweenness_of(adj)]
    held = _holders(nbrs, kinds)
    bound = {v: _bound_holders(v, nbrs[v], held) for v, k in enumerate(kinds) if k in ("phone", "device")}
    collectors = {v for v, hs in bound.items() if len(hs) >= COLLECTOR_MIN_HOLDERS}
    behind = {held[v] for v in collectors if v in held}
    farmers = {holder for item, holder in held.items() for w, kind in nbrs[item].items()
               if w in bound and kind != "holds" and bound[w] - {holder}}
    organiser = _organiser(adj, kinds, collectors, centrality)
    analysis = GroupAnalysis(bridges=[(names[i], names[j]) for i, j in smallgraph.bridge_pairs(adj)])
    key = names[organiser] if organiser is not None else None
    named = [{names[v] for v in group} for group in (collectors, behind, farmers)]
    for v, name in enumerate(names):
        analysis.roles[name] = (role_of(name, key, *named), round(centrality[v], 6))
    drawn = add_places(analysis, cards, index)
    middle = behind | ({organiser} if organiser is not None else set())
    analysis.layout = picture.draw(names, adj, held, middle, centrality, drawn)
    return analysis


def _holders(nbrs: list[dict[int, str]], kinds: list[str]) -> dict[int, int]:
    """Account/phone -> holder, from the `holds` edges in NetworkX's `Graph.edges` order (each edge
    once, from its lower-indexed end), so that an item held twice ends up with the same holder."""
    held: dict[int, int] = {}
    for u, d in enumerate(nbrs):
        for v, kind in d.items():
            if v >= u and kind == "holds":
                holder, item = (u, v) if kinds[u] in HOLDER_KINDS else (v, u)
                held[item] = holder
    return held


def _bound_holders(node: int, nbrs: dict[int, str], held: dict[int, int]) -> set[int]:
    """The holders whose accounts/cards the phone or device `node` binds (its own holder included)."""
    holders = {held[w] for w, kind in nbrs.items() if w in held and kind != "holds"}
    if node in held:
        holders.add(held[node])
    return holders


def _organiser(adj: list[list[int]], kinds: list[str], collectors: set[int], centrality: list[float]) -> int | None:
    """The most central person within two hops of two collectors (of every person when none is)."""
    if len(collectors) < 2:
        return None
    near_count: dict[int, int] = {}
    for c in collectors:  # distance is symmetric: reach out from the few collectors, not every person
        for v in smallgraph.within(adj, c, 2):
            near_count[v] = near_count.get(v, 0) + 1
    persons = [v for v, k in enumerate(kinds) if k == "person"]
    near = [v for v in persons if near_count.get(v, 0) >= 2] or persons
    return min(near, key=lambda v: (-centrality[v], v), default=None)
