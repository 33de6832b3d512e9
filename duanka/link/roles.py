"""Roles, key persons, bridges and a picture layout for each group, with NetworkX.

Groups are small (tens to a few hundred nodes), so NetworkX fits here. The
roles follow how card gangs work:

* collector (卡头): a phone or device binding the accounts/cards of at least
  `COLLECTOR_MIN_HOLDERS` different holders, and the person behind a collector
  phone (the holder of that msisdn);
* card_farmer (卡农): a holder whose account/card is bound to a phone or device
  that also binds other holders (someone else controls it);
* organiser: when a group has two or more collector identifiers, the most
  central person (betweenness) among those within two hops of two collectors;
* rogue_outlet: a branch/outlet (attribute node `branch:`/`outlet:`) where at
  least `ROGUE_MIN_CARDS` of the group's cards were opened within
  `ROGUE_WINDOW_DAYS` days;
* shell_company: a company holding accounts in the group;
* member: every other node.

One role per node, in that order of precedence: organiser, collector,
rogue_outlet, shell_company, card_farmer, member. `score` is the node's
betweenness centrality in the group (key persons rank by it); for a
branch/outlet it is the share of the group's cards opened there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import networkx as nx

from duanka.link import smallgraph

COLLECTOR_MIN_HOLDERS = 3
ROGUE_MIN_CARDS = 3
ROGUE_WINDOW_DAYS = 7
LAYOUT_SEED = 20261103
EXACT_BETWEENNESS_MAX = 300
SPRING_MAX = 1000
SMALL_BRIDGES_MAX = 200  # the plain bridge test costs edges x (nodes + edges)


@dataclass(frozen=True)
class Card:
    """One lead as the role analysis sees it: the account/phone, its holder, when and where opened."""

    node: str
    holder: str
    open_date: date
    place: str | None


@dataclass
class GroupAnalysis:
    roles: dict[str, tuple[str, float]] = field(default_factory=dict)
    layout: dict[str, tuple[float, float]] = field(default_factory=dict)
    bridges: list[tuple[str, str]] = field(default_factory=list)


def _kind(node: str) -> str:
    return node.split(":", 1)[0]


def _graph(edges: list[tuple[str, str, str]]) -> nx.Graph:
    """Build with nodes and edges in sorted order, so layouts and ties are deterministic."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted({n for e in edges for n in e[:2]}))
    for src, dst, kind in sorted(edges):
        graph.add_edge(src, dst, kind=kind)
    return graph


def _holders(graph: nx.Graph) -> dict[str, str]:
    """Account/phone node -> holder node, from the `holds` edges."""
    held: dict[str, str] = {}
    for src, dst, kind in graph.edges(data="kind"):
        if kind == "holds":
            holder, item = (src, dst) if _kind(src) in ("person", "company") else (dst, src)
            held[item] = holder
    return held


def _bound(graph: nx.Graph, held: dict[str, str]) -> dict[str, set[str]]:
    """Phone/device node -> the holders whose accounts/cards it binds (its own holder included)."""
    bound: dict[str, set[str]] = {}
    for node in graph:
        if _kind(node) not in ("phone", "device"):
            continue
        holders = {held[n] for n in graph[node] if n in held and graph[node][n]["kind"] != "holds"}
        if node in held:
            holders.add(held[node])
        bound[node] = holders
    return bound


def _rogue_outlets(cards: list[Card]) -> dict[str, float]:
    by_place: dict[str, list[date]] = {}
    for card in cards:
        if card.place:
            by_place.setdefault(card.place, []).append(card.open_date)
    rogue = {}
    for place, dates in by_place.items():
        dates.sort()
        burst = max(
            sum(1 for d in dates[i:] if (d - start).days < ROGUE_WINDOW_DAYS) for i, start in enumerate(dates)
        )
        if burst >= ROGUE_MIN_CARDS:
            rogue[place] = len(dates) / len(cards)
    return rogue


