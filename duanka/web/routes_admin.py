"""The dashboard (an admin sees every unit, a unit leader only their own) and the audit log (admins).

The dashboard is the night's metrics.json rendered with the published
dashboard's own template, so the web and the file show the same figures.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from duanka.metrics.compute import summarise
from duanka.metrics.dashboard import render_dashboard
from duanka.web import audit, forms
from duanka.web.accounts import User
from duanka.web.core import DB, client, config, render, require, session_of
from duanka.web.packets import NIGHT

router = APIRouter()
_BODY = re.compile(r"<body>(.*)</body>", re.DOTALL)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_FILE_LINKS = re.compile(r'<p class="noprint">.*?</p>', re.DOTALL)  # links between published files, not web pages


def latest_metrics(home: Path) -> dict | None:
    runs = Path(home) / "runs"
    nights = sorted(p.name for p in runs.iterdir() if NIGHT.match(p.name) and (p / "metrics.json").is_file()) \
        if runs.is_dir() else []
    return json.loads((runs / nights[-1] / "metrics.json").read_text(encoding="utf-8")) if nights else None


def for_user(metrics: dict, user: User) -> dict:
    """What `user` may see: all of it for an admin; a leader's own unit, as its own totals, without rules."""
    if user.role == "admin":
        return metrics
    mine = [u for u in metrics["units"] if u["unit_code"] == user.unit_code]
    totals = {k: v for k, v in mine[0].items() if k not in ("unit_code", "unit_name", "overdue_packets")} \
        if mine else summarise([])
    return {**metrics, "units": mine, "totals": totals, "rules": []}


@router.get("/dashboard")
async def dashboard(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    user = require(session, "leader", "admin")
    metrics = latest_metrics(config(request).home)
    audit.record(con, user, "view_dashboard", client=client(request))
    if metrics is None:
        return render("dashboard.html.j2", session=session, body=None, style="", as_of=None)
    html = render_dashboard(for_user(metrics, user))
    body, style = _BODY.search(html), _STYLE.search(html)
    return render("dashboard.html.j2", session=session, as_of=metrics["as_of"],
                  body=Markup(_FILE_LINKS.sub("", body.group(1), count=1)) if body else None,
                  style=Markup(style.group(1)) if style else "")


@router.get("/admin/audit")
async def audit_log(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    user = require(session, "admin")
    error = None
    try:
        chosen = forms.audit_filter(dict(request.query_params), audit.ACTION_ZH)
    except forms.FormError as exc:
        error, chosen = exc.problems[0], forms.AuditFilter()
    audit.record(con, user, "view_audit", client=client(request))
    entries = audit.search(con, actor=chosen.actor, action=chosen.action, packet_id=chosen.packet_id, day=chosen.day)
    return render("audit.html.j2", session=session, status=400 if error else 200, entries=entries, chosen=chosen,
                  actions=audit.ACTION_ZH, error=error, limit=audit.PAGE_SIZE)
