"""Running figures of the feedback loop: packets are added one at a time and never kept.

A full build issues ~770k packets; holding one record per packet (and every event and
score row besides) cost the night's process ~1.4 GB. A tally keeps counts and sums only,
so memory depends on the number of units and rules, not packets. The sums are taken in the
order the packets are added (by packet id), exactly as summing a sorted list of records
would, so `recovered` rounds to the same cents.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from duanka.casework import FIGURES, STAGES


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class Tally:
    """The figures of a set of packets (a unit's, or all of them), packet by packet."""

    def __init__(self) -> None:
        self.issued = self.fed_back = self.overdue = self.at_risk = 0
        self.by_status = dict.fromkeys(STAGES, 0)
        self.outcomes: Counter[str] = Counter()
        # int 0 to start, as `sum()` does: a set of no packets reports 0, not 0.0
        self.results: dict[str, float] = dict.fromkeys(FIGURES, 0)

    def add(self, record: dict) -> None:
        """Count one packet's record (packet_record in compute.py)."""
        self.issued += 1
        self.fed_back += record["fed_back"]
        if record["status"] in self.by_status:
            self.by_status[record["status"]] += 1
        if record["outcome"]:
            self.outcomes[record["outcome"]] += 1
        for f in FIGURES:
            self.results[f] += record["figures"][f]
        self.overdue += record["overdue"]
        self.at_risk += record["at_risk"]

    def figures(self) -> dict:
        """The block metrics.json shows for these packets."""
        verified = sum(self.outcomes.values())
        positive = self.outcomes["confirmed"] + self.outcomes["partial"]
        return {
            "issued": self.issued, "fed_back": self.fed_back, "not_fed_back": self.issued - self.fed_back,
            "feedback_rate": _rate(self.fed_back, self.issued), "by_status": dict(self.by_status),
            "verified": verified, "confirmed": self.outcomes["confirmed"], "partial": self.outcomes["partial"],
            "unfounded": self.outcomes["unfounded"], "confirmed_rate": _rate(positive, verified),
            "results": {f: (round(v, 2) if f == "recovered" else int(v)) for f, v in self.results.items()},
            "overdue": self.overdue, "at_risk": self.at_risk,
        }


class UnitTally(Tally):
    """A unit's figures, its name (the first one tonight's scores give) and its overdue packets' ids."""

    def __init__(self, unit_code: str) -> None:
        super().__init__()
        self.unit_code, self.unit_name = unit_code, ""
        self.overdue_packets: list[str] = []

    def add(self, record: dict) -> None:
        super().add(record)
        if not self.unit_name and record["unit_name"]:
            self.unit_name = record["unit_name"]
        if record["overdue"]:
            self.overdue_packets.append(record["packet_id"])

    def figures(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name, **super().figures(),
                "overdue_packets": list(self.overdue_packets)}


class RuleTally:
    """Per rule: issued packets it fired on and their verification outcomes."""

    def __init__(self, rule_id: str) -> None:
        self.rule_id, self.packets_hit = rule_id, 0
        self.outcomes = dict.fromkeys(("confirmed", "partial", "unfounded"), 0)

    def add(self, outcome: str | None) -> None:
        self.packets_hit += 1
        if outcome:
            self.outcomes[outcome] += 1

    def figures(self, title: str) -> dict:
        verified = sum(self.outcomes.values())
        return {"rule_id": self.rule_id, "title": title, "packets_hit": self.packets_hit, **self.outcomes,
                "verified": verified,
                "precision": _rate(self.outcomes["confirmed"] + self.outcomes["partial"], verified)}


def summarise(records: Iterable[dict]) -> dict:
    """The figures of a set of packet records (the web app shows `summarise([])` to a unit with none)."""
    tally = Tally()
    for record in records:
        tally.add(record)
    return tally.figures()
