"""What the web app knows about packets: the newest published night, page models, live status.

The web app reads only what a night published (HOME/packets/<night>/index.json
and the page model JSON beside each packet page) and the casework store; it
never opens the warehouse, so it keeps working while the nightly run holds it.
Status, history and deadline are derived from the casework events at request
time, so an action shows at once, not after the next night.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from duanka.casework import FIGURES
from duanka.publish import labels as L
from duanka.publish import lifecycle
from duanka.publish.model import timeline_rows
from duanka.publish.pages import model_name
from duanka.publish.settings import TIERS, DeadlineSettings

NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PACKET_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
EVENT_COLUMNS = ("seq", "packet_id", "at", "actor", "from_status", "to_status", "outcome", *FIGURES, "note", "source")
TARGET_STAGE = {label: stage for stage, label in lifecycle.STAGE_ZH.items()}


@dataclass(frozen=True)
class QueueRow:
    packet_id: str
    priority: float
    tier: str
    unit_code: str
    changed: bool
    status: str
    deadline: dict | None

    @property
    def overdue(self) -> bool:
        return bool(self.deadline) and self.deadline["state"] == "overdue" and self.status != "closed"


def latest_night(home: Path) -> str | None:
    """The newest HOME/packets/<YYYY-MM-DD>/ folder that holds an index.json."""
    folder = Path(home) / "packets"
    nights = sorted(p.name for p in folder.iterdir() if NIGHT.match(p.name) and (p / "index.json").is_file()) \
        if folder.is_dir() else []
    return nights[-1] if nights else None


@lru_cache(maxsize=8)
def _index(path: str, mtime_ns: int) -> tuple[dict, ...]:
    return tuple(json.loads(Path(path).read_text(encoding="utf-8")))


def index_entries(home: Path) -> tuple[str | None, tuple[dict, ...]]:
    """(night, entries of its index.json); a home that has published nothing yet reads as empty."""
    night = latest_night(home)
    if night is None:
        return None, ()
    path = Path(home) / "packets" / night / "index.json"
    return night, _index(str(path), path.stat().st_mtime_ns)


def find_entry(home: Path, packet_id: str) -> dict | None:
    if not PACKET_ID.match(packet_id or ""):
        return None
    return next((e for e in index_entries(home)[1] if e["packet_id"] == packet_id), None)


@lru_cache(maxsize=512)
def _model(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_model(home: Path, entry: dict) -> dict | None:
    """{"digest", "page"} of the packet's published page model, or None when the night wrote none."""
    html = str(entry.get("html") or "")
    path = (Path(home) / model_name(html)).resolve()
    pages = (Path(home) / "packets" / "pages").resolve()
    if not html or pages not in path.parents or not path.is_file():
        return None
    return _model(str(path), path.stat().st_mtime_ns)


def events_of(con: sqlite3.Connection, packet_ids: list[str]) -> dict[str, list[dict]]:
    """Each packet's casework events in order (read in chunks: SQLite bounds the number of parameters)."""
    out: dict[str, list[dict]] = {pid: [] for pid in packet_ids}
    for start in range(0, len(packet_ids), 500):
        chunk = packet_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = con.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE packet_id IN ({marks}) "
                           "ORDER BY packet_id, seq", chunk).fetchall()
        for row in rows:
            event = dict(zip(EVENT_COLUMNS, row))
            out[event["packet_id"]].append(event)
    return out


def at_risk_days(home: Path) -> int:
    """`deadlines.at_risk_days` of the rule set in force (publish/publish.yaml); the default if unreadable."""
    from duanka.publish.settings import load_publish_settings, settings_path
    from duanka.rulestore import RuleStore

    try:
        return load_publish_settings(settings_path(RuleStore(home).active_dir())).deadlines.at_risk_days
    except Exception:  # noqa: BLE001 - a broken settings file is the night's to report; the page uses the default
        return DeadlineSettings().at_risk_days


def live_deadline(published: dict | None, tier: str, events: list[dict], today: date,
                  at_risk: int = DeadlineSettings().at_risk_days) -> dict | None:
    """The deadline the night published, its state recomputed for today from the live events.

    Same rule as publishing (duanka.publish.lifecycle.deadline): the period the night used
    (due - issued) and the stage that meets it (its `target`) come from the published deadline.
    """
    if not published:
        return None
    issued, due = date.fromisoformat(published["issued"]), date.fromisoformat(published["due"])
    days = max(1, (due - issued).days)
    settings = DeadlineSettings(days={t: days for t in TIERS}, at_risk_days=at_risk,
                                met_at=TARGET_STAGE.get(published.get("target", ""), "verified"))
    return lifecycle.deadline(tier, events, issued, today, settings)


def queue(con: sqlite3.Connection, home: Path, unit_code: str, today: date) -> list[QueueRow]:
    """The unit's packets of the newest night, live status and deadline, by priority then deadline."""
    _, entries = index_entries(home)
    mine = [e for e in entries if e["unit_code"] == unit_code]
    events = events_of(con, [e["packet_id"] for e in mine])
    at_risk = at_risk_days(home)
    rows = []
    for e in mine:
        model = load_model(home, e)
        published = (model or {}).get("page", {}).get("deadline")
        evs = events[e["packet_id"]]
        rows.append(QueueRow(packet_id=e["packet_id"], priority=float(e["priority"]), tier=e["tier"],
                             unit_code=e["unit_code"], changed=bool(e["changed"]),
                             status=evs[-1]["to_status"] if evs else e["status"],
                             deadline=live_deadline(published, e["tier"], evs, today, at_risk)))
    return sorted(rows, key=lambda r: (-r.priority, r.deadline["due"] if r.deadline else "9999", r.packet_id))


def live_page(page: dict, events: list[dict], today: date, at_risk: int = DeadlineSettings().at_risk_days) -> dict:
    """The page model with what casework knows now: status, history, deadline and the timeline's status events."""
    live = dict(page)
    if events:
        live["status"] = events[-1]["to_status"]
        live["status_label"] = L.word(L.STATUS, live["status"])
    history = lifecycle.history(events)
    live["history"] = history
    live["deadline"] = live_deadline(page.get("deadline"), page["tier"], events, today, at_risk)
    handled = timeline_rows([], [], [], history)  # the same words the night writes for a status event
    others = [t for t in page.get("timeline", []) if t["event"] != "处置"]
    live["timeline"] = sorted(handled + others, key=lambda t: t["date"])
    return live
