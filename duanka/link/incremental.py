"""What a night touches: the leads and cases it changed, the graph around them, the packets to redo.

The graph (`link_incidence`, `link_edges`, `link_hubs`) is kept between nights
together with the lead and case versions it was built from (`link_linked_*`).
A night compares the current leads and cases with those versions, and only

* replaces the incidence rows of the leads and cases that are new, re-issued or
  gone (a new case naming an old lead, and an old case naming a new lead, count);
* judges again the hub rule of the identifiers in those rows (*dirty* nodes): no
  other identifier's holders changed;
* replaces the edges touching a dirty node;
* recomputes components over the *region*: the packets holding a node of a
  changed edge, plus those nodes. Nothing outside it can join it: every edge that
  appeared or vanished has both ends in it, and any other edge of a region node
  was already inside that node's packet.

Packets outside the region keep their ids, members, roles, scores and pages
without being read. A first run, or a change of the hub settings (their
fingerprint is in `link_state`), rebuilds everything: the region is the whole graph.
"""
from __future__ import annotations

import json

import duckdb

from duanka.link.edges import EDGES, INCIDENCE, edge_rows_sql, incidence_sql, incidence_step
from duanka.link.hubs import HUBS, HubRule, holders_step, hubs_step
from duanka.link.runner import Step, run_steps, scalar

TOUCHED_LEADS = "_link_touched_leads"
TOUCHED_CASES = "_link_touched_cases"
DIRTY = "_link_dirty"
TOUCHED_NODES = "_link_touched_nodes"
SCOPE = "_link_scope"
REGION_EDGES = "_link_region_edges"
_VERSIONS = "_link_lead_versions"
_CASE_VERSIONS = "_link_case_versions"
_NEW = {"bank": "_link_new_bank", "sim": "_link_new_sim", "cases": "_link_new_cases"}
_OLD_INC, _NEW_INC, _OLD_EDGES, _NEW_EDGES = ("_link_old_incidence", "_link_new_incidence",
                                              "_link_old_edges", "_link_new_edges")
TEMP_TABLES = [TOUCHED_LEADS, TOUCHED_CASES, DIRTY, TOUCHED_NODES, SCOPE, REGION_EDGES, _VERSIONS,
               _CASE_VERSIONS, *_NEW.values(), _OLD_INC, _NEW_INC, _OLD_EDGES, _NEW_EDGES, "_link_region_nodes"]

_LEAD_VERSIONS = """SELECT 'bank' AS lead_kind, issuer, lead_id, issued_at, _sha256 FROM bank_leads
    UNION ALL SELECT 'sim', issuer, lead_id, issued_at, _sha256 FROM sim_leads"""
_IN_DIRTY = f"(SELECT node FROM {DIRTY})"


def fingerprint(limits: dict[str, int], rule: HubRule) -> str:
    """The hub settings a graph was built with; when they change, every identifier is judged again."""
    return json.dumps({"limits": dict(sorted(limits.items())), "rule": {
        "burst_days": rule.burst_days, "outlet_days": rule.outlet_days, "share": rule.share,
        "cap_factor": rule.cap_factor, "spread_days": rule.spread_days,
        "spread_from": dict(sorted(rule.spread_from.items()))}}, sort_keys=True)


def needs_full(con: duckdb.DuckDBPyConnection, print_: str) -> bool:
    """A full rebuild when nothing was linked yet (or by an older version) or the hub settings changed."""
    stored = scalar(con, "SELECT value FROM link_state WHERE key = 'hub_settings'")
    linked = scalar(con, "SELECT count(*) FROM (SELECT 1 FROM link_linked_leads LIMIT 1)")
    return stored != print_ or not linked


def full_graph(con: duckdb.DuckDBPyConnection, limits: dict[str, int], rule: HubRule) -> dict[str, int]:
    """Rebuild incidence, hubs and edges from every lead; every active packet is in scope."""
    from duanka.link.edges import edges_step

    counts = run_steps(con, [incidence_step(), holders_step(limits), hubs_step(limits, rule), edges_step(HUBS)])
    run_steps(con, [Step("scope", f"""CREATE OR REPLACE TEMP TABLE {SCOPE} AS
        SELECT packet_id FROM packet_registry WHERE state = 'active'""", SCOPE)])
    con.execute("DELETE FROM link_linked_leads")
    con.execute("DELETE FROM link_linked_cases")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED_LEADS} AS SELECT lead_kind, issuer, lead_id FROM ({_LEAD_VERSIONS})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED_CASES} AS SELECT case_id FROM cases")
    return counts


