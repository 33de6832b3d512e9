"""The metrics computation as it was before it streamed (every event, score and record in memory at once).

Kept only as the reference the streaming computation (duanka/metrics/compute.py) is tested
against, and for bench/bench_metrics.py --reference to measure what it cost. Not used by duanka.
"""
from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

from duanka.casework import FIGURES, STAGES
from duanka.metrics.compute import DEFINITIONS, feedback_rows
from duanka.publish.lifecycle import Casework, deadline, read_casework
from duanka.publish.settings import DeadlineSettings


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def packet_records(con: duckdb.DuckDBPyConnection, casework: Casework, as_of: date,
                   settings: DeadlineSettings) -> list[dict]:
    scores = {r["packet_id"]: r for r in _rows(con, "SELECT packet_id, tier, unit_code, unit_name FROM packet_scores")}
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
    outcome = {r["packet_id"]: r["outcome"] for r in records}
    rules: dict[str, dict] = {}
    for hit in _rows(con, "SELECT DISTINCT packet_id, rule_id, title FROM rule_hits"):
        if hit["packet_id"] not in outcome:
            continue
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


def compute_metrics_reference(con: duckdb.DuckDBPyConnection, casework_db: Path | None, as_of: date,
                              settings: DeadlineSettings, chunk: int = 0) -> dict:
    """Same signature as duanka.metrics.compute_metrics (`chunk` unused): reads all of casework at once."""
    records = packet_records(con, read_casework(casework_db), as_of, settings)
    return {"as_of": as_of.isoformat(), "totals": summarise(records), "units": unit_metrics(records),
            "rules": rule_precision(con, records), "feedback_rows": feedback_rows(con, as_of),
            "definitions": DEFINITIONS}
