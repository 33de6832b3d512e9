"""Every starter rule fires on a crafted packet, stays quiet on its near miss, and cites the right rows.

Table-driven: one case per rule id, each with a one-line description, a builder
for the packet that must fire (returning the lead ids the hit must cite) and a
builder for the near miss. One warehouse holds every packet; scoring runs once.
"""
from __future__ import annotations

import json
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from test_score_world import AS_OF, World

from duanka.score import load_rule_set, load_units, score_packets
from duanka.settings import ScoringSettings

ROOT = Path(__file__).resolve().parents[1]
DAY = AS_OF - timedelta(days=40)


def digits(text: str, n: int) -> str:
    """Deterministic digits from a packet id (Python's str hash changes per process)."""
    return f"{zlib.crc32(text.encode()) % 10**n:0{n}d}"


def _n_accounts(n):
    def build(w: World, pid: str):
        return [w.bank(pid, w.person()) for _ in range(n)]
    return build


def _n_sims(n):
    def build(w: World, pid: str):
        return [w.sim(pid, w.person()) for _ in range(n)]
    return build


def _holders_cards(persons, cards):
    """`cards` bank accounts spread over `persons` holders."""
    def build(w: World, pid: str):
        people = [w.person() for _ in range(persons)]
        return [w.bank(pid, people[i % persons]) for i in range(cards)]
    return build


def _role(role):
    def build(w: World, pid: str):
        p = w.person()
        lead = w.bank(pid, p)
        w.role(pid, f"person:{p}", role)
        return [lead]
    return build


def _shared(field, holders, extra=True):
    """`holders` people whose accounts share one phone or device, plus one unrelated lead."""
    def build(w: World, pid: str):
        value = f"{pid}-X" if field == "login_device" else "13" + digits(pid, 9)
        leads = [w.bank(pid, w.person(), **{field: [value] if field == "login_device" else value})
                 for _ in range(holders)]
        if extra:
            w.bank(pid, w.person())
        return leads
    return build


def _burst(days, place="outlet"):
    """One holder per offset in `days`, all at the same outlet."""
    def build(w: World, pid: str):
        key = "open_outlet" if place == "outlet" else "open_branch"
        make = w.sim if place == "outlet" else w.bank
        leads = [make(pid, w.person(), **{key: f"{pid}-O", "open_date": DAY + timedelta(days=d)}) for d in days]
        make(pid, w.person(), **{key: f"{pid}-other", "open_date": DAY})
        return leads
    return build


def _rapid(days):
    def build(w: World, pid: str):
        p = w.person()
        return [w.bank(pid, p, open_date=DAY + timedelta(days=d)) for d in days]
    return build


def _iot(shared):
    def build(w: World, pid: str):
        imei = "86" + digits(pid, 13)
        lead = w.sim(pid, w.person(), card_kind="iot", imei=imei)
        if shared:
            w.sim(f"{pid}-phone", w.person(), card_kind="personal", imei=imei)
        return [lead]
    return build


def _companies(n, person_too=False):
    def build(w: World, pid: str):
        leads = [w.bank(pid, w.company(), account_kind="corporate") for _ in range(n)]
        if person_too:
            w.bank(pid, w.person())
        return leads
    return build


def _case(corporate, loss=1000.0, other_account=False):
    """One account linked to a case through the case's account list (the reverse direction)."""
    def build(w: World, pid: str):
        owner = w.company() if corporate else w.person()
        account = "9" + digits(pid, 15)
        lead = w.bank(pid, owner, account_no=account, account_kind="corporate" if corporate else "debit")
        w.case(f"C-{pid}", loss, accounts=["0000" if other_account else account])
        return [lead]
    return build


def _money(inflow, outflow, case=False):
    def build(w: World, pid: str):
        account = "8" + digits(pid, 15)
        lead = w.bank(pid, w.person(), account_no=account, inflow_30d=inflow, outflow_30d=outflow)
        if case:
            w.case(f"C-{pid}", 500.0, accounts=[account])
        return [lead]
    return build


def _lead_value(kind, **fields):
    def build(w: World, pid: str):
        return [(w.bank if kind == "bank" else w.sim)(pid, w.person(), **fields)]
    return build


def _far(n_far, n_near):
    def build(w: World, pid: str):
        leads = [w.bank(pid, w.person("370403"), open_region="110105") for _ in range(n_far)]
        for _ in range(n_near):
            w.bank(pid, w.person("370403"), open_region="370402")
        return leads
    return build


def _ages(ages, fire_ages):
    def build(w: World, pid: str):
        return [lead for age in ages for lead in [w.bank(pid, w.person(age=age))] if age in fire_ages]
    return build


def _regions(regions):
    def build(w: World, pid: str):
        return [w.bank(pid, w.person(), open_region=r) for r in regions]
    return build


def _hub(is_hub):
    def build(w: World, pid: str):
        device = f"{pid}-D"
        lead = w.bank(pid, w.person(), login_device=[device])
        w.bank(pid, w.person())
        if is_hub:
            w.hub(f"device:{device}")
        return [lead]
    return build


