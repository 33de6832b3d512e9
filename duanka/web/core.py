"""What every route shares: settings, the database per request, who is asking, rendering, refusals.

Role and unit checks are made on the server for every request; a packet of
another unit and an unknown packet get the same 404, so a user learns nothing
about other units' work. Every form carries the session's CSRF token and a
POST without it is refused before anything is read or written.
"""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from duanka.publish import labels as L
from duanka.web import db
from duanka.web import sessions as S
from duanka.web.accounts import ROLE_ZH, User

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE, LOGIN_CSRF_COOKIE = "duanka_session", "duanka_login_csrf"
MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class WebConfig:
    home: Path
    session_minutes: float = 30.0
    secure_cookies: bool = False


class LoginRequired(Exception):
    """No live session: the user is sent to the login page."""


class NotFound(Exception):
    """Unknown, or not this user's to see: the same 404 either way."""


class CsrfRefused(Exception):
    """A form without the session's token (a forged or stale form)."""


class TooLarge(Exception):
    """A request body over MAX_BODY."""


def config(request: Request) -> WebConfig:
    return request.app.state.web  # type: ignore[no-any-return]


async def database(request: Request) -> AsyncIterator[sqlite3.Connection]:
    """One casework connection per request, opened and used on the event loop's thread (routes are async:
    SQLite connections stay in the thread that opened them; each query is a few milliseconds)."""
    con = db.connect(config(request).home)
    try:
        yield con
    finally:
        con.close()


DB = Annotated[sqlite3.Connection, Depends(database)]


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_of(request: Request, con: sqlite3.Connection) -> S.Session:
    found = S.lookup(con, request.cookies.get(SESSION_COOKIE), config(request).session_minutes)
    if found is None:
        raise LoginRequired()
    return found


def require(session: S.Session, *roles: str) -> User:
    """The session's user if their role is one of `roles`; otherwise a 404 (no hint that the page exists)."""
    if session.user.role not in roles:
        raise NotFound()
    return session.user


async def form_of(request: Request, session: S.Session | None = None, *, expected: str | None = None) -> dict:
    """The posted form, after the CSRF check against the session's token (or the login cookie's)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise TooLarge()
    data = await request.form(max_files=5, max_fields=60, max_part_size=MAX_BODY)
    form: dict[str, Any] = {k: data.get(k) for k in data}
    token = session.csrf if session else expected
    if not token or not S.csrf_ok(token, form.get("csrf_token")):
        raise CsrfRefused()
    return form


_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        _env.globals.update(tier_label=lambda t: L.word(L.TIER, t), status_label=lambda s: L.word(L.STATUS, s),
                            role_zh=ROLE_ZH)
    return _env


def render(name: str, *, session: S.Session | None = None, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the web app; every page gets the user (for the menu) and the CSRF token (for its forms)."""
    html = environment().get_template(name).render(
        user=session.user if session else None, csrf=session.csrf if session else "", **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def message(title: str, text: str, status: int, session: S.Session | None = None) -> HTMLResponse:
    return render("message.html.j2", session=session, status=status, title=title, text=text)
