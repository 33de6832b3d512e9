"""Linking judged against the sample generator's ground truth, night by night.

Seeded multi-night worlds from `duanka.sample.generate` go through the real
ingest (read, normalise, GX validation, load: the stage functions, no Prefect)
and `link_all` after each night, as the nightly flow runs them. Each night
must group the loaded leads as the truth does, keep every gang's packet id as
it grows, mark it changed the night it grows, and let no hub glue groups.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pytest

from duanka import warehouse
from duanka.link import link_all
from duanka.nightly import stages
from duanka.nightly.context import preflight
from duanka.progress import Progress
from duanka.sample import generate

SEEDS = (3, 7)
LEADS = 800
NIGHTS = 3


@dataclass
class Night:
    """What one night left in the warehouse, read back after linking."""

    as_of: date
    packet_of: dict[str, str]            # truth lead key -> packet id
    loaded: set[str]                     # truth lead keys loaded so far (quarantined rows are not)
    changed: set[str]                    # packets with a packet_changes row tonight
    members: dict[str, set[str]] = field(default_factory=dict)  # packet id -> member nodes


@dataclass
class Run:
    truth: dict
    nights: list[Night]


def _read_night(con, as_of: date) -> Night:
    lead = "issuer || '|' || lead_id"
    loaded = {k for (k,) in con.execute(f"SELECT {lead} FROM bank_leads UNION ALL SELECT {lead} FROM sim_leads")
              .fetchall()}
    packet_of = dict(con.execute(f"SELECT {lead}, packet_id FROM packet_leads").fetchall())
    changed = {p for (p,) in con.execute("SELECT packet_id FROM packet_changes WHERE as_of = ?", [as_of]).fetchall()}
    members: dict[str, set[str]] = {}
    for packet_id, node in con.execute("SELECT packet_id, node FROM packet_members").fetchall():
        members.setdefault(packet_id, set()).add(node)
    return Night(as_of, packet_of, loaded, changed, members)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def run(request, tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp(f"world{request.param}")
    generate(root / "deliveries", seed=request.param, leads=LEADS, nights=NIGHTS)
    truth = json.loads((root / "deliveries" / "truth.json").read_text(encoding="utf-8"))
    con, nights = None, []
    try:
        for night in truth["nights"]:
            cfg = preflight(root / "deliveries" / night, root / "home", date.fromisoformat(night))
            con = con or warehouse.connect(cfg.home.warehouse)
            progress = Progress(quiet=True)
            stages.ingest_leads(cfg, con, stages.discover_inbox(cfg, con, progress), progress)
            link_all(con, cfg.as_of, cfg.settings.linking)
            nights.append(_read_night(con, cfg.as_of))
    finally:
        if con is not None:
            con.close()
    return Run(truth, nights)


def _pairs(counts: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def _pairwise(night: Night, truth_of: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall over the loaded leads (same packet vs same true group)."""
    keys = [k for k in night.loaded if k in truth_of]
    both = Counter((night.packet_of[k], truth_of[k]) for k in keys)
    hits = _pairs(both)
    predicted = _pairs(Counter(night.packet_of[k] for k in keys))
    actual = _pairs(Counter(truth_of[k] for k in keys))
    return (hits / predicted if predicted else 1.0), (hits / actual if actual else 1.0)


def test_every_loaded_lead_is_in_one_packet(run: Run) -> None:
    """No loaded lead is left out of the packets, and only loaded leads are in them."""
    for night in run.nights:
        assert night.loaded == set(night.packet_of), night.as_of


def test_pairwise_precision_and_recall(run: Run) -> None:
    """Every night, leads are grouped as the truth groups them (pairwise P and R >= 0.99)."""
    for night in run.nights:
        precision, recall = _pairwise(night, run.truth["leads"])
        assert precision >= 0.99 and recall >= 0.99, (night.as_of, precision, recall)


def _gang_leads(run: Run) -> dict[str, set[str]]:
    gangs = {gid for gid, g in run.truth["groups"].items() if g["gang"]}
    leads: dict[str, set[str]] = {gid: set() for gid in gangs}
    for key, gid in run.truth["leads"].items():
        if gid in gangs:
            leads[gid].add(key)
    return leads


def test_each_gang_is_one_packet_whose_id_survives(run: Run) -> None:
    """A gang is exactly one packet (its leads, no one else's) and keeps its id on every later night."""
    gangs = _gang_leads(run)
    assert len(gangs) >= 3, "the world is too small to hold gangs"
    for gid, keys in gangs.items():
        ids = []
        for night in run.nights:
            present = keys & night.loaded
            if not present:
                continue
            packets = {night.packet_of[k] for k in present}
            assert len(packets) == 1, (gid, night.as_of, packets)
            packet = packets.pop()
            others = {k for k, p in night.packet_of.items() if p == packet} - keys
            assert not others, (gid, night.as_of, sorted(others)[:5])
            ids.append(packet)
        assert len(set(ids)) == 1, (gid, ids)


def test_growing_gang_is_marked_changed_the_night_it_grows(run: Run) -> None:
    """On a night a gang gets new leads its packet has a packet_changes row; some gang does grow."""
    grown = 0
    for gid, keys in _gang_leads(run).items():
        for before, night in zip(run.nights, run.nights[1:]):
            old, new = keys & before.loaded, keys & night.loaded
            if old and new > old:
                grown += 1
                assert night.packet_of[next(iter(new))] in night.changed, (gid, night.as_of)
    assert grown >= 1, "no gang grew: the world does not test growth"


def test_no_hub_merges_true_groups(run: Run) -> None:
    """Every packet holding a truth hub (NAT address, branch tablet) holds leads of one true group only."""
    hubs = {f"{h['kind']}:{h['value']}" for h in run.truth["hubs"] if h["kind"] in ("ip", "device")}
    assert hubs
    for night in run.nights:
        groups_of: dict[str, set[str]] = {}
        for key, packet in night.packet_of.items():
            groups_of.setdefault(packet, set()).add(run.truth["leads"].get(key, "?"))
        for packet, nodes in night.members.items():
            if nodes & hubs:
                assert len(groups_of.get(packet, set())) <= 1, (night.as_of, packet, nodes & hubs)
        places = {n for nodes in night.members.values() for n in nodes if n.startswith(("branch:", "outlet:"))}
        assert not places, "branches and outlets never connect"

