"""Bulk connected components (SciPy on dense ids) agree with NetworkX on seeded random graphs."""
from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from duanka.link.components import COMPONENTS, component_labels, compute_components
from duanka.warehouse import connect

# (seed, nodes, edges, description)
RANDOM_GRAPHS = [
    (1, 10, 4, "tiny and sparse: mostly isolated nodes"),
    (2, 200, 150, "below the percolation point: many small groups"),
    (3, 500, 700, "around the giant-component threshold"),
    (4, 1000, 3000, "dense: one giant group plus stragglers"),
    (5, 50, 0, "no edges at all: every node alone"),
    (6, 300, 300, "self-loops and duplicate edges mixed in"),
]


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(node)
    return {frozenset(g) for g in groups.values()}


def _random_edges(seed: int, n: int, m: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(m)]
    return edges + edges[: m // 10]  # duplicates must not matter


@pytest.mark.parametrize(("seed", "n", "m", "description"), RANDOM_GRAPHS)
def test_component_labels_match_networkx(seed: int, n: int, m: int, description: str) -> None:
    edges = _random_edges(seed, n, m)
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    reference = nx.Graph()
    reference.add_nodes_from(range(n))
    reference.add_edges_from(edges)
    expected = {frozenset(c) for c in nx.connected_components(reference)}
    assert _partition(component_labels(src, dst, n)) == expected, description


def test_component_labels_of_empty_graph() -> None:
    """No nodes: no labels, no error."""
    empty = np.zeros(0, dtype=np.int64)
    assert len(component_labels(empty, empty, 0)) == 0


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_components_in_duckdb_match_networkx(seed: int) -> None:
    """The DuckDB path (string node keys -> dense_rank -> SciPy -> back) gives NetworkX's groups."""
    rng = random.Random(seed)
    keys = [f"{rng.choice(['account', 'phone', 'device', 'person'])}:{i:05d}" for i in range(400)]
    edges = [(rng.choice(keys), rng.choice(keys)) for _ in range(350)]
    con = connect()
    con.executemany("INSERT INTO link_edges VALUES (?, ?, 'test')", [list(e) for e in edges])
    count = compute_components(con)
    rows = con.execute(f"SELECT node, component FROM {COMPONENTS}").fetchall()
    got: dict[int, set[str]] = {}
    for node, component in rows:
        got.setdefault(component, set()).add(node)
    reference = nx.Graph(edges)
    expected = {frozenset(c) for c in nx.connected_components(reference)}
    assert {frozenset(g) for g in got.values()} == expected
    assert count == len(expected)
    # The component number is the smallest dense id, i.e. the group's smallest key in key order.
    ranks = {key: i for i, key in enumerate(sorted(reference.nodes))}
    assert all(component == min(ranks[n] for n in nodes) for component, nodes in got.items())
