"""SQL that assembles what a packet page and the index show, for every open packet at once.

Each function returns SQL text; `fetch_grouped` runs it and groups rows by
packet, so that publishing a province costs one query per section, not one per
packet. Only active packets (`packet_registry.state = 'active'`) are read.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

ACTIVE = "(SELECT packet_id FROM packet_registry WHERE state = 'active')"

# The holder node of a lead, as duanka.link names it (architecture.md, node keys).
HOLDER_NODE = "CASE WHEN holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || person_key"


def packets_sql(packets: str = ACTIVE) -> str:
    """Header facts of every open packet; a packet not (yet) scored is listed with priority 0."""
    return f"""
        SELECT r.packet_id, r.first_as_of, r.last_changed_as_of,
               round(coalesce(s.priority, 0), 2) AS priority, coalesce(s.tier, 'yellow') AS tier,
               coalesce(s.unit_code, '') AS unit_code, coalesce(s.unit_name, '') AS unit_name,
               coalesce(s.category, '') AS category, coalesce(s.rules, []) AS rules,
               coalesce(s.rule_set_hash, '') AS rule_set_hash,
               EXISTS (SELECT 1 FROM packet_changes c
                       WHERE c.packet_id = r.packet_id AND c.as_of = $as_of) AS changed
        FROM packet_registry r LEFT JOIN packet_scores s USING (packet_id)
        WHERE r.packet_id IN {packets}
        ORDER BY r.packet_id"""


def bank_leads_sql(packets: str = ACTIVE) -> str:
    return f"""
        SELECT pl.packet_id, {HOLDER_NODE} AS holder_node, b.*
        FROM packet_leads pl
        JOIN bank_leads b ON pl.lead_kind = 'bank' AND b.issuer = pl.issuer AND b.lead_id = pl.lead_id
        WHERE pl.packet_id IN {packets}
        ORDER BY pl.packet_id, b.open_date, b.account_no, b.lead_id"""


def sim_leads_sql(packets: str = ACTIVE) -> str:
    return f"""
        SELECT pl.packet_id, {HOLDER_NODE} AS holder_node, s.*
        FROM packet_leads pl
        JOIN sim_leads s ON pl.lead_kind = 'sim' AND s.issuer = pl.issuer AND s.lead_id = pl.lead_id
        WHERE pl.packet_id IN {packets}
        ORDER BY pl.packet_id, s.open_date, s.msisdn, s.lead_id"""


def cases_sql(packets: str = ACTIVE) -> str:
    """Cases that are member nodes of the packet or named in its leads' `case_ids` (both directions count)."""
    return f"""
        WITH linked AS (
            SELECT packet_id, substr(node, 6) AS case_id FROM packet_members
            WHERE node LIKE 'case:%' AND packet_id IN {packets}
            UNION
            SELECT pl.packet_id, unnest(b.case_ids) FROM packet_leads pl
            JOIN bank_leads b ON pl.lead_kind = 'bank' AND b.issuer = pl.issuer AND b.lead_id = pl.lead_id
            WHERE pl.packet_id IN {packets}
            UNION
            SELECT pl.packet_id, unnest(s.case_ids) FROM packet_leads pl
            JOIN sim_leads s ON pl.lead_kind = 'sim' AND s.issuer = pl.issuer AND s.lead_id = pl.lead_id
            WHERE pl.packet_id IN {packets})
        SELECT l.packet_id, c.case_id, c.reported_at, c.region, c.fraud_type, c.loss,
               coalesce(c.accounts, []) AS accounts, coalesce(c.phones, []) AS phones, c._file, c._row
        FROM linked l JOIN cases c USING (case_id)
        ORDER BY l.packet_id, c.reported_at, c.case_id"""


def members_sql(packets: str = ACTIVE) -> str:
    """Every member node with its role (nodes without a role row are plain members) and its place in the picture."""
    return f"""
        SELECT m.packet_id, m.node, coalesce(r.role, 'member') AS role, coalesce(r.score, 0) AS role_score,
               g.x, g.y
        FROM (SELECT DISTINCT packet_id, node FROM packet_members WHERE packet_id IN {packets}) m
        LEFT JOIN (SELECT packet_id, node, arg_max(role, score) AS role, max(score) AS score
                   FROM group_roles WHERE packet_id IN {packets} GROUP BY packet_id, node) r USING (packet_id, node)
        LEFT JOIN (SELECT * FROM group_layout WHERE packet_id IN {packets}) g USING (packet_id, node)
        ORDER BY m.packet_id, m.node"""