def _organiser(graph: nx.Graph, collectors: set[str], centrality: dict[str, float]) -> str | None:
    if len(collectors) < 2:
        return None
    persons = sorted(n for n in graph if _kind(n) == "person")
    near = [
        p
        for p in persons
        if len(collectors & set(nx.single_source_shortest_path_length(graph, p, cutoff=2))) >= 2
    ] or persons
    return min(near, key=lambda p: (-centrality.get(p, 0.0), p), default=None)


def _layout(graph: nx.Graph) -> dict[str, tuple[float, float]]:
    if len(graph) == 1:
        return {next(iter(graph)): (0.5, 0.5)}
    # Seeded spring layout on a graph built in sorted order: the same group gets the same picture.
    # (Kamada-Kawai draws small groups a little tidier but cost 3x as much: 4.6 vs 1.4 ms a group.)
    if len(graph) <= SPRING_MAX:
        pos = nx.spring_layout(graph, seed=LAYOUT_SEED, iterations=50)
    else:
        # Force layouts cost O(n^2) per iteration; a picture this size is not read node by node anyway.
        pos = nx.circular_layout(graph)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]

    def scale(v: float, lo: float, hi: float) -> float:
        return round((v - lo) / (hi - lo), 6) if hi > lo else 0.5

    return {n: (scale(p[0], min(xs), max(xs)), scale(p[1], min(ys), max(ys))) for n, p in pos.items()}


def centrality_and_bridges(graph: nx.Graph) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Betweenness (exact up to `EXACT_BETWEENNESS_MAX` nodes, seeded sample beyond) and sorted bridges.

    Small groups go through `smallgraph.py` (same numbers, 2-3x faster than NetworkX's dispatch);
    scores are rounded to 12 places so that ties (the organiser's pick) do not depend on float noise.
    """
    nodes, pairs = list(graph), list(graph.edges())
    if len(graph) <= EXACT_BETWEENNESS_MAX:
        centrality = smallgraph.betweenness(nodes, pairs)
    else:
        centrality = nx.betweenness_centrality(graph, k=EXACT_BETWEENNESS_MAX, seed=LAYOUT_SEED)
    if len(pairs) <= SMALL_BRIDGES_MAX:
        bridges = smallgraph.bridges(sorted(nodes), pairs)
    else:
        bridges = sorted(tuple(sorted(b)) for b in nx.bridges(graph))  # type: ignore[misc]
    return {n: round(c, 12) for n, c in centrality.items()}, bridges


def analyse_group(edges: list[tuple[str, str, str]], cards: list[Card]) -> GroupAnalysis:
    """Roles, centrality scores, bridges and layout of one group (its connecting edges and its leads)."""
    graph = _graph(edges)
    centrality, bridges = centrality_and_bridges(graph)
    held = _holders(graph)
    bound = _bound(graph, held)
    collectors = {n for n, hs in bound.items() if len(hs) >= COLLECTOR_MIN_HOLDERS}
    behind = {held[n] for n in collectors if n in held}
    farmers = {
        holder
        for item, holder in held.items()
        for n in graph[item]
        if n in bound and graph[item][n]["kind"] != "holds" and bound[n] - {holder}
    }
    organiser = _organiser(graph, collectors, centrality)
    analysis = GroupAnalysis(bridges=bridges)
    for node in graph:
        if node == organiser:
            role = "organiser"
        elif node in collectors or node in behind:
            role = "collector"
        elif _kind(node) == "company":
            role = "shell_company"
        elif node in farmers:
            role = "card_farmer"
        else:
            role = "member"
        analysis.roles[node] = (role, round(centrality.get(node, 0.0), 6))
    # Branches and outlets are drawn beside the cards opened there, never as connections.
    picture = graph.copy()
    for card in sorted(cards, key=lambda c: (c.node, c.place or "")):
        if card.place and card.node in picture:
            picture.add_edge(card.node, card.place, kind="opened_at")
            if card.place not in analysis.roles:
                analysis.roles[card.place] = ("member", 0.0)
    for place, share in _rogue_outlets(cards).items():
        analysis.roles[place] = ("rogue_outlet", round(share, 6))
    analysis.layout = _layout(_graph([(s, d, k) for s, d, k in picture.edges(data="kind")]))
    return analysis
