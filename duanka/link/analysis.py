"""Runs the per-group analysis over the packets that need it and stores roles, layout and bridges.

Only packets that changed tonight (or have no analysis yet) are analysed again:
an unchanged packet has the same members and lead versions, hence the same
roles and layout, so its rows from an earlier night stay. Rows of packets that
are no longer active are removed. A night's cost therefore follows the groups
it touches, not the history.

Three paths, by the group's shape (`solo.py` explains why they agree):

* one holder, a tree: everything in SQL (closed-form betweenness);
* one holder, with a cycle: betweenness and bridges in `smallgraph.py`, roles and
  the radial layout in SQL (no spring layout: 1.4 of the 1.8 ms a group cost);
* two holders or more: `roles.analyse_group` (NetworkX roles, spring layout).

Python works through the packets in chunks, so memory stays flat on a
first night that analyses millions of groups.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from duanka.link import smallgraph, solo
from duanka.link.roles import Card, analyse_group
from duanka.link.runner import Step, drop_temp, run_steps

CHUNK = 20_000  # packets per Python batch
LAYOUT_CHUNK = 200_000  # one-holder packets per radial-layout query

_CARDS = f"""CREATE OR REPLACE TEMP TABLE {solo.CARDS} AS
SELECT l.packet_id, 'account:' || b.account_no AS node,
       CASE WHEN b.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || b.person_key AS holder,
       b.open_date, 'branch:' || nullif(b.open_branch, '') AS place
  FROM packet_leads l JOIN bank_leads b USING (issuer, lead_id)
 WHERE l.lead_kind = 'bank' AND l.packet_id IN (SELECT packet_id FROM {solo.REFRESH})
UNION ALL
SELECT l.packet_id, 'phone:' || s.msisdn,
       CASE WHEN s.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || s.person_key,
       s.open_date, 'outlet:' || nullif(s.open_outlet, '')
  FROM packet_leads l JOIN sim_leads s USING (issuer, lead_id)
 WHERE l.lead_kind = 'sim' AND l.packet_id IN (SELECT packet_id FROM {solo.REFRESH})"""

_BATCH = "_link_batch"
_BATCH_EDGES = "_link_batch_edges"
_BATCH_CARDS = "_link_batch_cards"
_LAYOUT_BATCH = "_link_layout_batch"
TEXT, NUMBER = pa.string(), pa.float64()
ROLES = {"packet_id": TEXT, "node": TEXT, "role": TEXT, "score": NUMBER}
LAYOUT = {"packet_id": TEXT, "node": TEXT, "x": NUMBER, "y": NUMBER}
BRIDGES = {"packet_id": TEXT, "src": TEXT, "dst": TEXT}
CENTRALITY = {"packet_id": TEXT, "node": TEXT, "score": NUMBER}


def packets_to_refresh(con: duckdb.DuckDBPyConnection, changed: set[str], scope: str | None = None,
                       issued: str | None = None) -> str:
    """Fill TEMP `_link_refresh` with the packets to analyse, and return its name: `changed` ones, those
    issued in SQL tonight (`issued`, a table of packet ids), and active packets (of `scope`, when
    given) without stored roles (e.g. a first run). Built in SQL: a first night at 5M leads has
    millions of them, which as Python strings cost a gigabyte."""
    within = f"AND packet_id IN (SELECT packet_id FROM {scope})" if scope else ""
    con.register("_link_changed_view", pa.table({"packet_id": pa.array(sorted(changed), TEXT)}))
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {solo.REFRESH} AS
            SELECT packet_id FROM _link_changed_view
            {f"UNION SELECT packet_id FROM {issued}" if issued else ""}
            UNION SELECT packet_id FROM packet_registry WHERE state = 'active' {within}
               AND packet_id NOT IN (SELECT packet_id FROM group_roles)""")
    finally:
        con.unregister("_link_changed_view")
    return solo.REFRESH