CASES = [
    ("R-COL-ACCT5", "5 accounts in a group fire, 4 do not", _n_accounts(5), _n_accounts(4)),
    ("R-COL-SIM20", "20 phone cards fire, 19 do not", _n_sims(20), _n_sims(19)),
    ("R-COL-333", "3 holders with 3 cards fire; 2 holders with 3 cards do not",
     _holders_cards(3, 3), _holders_cards(2, 3)),
    ("R-COL-ROLE", "a collector role fires, a plain member does not", _role("collector"), _role("member")),
    ("R-ORG-PHONE", "3 holders on one reserved phone fire, 2 do not",
     _shared("holder_phone", 3), _shared("holder_phone", 2)),
    ("R-ORG-DEVICE", "3 holders on one login device fire, 2 do not",
     _shared("login_device", 3), _shared("login_device", 2)),
    ("R-ORG-BURST", "3 holders at one outlet on days 0,1,2 fire; days 0,1,3 do not",
     _burst([0, 1, 2]), _burst([0, 1, 3])),
    ("R-ORG-ROLE", "an organiser role fires, a member does not", _role("organiser"), _role("member")),
    ("R-CF-MULTI", "one holder with 3 cards fires, with 2 does not", _holders_cards(1, 3), _holders_cards(1, 2)),
    ("R-CF-RAPID", "3 cards opened on days 0,3,6 fire; days 0,3,7 do not", _rapid([0, 3, 6]), _rapid([0, 3, 7])),
    ("R-CF-IOT", "an IoT card whose IMEI is in a personal phone fires; a lone IoT card does not",
     _iot(True), _iot(False)),
    ("R-RO-BATCH", "8 holders at one branch within 3 days fire, 7 do not",
     _burst([0, 0, 1, 1, 1, 2, 2, 2], "branch"), _burst([0, 0, 1, 1, 1, 2, 2], "branch")),
    ("R-RO-ROLE", "a rogue_outlet role fires, a member does not", _role("rogue_outlet"), _role("member")),
    ("R-SC-MULTI", "2 companies' corporate accounts fire; 1 company and a person do not",
     _companies(2), _companies(1, person_too=True)),
    ("R-SC-CASE", "a case-linked corporate account fires; a case-linked personal account does not",
     _case(True), _case(False)),
    ("R-SIG-CASE", "a case listing the account fires; a case listing another account does not",
     _case(False), _case(False, other_account=True)),
    ("R-SIG-LOSS", "case loss 30000 fires, 29999 does not", _case(False, loss=30000), _case(False, loss=29999)),
    ("R-SIG-SETTLE", "in+out 200000 with a case fires, 199999 does not",
     _money(100000, 100000, case=True), _money(100000, 99999, case=True)),
    ("R-SIG-PASS", "50000 in, 45000 out fires; 44999 out does not", _money(50000, 45000), _money(50000, 44999)),
    ("R-SIG-NIGHT", "night ratio 0.5 over 10 txns fires, 0.49 does not",
     _lead_value("bank", night_txn_ratio=0.5, txn_count_30d=10),
     _lead_value("bank", night_txn_ratio=0.49, txn_count_30d=10)),
    ("R-SIG-ABROAD", "15 days abroad fire, 14 do not",
     _lead_value("sim", abroad_days_30d=15), _lead_value("sim", abroad_days_30d=14)),
    ("R-SIG-CALLS", "500 outgoing calls fire, 499 do not",
     _lead_value("sim", calls_out_7d=500), _lead_value("sim", calls_out_7d=499)),
    ("R-SIG-FAR", "2 cards opened in another city fire; 1 far + 1 in the home city do not", _far(2, 0), _far(1, 1)),
    ("R-SIG-STUDENT", "holders aged 22 and 18 fire; 23 and 20 do not",
     _ages([22, 18], {22, 18}), _ages([23, 20], set())),
    ("R-SIG-ELDERLY", "holders aged 60 and 70 fire; 59 and 60 do not",
     _ages([60, 70], {60, 70}), _ages([59, 60], set())),
    ("R-SIG-REGIONS", "3 open regions fire, 2 do not",
     _regions(["370403", "370402", "110105"]), _regions(["370403", "370402", "370402"])),
    ("R-SIG-HUB", "a lead using a hub device fires; the same without the hub does not", _hub(True), _hub(False)),
]


@pytest.fixture(scope="module")
def scored():
    world = World()
    expected = {}
    for rule_id, _, fire, miss in CASES:
        expected[rule_id] = set(fire(world, f"{rule_id}-fire"))
        miss(world, f"{rule_id}-miss")
    rule_set = load_rule_set(ROOT / "rules")
    units = load_units(ROOT / "data" / "reference" / "units.csv")
    score_packets(world.con, rule_set, ScoringSettings(), units, AS_OF)
    hits = {(p, r): json.loads(e) for p, r, e in world.con.execute(
        "SELECT packet_id, rule_id, evidence FROM rule_hits").fetchall()}
    return rule_set, hits, expected


def test_every_starter_rule_has_a_case(scored):
    """A rule added to rules/ without a fire/near-miss case here fails the suite."""
    rule_set, _, _ = scored
    assert {r.id for r in rule_set.rules} == {case[0] for case in CASES}


@pytest.mark.parametrize("rule_id, description, fire, miss", CASES, ids=[c[0] for c in CASES])
def test_rule_fires_and_near_miss_stays_quiet(scored, rule_id, description, fire, miss):
    _, hits, expected = scored
    assert (f"{rule_id}-fire", rule_id) in hits, f"should fire: {description}"
    assert (f"{rule_id}-miss", rule_id) not in hits, f"near miss fired: {description}"
    cited = {item["lead_id"] for item in hits[(f"{rule_id}-fire", rule_id)]}
    assert cited == expected[rule_id], f"evidence should cite exactly the rows behind the hit: {description}"
