"""Reads tonight's groups and the packet registry, applies the plan of `packets.py`, writes it back.

Kept apart from the pure matching logic so that the logic is tested on plain
values and this file only moves rows. Bulk rows go through Arrow, never
row-by-row INSERTs: a province has tens of thousands of packets.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from duanka.link.packets import (
    GROUP_LEADS,
    GROUPS,
    Group,
    Packet,
    Plan,
    group_leads_step,
    groups_step,
    plan_packets,
)
from duanka.link.runner import Step, run_steps

ASSIGN = "_link_assign"
CLEAN = "_link_clean"
OVERLAP = "_link_overlap"
UNCHANGED = "_link_unchanged"


def _unchanged_step(scope: str) -> Step:
    """Groups that are exactly an active packet (same members, same lead versions): nothing to plan.

    Most groups of the region on most nights (a packet is in the region when a node of
    a changed edge is in it, e.g. a shared device seen by a new lead that then stays a
    hub); leaving them out keeps the Python planning and the membership rewrite
    proportional to what tonight's delivery changed.
    """
    sql = f"""CREATE OR REPLACE TEMP TABLE {OVERLAP} AS
    SELECT m.packet_id, g.component, count(*) AS n
      FROM packet_members m
      JOIN _link_components g ON g.node = m.node
     WHERE m.packet_id IN (SELECT packet_id FROM {scope})
       AND g.component IN (SELECT component FROM {GROUPS})
     GROUP BY ALL;
    CREATE OR REPLACE TEMP TABLE {UNCHANGED} AS
    SELECT o.packet_id, o.component
      FROM {OVERLAP} o
      JOIN {GROUPS} g USING (component)
      JOIN packet_registry r USING (packet_id)
      JOIN (SELECT packet_id, count(*) AS size FROM packet_members
             WHERE packet_id IN (SELECT packet_id FROM {OVERLAP}) GROUP BY packet_id) s USING (packet_id)
     WHERE o.n = g.size AND o.n = s.size AND r.digest = g.digest"""
    return Step("unchanged", sql, UNCHANGED)


def _read_state(con: duckdb.DuckDBPyConnection,
                scope: str) -> tuple[list[Group], list[Packet], dict[tuple[str, int], int]]:
    """Groups of the region, its active packets and their overlaps, leaving out the unchanged ones."""
    groups = [
        Group(*row)
        for row in con.execute(
            f"""SELECT component, size, min_node, digest FROM {GROUPS}
                 WHERE component NOT IN (SELECT component FROM {UNCHANGED})
                   AND component NOT IN (SELECT component FROM {CLEAN})"""
        ).fetchall()
    ]
    packets = [
        Packet(*row)
        for row in con.execute(
            f"""SELECT r.packet_id, r.first_as_of, r.last_changed_as_of, count(m.node), r.digest
                 FROM (SELECT * FROM packet_registry
                        WHERE packet_id IN (SELECT packet_id FROM {scope})
                          AND packet_id NOT IN (SELECT packet_id FROM {UNCHANGED})) r
                 LEFT JOIN (SELECT * FROM packet_members WHERE packet_id IN (SELECT packet_id FROM {scope})) m
                      USING (packet_id)
                GROUP BY ALL"""
        ).fetchall()
    ]
    overlaps = {
        (packet_id, component): n
        for packet_id, component, n in con.execute(
            f"SELECT packet_id, component, n FROM {OVERLAP} WHERE packet_id NOT IN (SELECT packet_id FROM {UNCHANGED})"
        ).fetchall()
    }
    return groups, packets, overlaps


def _register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register(f"{name}_view", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_view")
    con.unregister(f"{name}_view")


def _write(con: duckdb.DuckDBPyConnection, as_of: date, plan: Plan, scope: str) -> None:
    columns = list(zip(*plan.registry)) if plan.registry else [[]] * 6
    registry = pa.table(
        {
            "packet_id": pa.array(columns[0], pa.string()),
            "first_as_of": pa.array(columns[1], pa.date32()),
            "last_changed_as_of": pa.array(columns[2], pa.date32()),
            "state": pa.array(columns[3], pa.string()),
            "merged_into": pa.array(columns[4], pa.string()),
            "digest": pa.array(columns[5], pa.string()),
        }
    )
    _register(con, "_link_registry_plan", registry)
    con.execute("INSERT OR REPLACE INTO packet_registry SELECT * FROM _link_registry_plan")
    changes = pa.table(
        {
            "packet_id": pa.array([c[0] for c in plan.changes], pa.string()),
            "change": pa.array([c[1] for c in plan.changes], pa.string()),
            "detail": pa.array([c[2] for c in plan.changes], pa.string()),
        }
    )
    _register(con, "_link_changes_plan", changes)
    con.execute(
        """INSERT INTO packet_changes
           SELECT ?::DATE, c.packet_id, c.change, c.detail FROM _link_changes_plan c
            WHERE NOT EXISTS (SELECT 1 FROM packet_changes p WHERE p.as_of = ?::DATE
                              AND p.packet_id = c.packet_id AND p.change = c.change AND p.detail = c.detail)
            ORDER BY c.packet_id""",
        [as_of, as_of],
    )
    assign = pa.table(
        {
            "component": pa.array(list(plan.assign), pa.int64()),
            "packet_id": pa.array(list(plan.assign.values()), pa.string()),
        }
    )
    _register(con, ASSIGN, assign)
    con.execute(f"INSERT INTO {ASSIGN} SELECT component, packet_id FROM {CLEAN}")
    # Packets outside the region, and unchanged ones in it, keep their rows; only the others'
    # membership is rewritten.
    redo = f"packet_id IN (SELECT packet_id FROM {scope} EXCEPT SELECT packet_id FROM {UNCHANGED})"
    con.execute(f"DELETE FROM packet_members WHERE {redo}")
    con.execute(
        f"""INSERT INTO packet_members SELECT a.packet_id, c.node
              FROM _link_components c JOIN {ASSIGN} a USING (component) ORDER BY a.packet_id, c.node"""
    )
    con.execute(f"DELETE FROM packet_leads WHERE {redo}")
    con.execute(
        f"""INSERT INTO packet_leads SELECT a.packet_id, l.lead_kind, l.issuer, l.lead_id
              FROM {GROUP_LEADS} l JOIN {ASSIGN} a USING (component)
             ORDER BY a.packet_id, l.lead_kind, l.issuer, l.lead_id"""
    )


def _clean_step(as_of: date) -> Step:
    """New groups that overlap no packet and whose id is free and unique tonight: issued in SQL.

    Almost every group of a first night (millions at 5M leads): planning them in Python
    held millions of objects (6 GB) and took minutes. The rest (splits, merges, growth,
    id collisions) goes through `plan_packets`."""
    sql = f"""CREATE OR REPLACE TEMP TABLE {CLEAN} AS
    WITH fresh AS (
        SELECT component, min_node, digest,
               'DK-{as_of:%Y%m%d}-' || upper(substr(sha1(min_node), 1, 8)) AS packet_id
          FROM {GROUPS}
         WHERE component NOT IN (SELECT component FROM {OVERLAP})
    ), counted AS (SELECT *, count(*) OVER (PARTITION BY packet_id) AS same FROM fresh)
    SELECT component, packet_id, digest FROM counted
     WHERE same = 1 AND packet_id NOT IN (SELECT packet_id FROM packet_registry)"""
    return Step("clean_new_groups", sql, CLEAN)


class _TakenIds:
    """Tonight's ids already in the registry or issued in SQL, looked up in the warehouse (few lookups:
    only groups planned in Python ask)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date) -> None:
        self.con = con
        self.registry = {row[0] for row in con.execute(
            "SELECT packet_id FROM packet_registry WHERE packet_id LIKE ?", [f"DK-{as_of:%Y%m%d}-%"]).fetchall()}

    def __contains__(self, packet_id: object) -> bool:
        if packet_id in self.registry:
            return True
        return bool(self.con.execute(f"SELECT count(*) FROM {CLEAN} WHERE packet_id = ?", [packet_id]).fetchall()[0][0])


