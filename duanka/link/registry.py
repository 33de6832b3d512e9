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
OVERLAP = "_link_overlap"
UNCHANGED = "_link_unchanged"


def _unchanged_step() -> Step:
    """Groups that are exactly an active packet (same members, same lead versions): nothing to plan.

    Most groups on most nights; leaving them out keeps the Python planning and the
    membership rewrite proportional to what tonight's delivery touched.
    """
    sql = f"""CREATE OR REPLACE TEMP TABLE {OVERLAP} AS
    SELECT m.packet_id, g.component, count(*) AS n
      FROM packet_members m
      JOIN packet_registry r ON r.packet_id = m.packet_id AND r.state = 'active'
      JOIN _link_components g ON g.node = m.node
     WHERE g.component IN (SELECT component FROM {GROUPS})
     GROUP BY ALL;
    CREATE OR REPLACE TEMP TABLE {UNCHANGED} AS
    SELECT o.packet_id, o.component
      FROM {OVERLAP} o
      JOIN {GROUPS} g USING (component)
      JOIN packet_registry r USING (packet_id)
      JOIN (SELECT packet_id, count(*) AS size FROM packet_members GROUP BY packet_id) s USING (packet_id)
     WHERE o.n = g.size AND o.n = s.size AND r.digest = g.digest"""
    return Step("unchanged", sql, UNCHANGED)


def _read_state(con: duckdb.DuckDBPyConnection) -> tuple[list[Group], list[Packet], dict[tuple[str, int], int]]:
    """Groups, active packets and their overlaps, leaving out the unchanged ones."""
    groups = [
        Group(*row)
        for row in con.execute(
            f"""SELECT component, size, min_node, digest FROM {GROUPS}
                 WHERE component NOT IN (SELECT component FROM {UNCHANGED})"""
        ).fetchall()
    ]
    packets = [
        Packet(*row)
        for row in con.execute(
            f"""SELECT r.packet_id, r.first_as_of, r.last_changed_as_of, count(m.node), r.digest
                 FROM packet_registry r LEFT JOIN packet_members m USING (packet_id)
                WHERE r.state = 'active' AND r.packet_id NOT IN (SELECT packet_id FROM {UNCHANGED})
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


def _write(con: duckdb.DuckDBPyConnection, as_of: date, plan: Plan) -> None:
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
    # Unchanged packets keep their rows; only the others' membership is rewritten.
    kept = f"packet_id IN (SELECT packet_id FROM {UNCHANGED})"
    con.execute(f"DELETE FROM packet_members WHERE NOT {kept}")
    con.execute(
        f"""INSERT INTO packet_members SELECT a.packet_id, c.node
              FROM _link_components c JOIN {ASSIGN} a USING (component) ORDER BY a.packet_id, c.node"""
    )
    con.execute(f"DELETE FROM packet_leads WHERE NOT {kept}")
    con.execute(
        f"""INSERT INTO packet_leads SELECT a.packet_id, l.lead_kind, l.issuer, l.lead_id
              FROM {GROUP_LEADS} l JOIN {ASSIGN} a USING (component)
             ORDER BY a.packet_id, l.lead_kind, l.issuer, l.lead_id"""
    )


def update_registry(con: duckdb.DuckDBPyConnection, as_of: date) -> Plan:
    """Match tonight's components to the registry and rewrite membership; needs `_link_components`."""
    run_steps(con, [group_leads_step(), groups_step(), _unchanged_step()])
    groups, packets, overlaps = _read_state(con)
    taken = {row[0] for row in con.execute("SELECT packet_id FROM packet_registry").fetchall()}
    plan = plan_packets(as_of, groups, packets, overlaps, taken)
    _write(con, as_of, plan)
    return plan


TEMP_TABLES = [GROUP_LEADS, GROUPS, ASSIGN, OVERLAP, UNCHANGED, "_link_registry_plan", "_link_changes_plan"]
