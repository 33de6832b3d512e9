"""Roles, key persons, bridges and a picture layout for each group; NetworkX is the reference.

`analyse_group` is the entry point. Groups up to `EXACT_BETWEENNESS_MAX`
nodes (all but a handful) go through `fastroles.analyse_small`, which gives
the same roles, scores and bridges on integer adjacency lists; larger ones, and
the tests as the reference, go through `reference_analysis` here, on NetworkX
(the role rules themselves are in `rolemodel.py`, shared by both). Both paths
draw the same radial picture (`picture.py`).
"""
from __future__ import annotations

import networkx as nx

from duanka.link import picture, smallgraph
from duanka.link.fastroles import analyse_small
from duanka.link.rolemodel import (
    COLLECTOR_MIN_HOLDERS,
    EXACT_BETWEENNESS_MAX,
    HOLDER_KINDS,
    LAYOUT_SEED,
    ROGUE_MIN_CARDS,
    ROGUE_WINDOW_DAYS,
    Card,
    GroupAnalysis,
    add_places,
    kind_of,
    role_of,
)

__all__ = ["COLLECTOR_MIN_HOLDERS", "EXACT_BETWEENNESS_MAX", "ROGUE_MIN_CARDS", "ROGUE_WINDOW_DAYS", "Card",
           "GroupAnalysis", "analyse_group", "reference_analysis"]


def analyse_group(edges: list[tuple[str, str, str]], cards: list[Card]) -> GroupAnalysis:
    """Roles, centrality scores, bridges and layout of one group (its connecting edges and its leads)."""
    if len({n for e in edges for n in e[:2]}) <= EXACT_BETWEENNESS_MAX:
        return analyse_small(edges, cards)
    return reference_analysis(edges, cards)


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
            holder, item = (src, dst) if kind_of(src) in HOLDER_KINDS else (dst, src)
            held[item] = holder
    return held


def _bound(graph: nx.Graph, held: dict[str, str]) -> dict[str, set[str]]:
    """Phone/device node -> the holders whose accounts/cards it binds (its own holder included)."""
    bound: dict[str, set[str]] = {}
    for node in graph:
        if kind_of(node) not in ("phone", "device"):
            continue
        holders = {held[n] for n in graph[node] if n in held and graph[node][n]["kind"] != "holds"}
        if node in held:
            holders.add(held[node])
        bound[node] = holders
    return bound


def _organiser(graph: nx.Graph, collectors: set[str], centrality: dict[str, float]) -> str | None:
    if len(collectors) < 2:
        return None
    persons = sorted(n for n in graph if kind_of(n) == "person")
    near = [
        p
        for p in persons
        if len(collectors & set(nx.single_source_shortest_path_length(graph, p, cutoff=2))) >= 2
    ] or persons
    return min(near, key=lambda p: (-centrality.get(p, 0.0), p), default=None)


def centrality_and_bridges(graph: nx.Graph) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Betweenness (exact up to `EXACT_BETWEENNESS_MAX` nodes, seeded sample beyond) and sorted bridges.

    Scores are rounded to 12 places so that ties (the organiser's pick) do not depend on float noise."""
    if len(graph) <= EXACT_BETWEENNESS_MAX:
        centrality = nx.betweenness_centrality(graph)
    else:
        centrality = nx.betweenness_centrality(graph, k=EXACT_BETWEENNESS_MAX, seed=LAYOUT_SEED)
    bridges = sorted(tuple(sorted(b)) for b in nx.bridges(graph))
    return {n: round(c, 12) for n, c in centrality.items()}, bridges  # type: ignore[misc]


def reference_analysis(edges: list[tuple[str, str, str]], cards: list[Card]) -> GroupAnalysis:
    """The analysis on NetworkX: the path of groups too large for exact betweenness, and the reference
    the fast path is tested against."""
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
        analysis.roles[node] = (role_of(node, organiser, collectors, behind, farmers),
                                round(centrality.get(node, 0.0), 6))
    drawn = add_places(analysis, cards, set(graph))
    names = list(graph)
    index = {n: i for i, n in enumerate(names)}
    middle = {index[n] for n in behind | {organiser} if n}
    analysis.layout = picture.draw(names, smallgraph.adjacency(names, list(graph.edges())),
                                   {index[i]: index[h] for i, h in held.items()}, middle,
                                   [centrality.get(n, 0.0) for n in names], drawn)
    return analysis
