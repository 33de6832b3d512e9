"""Connected components of the lead graph, in bulk.

Node keys get dense integer ids from DuckDB (`dense_rank`), the edge list goes
to SciPy as two integer arrays, and `scipy.sparse.csgraph.connected_components`
labels every node. Measured on this machine class (see design notes and
`bench/bench_components.py`): SciPy is some 20x faster than NetworkX and uses
a fraction of its memory, so NetworkX is kept for the per-group analysis, where
groups are small.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from duanka.link.edges import EDGES
from duanka.link.runner import Step, run_steps, scalar

NODE_IDS = "_link_node_ids"
COMPONENTS = "_link_components"


def component_labels(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> np.ndarray:
    """Component label of each node 0..n_nodes-1 of the undirected graph given by (src, dst).

    Nodes that appear in no edge are their own component.
    """
    if n_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    weights = np.ones(len(src), dtype=np.int8)
    # Imported here: the analysis worker processes import duanka.link and need no SciPy (~0.7 s each).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    matrix = coo_matrix((weights, (src, dst)), shape=(n_nodes, n_nodes)).tocsr()
    _, labels = connected_components(matrix, directed=False)
    return labels.astype(np.int64)


def node_ids_step(edges: str = EDGES) -> Step:
    """Dense integer id per node key, in key order (deterministic)."""
    sql = f"""CREATE OR REPLACE TEMP TABLE {NODE_IDS} AS
    SELECT node, CAST(dense_rank() OVER (ORDER BY node) - 1 AS BIGINT) AS id
      FROM (SELECT src AS node FROM {edges} UNION SELECT dst FROM {edges})"""
    return Step("node_ids", sql, NODE_IDS)


def compute_components(con: duckdb.DuckDBPyConnection, edges: str = EDGES) -> int:
    """Write `_link_components(node, component)` for the graph of `edges`; return the number of components.

    A night passes only the edges of the region it touched (`incremental.py`).
    The component number is the smallest dense id in the component, so it is
    stable for the same graph however SciPy numbers its labels.
    """
    run_steps(con, [node_ids_step(edges)])
    arrays = con.execute(
        f"""SELECT s.id AS s, d.id AS d FROM {edges} e
              JOIN {NODE_IDS} s ON s.node = e.src JOIN {NODE_IDS} d ON d.node = e.dst"""
    ).fetchnumpy()
    n_nodes = int(scalar(con, f"SELECT count(*) FROM {NODE_IDS}"))  # type: ignore[arg-type]
    labels = component_labels(np.asarray(arrays["s"]), np.asarray(arrays["d"]), n_nodes)
    # Renumber each label to the smallest node id carrying it.
    first = np.full(labels.max() + 1 if n_nodes else 0, n_nodes, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n_nodes, dtype=np.int64))
    frame = pa.table({"id": np.arange(n_nodes, dtype=np.int64), "component": first[labels]})
    con.register("_link_labels", frame)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {COMPONENTS} AS
            SELECT n.node, l.component FROM {NODE_IDS} n JOIN _link_labels l USING (id)"""
        )
    finally:
        con.unregister("_link_labels")
    return len(np.unique(labels)) if n_nodes else 0
