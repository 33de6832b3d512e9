"""The web app's own tables, kept in the casework store (HOME/casework.sqlite).

Users, sessions, login failures and the audit log live beside the lifecycle
events: SQLite in WAL mode takes the web app's many small writes while the
nightly run holds the DuckDB warehouse, which the web app never opens.
All SQL on these tables is in this package (accounts, sessions, audit); the
lifecycle tables belong to duanka.casework.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from duanka import casework

TZ = ZoneInfo("Asia/Shanghai")

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('investigator', 'leader', 'admin')),
    unit_code TEXT, password TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(username);
CREATE TABLE IF NOT EXISTS web_login_failures (key TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS web_login_failures_key ON web_login_failures(key, at);
CREATE TABLE IF NOT EXISTS web_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT,
    actor_unit TEXT, action TEXT NOT NULL, packet_id TEXT, packet_unit TEXT, detail TEXT, client TEXT);
CREATE INDEX IF NOT EXISTS web_audit_at ON web_audit(at);
"""


def now() -> datetime:
    """Beijing time without microseconds: what every row of these tables stores, as text."""
    return datetime.now(TZ).replace(microsecond=0, tzinfo=None)


def stamp(moment: datetime | None = None) -> str:
    return (moment or now()).isoformat(sep=" ")


def ago(minutes: float) -> str:
    return stamp(now() - timedelta(minutes=minutes))


def connect(home: Path) -> sqlite3.Connection:
    """Open HOME/casework.sqlite (creating it and every table if needed) in autocommit mode."""
    con = casework.connect(Path(home) / "casework.sqlite")
    con.executescript(SCHEMA)
    return con
