"""`create_app(home)`: the investigator and admin web app (FastAPI, server-rendered Jinja2, no script).

Reads the published packets and the casework store only, so it works while
the nightly run holds the warehouse (the rules diff preview alone asks the
rule store, which reports a busy warehouse as a message). A user never sees a
stack trace: every error becomes a Chinese page, and the trace goes to the log.
"""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from duanka.web import db
from duanka.web.core import (
    MAX_BODY,
    SESSION_COOKIE,
    STATIC,
    CsrfRefused,
    LoginRequired,
    NotFound,
    TooLarge,
    WebConfig,
    config,
    message,
)
from duanka.web.sessions import lookup

log = logging.getLogger("duanka.web")

# No script runs anywhere in the app; inline styles only because the packet page carries its own stylesheet.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATUS_TEXT = {400: ("请求无效", "提交的内容不完整或格式不正确，请返回后重试。"),
               403: ("无权操作", "没有权限执行此操作。"),
               404: ("页面不存在", "找不到该页面或线索包，或您无权查看。"),
               405: ("操作无效", "不支持这种访问方式，请从页面上的按钮或链接进入。"),
               413: ("内容太大", f"提交的内容超过 {MAX_BODY // 1024 // 1024} MB 上限。"),
               429: ("请求过于频繁", "请稍后再试。")}


def _page(request: Request, status: int, title: str | None = None, text: str | None = None) -> Response:
    """An error page in Chinese, with the menu when the visitor is logged in (never failing itself)."""
    session = None
    try:
        con = db.connect(config(request).home)
        try:
            session = lookup(con, request.cookies.get(SESSION_COOKIE), config(request).session_minutes)
        finally:
            con.close()
    except Exception:
        log.exception("error page: session lookup failed")
    default_title, default_text = STATUS_TEXT.get(status, ("请求未完成", "请求未能完成，请返回后重试。"))
    return _with_headers(message(title or default_title, text or default_text, status, session))


def _with_headers(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return _with_headers(RedirectResponse("/login", status_code=303))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _page(request, 404)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return _page(request, 403, "表单已失效", "安全校验未通过（表单已过期或来源不明），请返回、刷新页面后重试。")

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> Response:
        return _page(request, 413)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _page(request, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _page(request, exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("web request failed: %s %s", request.method, request.url.path)
        return _page(request, 500, "系统内部错误", "处理请求时发生错误，已记录在服务器日志中。请稍后重试或联系管理员。")


def create_app(home: Path, *, session_minutes: float = 30.0, secure_cookies: bool = False) -> FastAPI:
    """The web app over HOME: investigators' queue and packets, leaders' metrics, admins' rules and audit."""
    from duanka.web import routes_admin, routes_auth, routes_packets, routes_rules

    home = Path(home)
    db.connect(home).close()  # the tables exist before the first request
    app = FastAPI(title="断卡线索包工作台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebConfig(home=home, session_minutes=session_minutes, secure_cookies=secure_cookies)

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return _page(request, 413)
        return _with_headers(await call_next(request))

    _install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (routes_auth, routes_packets, routes_admin, routes_rules):
        app.include_router(module.router)
    return app
