"""Server-side sessions and the login rate limit.

The browser holds only a random token (HttpOnly, SameSite=Strict cookie); the
server keeps its SHA-256, the user, the CSRF token and the expiry, so logging
out, disabling a user or changing a password ends a session at once. A
session expires after `idle_minutes` without a request, and in any case
`MAX_HOURS` after login.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from duanka.web.accounts import User, get_user
from duanka.web.db import ago, now, stamp

MAX_HOURS = 12
FAILURE_LIMIT, FAILURE_WINDOW_MINUTES = 5, 15


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: User
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start(con: sqlite3.Connection, user: User, idle_minutes: float) -> tuple[str, Session]:
    """A new session for `user`: returns the cookie token (never stored) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = now()
    expires = min(moment + timedelta(minutes=idle_minutes), moment + timedelta(hours=MAX_HOURS))
    con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(token), user.username, csrf, stamp(moment), stamp(moment), stamp(expires)))
    return token, Session(_hash(token), user, csrf)


def lookup(con: sqlite3.Connection, token: str | None, idle_minutes: float) -> Session | None:
    """The live session of a cookie token, its expiry pushed forward; None when unknown, expired or disabled."""
    if not token or len(token) > 200:
        return None
    row = con.execute("SELECT token_hash, username, csrf, created_at, expires_at FROM web_sessions "
                      "WHERE token_hash = ?", (_hash(token),)).fetchone()
    if row is None:
        return None
    moment = now()
    if datetime.fromisoformat(row[4]) <= moment:
        con.execute("DELETE FROM web_sessions WHERE token_hash = ?", (row[0],))
        return None
    user = get_user(con, row[1])
    if user is None or user.disabled:
        return None
    cap = datetime.fromisoformat(row[3]) + timedelta(hours=MAX_HOURS)
    expires = min(moment + timedelta(minutes=idle_minutes), cap)
    con.execute("UPDATE web_sessions SET last_seen = ?, expires_at = ? WHERE token_hash = ?",
                (stamp(moment), stamp(expires), row[0]))
    return Session(row[0], user, row[2])


def end(con: sqlite3.Connection, session: Session) -> None:
    con.execute("DELETE FROM web_sessions WHERE token_hash = ?", (session.token_hash,))


def csrf_ok(session_token: str, submitted: object) -> bool:
    return isinstance(submitted, str) and secrets.compare_digest(session_token.encode(), submitted.encode())


def _keys(username: str, client: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()[:64]}", f"addr:{client}"


def throttled(con: sqlite3.Connection, username: str, client: str) -> bool:
    """Too many failed logins lately for this name or from this address (5 in 15 minutes)."""
    since = ago(FAILURE_WINDOW_MINUTES)
    for key in _keys(username, client):
        (count,) = con.execute("SELECT count(*) FROM web_login_failures WHERE key = ? AND at > ?",
                               (key, since)).fetchone()
        if count >= FAILURE_LIMIT:
            return True
    return False


def record_failure(con: sqlite3.Connection, username: str, client: str) -> None:
    at = stamp()
    con.executemany("INSERT INTO web_login_failures VALUES (?, ?)", [(k, at) for k in _keys(username, client)])
    con.execute("DELETE FROM web_login_failures WHERE at <= ?", (ago(24 * 60),))


def clear_failures(con: sqlite3.Connection, username: str) -> None:
    con.execute("DELETE FROM web_login_failures WHERE key = ?", (_keys(username, "")[0],))