def _write_clean(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    con.execute(f"""INSERT OR REPLACE INTO packet_registry
                    SELECT packet_id, ?::DATE, ?::DATE, 'active', NULL, digest FROM {CLEAN}""", [as_of, as_of])
    con.execute(f"""INSERT INTO packet_changes
                    SELECT ?::DATE, c.packet_id, 'new', '新线索包 new packet' FROM {CLEAN} c
                     WHERE NOT EXISTS (SELECT 1 FROM packet_changes p WHERE p.as_of = ?::DATE
                                       AND p.packet_id = c.packet_id AND p.change = 'new')
                     ORDER BY c.packet_id""", [as_of, as_of])
    return int(con.execute(f"SELECT count(*) FROM {CLEAN}").fetchall()[0][0])


def update_registry(con: duckdb.DuckDBPyConnection, as_of: date, scope: str) -> Plan:
    """Match the region's components to the packets of `scope` (a table of packet ids: the active
    packets the region touches) and rewrite their membership; needs `_link_components`."""
    run_steps(con, [group_leads_step(), groups_step(), _unchanged_step(scope), _clean_step(as_of)])
    groups, packets, overlaps = _read_state(con, scope)
    # New ids carry tonight's date, so only tonight's ids can collide with one.
    plan = plan_packets(as_of, groups, packets, overlaps, _TakenIds(con, as_of))
    plan.new += _write_clean(con, as_of)
    _write(con, as_of, plan, scope)
    return plan


TEMP_TABLES = [GROUP_LEADS, GROUPS, ASSIGN, OVERLAP, UNCHANGED, CLEAN, "_link_registry_plan", "_link_changes_plan"]
