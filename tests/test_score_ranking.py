"""Scoring end to end on crafted groups: gangs outrank honest look-alikes; tables are rewritten."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from test_score_world import AS_OF, World

from duanka.score import load_rule_set, load_units, score_packets
from duanka.settings import ScoringSettings

ROOT = Path(__file__).resolve().parents[1]
DAY = AS_OF - timedelta(days=60)


def build_gang(w: World, pid: str = "GANG") -> None:
    """Six holders, cards opened together, one reserved phone, one device, money through, cases."""
    people = [w.person(region="370403", age=w.rng.choice([19, 20, 21, 35, 41])) for _ in range(6)]
    accounts = []
    for i, p in enumerate(people):
        for j in range(2 if i < 2 else 1):
            inflow = w.rng.uniform(80_000, 150_000)
            account = f"6222{w.rng.randrange(10**15):015d}"
            accounts.append(account)
            w.bank(pid, p, account_no=account, holder_phone="13700000001" if i < 4 else None,
                   login_device=["GANG-DEV"] if i >= 3 else None, open_branch="BR-7",
                   open_date=DAY + timedelta(days=i % 2), open_region="440305", inflow_30d=inflow,
                   outflow_30d=inflow * 0.97, txn_count_30d=200, night_txn_ratio=0.6)
    for p in people[:4]:
        w.sim(pid, p, open_outlet="OUT-7", open_date=DAY + timedelta(days=1))
    w.case("C-G1", 120_000, accounts=accounts[:2])
    w.case("C-G2", 45_000, accounts=accounts[3:4])


def build_dormant_gang(w: World, pid: str = "DORMANT") -> None:
    """Students opening cards at one outlet within two days, bound to one phone: no money, no cases."""
    for i in range(4):
        w.bank(pid, w.person(region="370403", age=19 + i % 3), holder_phone="13700000002",
               open_branch="BR-9", open_date=DAY + timedelta(days=i % 2), open_region="370481")


def build_busy_shop(w: World, pid: str = "SHOP") -> None:
    """A real shop: big turnover through a corporate account, its owner's own card, a busy branch."""
    owner, shop = w.person(region="370403", age=45), w.company("370403")
    w.bank(pid, shop, account_kind="corporate", holder_phone="13700000003", open_branch="BR-BUSY",
           open_date=DAY, open_region="370403", inflow_30d=3_000_000, outflow_30d=2_900_000,
           txn_count_30d=5000, counterparties_30d=1500, night_txn_ratio=0.05)
    w.bank(pid, owner, holder_phone="13700000003", open_branch="BR-BUSY", open_date=DAY - timedelta(days=900),
           open_region="370403", inflow_30d=20_000, outflow_30d=15_000)
    w.role(pid, f"company:{shop}", "shell_company", 0.5)  # linking gives every company node this role
    for i in range(20):  # unrelated customers of the same branch on the same days, each their own packet
        w.bank(f"CUSTOMER-{i}", w.person(age=30 + i), open_branch="BR-BUSY", open_date=DAY + timedelta(days=i % 3),
               open_region="370403")


def build_traveller(w: World, pid: str = "TRAVELLER") -> None:
    p = w.person(region="370403", age=38)
    w.sim(pid, p, abroad_days_30d=25, calls_out_7d=80, open_region="370403")
    w.bank(pid, p, open_region="370403", inflow_30d=30_000, outflow_30d=28_000)


@pytest.fixture(scope="module")
def scored():
    w = World(seed=11)
    for build in (build_gang, build_dormant_gang, build_busy_shop, build_traveller):
        build(w)
    w.con.execute("INSERT INTO packet_registry VALUES ('OLD', ?, ?, 'merged', 'GANG', 'd')", [AS_OF, AS_OF])
    w.con.execute("INSERT INTO packet_scores VALUES ('OLD', 99, 'red', 'X', 'X', 'signal', ['R-X'], 'old')")
    rule_set = load_rule_set(ROOT / "rules")
    units = load_units(ROOT / "data" / "reference" / "units.csv")
    report = score_packets(w.con, rule_set, ScoringSettings(), units, AS_OF)
    rows = w.con.execute("SELECT * FROM packet_scores").fetchall()
    scores = {r[0]: dict(zip(("packet_id", "priority", "tier", "unit_code", "unit_name", "category", "rules",
                                "rule_set_hash"), r)) for r in rows}
    return w, rule_set, units, report, scores


