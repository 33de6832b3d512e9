"""Stable packet ids: tonight's groups matched to the packets already issued.

A packet is a group (connected component) holding at least one bank or SIM
lead. Units work on packets for weeks, so a group keeps its id from night to
night while it grows, and the history of merges and splits is recorded:

* each active packet's *heir* is the group holding most of its old members
  (ties: the larger group, then the smaller smallest node key);
* a group that is heir to one packet keeps that id; to several, it is a merge:
  the oldest id survives (earliest `first_as_of`, then smallest id), the others
  get state `merged` and `merged_into` the survivor;
* a group that is heir to none gets a new id: `split` when it holds members of
  an existing packet (the smaller part of a split), else `new`;
* a packet whose members are in no group any more is `dissolved`.

The id is `DK-<night first issued>-<8 hex of sha1(smallest member node key)>`,
so a killed and rerun night issues the same ids. A new group that overlaps no
packet and whose id collides with nothing gets it in SQL (`registry.py`: most
groups of a first night); the others are planned here, with a salt
(`#1`, `#2`, ...) on the smallest member key only on a collision. Changes per night: one row per
packet (`merged` > `split` > `grown` > `changed`); an unchanged packet has no
row and keeps its `last_changed_as_of`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date

from duanka.link.components import COMPONENTS
from duanka.link.runner import Step

GROUP_LEADS = "_link_group_leads"
GROUPS = "_link_groups"


@dataclass(frozen=True)
class Group:
    component: int
    size: int
    min_node: str
    digest: str


@dataclass(frozen=True)
class Packet:
    packet_id: str
    first_as_of: date
    last_changed_as_of: date
    size: int
    digest: str


@dataclass
class Plan:
    """What tonight changes in the registry; `assign` maps each group to its packet id."""

    assign: dict[int, str] = field(default_factory=dict)
    registry: list[tuple[str, date, date, str, str | None, str]] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    merged: int = 0


def group_leads_step() -> Step:
    """Leads of every component, with a version string (re-issues change `issued_at`/`_sha256`)."""
    version = (
        "{k} || '|' || {t}.issuer || '|' || {t}.lead_id || '|' "
        "|| strftime({t}.issued_at, '%Y-%m-%dT%H:%M:%S') || '|' || {t}._sha256"
    )
    sql = f"""CREATE OR REPLACE TEMP TABLE {GROUP_LEADS} AS
    SELECT c.component, 'bank' AS lead_kind, b.issuer, b.lead_id, {version.format(k="'bank'", t='b')} AS version
      FROM bank_leads b JOIN {COMPONENTS} c ON c.node = 'account:' || b.account_no
    UNION ALL
    SELECT c.component, 'sim', s.issuer, s.lead_id, {version.format(k="'sim'", t='s')}
      FROM sim_leads s JOIN {COMPONENTS} c ON c.node = 'phone:' || s.msisdn"""
    return Step("group_leads", sql, GROUP_LEADS)


def groups_step() -> Step:
    """Components holding a lead, with size, smallest node and digest (members + lead versions).

    The digest is order-free: the XOR of the members' and of the lead versions' 64-bit hashes
    (with the size compared beside it). `sha256(string_agg(... ORDER BY ...))` built one string
    per component, 20 s a night at 1M leads, and ran out of a 2 GB DuckDB budget at 5M."""
    sql = f"""CREATE OR REPLACE TEMP TABLE {GROUPS} AS
    WITH members AS (
        SELECT component, count(*) AS size, min(node) AS min_node, bit_xor(hash(node)) AS nodes
          FROM {COMPONENTS} SEMI JOIN {GROUP_LEADS} USING (component) GROUP BY component
    ), versions AS (
        SELECT component, bit_xor(hash(version)) AS versions FROM {GROUP_LEADS} GROUP BY component
    )
    SELECT m.component, m.size, m.min_node,
           printf('%016x%016x', m.nodes, v.versions) AS digest
      FROM members m JOIN versions v USING (component)"""
    return Step("groups", sql, GROUPS)


def make_packet_id(as_of: date, min_node: str, taken: Container[str]) -> str:
    """`DK-YYYYMMDD-XXXXXXXX` from the birth night and smallest member; a salt only on collision."""
    salt = 0
    while True:
        seed = min_node if salt == 0 else f"{min_node}#{salt}"
        candidate = f"DK-{as_of:%Y%m%d}-{hashlib.sha1(seed.encode()).hexdigest()[:8].upper()}"
        if candidate not in taken:
            return candidate
        salt += 1


def _heirs(groups: dict[int, Group], overlaps: dict[tuple[str, int], int]) -> dict[str, int]:
    """The group inheriting each packet: most shared members, then the larger group, then min key."""
    candidates: dict[str, list[tuple[int, int, str, int]]] = {}
    for (packet_id, component), n in overlaps.items():
        group = groups[component]
        candidates.setdefault(packet_id, []).append((-n, -group.size, group.min_node, component))
    return {packet_id: min(keys)[3] for packet_id, keys in candidates.items()}


def _change(group: Group, survivor: Packet, shared: int, absorbed: list[str], split_off: list[str]):
    """The one change row of a surviving packet, or None when nothing changed."""
    if absorbed:
        return ("merged", f"合并 absorbed: {','.join(absorbed)}")
    if split_off:
        return ("split", f"拆出 split off: {','.join(split_off)}")
    if group.size > shared:
        return ("grown", f"新增 {group.size - shared} 个节点 nodes added")
    if survivor.size > shared:
        return ("changed", f"减少 {survivor.size - shared} 个节点 nodes removed")
    if group.digest != survivor.digest:
        return ("changed", "线索内容更新 lead re-issued")
    return None


class _Taken:
    """Ids taken before tonight's plan (a set, or a lookup in the warehouse) plus those it issues."""

    def __init__(self, before: Container[str]) -> None:
        self.before, self.issued = before, set()

    def __contains__(self, packet_id: object) -> bool:
        return packet_id in self.issued or packet_id in self.before

    def add(self, packet_id: str) -> None:
        self.issued.add(packet_id)


