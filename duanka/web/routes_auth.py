"""Login, logout and the start page.

The login form has its own CSRF token (a cookie and a hidden field that must
match), since there is no session yet. Five failures in 15 minutes for a name
or from an address lock further attempts out (429), whatever the password.
"""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from duanka.web import audit, forms
from duanka.web import sessions as S
from duanka.web.accounts import authenticate
from duanka.web.core import (
    DB,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    client,
    config,
    form_of,
    render,
    session_of,
)

router = APIRouter()


def _login_page(request: Request, status: int = 200, error: str | None = None, username: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render("login.html.j2", status=status, login_csrf=token, error=error, username=username)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=config(request).secure_cookies, path="/login")
    return response


def _start_page(role: str) -> str:
    return "/admin/audit" if role == "admin" else "/queue"


@router.get("/")
async def start(request: Request, con: DB) -> Response:
    try:
        session = session_of(request, con)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_start_page(session.user.role), status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request, con: DB) -> Response:
    form = await form_of(request, expected=request.cookies.get(LOGIN_CSRF_COOKIE))
    try:
        username, password = forms.login(form)
    except forms.FormError as exc:
        return _login_page(request, 400, exc.problems[0])
    address = client(request)
    if S.throttled(con, username, address):
        audit.record(con, username, "login_throttled", client=address)
        return render("message.html.j2", status=429, title="登录尝试过多",
                      text=f"登录失败次数过多，请 {S.FAILURE_WINDOW_MINUTES} 分钟后再试，或联系管理员。")
    user = authenticate(con, username, password)
    if user is None:
        S.record_failure(con, username, address)
        audit.record(con, username, "login_failed", client=address)
        return _login_page(request, 401, "用户名或密码错误，或账号已停用", username)
    S.clear_failures(con, username)
    token, _ = S.start(con, user, config(request).session_minutes)
    audit.record(con, user, "login", client=address)
    response = RedirectResponse(_start_page(user.role), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=config(request).secure_cookies,
                        path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, con: DB) -> Response:
    session = session_of(request, con)
    await form_of(request, session)
    S.end(con, session)
    audit.record(con, session.user, "logout", client=client(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