def edges_sql(packets: str = ACTIVE) -> str:
    """Tonight's connecting edges whose both ends belong to the same open packet."""
    return f"""
        SELECT DISTINCT a.packet_id, e.src, e.dst, e.kind
        FROM (SELECT * FROM packet_members WHERE packet_id IN {packets}) a
        JOIN link_edges e ON a.node = e.src
        JOIN (SELECT * FROM packet_members WHERE packet_id IN {packets}) b
             ON b.node = e.dst AND b.packet_id = a.packet_id
        ORDER BY a.packet_id, e.src, e.dst, e.kind"""


def rule_hits_sql(packets: str = ACTIVE) -> str:
    return f"""
        SELECT packet_id, rule_id, rule_version, title, explanation, points, observed, threshold, evidence
        FROM rule_hits WHERE packet_id IN {packets}
        ORDER BY packet_id, points DESC, rule_id"""


def changes_sql(packets: str = ACTIVE) -> str:
    """The packet's change history up to tonight, newest first."""
    return f"""
        SELECT packet_id, as_of, change, detail FROM packet_changes
        WHERE packet_id IN {packets} AND as_of <= $as_of
        ORDER BY packet_id, as_of DESC, change, detail"""


def hubs_sql() -> str:
    """Identifiers that stopped connecting because too many holders share them (a branch tablet, a NAT address)."""
    return "SELECT DISTINCT node FROM link_hubs"


SECTIONS = {
    "bank": bank_leads_sql,
    "sim": sim_leads_sql,
    "cases": cases_sql,
    "members": members_sql,
    "edges": edges_sql,
    "hits": rule_hits_sql,
    "changes": changes_sql,
}


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict]:
    """Run one view query and return its rows as dicts (only parameters the SQL names are passed)."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    cursor = con.execute(sql, used) if used else con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@dataclass
class NightViews:
    """What publishing reads from the warehouse for one night."""

    packets: list[dict]
    sections: dict[str, dict[str, list]] = field(default_factory=dict)
    hubs: set[str] = field(default_factory=set)

    def rows(self, section: str, packet_id: str) -> list[dict]:
        return self.sections[section].get(packet_id, [])


def fetch_views(con: duckdb.DuckDBPyConnection, as_of: date, packets: str = ACTIVE) -> NightViews:
    """The header rows of `packets` (default: every open packet), and each section's rows grouped by packet."""
    params = {"as_of": as_of}
    views = NightViews(packets=fetch(con, packets_sql(packets), params))
    for name, build in SECTIONS.items():
        grouped: dict[str, list] = defaultdict(list)
        for row in fetch(con, build(packets), params):
            grouped[row.pop("packet_id")].append(row)
        views.sections[name] = grouped
    views.hubs = {row["node"] for row in fetch(con, hubs_sql())}
    return views


CHUNK = "publish_chunk"


def packet_chunks(con: duckdb.DuckDBPyConnection, chunk: int = 50_000) -> Iterator[str]:
    """Every open packet, `chunk` at a time in packet-id order: yields a subquery of one chunk's ids
    (a temp table refilled for each chunk, dropped at the end)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE publish_order AS
        SELECT packet_id, (row_number() OVER (ORDER BY packet_id) - 1) // {int(chunk)} AS part FROM {ACTIVE}""")
    parts = con.execute("SELECT coalesce(max(part) + 1, 0) FROM publish_order").fetchall()[0][0]
    try:
        for part in range(parts):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {CHUNK} AS SELECT packet_id FROM publish_order WHERE part = ?",
                        [part])
            yield f"(SELECT packet_id FROM {CHUNK})"
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CHUNK}")
        con.execute("DROP TABLE IF EXISTS publish_order")


def iter_views(con: duckdb.DuckDBPyConnection, as_of: date, chunk: int = 50_000) -> Iterator[NightViews]:
    """`fetch_views` of every open packet, `chunk` packets at a time in packet-id order.

    Publishing a province's history at once held every lead, member and edge as
    Python dicts (several GB at a million leads); a chunk bounds that, and each
    section query still reads one chunk's packets in one go."""
    for packets in packet_chunks(con, chunk):
        yield fetch_views(con, as_of, packets)
