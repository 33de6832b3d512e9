"""Small worlds of leads built in code for the linking tests (imported by the other test_link_* files).

Identifiers are made up but shaped like the real ones (18-char RIC, 19-digit
card numbers, 11-digit phones); linking does not re-check them, ingest did.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import duckdb

from duanka.warehouse import connect

NIGHT1, NIGHT2, NIGHT3 = date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)


def ric(n: int) -> str:
    return f"3704031990{n:07d}X"


def card(n: int) -> str:
    return f"6222{n:015d}"


def mobile(n: int) -> str:
    return f"139{n:08d}"


class World:
    """A warehouse with helpers to add bank/SIM leads and cases as the clean tables hold them."""

    def __init__(self) -> None:
        self.con: duckdb.DuckDBPyConnection = connect()
        self._ids = itertools.count(1)

    def bank(
        self,
        holder: str,
        account: str,
        *,
        phone: str | None = None,
        devices: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        cases: tuple[str, ...] = (),
        opened: date = date(2025, 6, 1),
        branch: str | None = None,
        id_type: str = "RIC",
        lead_id: str | None = None,
        issued: datetime = datetime(2026, 11, 1, 9, 0),
        sha: str = "f" * 64,
    ) -> str:
        lead_id = lead_id or f"B{next(self._ids):06d}"
        self.con.execute("DELETE FROM bank_leads WHERE issuer = '' AND lead_id = ?", [lead_id])
        self.con.execute(
            """INSERT INTO bank_leads (issuer, lead_id, issued_at, reason, bank, account_no, account_kind,
                   holder_name, holder_id_type, holder_id_no, person_key, holder_phone, open_date, open_branch,
                   login_device, login_ip, case_ids, _file, _row, _sha256, _as_of)
               VALUES ('', ?, ?, 'MULTI_CARD', 'ICBC', ?, 'debit', '张三', ?, ?, ?, ?, ?, ?, ?, ?, ?,
                       'bank_test.csv', 1, ?, ?)""",
            [lead_id, issued, account, id_type, holder, holder, phone, opened, branch,
             list(devices), list(ips), list(cases), sha, NIGHT1],
        )
        return lead_id

    def sim(
        self,
        holder: str,
        msisdn: str,
        *,
        imei: str | None = None,
        cases: tuple[str, ...] = (),
        opened: date = date(2025, 6, 1),
        outlet: str | None = None,
        lead_id: str | None = None,
    ) -> str:
        lead_id = lead_id or f"S{next(self._ids):06d}"
        self.con.execute(
            """INSERT INTO sim_leads (issuer, lead_id, issued_at, reason, carrier, msisdn, card_kind, holder_name,
                   holder_id_type, holder_id_no, person_key, open_date, open_outlet, imei, case_ids,
                   _file, _row, _sha256, _as_of)
               VALUES ('', ?, ?, 'ABNORMAL_OPEN', 'CMCC', ?, 'personal', '李四', 'RIC', ?, ?, ?, ?, ?, ?,
                       'sim_test.csv', 1, ?, ?)""",
            [lead_id, datetime(2026, 11, 1), msisdn, holder, holder, opened, outlet, imei, list(cases),
             "e" * 64, NIGHT1],
        )
        return lead_id

    def case(self, case_id: str, accounts: tuple[str, ...] = (), phones: tuple[str, ...] = ()) -> None:
        self.con.execute(
            """INSERT INTO cases (case_id, reported_at, region, fraud_type, loss, accounts, phones,
                   _file, _row, _sha256, _as_of)
               VALUES (?, ?, '370403', '刷单返利', 5000, ?, ?, 'case_test.csv', 1, ?, ?)""",
            [case_id, datetime(2026, 10, 1), list(accounts), list(phones), "d" * 64, NIGHT1],
        )

    def groups(self) -> set[frozenset[str]]:
        """Current packets as sets of member nodes."""
        rows = self.con.execute("SELECT packet_id, node FROM packet_members").fetchall()
        by_packet: dict[str, set[str]] = {}
        for packet_id, node in rows:
            by_packet.setdefault(packet_id, set()).add(node)
        return {frozenset(nodes) for nodes in by_packet.values()}

    def packet_of(self, node: str) -> str:
        rows = self.con.execute("SELECT packet_id FROM packet_members WHERE node = ?", [node]).fetchall()
        assert len(rows) == 1, (node, rows)
        return rows[0][0]


def spread_dates(start: date, count: int, step_days: int) -> list[date]:
    return [start + timedelta(days=i * step_days) for i in range(count)]


def test_world_builds_leads_the_warehouse_accepts() -> None:
    """The builder writes rows the clean-table DDL accepts, with person keys as given."""
    world = World()
    world.bank(ric(1), card(1), phone=mobile(1), devices=("D1",))
    world.sim(ric(1), mobile(1), imei="860000000000001")
    world.case("C1", accounts=(card(1),))
    rows = world.con.execute("SELECT count(*) FROM bank_leads JOIN sim_leads USING (person_key)").fetchall()
    assert rows == [(1,)]
