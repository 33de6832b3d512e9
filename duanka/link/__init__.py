"""duanka.link: leads -> graph -> hubs -> groups -> stable packets -> roles and layout.

`link_all` is the stage's one entry point (the flow calls it once a night). The
graph is kept between nights and brought up to date from the leads and cases
that changed (`incremental.py`), so a lead loaded weeks ago can join tonight's
group while a night costs what it touches, not the history. It runs in one
transaction: a killed run leaves the previous night's packets untouched and a
rerun on the same data changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from duanka.link import incremental
from duanka.link.analysis import packets_to_refresh, write_group_analysis
from duanka.link.components import COMPONENTS, NODE_IDS, component_labels, compute_components
from duanka.link.edges import EDGES
from duanka.link.hubs import HUB_HOLDERS, HUBS, HubRule
from duanka.link.packets import make_packet_id, plan_packets
from duanka.link.registry import CLEAN, TEMP_TABLES, update_registry
from duanka.link.roles import Card, analyse_group
from duanka.link.runner import drop_temp, scalar
from duanka.settings import LinkingSettings


@dataclass(frozen=True)
class LinkReport:
    """Counts of one linking run, for the run log and summary.

    `nodes`, `edges`, `hubs` and `groups` are of the whole graph after the run; `analysed`
    is how many packets' roles and layout were computed tonight, `region` how many nodes
    the night's components were computed over (the whole graph on a full rebuild)."""

    nodes: int
    edges: int
    hubs: int
    groups: int
    packets_new: int
    packets_changed: int
    packets_merged: int
    full: bool = True
    region: int = 0
    analysed: int = 0


def link_all(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    settings: LinkingSettings,
    rule: HubRule | None = None,
    keep: bool = False,
    full: bool = False,
) -> LinkReport:
    """Bring the graph up to tonight's leads, group, issue/keep packet ids, record changes, analyse groups.

    Reads `bank_leads`, `sim_leads`, `cases` and the packet tables; updates
    `link_incidence`, `link_edges`, `link_hubs`, `packet_members`, `packet_leads`
    where tonight touched them; upserts `packet_registry`; appends `packet_changes`;
    refreshes `group_roles`, `group_layout` and `group_bridges` of changed packets.
    The hub rule comes from `settings` unless `rule` is given. `full=True` rebuilds
    the graph from every lead (also done on a first run and when the hub settings
    change). `keep=True` keeps the `_link_*` tables.
    """
    own = _begin(con)
    try:
        limits = dict(settings.hub_fan_out)
        hub_rule = rule or HubRule.from_settings(settings)
        stamp = incremental.fingerprint(limits, hub_rule)
        full = full or incremental.needs_full(con, stamp)
        if full:
            incremental.full_graph(con, limits, hub_rule)
            compute_components(con)
        else:
            incremental.touched_graph(con, limits, hub_rule)
            compute_components(con, incremental.REGION_EDGES)
        region_nodes = int(scalar(con, f"SELECT count(*) FROM {NODE_IDS}"))  # type: ignore[arg-type]
        plan = update_registry(con, as_of, incremental.SCOPE)
        changed = {packet_id for packet_id, _, _ in plan.changes}
        gone = None if full else {row[0] for row in plan.registry if row[3] != "active"}
        refresh = packets_to_refresh(con, changed, None if full else incremental.SCOPE, CLEAN)
        analysed = write_group_analysis(con, refresh, gone)
        incremental.record_versions(con, stamp)
        report = LinkReport(
            nodes=int(scalar(con, "SELECT count(*) FROM packet_members")),  # type: ignore[arg-type]
            edges=int(scalar(con, f"SELECT count(*) FROM {EDGES}")),  # type: ignore[arg-type]
            hubs=int(scalar(con, f"SELECT count(*) FROM {HUBS}")),  # type: ignore[arg-type]
            groups=int(scalar(con, "SELECT count(*) FROM packet_registry WHERE state = 'active'")),  # type: ignore[arg-type]
            packets_new=plan.new,
            packets_changed=plan.changed,
            packets_merged=plan.merged,
            full=full,
            region=region_nodes,
            analysed=analysed,
        )
        if not keep:
            drop_temp(con, [HUB_HOLDERS, NODE_IDS, COMPONENTS, *TEMP_TABLES, *incremental.TEMP_TABLES])
        if own:
            con.commit()
        return report
    except BaseException:
        if own:
            con.rollback()
        raise


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Start a transaction unless the caller already holds one (then the caller commits)."""
    try:
        con.begin()
    except duckdb.TransactionException:
        return False
    return True


__all__ = [
    "Card",
    "HubRule",
    "LinkReport",
    "analyse_group",
    "component_labels",
    "link_all",
    "make_packet_id",
    "plan_packets",
]
