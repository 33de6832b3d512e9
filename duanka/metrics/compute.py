"""Per-unit and per-rule figures of the feedback loop, from casework events and the score tables.

A unit is judged by whether it reports back (反馈率) and whether what it was
sent held up (查实率); a rule is judged by how often the packets it fired on
were verified true (precision). Every figure is a count of packets or a sum
of reported figures, so totals equal the sum of the units (tested).
Identifiers never appear here: packet ids only, which name no person.

A province's ~770k packets are read a range of packet ids at a time (their
casework events, scores and rule hits) and added to running tallies (tally.py):
memory grows with units and rules, not with packets.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from duanka.casework import FIGURES
from duanka.metrics.tally import RuleTally, Tally, UnitTally, summarise
from duanka.publish.lifecycle import EventReader, deadline
from duanka.publish.settings import DeadlineSettings

__all__ = ["CHUNK", "DEFINITIONS", "compute_metrics", "packet_record", "summarise"]

CHUNK = 20_000  # packets whose events, scores and rule hits are in memory at once (~30 MB)
DEFINITIONS = {
    "issued": "截至本批次已下发的线索包数（含已办结）",
    "fed_back": "单位已反馈过至少一个环节（研判、核查、打击或办结）的线索包数",
    "feedback_rate": "反馈率 = 已反馈 / 已下发",
    "verified": "已填写核查结论的线索包数",
    "confirmed_rate": "查实率 = （属实 + 部分属实）/ 已核查",
    "results": "各线索包反馈的战果合计：抓获、行政处罚、清理卡、冻结账户、挽回损失（元）",
    "overdue": "未在时限内到达规定环节、且尚未办结的线索包",
    "precision": "规则准确率 = 命中且核查（部分）属实的线索包 / 命中且已核查的线索包",
}


def scores_sql() -> str:
    """Tonight's tier and unit of the scored packets of one id range."""
    return "SELECT packet_id, tier, unit_code, unit_name FROM packet_scores WHERE packet_id BETWEEN $first AND $last"


def rule_hits_sql() -> str:
    """Which rules fired on which packet of one id range (one row per rule and packet)."""
    return "SELECT DISTINCT packet_id, rule_id FROM rule_hits WHERE packet_id BETWEEN $first AND $last"


def rule_titles_sql() -> str:
    """Each rule's titles, newest version first: a rule's title is its newest version's (packets
    scored on an earlier night may keep hits of an earlier version)."""
    return """SELECT DISTINCT rule_id, rule_version, coalesce(title, '') AS title FROM rule_hits
              ORDER BY rule_id, rule_version DESC NULLS LAST, title"""


def feedback_rows_sql() -> str:
    """Tonight's feedback files: rows read, applied and quarantined, and files refused."""
    return """SELECT count(*) FILTER (WHERE status = 'rejected') AS files_rejected,
                     coalesce(sum(rows_read), 0) AS rows_read, coalesce(sum(rows_loaded), 0) AS rows_applied,
                     coalesce(sum(rows_quarantined), 0) AS rows_quarantined
              FROM ingest_files WHERE kind = 'feedback' AND as_of = $as_of"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    cursor = con.execute(sql, params) if params else con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def packet_record(packet_id: str, unit_code: str | None, events: list[dict], score: dict, as_of: date,
                  settings: DeadlineSettings) -> dict | None:
    """A packet's unit, status, outcome, figures and deadline state as of `as_of`; None if not issued by then."""
    night = as_of.isoformat()
    events = [e for e in events if str(e["at"])[:10] <= night]
    if not events:
        return None
    status = events[-1]["to_status"]
    outcomes = [e["outcome"] for e in events if e["to_status"] == "verified" and e["outcome"]]
    first = date.fromisoformat(str(events[0]["at"])[:10])
    state = deadline(score.get("tier") or "yellow", events, first, as_of, settings)["state"]
    return {
        "packet_id": packet_id, "unit_code": score.get("unit_code") or unit_code or "UNASSIGNED",
        "unit_name": score.get("unit_name") or "", "status": status,
        "fed_back": any(e["to_status"] != "issued" for e in events),
        "outcome": outcomes[-1] if outcomes else None,
        "figures": {f: sum(float(e[f] or 0) for e in events) for f in FIGURES},
        "overdue": status != "closed" and state == "overdue", "at_risk": status != "closed" and state == "at_risk"}


def _issued_chunks(reader: EventReader, size: int) -> Iterator[tuple[list[tuple[str, str | None]], dict]]:
    """(packets with their unit as issued, their events by packet id), `size` packets at a time."""
    for packets in reader.issued(size):
        yield packets, reader.between(packets[0][0], packets[-1][0])


class _Night:
    """The running tallies of one night's metrics."""

    def __init__(self) -> None:
        self.totals = Tally()
        self.units: dict[str, UnitTally] = {}
        self.rules: dict[str, RuleTally] = {}

    def add_chunk(self, con: duckdb.DuckDBPyConnection, packets: list[tuple[str, str | None]], events: dict,
                  as_of: date, settings: DeadlineSettings) -> None:
        span = {"first": packets[0][0], "last": packets[-1][0]}
        scores = {r["packet_id"]: r for r in _rows(con, scores_sql(), span)}
        outcome: dict[str, str | None] = {}
        for packet_id, unit_code in packets:
            record = packet_record(packet_id, unit_code, events.get(packet_id, []), scores.get(packet_id, {}),
                                   as_of, settings)
            if record is None:
                continue
            outcome[packet_id] = record["outcome"]
            self.totals.add(record)
            code = record["unit_code"]
            (self.units.get(code) or self.units.setdefault(code, UnitTally(code))).add(record)
        for packet_id, rule_id in con.execute(rule_hits_sql(), span).fetchall():
            if packet_id in outcome:  # a group never issued (dissolved before it was) was never sent to anyone
                (self.rules.get(rule_id) or self.rules.setdefault(rule_id, RuleTally(rule_id))).add(outcome[packet_id])

    def rule_figures(self, con: duckdb.DuckDBPyConnection) -> list[dict]:
        titles: dict[str, str] = {}
        for rule_id, _, title in con.execute(rule_titles_sql()).fetchall():
            titles.setdefault(rule_id, title)
        rules = [rule.figures(titles.get(rule_id, "")) for rule_id, rule in self.rules.items()]
        return sorted(rules, key=lambda r: (-r["verified"], -r["packets_hit"], r["rule_id"]))


def feedback_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> dict:
    """Tonight's feedback file accounting: rows read = applied + quarantined."""
    row = _rows(con, feedback_rows_sql(), {"as_of": as_of})[0]
    return {k: int(v or 0) for k, v in row.items()}


def compute_metrics(con: duckdb.DuckDBPyConnection, casework_db: Path | None, as_of: date,
                    settings: DeadlineSettings, chunk: int = CHUNK) -> dict:
    """metrics.json as a dict: totals, units, rules, tonight's feedback rows, and what each figure means.

    Reads casework (`casework_db`; missing means nothing issued yet) without writing to it, `chunk`
    packets at a time, and the score tables through `con`."""
    night = _Night()
    reader = EventReader(casework_db)
    try:
        for packets, events in _issued_chunks(reader, chunk):
            night.add_chunk(con, packets, events, as_of, settings)
    finally:
        reader.close()
    units = sorted((u.figures() for u in night.units.values()), key=lambda u: (-u["issued"], u["unit_code"]))
    return {"as_of": as_of.isoformat(), "totals": night.totals.figures(), "units": units,
            "rules": night.rule_figures(con), "feedback_rows": feedback_rows(con, as_of),
            "definitions": DEFINITIONS}
