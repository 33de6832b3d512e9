"""The Python part of the group analysis as pure functions on Arrow tables, and a pool to run them on.

A first night analyses hundreds of thousands of groups in Python while DuckDB
waits; one process uses one of the two cores. These functions take a batch's
rows as Arrow tables and return Arrow tables, so a worker process can run them
and the main process handles no Python object per row (measured at 1M: turning
rows into tuples and back cost the main process more than the analysis): it
reads batch k + 1 from DuckDB and stores batch k - 1's rows while the workers
analyse. Results come back in the order the chunks went out, and each
group's rows depend on that group alone, so a night's tables are the same with
one process or several (tested).

The pool is `duanka.procpool.Pool` (spawned workers, results in order, bounded
in flight). Starting a worker costs about a second (importing NetworkX and
duanka), so small nights stay in-process.
"""
from __future__ import annotations

import pyarrow as pa

from duanka.link import smallgraph
from duanka.link.roles import Card, analyse_group
from duanka.procpool import Pool, default_workers

__all__ = ["Pool", "analyse_groups", "cycle_groups", "default_workers"]

Rows = list[tuple]
TEXT, NUMBER = pa.string(), pa.float64()
ROLES = {"packet_id": TEXT, "node": TEXT, "role": TEXT, "score": NUMBER}
LAYOUT = {"packet_id": TEXT, "node": TEXT, "x": NUMBER, "y": NUMBER}
BRIDGES = {"packet_id": TEXT, "src": TEXT, "dst": TEXT}
CENTRALITY = {"packet_id": TEXT, "node": TEXT, "score": NUMBER}


def analyse_groups(rows: tuple[pa.Table, pa.Table]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Roles, layout and bridge rows of the groups whose edges (packet_id, src, dst, kind) and cards
    (packet_id, node, holder, open_date, place) are given."""
    edges, cards = _by_packet(rows[0]), _by_packet(rows[1])
    roles: Rows = []
    layout: Rows = []
    bridges: Rows = []
    for packet_id in sorted(edges):
        result = analyse_group(edges[packet_id], [Card(*c) for c in cards.get(packet_id, [])])
        roles += [(packet_id, n, role, score) for n, (role, score) in sorted(result.roles.items())]
        layout += [(packet_id, n, x, y) for n, (x, y) in sorted(result.layout.items())]
        bridges += [(packet_id, a, b) for a, b in result.bridges]
    return _table(ROLES, roles), _table(LAYOUT, layout), _table(BRIDGES, bridges)


def cycle_groups(rows: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Centrality and bridge rows of one-holder groups with a cycle, from their edges (packet_id, src, dst)."""
    scores: Rows = []
    bridges: Rows = []
    for packet_id, edges in sorted(_by_packet(rows).items()):
        nodes = sorted({n for e in edges for n in e})
        adj = smallgraph.adjacency(nodes, edges)
        scores += [(packet_id, n, round(s, 6)) for n, s in zip(nodes, smallgraph.betweenness_of(adj))]
        bridges += [(packet_id, nodes[i], nodes[j]) for i, j in smallgraph.bridge_pairs(adj)]
    return _table(CENTRALITY, scores), _table(BRIDGES, bridges)


def _by_packet(rows: pa.Table) -> dict[str, list[tuple]]:
    """Rows grouped by their first column (packet_id), the other columns as tuples."""
    out: dict[str, list[tuple]] = {}
    columns = [c.to_pylist() for c in rows.columns]
    for packet_id, *rest in zip(*columns):
        out.setdefault(packet_id, []).append(tuple(rest))
    return out


def _table(schema: dict[str, pa.DataType], rows: Rows) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    return pa.table({name: pa.array(col, t) for (name, t), col in zip(schema.items(), columns)})
