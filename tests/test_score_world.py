"""A tiny warehouse built in code for the scoring tests, plus checks of the builder itself.

Other test_score_* modules import `World`; rows carry the same provenance
columns as loaded data, so evidence (file, row, lead_id) can be asserted.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from duanka.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]

AS_OF = date(2026, 11, 20)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def ric(region: str, birth: date, seq: int) -> str:
    """A resident ID with a valid ISO 7064 check character."""
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS)) % 11]


def born(age: int) -> date:
    """A birth date that makes someone `age` years old on AS_OF."""
    return date(AS_OF.year - age, 3, 1)


class World:
    """Builds leads, cases, packets, roles and hubs; every lead gets a distinct file row."""

    def __init__(self, seed: int = 7):
        self.con = connect()
        self.rng = random.Random(seed)
        self.row = 0
        self.packets: set[str] = set()
        self.seq = 0

    def person(self, region: str = "370403", age: int = 35) -> str:
        self.seq += 1
        return ric(region, born(age), self.seq)

    def company(self, region: str = "370403") -> str:
        """A USCC with a valid check character; its characters 3–8 are the registration region."""
        from stdnum.cn import uscc

        self.seq += 1
        body = f"91{region}MA{self.seq:07d}"
        return body + uscc.calc_check_digit(body)

    def _packet(self, packet_id: str, kind: str, lead_id: str) -> None:
        if packet_id not in self.packets:
            self.packets.add(packet_id)
            self.con.execute("INSERT INTO packet_registry VALUES (?, ?, ?, 'active', NULL, 'd')",
                             [packet_id, AS_OF, AS_OF])
        self.con.execute("INSERT INTO packet_leads VALUES (?, ?, '', ?)", [packet_id, kind, lead_id])

    def _insert(self, table: str, values: dict) -> None:
        names = ", ".join(f'"{k}"' for k in values)
        marks = ", ".join("?" for _ in values)
        self.con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))

    def _provenance(self, kind: str) -> dict:
        self.row += 1
        return {"_file": f"{kind}_20261120.csv", "_row": self.row, "_sha256": "x" * 64, "_as_of": AS_OF}

    def bank(self, packet_id: str, person: str, **fields) -> str:
        lead_id = f"B{self.row + 1:05d}"
        values = {
            "issuer": "", "lead_id": lead_id, "issued_at": AS_OF, "reason": "MULTI_CARD", "bank": "ICBC",
            "account_no": f"62220{self.rng.randrange(10**13):013d}", "account_kind": "debit",
            "holder_name": "张三", "holder_id_type": "USCC" if person.startswith("91") else "RIC", "holder_id_no": person,
            "person_key": person, "open_date": AS_OF - timedelta(days=100),
            **fields, **self._provenance("bank"),
        }
        self._insert("bank_leads", values)
        self._packet(packet_id, "bank", lead_id)
        return lead_id

    def sim(self, packet_id: str, person: str, **fields) -> str:
        lead_id = f"S{self.row + 1:05d}"
        values = {
            "issuer": "", "lead_id": lead_id, "issued_at": AS_OF, "reason": "MULTI_CARD", "carrier": "CMCC",
            "msisdn": f"139{self.rng.randrange(10**8):08d}", "card_kind": "personal", "holder_name": "李四",
            "holder_id_type": "RIC", "holder_id_no": person, "person_key": person,
            "open_date": AS_OF - timedelta(days=100), **fields, **self._provenance("sim"),
        }
        self._insert("sim_leads", values)
        self._packet(packet_id, "sim", lead_id)
        return lead_id

    def case(self, case_id: str, loss: float, accounts: list[str] | None = None,
             phones: list[str] | None = None) -> None:
        self._insert("cases", {"case_id": case_id, "reported_at": AS_OF, "region": "370403",
                               "fraud_type": "刷单返利", "loss": loss, "accounts": accounts, "phones": phones,
                               **self._provenance("case")})

    def role(self, packet_id: str, node: str, role: str, score: float = 1.0) -> None:
        self.con.execute("INSERT INTO group_roles VALUES (?, ?, ?, ?)", [packet_id, node, role, score])

    def hub(self, node: str) -> None:
        self.con.execute("INSERT INTO link_hubs VALUES (?, ?, 99)", [node, node.split(":")[0]])

    def save(self, path: Path) -> None:
        """Copy the in-memory warehouse to `path`, as a home's warehouse.duckdb."""
        self.con.execute(f"ATTACH '{path}' AS disk")
        self.con.execute("COPY FROM DATABASE memory TO disk")
        self.con.execute("DETACH disk")

    def save_scored_home(self, folder: Path) -> Path:
        """Score with the project's rules as the last run (AS_OF) and save the warehouse into `folder`."""
        from duanka.score import load_rule_set, load_units, score_packets
        from duanka.settings import ScoringSettings

        score_packets(self.con, load_rule_set(ROOT / "rules"), ScoringSettings(),
                      load_units(ROOT / "data" / "reference" / "units.csv"), AS_OF)
        self.con.execute("INSERT INTO ingest_files (sha256, file, status, as_of) VALUES ('x', 'f', 'loaded', ?)",
                         [AS_OF])
        self.save(folder / "warehouse.duckdb")
        return folder


def test_ric_check_character_matches_stdnum():
    """The builder's resident IDs are valid, so tests use realistic person keys."""
    from stdnum.cn import ric as stdnum_ric

    assert stdnum_ric.is_valid(ric("370403", date(2004, 3, 1), 12))


def test_world_rows_carry_provenance():
    """Each lead lands in its table with a distinct file row and in packet_leads."""
    world = World()
    p = world.person()
    world.bank("P1", p)
    world.sim("P1", p)
    rows = world.con.execute("SELECT _row FROM bank_leads UNION ALL SELECT _row FROM sim_leads").fetchall()
    assert sorted(r[0] for r in rows) == [1, 2]
    assert world.con.execute("SELECT count(*) FROM packet_leads WHERE packet_id = 'P1'").fetchone()[0] == 2
