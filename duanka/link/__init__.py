"""duanka.link: leads -> graph -> hubs -> groups -> stable packets -> roles and layout.

`link_all` is the stage's one entry point (the flow calls it once a night). It
rebuilds the graph from every current lead, so a lead loaded weeks ago can join
tonight's group, and runs in one transaction: a killed run leaves the previous
night's packets untouched and a rerun on the same data changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from duanka.link.analysis import packets_to_refresh, write_group_analysis
from duanka.link.components import COMPONENTS, NODE_IDS, component_labels, compute_components
from duanka.link.edges import EDGES, INCIDENCE, edges_step, incidence_step
from duanka.link.hubs import HUB_HOLDERS, HUBS, HubRule, holders_step, hubs_step
from duanka.link.packets import GROUPS, make_packet_id, plan_packets
from duanka.link.registry import TEMP_TABLES, update_registry
from duanka.link.roles import Card, analyse_group
from duanka.link.runner import drop_temp, run_steps, scalar
from duanka.settings import LinkingSettings


@dataclass(frozen=True)
class LinkReport:
    """Counts of one linking run, for the run log and summary."""

    nodes: int
    edges: int
    hubs: int
    groups: int
    packets_new: int
    packets_changed: int
    packets_merged: int


def link_all(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    settings: LinkingSettings,
    rule: HubRule | None = None,
    keep: bool = False,
) -> LinkReport:
    """Build edges, remove hubs, group, issue/keep packet ids, record changes, analyse groups.

    Reads `bank_leads`, `sim_leads`, `cases` and the packet tables; rewrites
    `link_edges`, `link_hubs`, `packet_members`, `packet_leads`; upserts
    `packet_registry`; appends `packet_changes`; refreshes `group_roles` and
    `group_layout` and `group_bridges` of changed packets. The hub rule comes from `settings`
    unless `rule` is given. `keep=True` keeps the `_link_*` tables.
    """
    own = _begin(con)
    try:
        limits = dict(settings.hub_fan_out)
        hub_rule = rule or HubRule.from_settings(settings)
        counts = run_steps(
            con, [incidence_step(), holders_step(limits), hubs_step(limits, hub_rule), edges_step(HUBS)]
        )
        compute_components(con)
        nodes = int(scalar(con, f"SELECT count(*) FROM {NODE_IDS}"))  # type: ignore[arg-type]
        plan = update_registry(con, as_of)
        groups = int(scalar(con, f"SELECT count(*) FROM {GROUPS}"))  # type: ignore[arg-type]
        changed = {packet_id for packet_id, _, _ in plan.changes}
        write_group_analysis(con, packets_to_refresh(con, changed))
        if not keep:
            drop_temp(con, [INCIDENCE, HUB_HOLDERS, NODE_IDS, COMPONENTS, *TEMP_TABLES])
        report = LinkReport(
            nodes=nodes,
            edges=counts[EDGES],
            hubs=counts[HUBS],
            groups=groups,
            packets_new=plan.new,
            packets_changed=plan.changed,
            packets_merged=plan.merged,
        )
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
