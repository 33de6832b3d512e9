"""Who exists and what their cards look like: people, groups and clean lead rows.

A group is the unit of ground truth: the people, accounts, phones and devices
that belong together (a gang, a family, one busy shop). Builders in `gangs.py`
and `innocents.py` create groups through the helpers here, so that every lead
row is born clean and canonical; `dirt.py` spoils it later, per file.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from duanka.sample import names, regions
from duanka.sample.identifiers import MOBILE_PREFIXES, IdFactory

BANKS = ("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "PSBC")
BANK_WEIGHTS = (26, 18, 16, 12, 10, 8, 10)
BANK_CODES = {"ICBC": "102", "ABC": "103", "BOC": "104", "CCB": "105", "BOCOM": "301", "CMB": "308",
              "PSBC": "403"}
CARRIERS = ("CMCC", "CUCC", "CTCC", "CBN", "MVNO")
CARRIER_WEIGHTS = (55, 22, 18, 2, 3)
FRAUD_TYPES = ("刷单返利", "虚假投资理财", "冒充客服", "冒充公检法", "虚假贷款", "网络游戏", "冒充熟人")


@dataclass
class Person:
    key: str                 # normalised RIC or USCC
    name: str
    id_type: str             # RIC | USCC
    region: str              # household (or registration) region
    phone: str = ""          # own mobile number
    device: str = ""         # own handset IMEI or app fingerprint


@dataclass
class Lead:
    kind: str                # bank | sim
    night: int               # index into the delivery nights
    issuer: str              # issuer key, e.g. ICBC, CMCC, FZZX
    fields: dict[str, Any]   # canonical, clean values
    unrepairable: str = ""   # why the delivered row cannot be made valid ('' = it can)
    reissue_of: Lead | None = None
    lead_id: str = ""


@dataclass
class Case:
    night: int
    fields: dict[str, Any]


@dataclass
class Group:
    gid: str
    kind: str
    gang: bool = False
    dormant: bool = False
    variant: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    leads: list[Lead] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


@dataclass
class Hubs:
    """Identifiers many unrelated holders share; they must not glue groups together."""
    nat_ips: list[str]
    tablets: list[str]                 # fingerprints of branch tablets
    busy_branches: dict[str, str]      # bank -> branch code used by hundreds of people
    busy_outlets: dict[str, str]       # carrier -> outlet code
    tablet_bank: str = "ICBC"


class World:
    """Shared state of one generation run: the random source, identifiers, nights and hubs."""

    def __init__(self, rng: random.Random, ids: IdFactory, nights: list[date], hubs: Hubs) -> None:
        self.rng = rng
        self.ids = ids
        self.nights = nights
        self.hubs = hubs

    # --- people -------------------------------------------------------------
    def person(self, region: str | None = None, ages: tuple[int, int] = (23, 62), male: bool | None = None,
               family_name: str | None = None) -> Person:
        rng = self.rng
        region = region or regions.household(rng)
        male = rng.random() < 0.55 if male is None else male
        age = rng.randint(*ages)
        birth = self.nights[0] - timedelta(days=age * 365 + rng.randint(15, 350))
        ric = self.ids.ric(regions.code_at_birth(region, birth.year), birth, male, rng.randrange(1000))
        person = Person(ric, names.person_name(rng, male, family_name), "RIC", region)
        person.phone = self.phone()
        person.device = self.device()
        return person

    def company(self, region: str, shell: bool = False, shop: bool = False) -> Person:
        name = names.shop_name(self.rng, region) if shop else names.company_name(self.rng, region, shell)
        return Person(self.ids.uscc(region), name, "USCC", region)

    def phone(self, carrier: str | None = None, iot: bool = False) -> str:
        carrier = carrier or self.carrier()
        return self.ids.msisdn(carrier, self.rng.randrange(64), iot)

    def device(self) -> str:
        """A handset: banks report an app fingerprint or the IMEI, so both occur."""
        return self.ids.imei(self.rng.randrange(64)) if self.rng.random() < 0.5 else self.ids.fingerprint()

    def carrier(self) -> str:
        return self.rng.choices(CARRIERS, weights=CARRIER_WEIGHTS)[0]

    def bank(self) -> str:
        return self.rng.choices(BANKS, weights=BANK_WEIGHTS)[0]

    # --- places and dates ----------------------------------------------------
    def branch(self, bank: str, region: str, serial: int | None = None) -> str:
        """A 12-digit bank branch code (联行号-like): bank, region, serial."""
        serial = self.rng.randint(2, 60) if serial is None else serial
        return f"{BANK_CODES[bank]}{region}{serial:03d}"

    def outlet(self, carrier: str, region: str, agent: bool = False, serial: int | None = None) -> str:
        """A carrier outlet (营业厅 YYT…) or agent (代理商 DL…) code."""
        serial = self.rng.randint(2, 80) if serial is None else serial
        return f"{'DL' if agent else 'YYT'}{carrier}{region}{serial:03d}"

    def long_ago(self, night: int, years: tuple[int, int] = (1, 15)) -> date:
        return self.nights[night] - timedelta(days=self.rng.randint(years[0] * 365, years[1] * 365))

    def recent(self, night: int, days: tuple[int, int] = (3, 60)) -> date:
        return self.nights[night] - timedelta(days=self.rng.randint(*days))

    def pick_night(self) -> int:
        return self.rng.randrange(len(self.nights))

    # --- lead rows -----------------------------------------------------------
    def bank_lead(self, holder: Person, night: int, reason: str, bank: str, account: str, kind: str,
                  open_date: date, branch: str, phone: str, devices: list[str], ips: list[str],
                  money: dict[str, Any], channel: str = "counter", case_ids: list[str] | None = None,
                  status: str = "normal", via_bank: float = 0.7) -> Lead:
        rng = self.rng
        fields = {
            "reason": reason, "bank": bank, "account_no": account, "account_kind": kind,
            "holder_name": holder.name, "holder_id_type": holder.id_type, "holder_id_no": holder.key,
            "holder_phone": phone, "open_date": open_date, "open_branch": branch, "open_channel": channel,
            "open_region": branch[3:9], "status": status, "login_device": list(devices),
            "login_ip": list(ips), "case_ids": list(case_ids or []), **money,
        }
        issuer = bank if rng.random() < via_bank else "FZZX"
        return Lead("bank", night, issuer, fields)

    def sim_lead(self, holder: Person, night: int, reason: str, carrier: str, msisdn: str, open_date: date,
                 outlet: str, imei: str, usage: dict[str, Any], card_kind: str = "personal",
                 case_ids: list[str] | None = None, status: str = "normal") -> Lead:
        rng = self.rng
        fields = {
            "reason": reason, "carrier": carrier, "msisdn": msisdn,
            "iccid": self.ids.iccid(carrier, rng.random() < 0.6) if rng.random() < 0.85 else "",
            "imsi": self.ids.imsi(carrier) if rng.random() < 0.8 else "",
            "card_kind": card_kind, "holder_name": holder.name, "holder_id_type": holder.id_type,
            "holder_id_no": holder.key, "open_date": open_date, "open_outlet": outlet,
            "open_region": outlet[-9:-3], "status": status, "imei": imei,
            "case_ids": list(case_ids or []), **usage,
        }
        issuer = carrier if carrier in ("CMCC", "CUCC", "CTCC") and rng.random() < 0.7 else "FZZX"
        return Lead("sim", night, issuer, fields)

    def carrier_of(self, msisdn: str) -> str:
        for carrier, prefixes in MOBILE_PREFIXES.items():
            if msisdn[:3] in prefixes:
                return carrier
        return {"148": "CMCC", "146": "CUCC", "149": "CTCC"}.get(msisdn[:3], "MVNO")

    def case(self, night: int, region: str, accounts: list[str], phones: list[str], earliest: date) -> Case:
        rng = self.rng
        span = max(1, (self.nights[night] - earliest).days - 1)
        reported = datetime.combine(earliest, time(rng.randint(8, 21), rng.randint(0, 59)))
        reported += timedelta(days=rng.randint(0, span))
        if reported.date() >= self.nights[night]:
            reported = datetime.combine(self.nights[night] - timedelta(days=1), reported.time())
        return Case(night, {
            "case_id": self.ids.case_id(region, self.nights[night]), "reported_at": reported,
            "region": region, "fraud_type": rng.choice(FRAUD_TYPES),
            "loss": round(rng.choice((rng.uniform(800, 20000), rng.uniform(20000, 600000))), 2),
            "accounts": accounts, "phones": phones,
        })


# --- activity profiles: what the bank and the carrier saw in the last 30/7 days ----------
def money(rng: random.Random, profile: str) -> dict[str, Any]:
    """Account flows; a mule account passes money straight through, at night, to many."""
    if profile == "dormant":
        return {"inflow_30d": 0.0, "outflow_30d": 0.0, "txn_count_30d": 0, "counterparties_30d": 0,
                "night_txn_ratio": 0.0}
    if profile == "mule":
        inflow = round(rng.uniform(50_000, 2_000_000), 2)
        return {"inflow_30d": inflow, "outflow_30d": round(inflow * rng.uniform(0.96, 1.0), 2),
                "txn_count_30d": rng.randint(120, 1500), "counterparties_30d": rng.randint(30, 400),
                "night_txn_ratio": round(rng.uniform(0.3, 0.85), 3)}
    if profile == "shop":
        inflow = round(rng.uniform(200_000, 3_000_000), 2)
        return {"inflow_30d": inflow, "outflow_30d": round(inflow * rng.uniform(0.6, 0.95), 2),
                "txn_count_30d": rng.randint(500, 5000), "counterparties_30d": rng.randint(200, 2000),
                "night_txn_ratio": round(rng.uniform(0.01, 0.08), 3)}
    inflow = round(rng.uniform(0, 25_000), 2)
    flows = {"inflow_30d": inflow, "outflow_30d": round(inflow * rng.uniform(0.3, 1.1), 2),
             "txn_count_30d": rng.randint(0, 80), "counterparties_30d": rng.randint(0, 20),
             "night_txn_ratio": round(rng.uniform(0, 0.08), 3)}
    if rng.random() < 0.15:  # banks often leave the activity columns empty
        flows = {key: None for key in flows}
    return flows


def usage(rng: random.Random, profile: str) -> dict[str, Any]:
    """Phone activity; a SIM box calls thousands, a salesperson hundreds, in daytime."""
    ranges = {
        "normal": ((0, 0), (10, 150), (5, 60), (0, 30)),
        "traveller": ((5, 28), (0, 40), (0, 20), (0, 15)),
        "sales": ((0, 0), (300, 1500), (150, 900), (20, 300)),
        "gang": ((0, 0), (100, 1500), (80, 1000), (0, 400)),
        "simbox": ((0, 0), (800, 3000), (600, 2500), (200, 2000)),
        "dormant": ((0, 0), (0, 5), (0, 3), (0, 2)),
    }[profile]
    keys = ("abroad_days_30d", "calls_out_7d", "callees_7d", "sms_out_7d")
    values = {key: rng.randint(*span) for key, span in zip(keys, ranges)}
    values["callees_7d"] = min(values["callees_7d"], values["calls_out_7d"])
    return values


def reissue(world: World, lead: Lead) -> Lead | None:
    """The same lead sent again on a later night by the same issuer, with fresher values."""
    if lead.night >= len(world.nights) - 1 or lead.unrepairable:
        return None
    rng = world.rng
    fields = dict(lead.fields)
    if lead.kind == "bank":
        fields["status"] = rng.choice(("frozen", "stop_payment"))
        if fields.get("inflow_30d"):
            fields["inflow_30d"] = round(fields["inflow_30d"] * rng.uniform(1.0, 1.4), 2)
    else:
        fields["status"] = "suspended"
    return Lead(lead.kind, rng.randint(lead.night + 1, len(world.nights) - 1), lead.issuer, fields,
                reissue_of=lead)