def _touched_steps() -> list[Step]:
    key = "lead_kind, issuer, lead_id"
    return [
        Step("lead_versions", f"CREATE OR REPLACE TEMP TABLE {_VERSIONS} AS {_LEAD_VERSIONS}", _VERSIONS),
        Step("touched_leads", f"""CREATE OR REPLACE TEMP TABLE {TOUCHED_LEADS} AS
            SELECT {key} FROM (SELECT * FROM {_VERSIONS} EXCEPT SELECT * FROM link_linked_leads)
            UNION SELECT {key} FROM (SELECT {key} FROM link_linked_leads EXCEPT SELECT {key} FROM {_VERSIONS})""",
             TOUCHED_LEADS),
        Step("touched_cases", f"""CREATE OR REPLACE TEMP TABLE {TOUCHED_CASES} AS
            SELECT case_id FROM (SELECT case_id, reported_at, _sha256 FROM cases EXCEPT SELECT * FROM link_linked_cases)
            UNION SELECT case_id FROM (SELECT case_id FROM link_linked_cases EXCEPT SELECT case_id FROM cases)""",
             TOUCHED_CASES),
        Step("new_bank", f"""CREATE OR REPLACE TEMP TABLE {_NEW['bank']} AS SELECT b.* FROM bank_leads b
            SEMI JOIN (SELECT issuer, lead_id FROM {TOUCHED_LEADS} WHERE lead_kind = 'bank') USING (issuer, lead_id)"""),
        Step("new_sim", f"""CREATE OR REPLACE TEMP TABLE {_NEW['sim']} AS SELECT s.* FROM sim_leads s
            SEMI JOIN (SELECT issuer, lead_id FROM {TOUCHED_LEADS} WHERE lead_kind = 'sim') USING (issuer, lead_id)"""),
        Step("new_cases", f"""CREATE OR REPLACE TEMP TABLE {_NEW['cases']} AS
            SELECT k.* FROM cases k SEMI JOIN {TOUCHED_CASES} USING (case_id)"""),
    ]


def _incidence_steps() -> list[Step]:
    """Replace the incidence rows of touched leads and cases; the nodes in old or new rows are dirty."""
    lead_rows = f"SEMI JOIN {TOUCHED_LEADS} USING (lead_kind, issuer, lead_id)"
    return [
        Step("old_incidence", f"""CREATE OR REPLACE TEMP TABLE {_OLD_INC} AS
            SELECT lead_node, node FROM {INCIDENCE} {lead_rows}
            UNION ALL SELECT lead_node, node FROM {INCIDENCE} WHERE via_case IN (SELECT case_id FROM {TOUCHED_CASES})""",
             _OLD_INC),
        Step("delete_incidence", f"""DELETE FROM {INCIDENCE} i USING {TOUCHED_LEADS} t
            WHERE i.lead_kind = t.lead_kind AND i.issuer = t.issuer AND i.lead_id = t.lead_id;
            DELETE FROM {INCIDENCE} WHERE via_case IN (SELECT case_id FROM {TOUCHED_CASES})"""),
        Step("new_incidence", f"""CREATE OR REPLACE TEMP TABLE {_NEW_INC} AS
            {incidence_sql(_NEW['bank'], _NEW['sim'], _NEW['cases'])}""", _NEW_INC),
        Step("insert_incidence", f"INSERT INTO {INCIDENCE} SELECT * FROM {_NEW_INC}"),
        Step("dirty", f"""CREATE OR REPLACE TEMP TABLE {DIRTY} AS
            SELECT lead_node AS node FROM {_OLD_INC} UNION SELECT node FROM {_OLD_INC}
            UNION SELECT lead_node FROM {_NEW_INC} UNION SELECT node FROM {_NEW_INC}""", DIRTY),
    ]


