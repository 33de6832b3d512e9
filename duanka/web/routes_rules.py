"""Admin: the active rule set, drafts (edit or upload) with `rules check` and `rules diff`, activate, roll back.

Everything goes through duanka.rulestore.RuleStore: versions are immutable and
the store's log records who activated what; the audit log records it again
with the web session. The next nightly run uses the active version
(rulestore.rules_for_run). The diff preview is the only thing here that reads
the warehouse, and the store answers a busy warehouse with a message.
"""
from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from duanka.rulestore import RuleStore, RuleStoreError
from duanka.web import audit, forms
from duanka.web.core import DB, client, config, form_of, render, require, session_of
from duanka.web.sessions import Session

router = APIRouter(prefix="/admin/rules")
UPLOAD_TYPES = {"", "application/octet-stream", "text/plain", "text/yaml", "text/x-yaml", "application/yaml",
                "application/x-yaml", "text/markdown"}
NOTICES = {"activated": "新版本已启用，下一次夜间运行将使用它。", "rolledback": "已回滚，下一次夜间运行将使用该版本。"}


def _overview(request: Request, session: Session, *, error: list[str] | None = None, status: int = 200) -> Response:
    store = RuleStore(config(request).home)
    try:
        versions, active, files, history = store.versions(), store.active(), store.files(), store.history()
    except RuleStoreError as exc:
        versions, active, files, history, error = [], None, {}, [], [*(error or []), str(exc)]
    return render("rules.html.j2", session=session, status=status, versions=versions, active=active,
                  files=sorted(files), history=history[:50], error=error,
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.get("")
async def rules(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    require(session, "admin")
    return _overview(request, session)


@router.get("/edit")
async def edit(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    require(session, "admin")
    path = request.query_params.get("path", "")
    try:
        forms.rule_path(path)
    except forms.FormError as exc:
        return _overview(request, session, error=exc.problems, status=400)
    text = RuleStore(config(request).home).files().get(path, "")
    return render("rule_edit.html.j2", session=session, path=path, text=text, exists=bool(text), error=None)


async def _changes(form: dict) -> dict[str, str]:
    """The draft's one change: an edited text (path + text) or an uploaded file (file, optional target name)."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        name = (form.get("target") or "").strip() if isinstance(form.get("target"), str) else ""
        name = name or PurePosixPath(upload.filename.replace("\\", "/")).name
        forms.rule_path(name)
        kind = (upload.content_type or "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            raise forms.FormError([f"上传的文件类型 {kind} 不是文本规则文件（应为 .yaml 文本）"])
        data = await upload.read(forms.RULE_FILE_MAX + 1)
        return {name: forms.rule_text(data, f"上传文件 {name}")}
    path = form.get("path") if isinstance(form.get("path"), str) else ""
    text = form.get("text")
    if not isinstance(text, str):
        raise forms.FormError(["请选择要上传的规则文件，或在编辑框中填写规则内容"])
    return {forms.rule_path(path.strip()): forms.rule_text(text, f"规则文件 {path.strip()}")}


@router.post("/drafts")
async def new_draft(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    form = await form_of(request, session)
    user = require(session, "admin")
    try:
        changes = await _changes(form)
        draft = RuleStore(config(request).home).new_draft(changes, user.username)
    except forms.FormError as exc:
        return _overview(request, session, error=exc.problems, status=400)
    except RuleStoreError as exc:
        return _overview(request, session, error=[str(exc)], status=400)
    audit.record(con, user, "rules_draft", detail=f"草稿 {draft.id}：{'、'.join(draft.changed) or '无改动'}",
                 client=client(request))
    return RedirectResponse(f"/admin/rules/drafts/{draft.id}", status_code=303)


def _draft_page(request: Request, session: Session, draft_id: str, *, error: list[str] | None = None,
                status: int = 200) -> Response:
    store = RuleStore(config(request).home)
    try:
        draft = store.draft(draft_id)
    except RuleStoreError as exc:
        return _overview(request, session, error=[str(exc)], status=404)
    problems = store.check(draft)
    outcome = store.diff(draft) if not problems else None
    files = store.draft_files(draft)
    return render("rule_draft.html.j2", session=session, status=status, draft=draft, problems=problems,
                  outcome=outcome, changed={n: files.get(n) for n in draft.changed}, error=error)


@router.get("/drafts/{draft_id}")
async def draft(draft_id: str, request: Request, con: DB) -> Response:
    session = session_of(request, con)
    require(session, "admin")
    return _draft_page(request, session, draft_id)


@router.post("/drafts/{draft_id}/activate")
async def activate(draft_id: str, request: Request, con: DB) -> Response:
    session = session_of(request, con)
    form = await form_of(request, session)
    user = require(session, "admin")
    note = form.get("note").strip() if isinstance(form.get("note"), str) else ""
    problems = forms.note(note, "启用说明", forms.REASON_MAX)
    if problems:
        return _draft_page(request, session, draft_id, error=problems, status=400)
    store = RuleStore(config(request).home)
    try:
        version = store.activate(store.draft(draft_id), user.username, note)
    except RuleStoreError as exc:
        return _draft_page(request, session, draft_id, error=[str(exc)], status=409)
    audit.record(con, user, "rules_activate", detail=f"{version.name}（{version.digest[:12]}）：{note}",
                 client=client(request))
    return RedirectResponse("/admin/rules?done=activated", status_code=303)


@router.post("/rollback")
async def rollback(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    form = await form_of(request, session)
    user = require(session, "admin")
    name = form.get("version").strip() if isinstance(form.get("version"), str) else ""
    note = form.get("note").strip() if isinstance(form.get("note"), str) else ""
    try:
        forms.version(name)
        problems = forms.note(note, "回滚说明", forms.REASON_MAX)
        if problems:
            raise forms.FormError(problems)
        version = RuleStore(config(request).home).rollback(name, user.username, note)
    except forms.FormError as exc:
        return _overview(request, session, error=exc.problems, status=400)
    except RuleStoreError as exc:
        return _overview(request, session, error=[str(exc)], status=409)
    audit.record(con, user, "rules_rollback", detail=f"{version.name}（{version.digest[:12]}）：{note}",
                 client=client(request))
    return RedirectResponse("/admin/rules?done=rolledback", status_code=303)