def test_gang_outranks_shop_and_traveller(scored):
    _, _, _, _, s = scored
    assert s["GANG"]["tier"] == "red"
    assert s["GANG"]["priority"] > s["SHOP"]["priority"] and s["GANG"]["priority"] > s["TRAVELLER"]["priority"]


def test_dormant_gang_outranks_busy_shop(scored):
    """No money and no cases yet, but the opening pattern alone puts it above a busy shop."""
    _, _, _, _, s = scored
    assert s["DORMANT"]["priority"] > s["SHOP"]["priority"]
    assert s["DORMANT"]["tier"] in ("red", "orange") and s["SHOP"]["tier"] == "yellow"
    assert s["DORMANT"]["category"] == "organiser"
    assert {"R-ORG-PHONE", "R-ORG-BURST", "R-SIG-STUDENT"} <= set(s["DORMANT"]["rules"])


def test_busy_branch_customers_stay_quiet(scored):
    """Twenty strangers opening at the shop's branch in three days are not a burst: outlets never group."""
    _, _, _, _, s = scored
    assert all(s[f"CUSTOMER-{i}"]["rules"] == [] and s[f"CUSTOMER-{i}"]["priority"] == 0 for i in range(20))
    assert all(s[f"CUSTOMER-{i}"]["category"] is None for i in range(20))


def test_scores_are_stamped_sorted_and_only_for_active_packets(scored):
    w, rule_set, _, report, s = scored
    assert "OLD" not in s, "scores of packets no longer active are dropped"
    assert set(s) == {r[0] for r in w.con.execute(
        "SELECT packet_id FROM packet_registry WHERE state = 'active'").fetchall()}
    assert all(row["rule_set_hash"] == rule_set.hash for row in s.values())
    assert all(row["rules"] == sorted(row["rules"]) for row in s.values())
    assert report.packets == len(s) and sum(report.tiers.values()) == len(s)
    assert report.hits == w.con.execute("SELECT count(*) FROM rule_hits").fetchone()[0]


def test_rule_hits_carry_version_points_and_evidence(scored):
    w, rule_set, _, _, s = scored
    hits = w.con.execute("SELECT rule_id, rule_version, title, points, observed, threshold, evidence "
                         "FROM rule_hits WHERE packet_id = 'GANG'").fetchall()
    assert sorted(h[0] for h in hits) == s["GANG"]["rules"]
    by_id = {h[0]: h for h in hits}
    rule = rule_set.by_id("R-SIG-LOSS")
    assert by_id["R-SIG-LOSS"][1:6] == (rule.version, rule.title, rule.weight, "165000", "30000")
    evidence = json.loads(by_id["R-SIG-CASE"][6])
    assert len(evidence) == 3 and all(set(e) == {"file", "row", "lead_id"} for e in evidence)


def test_unit_match_modes(scored):
    """open_region: commonest open region of the leads; household: the key person's RIC region."""
    w, rule_set, units, _, s = scored
    assert s["GANG"]["unit_code"] == "440000RF"      # 440305: only the province 44 is listed
    assert s["DORMANT"]["unit_code"] == "370400RF"   # 370481 -> 3704
    w.role("GANG", w.con.execute("SELECT 'person:' || person_key FROM bank_leads WHERE holder_phone = "
                                 "'13700000001' LIMIT 1").fetchone()[0], "organiser", 0.9)
    score_packets(w.con, rule_set, ScoringSettings(unit_match="household"), units, AS_OF)
    household = dict(w.con.execute("SELECT packet_id, unit_code FROM packet_scores").fetchall())
    assert household["GANG"] == "370400RF"            # holders' ID numbers start 370403
    assert household["SHOP"] == "370400RF"
