"""An investigator's queue, a packet, and what they do with it (研判, 核查, 打击, 办结, 显示完整信息).

Actions go through duanka.casework.apply, the same lifecycle check as a
feedback file row, with source "web". The packet is rendered with the packet
page's own template from the published page model, identifiers masked unless
the user reveals them for this one view (a POST with a reason, audited).
"""
from __future__ import annotations

import re
import sqlite3

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from duanka import casework
from duanka.publish.pages import render_packet
from duanka.web import audit, db, forms
from duanka.web.core import DB, NotFound, client, config, form_of, render, require, session_of
from duanka.web.masking import mask_page
from duanka.web.packets import (
    at_risk_days,
    events_of,
    find_entry,
    index_entries,
    live_page,
    load_model,
    queue,
)
from duanka.web.sessions import Session

router = APIRouter()
UNIT_ROLES = ("investigator", "leader")
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_BODY = re.compile(r"<body>(.*)</body>", re.DOTALL)
NOTICES = {"recorded": "已登记，状态已更新。"}


@router.get("/queue")
async def my_queue(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    user = require(session, *UNIT_ROLES)
    night, _ = index_entries(config(request).home)
    rows = queue(con, config(request).home, user.unit_code or "", db.now().date())
    error, chosen = None, {}
    try:
        chosen = forms.queue_filter(dict(request.query_params))
    except forms.FormError as exc:
        error = exc.problems[0]
    shown = [r for r in rows if (not chosen.get("tier") or r.tier == chosen["tier"])
             and (not chosen.get("status") or r.status == chosen["status"])
             and (not chosen.get("overdue") or r.overdue) and (not chosen.get("changed") or r.changed)]
    audit.record(con, user, "view_queue", detail=" ".join(f"{k}={v}" for k, v in chosen.items()) or None,
                 client=client(request))
    return render("queue.html.j2", session=session, status=400 if error else 200, rows=shown, total=len(rows),
                  overdue=sum(r.overdue for r in rows), night=night, chosen=chosen, error=error,
                  filters=forms.QUEUE_FILTERS)


def _packet(request: Request, con: sqlite3.Connection, session: Session, packet_id: str) -> tuple[dict, dict]:
    """The index entry and page model of a packet this user may see; 404 for anything else (audited)."""
    user = require(session, *UNIT_ROLES)
    home = config(request).home
    entry = find_entry(home, packet_id)
    if entry is not None and not user.sees_unit(entry["unit_code"]):
        audit.record(con, user, "denied", packet_id=packet_id, packet_unit=entry["unit_code"], client=client(request))
        raise NotFound()
    model = load_model(home, entry) if entry else None
    if entry is None or model is None or not user.sees_unit(model["page"].get("unit_code")):
        raise NotFound()
    return entry, model


def _allowed(con: sqlite3.Connection, packet_id: str) -> list[str]:
    """The next steps the lifecycle allows from the packet's current status (the forms shown)."""
    status, outcome = casework.current_status(con, packet_id)
    allowed = []
    for stage in forms.STAGES:
        probe = casework.Transition(packet_id=packet_id, stage=stage, actor="", at="",
                                    outcome="confirmed" if stage == "verified" else None)
        try:
            casework.check_transition(status, outcome, probe)
            allowed.append(stage)
        except casework.TransitionRefused:
            pass
    return allowed


def _show(request: Request, con: sqlite3.Connection, session: Session, entry: dict, model: dict, *,
          revealed: bool = False, error: list[str] | None = None, values: dict | None = None,
          status: int = 200) -> Response:
    packet_id = entry["packet_id"]
    page = live_page(model["page"], events_of(con, [packet_id])[packet_id], db.now().date(),
                     at_risk_days(config(request).home))
    html = render_packet(page if revealed else mask_page(page, entry), model["digest"])
    style, body = _STYLE.search(html), _BODY.search(html)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render("packet.html.j2", session=session, status=status, packet_id=packet_id, status_label=page["status_label"],
                  packet_style=Markup(style.group(1) if style else ""), packet_body=Markup(body.group(1) if body else ""),
                  revealed=revealed, allowed=_allowed(con, packet_id), error=error, values=values or {},
                  notice=notice, stage_action=forms.STAGE_ACTION, outcomes=forms.OUTCOME_ZH,
                  figures=forms.FIGURE_HELP)


@router.get("/packets/{packet_id}")
async def packet(packet_id: str, request: Request, con: DB) -> Response:
    session = session_of(request, con)
    entry, model = _packet(request, con, session, packet_id)
    audit.record(con, session.user, "view_packet", packet_id=packet_id, packet_unit=entry["unit_code"],
                 client=client(request))
    return _show(request, con, session, entry, model)


@router.post("/packets/{packet_id}/reveal")
async def reveal(packet_id: str, request: Request, con: DB) -> Response:
    session = session_of(request, con)
    form = await form_of(request, session)
    entry, model = _packet(request, con, session, packet_id)
    try:
        reason = forms.reveal_reason(form)
    except forms.FormError as exc:
        return _show(request, con, session, entry, model, error=exc.problems, status=400)
    audit.record(con, session.user, "reveal", packet_id=packet_id, packet_unit=entry["unit_code"],
                 detail=f"事由：{reason}", client=client(request))
    return _show(request, con, session, entry, model, revealed=True)


@router.post("/packets/{packet_id}/transition")
async def transition(packet_id: str, request: Request, con: DB) -> Response:
    session = session_of(request, con)
    form = await form_of(request, session)
    entry, model = _packet(request, con, session, packet_id)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        action = forms.transition(form)
    except forms.FormError as exc:
        return _show(request, con, session, entry, model, error=exc.problems, values=values, status=400)
    detail = forms.STAGE_ACTION[action.stage] + (f"（{forms.OUTCOME_ZH[action.outcome]}）" if action.outcome else "")
    detail += "".join(f" {forms.FIGURE_HELP[n]}={v}" for n, v in action.figures) + f"：{action.note}"
    try:
        casework.apply(con, casework.Transition(
            packet_id=packet_id, stage=action.stage, actor=session.user.username, at=db.stamp(),
            outcome=action.outcome, note=action.note, figures=action.figures, source="web"))
    except casework.TransitionRefused as exc:
        audit.record(con, session.user, "transition_refused", packet_id=packet_id, packet_unit=entry["unit_code"],
                     detail=f"{detail} — {exc}", client=client(request))
        return _show(request, con, session, entry, model, error=[str(exc)], values=values, status=409)
    audit.record(con, session.user, "transition", packet_id=packet_id, packet_unit=entry["unit_code"], detail=detail,
                 client=client(request))
    return RedirectResponse(f"/packets/{packet_id}?done=recorded", status_code=303)
