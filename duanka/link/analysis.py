"""Runs the per-group analysis of `roles.py` over the packets that need it and stores the rows.

Only packets that changed tonight (or have no analysis yet) are analysed again:
an unchanged packet has the same members and lead versions, hence the same
roles and layout, so its rows from an earlier night stay. Rows of packets that
are no longer active are removed.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from duanka.link.roles import Card, analyse_group

_CARDS = """
SELECT l.packet_id, 'account:' || b.account_no,
       CASE WHEN b.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || b.person_key,
       b.open_date, 'branch:' || nullif(b.open_branch, '')
  FROM packet_leads l JOIN bank_leads b USING (issuer, lead_id)
 WHERE l.lead_kind = 'bank' AND l.packet_id IN (SELECT packet_id FROM _link_refresh)
UNION ALL
SELECT l.packet_id, 'phone:' || s.msisdn,
       CASE WHEN s.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || s.person_key,
       s.open_date, 'outlet:' || nullif(s.open_outlet, '')
  FROM packet_leads l JOIN sim_leads s USING (issuer, lead_id)
 WHERE l.lead_kind = 'sim' AND l.packet_id IN (SELECT packet_id FROM _link_refresh)
"""

_EDGES = """
SELECT m.packet_id, e.src, e.dst, e.kind
  FROM link_edges e JOIN packet_members m ON m.node = e.src
 WHERE m.packet_id IN (SELECT packet_id FROM _link_refresh)
"""


def packets_to_refresh(con: duckdb.DuckDBPyConnection, changed: set[str]) -> set[str]:
    """Changed packets plus active packets without stored roles (e.g. a first run)."""
    missing = con.execute(
        """SELECT packet_id FROM packet_registry WHERE state = 'active'
           AND packet_id NOT IN (SELECT packet_id FROM group_roles)"""
    ).fetchall()
    return set(changed) | {row[0] for row in missing}


def write_group_analysis(con: duckdb.DuckDBPyConnection, refresh: set[str]) -> int:
    """Re-analyse `refresh` packets and store roles and layout; return how many were analysed."""
    con.register("_link_refresh_view", pa.table({"packet_id": pa.array(sorted(refresh), pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE _link_refresh AS SELECT * FROM _link_refresh_view")
    con.unregister("_link_refresh_view")
    stale = "packet_id IN (SELECT packet_id FROM _link_refresh) OR packet_id NOT IN " \
        "(SELECT packet_id FROM packet_registry WHERE state = 'active')"
    con.execute(f"DELETE FROM group_roles WHERE {stale}")
    con.execute(f"DELETE FROM group_layout WHERE {stale}")
    edges: dict[str, list[tuple[str, str, str]]] = {}
    for packet_id, src, dst, kind in con.execute(_EDGES).fetchall():
        edges.setdefault(packet_id, []).append((src, dst, kind))
    cards: dict[str, list[Card]] = {}
    for packet_id, node, holder, opened, place in con.execute(_CARDS).fetchall():
        cards.setdefault(packet_id, []).append(Card(node, holder, opened, place))
    roles: list[tuple[str, str, str, float]] = []
    layout: list[tuple[str, str, float, float]] = []
    for packet_id in sorted(edges):
        result = analyse_group(edges[packet_id], cards.get(packet_id, []))
        roles += [(packet_id, n, role, score) for n, (role, score) in sorted(result.roles.items())]
        layout += [(packet_id, n, x, y) for n, (x, y) in sorted(result.layout.items())]
    text, number = pa.string(), pa.float64()
    _append(con, "group_roles", {"packet_id": text, "node": text, "role": text, "score": number}, roles)
    _append(con, "group_layout", {"packet_id": text, "node": text, "x": number, "y": number}, layout)
    con.execute("DROP TABLE IF EXISTS _link_refresh")
    return len(edges)


def _append(con: duckdb.DuckDBPyConnection, table: str, schema: dict[str, pa.DataType], rows: list) -> None:
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    frame = pa.table({name: pa.array(col, t) for (name, t), col in zip(schema.items(), columns)})
    con.register("_link_rows", frame)
    con.execute(f"INSERT INTO {table} SELECT * FROM _link_rows")
    con.unregister("_link_rows")