def write_group_analysis(con: duckdb.DuckDBPyConnection, refresh: str, gone: set[str] | None = None) -> int:
    """Re-analyse the packets of `refresh` (a table of packet ids, from `packets_to_refresh`) and store
    roles, layout and bridges; return how many were analysed.

    Rows of packets no longer active are removed: those of `gone` (tonight's merged and
    dissolved ones) when given, else of every inactive packet (a full rebuild)."""
    if refresh != solo.REFRESH:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {solo.REFRESH} AS SELECT packet_id FROM {refresh}")
    if gone is None:
        stale = f"packet_id IN (SELECT packet_id FROM {solo.REFRESH}) OR packet_id NOT IN " \
            "(SELECT packet_id FROM packet_registry WHERE state = 'active')"
    else:
        con.register("_link_gone_view", pa.table({"packet_id": pa.array(sorted(gone), TEXT)}))
        con.execute("CREATE OR REPLACE TEMP TABLE _link_gone AS SELECT * FROM _link_gone_view")
        con.unregister("_link_gone_view")
        stale = f"packet_id IN (SELECT packet_id FROM {solo.REFRESH} UNION ALL SELECT packet_id FROM _link_gone)"
    for table in ("group_roles", "group_layout", "group_bridges"):
        con.execute(f"DELETE FROM {table} WHERE {stale}")
    run_steps(con, [
        Step("analysis_edges", solo.pedges_sql(), solo.PEDGES),
        Step("analysis_cards", _CARDS, solo.CARDS),
        Step("analysis_shape", solo.shape_sql(), solo.SHAPE),
        Step("centrality_table", f"CREATE OR REPLACE TEMP TABLE {solo.CENTRALITY} "
                                 "(packet_id VARCHAR, node VARCHAR, score DOUBLE)"),
        Step("solo_tree_centrality", solo.tree_centrality_sql()),
        Step("solo_tree_bridges", solo.tree_bridges_sql()),
    ])
    _solo_cycles(con)
    run_steps(con, [Step("solo_roles", solo.solo_roles_sql())])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_LAYOUT_BATCH} AS
        SELECT packet_id, (row_number() OVER (ORDER BY packet_id) - 1) // {LAYOUT_CHUNK} AS batch
          FROM {solo.SHAPE} WHERE holders = 1""")
    chunks = int(con.execute(f"SELECT coalesce(max(batch) + 1, 0) FROM {_LAYOUT_BATCH}").fetchall()[0][0])
    run_steps(con, [Step(f"solo_layout_{b}", solo.solo_layout_sql(
        f"SELECT packet_id FROM {_LAYOUT_BATCH} WHERE batch = {b}")) for b in range(chunks)])
    analysed = int(con.execute(f"SELECT count(*) FROM {solo.SHAPE}").fetchall()[0][0])
    _groups(con)
    drop_temp(con, [solo.REFRESH, solo.PEDGES, solo.CARDS, solo.SHAPE, solo.CENTRALITY, _BATCH, _BATCH_EDGES, _BATCH_CARDS, _LAYOUT_BATCH, "_link_gone"])
    return analysed


def _batches(con: duckdb.DuckDBPyConnection, where: str, rows: dict[str, str]) -> range:
    """Number the packets matching `where` in chunks of `CHUNK`, and copy each of `rows` (name -> query
    with a `packet_id` column) into a temp table sorted by chunk: reading one chunk then skips the other
    row groups instead of joining the whole night's rows again (that made batches quadratic at 5M)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_BATCH} AS
        SELECT packet_id, (row_number() OVER (ORDER BY packet_id) - 1) // {CHUNK} AS batch
          FROM {solo.SHAPE} WHERE {where}""")
    for name, query in rows.items():
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT b.batch, q.* FROM ({query}) q JOIN {_BATCH} b USING (packet_id) ORDER BY b.batch, q.packet_id""")
    return range(int(con.execute(f"SELECT coalesce(max(batch) + 1, 0) FROM {_BATCH}").fetchall()[0][0]))


def _solo_cycles(con: duckdb.DuckDBPyConnection) -> None:
    """One-holder groups with a cycle: plain-Python betweenness and bridges, in chunks."""
    for batch in _batches(con, "holders = 1 AND edges <> nodes - 1",
                          {_BATCH_EDGES: f"SELECT packet_id, src, dst FROM {solo.PEDGES}"}):
        edges: dict[str, list[tuple[str, str]]] = {}
        for packet_id, src, dst in con.execute(
                f"SELECT packet_id, src, dst FROM {_BATCH_EDGES} WHERE batch = ?", [batch]).fetchall():
            edges.setdefault(packet_id, []).append((src, dst))
        scores, bridges = [], []
        for packet_id in sorted(edges):
            nodes = sorted({n for e in edges[packet_id] for n in e})
            centrality = smallgraph.betweenness(nodes, edges[packet_id])
            scores += [(packet_id, n, round(s, 6)) for n, s in sorted(centrality.items())]
            bridges += [(packet_id, a, b) for a, b in smallgraph.bridges(nodes, edges[packet_id])]
        _append(con, solo.CENTRALITY, CENTRALITY, scores)
        _append(con, "group_bridges", BRIDGES, bridges)


def _groups(con: duckdb.DuckDBPyConnection) -> None:
    """Groups of two holders or more: the full NetworkX analysis of `roles.py`, in chunks."""
    rows = {
        _BATCH_EDGES: "SELECT m.packet_id, e.src, e.dst, e.kind FROM link_edges e JOIN (SELECT * FROM packet_members "
                      f"SEMI JOIN {solo.REFRESH} USING (packet_id)) m ON m.node = e.src",
        _BATCH_CARDS: f"SELECT packet_id, node, holder, open_date, place FROM {solo.CARDS}",
    }
    for batch in _batches(con, "holders <> 1", rows):
        edges: dict[str, list[tuple[str, str, str]]] = {}
        for packet_id, src, dst, kind in con.execute(
                f"SELECT packet_id, src, dst, kind FROM {_BATCH_EDGES} WHERE batch = ?", [batch]).fetchall():
            edges.setdefault(packet_id, []).append((src, dst, kind))
        cards: dict[str, list[Card]] = {}
        for packet_id, node, holder, opened, place in con.execute(
                f"SELECT packet_id, node, holder, open_date, place FROM {_BATCH_CARDS} WHERE batch = ?",
                [batch]).fetchall():
            cards.setdefault(packet_id, []).append(Card(node, holder, opened, place))
        roles, layout, bridges = [], [], []
        for packet_id in sorted(edges):
            result = analyse_group(edges[packet_id], cards.get(packet_id, []))
            roles += [(packet_id, n, role, score) for n, (role, score) in sorted(result.roles.items())]
            layout += [(packet_id, n, x, y) for n, (x, y) in sorted(result.layout.items())]
            bridges += [(packet_id, a, b) for a, b in result.bridges]
        _append(con, "group_roles", ROLES, roles)
        _append(con, "group_layout", LAYOUT, layout)
        _append(con, "group_bridges", BRIDGES, bridges)


def _append(con: duckdb.DuckDBPyConnection, table: str, schema: dict[str, pa.DataType], rows: list) -> None:
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    frame = pa.table({name: pa.array(col, t) for (name, t), col in zip(schema.items(), columns)})
    con.register("_link_rows", frame)
    con.execute(f"INSERT INTO {table} SELECT * FROM _link_rows")
    con.unregister("_link_rows")
