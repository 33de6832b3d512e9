"""Per-unit and per-rule figures of the feedback loop, from casework events and the score tables.

A unit is judged by whether it reports back (反馈率) and whether what it was
sent held up (查实率); a rule is judged by how often the packets it fired on
were verified true (precision). Every figure is a count of packets or a sum
of reported figures, so totals equal the sum of the units (tested).
Identifiers never appear here: packet ids only, which name no person.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

import duckdb

from duanka.casework import FIGURES, STAGES
from duanka.publish.lifecycle import Casework, deadline
from duanka.publish.settings import DeadlineSettings

POSITIVE = ("confirmed", "partial")
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
    """Tonight's tier and unit of every scored packet."""
    return "SELECT packet_id, tier, unit_code, unit_name FROM packet_scores"


def rule_hits_sql() -> str:
    """Which rules fired on which packet (one row per rule and packet), with the rule's title."""
    return "SELECT DISTINCT packet_id, rule_id, title FROM rule_hits"


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


def packet_records(con: duckdb.DuckDBPyConnection, casework: Casework, as_of: date,
                   settings: DeadlineSettings) -> list[dict]:
    """One record per packet issued up to `as_of`: unit, status, outcome, figures, deadline state."""
    scores = {r["packet_id"]: r for r in _rows(con, scores_sql())}
    records = []
    for packet_id, unit_code in casework.units.items():
        events = [e for e in casework.of(packet_id) if str(e["at"])[:10] <= as_of.isoformat()]
        if not events:
            continue
        score = scores.get(packet_id, {})
        status = events[-1]["to_status"]
        outcomes = [e["outcome"] for e in events if e["to_status"] == "verified" and e["outcome"]]
        first = date.fromisoformat(str(events[0]["at"])[:10])
        state = deadline(score.get("tier") or "yellow", events, first, as_of, settings)["state"]
        records.append({
            "packet_id": packet_id, "unit_code": score.get("unit_code") or unit_code or "UNASSIGNED",
            "unit_name": score.get("unit_name") or "", "status": status,
            "fed_back": any(e["to_status"] != "issued" for e in events),
            "outcome": outcomes[-1] if outcomes else None,
            "figures": {f: sum(float(e[f] or 0) for e in events) for f in FIGURES},
            "overdue": status != "closed" and state == "overdue", "at_risk": status != "closed" and state == "at_risk"})
    return sorted(records, key=lambda r: r["packet_id"])


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(records: list[dict]) -> dict:
    """The figures of a set of packets (a unit's, or all of them)."""
    outcomes = Counter(r["outcome"] for r in records if r["outcome"])
    verified = sum(outcomes.values())
    fed_back = sum(1 for r in records if r["fed_back"])
    positive = outcomes["confirmed"] + outcomes["partial"]
    results = {f: sum(r["figures"][f] for r in records) for f in FIGURES}
    return {
        "issued": len(records), "fed_back": fed_back, "not_fed_back": len(records) - fed_back,
        "feedback_rate": _rate(fed_back, len(records)),
        "by_status": {s: sum(1 for r in records if r["status"] == s) for s in STAGES},
        "verified": verified, "confirmed": outcomes["confirmed"], "partial": outcomes["partial"],
        "unfounded": outcomes["unfounded"], "confirmed_rate": _rate(positive, verified),
        "results": {f: (round(v, 2) if f == "recovered" else int(v)) for f, v in results.items()},
        "overdue": sum(1 for r in records if r["overdue"]), "at_risk": sum(1 for r in records if r["at_risk"]),
    }


def unit_metrics(records: list[dict]) -> list[dict]:
    """Per unit, most packets first; each with the ids of its overdue packets."""
    units: dict[str, list[dict]] = {}
    for r in records:
        units.setdefault(r["unit_code"], []).append(r)
    out = []
    for code, rows in units.items():
        name = next((r["unit_name"] for r in rows if r["unit_name"]), "")
        out.append({"unit_code": code, "unit_name": name, **summarise(rows),
                    "overdue_packets": [r["packet_id"] for r in rows if r["overdue"]]})
    return sorted(out, key=lambda u: (-u["issued"], u["unit_code"]))


def rule_precision(con: duckdb.DuckDBPyConnection, records: list[dict]) -> list[dict]:
    """Per rule: issued packets hit, how many were verified, and the share verified (partly) true."""
    outcome = {r["packet_id"]: r["outcome"] for r in records}
    rules: dict[str, dict] = {}
    for hit in _rows(con, rule_hits_sql()):
        if hit["packet_id"] not in outcome:
            continue  # a group never issued (dissolved before it was) was never sent to anyone
        rule = rules.setdefault(hit["rule_id"], {"rule_id": hit["rule_id"], "title": hit["title"] or "",
                                                 "packets_hit": 0, "confirmed": 0, "partial": 0, "unfounded": 0})
        rule["packets_hit"] += 1
        result = outcome.get(hit["packet_id"])
        if result:
            rule[result] += 1
    for rule in rules.values():
        rule["verified"] = rule["confirmed"] + rule["partial"] + rule["unfounded"]
        rule["precision"] = _rate(rule["confirmed"] + rule["partial"], rule["verified"])
    return sorted(rules.values(), key=lambda r: (-r["verified"], -r["packets_hit"], r["rule_id"]))


def feedback_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> dict:
    """Tonight's feedback file accounting: rows read = applied + quarantined."""
    row = _rows(con, feedback_rows_sql(), {"as_of": as_of})[0]
    return {k: int(v or 0) for k, v in row.items()}


def compute_metrics(con: duckdb.DuckDBPyConnection, casework: Casework, as_of: date,
                    settings: DeadlineSettings) -> dict:
    """metrics.json as a dict: totals, units, rules, tonight's feedback rows, and what each figure means."""
    records = packet_records(con, casework, as_of, settings)
    return {"as_of": as_of.isoformat(), "totals": summarise(records), "units": unit_metrics(records),
            "rules": rule_precision(con, records), "feedback_rows": feedback_rows(con, as_of),
            "definitions": DEFINITIONS}