def _edge_steps() -> list[Step]:
    """Replace the edges touching a dirty node; their ends (old and new) are the touched nodes."""
    touching = f"src IN {_IN_DIRTY} OR dst IN {_IN_DIRTY}"
    return [
        Step("old_edges", f"CREATE OR REPLACE TEMP TABLE {_OLD_EDGES} AS SELECT src, dst FROM {EDGES} WHERE {touching}",
             _OLD_EDGES),
        Step("delete_edges", f"DELETE FROM {EDGES} WHERE {touching}"),
        Step("new_edges", f"""CREATE OR REPLACE TEMP TABLE {_NEW_EDGES} AS
            {edge_rows_sql(HUBS, f"i.lead_node IN {_IN_DIRTY} OR i.node IN {_IN_DIRTY}")}""", _NEW_EDGES),
        Step("insert_edges", f"INSERT INTO {EDGES} SELECT * FROM {_NEW_EDGES} ORDER BY src, dst, kind"),
        Step("touched_nodes", f"""CREATE OR REPLACE TEMP TABLE {TOUCHED_NODES} AS
            SELECT node FROM {DIRTY} UNION SELECT src FROM {_OLD_EDGES} UNION SELECT dst FROM {_OLD_EDGES}
            UNION SELECT src FROM {_NEW_EDGES} UNION SELECT dst FROM {_NEW_EDGES}""", TOUCHED_NODES),
    ]


def _region_steps() -> list[Step]:
    """Active packets holding a touched node (the scope), and the edges of their nodes and the touched ones."""
    return [
        Step("scope", f"""CREATE OR REPLACE TEMP TABLE {SCOPE} AS
            SELECT DISTINCT m.packet_id FROM packet_members m
              JOIN packet_registry r ON r.packet_id = m.packet_id AND r.state = 'active'
             WHERE m.node IN (SELECT node FROM {TOUCHED_NODES})""", SCOPE),
        Step("region_nodes", f"""CREATE OR REPLACE TEMP TABLE _link_region_nodes AS
            SELECT node FROM packet_members WHERE packet_id IN (SELECT packet_id FROM {SCOPE})
            UNION SELECT node FROM {TOUCHED_NODES}"""),
        Step("region_edges", f"""CREATE OR REPLACE TEMP TABLE {REGION_EDGES} AS
            SELECT * FROM {EDGES} WHERE src IN (SELECT node FROM _link_region_nodes)
                                     OR dst IN (SELECT node FROM _link_region_nodes)""", REGION_EDGES),
    ]


def touched_graph(con: duckdb.DuckDBPyConnection, limits: dict[str, int], rule: HubRule) -> dict[str, int]:
    """Bring the kept graph up to tonight's leads; leave the scope and the region's edges in temp tables."""
    counts = run_steps(con, _touched_steps() + _incidence_steps())
    counts |= run_steps(con, [holders_step(limits, DIRTY), hubs_step(limits, rule, DIRTY)])
    counts |= run_steps(con, _edge_steps() + _region_steps())
    return counts


def record_versions(con: duckdb.DuckDBPyConnection, print_: str) -> None:
    """Remember the versions of the leads and cases linked tonight, and the hub settings used."""
    con.execute(f"""DELETE FROM link_linked_leads l USING {TOUCHED_LEADS} t
        WHERE l.lead_kind = t.lead_kind AND l.issuer = t.issuer AND l.lead_id = t.lead_id""")
    con.execute(f"""INSERT INTO link_linked_leads SELECT v.* FROM ({_LEAD_VERSIONS}) v
        SEMI JOIN {TOUCHED_LEADS} USING (lead_kind, issuer, lead_id)""")
    con.execute(f"DELETE FROM link_linked_cases WHERE case_id IN (SELECT case_id FROM {TOUCHED_CASES})")
    con.execute(f"""INSERT INTO link_linked_cases SELECT case_id, reported_at, _sha256 FROM cases
        WHERE case_id IN (SELECT case_id FROM {TOUCHED_CASES})""")
    con.execute("INSERT OR REPLACE INTO link_state VALUES ('hub_settings', ?)", [print_])
