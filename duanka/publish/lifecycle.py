"""What casework knows about each packet, as publishing and metrics need it: events, deadline, history.

Read-only against the casework store's `packets` and `events` tables
(duanka/casework.py owns them): publishing must never write lifecycle
events, and a home without a casework file (a first run, a test) simply has
no history. The deadline clock starts at the last `issued` event, so a closed
group that is re-issued with new material gets a fresh deadline.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from duanka.casework import FIGURES, STAGES
from duanka.publish.settings import DeadlineSettings

OUTCOME_ZH = {"confirmed": "属实", "partial": "部分属实", "unfounded": "不属实"}
STAGE_ZH = {"issued": "下发", "analyzed": "已研判", "verified": "已核查", "struck": "已打击", "closed": "已反馈"}
FIGURE_ZH = {"arrests": "抓获", "penalties": "行政处罚", "cards_cancelled": "清理卡", "accounts_frozen": "冻结账户",
             "recovered": "挽回损失"}
FIGURE_UNIT = {"arrests": "人", "penalties": "人", "cards_cancelled": "张", "accounts_frozen": "个", "recovered": "元"}
# deadline state -> (Chinese label, css class); met states mean the unit reported in this cycle
DEADLINE_ZH = {"on_track": "正常", "at_risk": "临期", "overdue": "逾期", "met": "已按时反馈", "met_late": "逾期后已反馈"}

_EVENT_COLUMNS = ("seq", "packet_id", "at", "actor", "from_status", "to_status", "outcome", *FIGURES, "note", "source")


@dataclass(frozen=True)
class Casework:
    """Every packet's unit as issued and its events in order, read once per night."""

    units: dict[str, str]
    events: dict[str, list[dict]]

    def of(self, packet_id: str) -> list[dict]:
        return self.events.get(packet_id, [])


def _open(path: Path | None) -> sqlite3.Connection | None:
    if path is None or not Path(path).is_file():
        return None
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)


def _grouped(rows: list[tuple]) -> dict[str, list[dict]]:
    events: dict[str, list[dict]] = {}
    for row in rows:
        event = dict(zip(_EVENT_COLUMNS, row))
        events.setdefault(event["packet_id"], []).append(event)
    return events


def read_casework(path: Path | None) -> Casework:
    """Read the casework store without writing to it; a missing file reads as empty."""
    con = _open(path)
    if con is None:
        return Casework(units={}, events={})
    try:
        units = dict(con.execute("SELECT packet_id, unit_code FROM packets").fetchall())
        rows = con.execute(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events ORDER BY packet_id, seq").fetchall()
    finally:
        con.close()
    return Casework(units=units, events=_grouped(rows))


class EventReader:
    """The events of a range of packets at a time, read-only: publishing reads them chunk by chunk.

    Every packet of a full build has its `issued` event: ~770k event dicts at a million leads cost the
    flow's process ~1 GB when read at once. The range is by packet id, in SQLite's binary text order,
    which is DuckDB's order of the same ids (both compare the UTF-8 bytes); `events(packet_id, seq)` is indexed.
    """

    def __init__(self, path: Path | None) -> None:
        self.con = _open(path)

    def issued(self, size: int) -> Iterator[list[tuple[str, str | None]]]:
        """Every packet ever issued with its unit as issued, in packet id order, `size` at a time (ids
        compared as UTF-8 bytes, as DuckDB does, so id ranges select the same packets in both)."""
        if self.con is None:
            return
        cursor = self.con.execute("SELECT packet_id, unit_code FROM packets ORDER BY packet_id")
        while packets := cursor.fetchmany(size):
            yield packets

    def between(self, first: str, last: str) -> dict[str, list[dict]]:
        """Every event of the packets whose id is in [first, last], per packet in order."""
        if self.con is None:
            return {}
        return _grouped(self.con.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE packet_id BETWEEN ? AND ? ORDER BY packet_id, seq",
            (first, last)).fetchall())

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def _day(at: str) -> date:
    return date.fromisoformat(str(at)[:10])


def current_cycle(events: list[dict]) -> list[dict]:
    """The events since the packet was last issued (a reopened packet starts a new cycle)."""
    starts = [i for i, e in enumerate(events) if e["to_status"] == "issued"]
    return events[starts[-1]:] if starts else events


def deadline(tier: str, events: list[dict], first_issued: date, as_of: date, settings: DeadlineSettings) -> dict:
    """The packet's feedback deadline and its state as of `as_of`.

    Only the date and the state go on the page (not "days left"), so a page is
    rendered again when the state flips, not every night.
    """
    cycle = current_cycle(events)
    issued = _day(cycle[0]["at"]) if cycle and cycle[0]["to_status"] == "issued" else first_issued
    due = issued + timedelta(days=settings.days.get(tier, settings.days["yellow"]))
    target = STAGES.index(settings.met_at)
    met = next((e for e in cycle if e["to_status"] in STAGES and STAGES.index(e["to_status"]) >= target), None)
    if met is not None:
        state = "met" if _day(met["at"]) <= due else "met_late"
    elif as_of > due:
        state = "overdue"
    elif (due - as_of).days <= settings.at_risk_days:
        state = "at_risk"
    else:
        state = "on_track"
    return {"issued": issued.isoformat(), "due": due.isoformat(), "state": state, "label": DEADLINE_ZH[state],
            "target": STAGE_ZH[settings.met_at]}


def figures_text(event: dict) -> str:
    """`抓获 3 人；冻结账户 2 个` for the figures an event carries."""
    parts = []
    for name in FIGURES:
        value = event.get(name)
        if value is None:
            continue
        number = f"{float(value):,.2f}" if name == "recovered" else f"{int(value)}"
        parts.append(f"{FIGURE_ZH[name]} {number} {FIGURE_UNIT[name]}")
    return "；".join(parts)


def history(events: list[dict]) -> list[dict]:
    """The status history a page shows, oldest first: every event, who reported it and what."""
    return [{"at": str(e["at"])[:16], "from": STAGE_ZH.get(e["from_status"] or "", "—"),
             "to": STAGE_ZH.get(e["to_status"], e["to_status"]), "actor": e["actor"] or "",
             "outcome": OUTCOME_ZH.get(e["outcome"] or "", ""), "figures": figures_text(e),
             "note": e["note"] or ""} for e in events]