def plan_packets(
    as_of: date,
    groups: list[Group],
    packets: list[Packet],
    overlaps: dict[tuple[str, int], int],
    taken: Container[str],
) -> Plan:
    """Decide ids and changes for tonight's groups (pure: the caller reads and writes the tables)."""
    by_component = {g.component: g for g in groups}
    by_id = {p.packet_id: p for p in packets}
    heirs = _heirs(by_component, overlaps)
    claims: dict[int, list[Packet]] = {}
    for packet_id, component in sorted(heirs.items()):
        claims.setdefault(component, []).append(by_id[packet_id])
    spread: dict[str, list[int]] = {}
    for packet_id, component in overlaps:
        spread.setdefault(packet_id, []).append(component)
    plan = Plan()
    taken = _Taken(taken)
    survivors: dict[int, Packet] = {}
    for group in sorted(groups, key=lambda g: g.min_node):
        if group.component in claims:
            survivor = min(claims[group.component], key=lambda p: (p.first_as_of, p.packet_id))
            survivors[group.component] = survivor
            plan.assign[group.component] = survivor.packet_id
            continue
        packet_id = make_packet_id(as_of, group.min_node, taken)
        taken.add(packet_id)
        plan.assign[group.component] = packet_id
        plan.registry.append((packet_id, as_of, as_of, "active", None, group.digest))
        parents = sorted(p for p, c in overlaps if c == group.component)
        if parents:
            plan.changes.append((packet_id, "split", f"拆分自 split from: {','.join(parents)}"))
        else:
            plan.changes.append((packet_id, "new", "新线索包 new packet"))
        plan.new += 1
    for component, survivor in survivors.items():
        group = by_component[component]
        absorbed = sorted(p.packet_id for p in claims[component] if p is not survivor)
        split_off = sorted(plan.assign[c] for c in spread[survivor.packet_id] if c != component)
        change = _change(group, survivor, overlaps[(survivor.packet_id, component)], absorbed, split_off)
        if change:
            plan.changes.append((survivor.packet_id, *change))
            plan.changed += 1
        last = as_of if change else survivor.last_changed_as_of
        plan.registry.append((survivor.packet_id, survivor.first_as_of, last, "active", None, group.digest))
        for packet_id in absorbed:
            old = by_id[packet_id]
            plan.registry.append((packet_id, old.first_as_of, as_of, "merged", survivor.packet_id, old.digest))
            plan.merged += 1
    for packet in packets:
        if packet.packet_id not in heirs:
            plan.registry.append((packet.packet_id, packet.first_as_of, as_of, "dissolved", None, packet.digest))
    return plan
