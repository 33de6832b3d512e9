"""The web app in a real browser: Debian's Chromium driven by Playwright, offline.

One scenario: an investigator opens the queue, opens a packet and records a
verification, sees the status change; an investigator of another unit cannot
open that packet; an admin finds both in the audit log. Every request not to
the local server is blocked and fails the test. Screenshots are kept as
artefacts (DUANKA_ARTIFACTS, default tests/artifacts/web/).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import uvicorn
from playwright.sync_api import Page, Route, sync_playwright
from test_web_http import PASSWORD, UNIT_A, UNIT_B, build_home

from duanka.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("DUANKA_ARTIFACTS") or Path(__file__).parent / "artifacts") / "web"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    """uvicorn on 127.0.0.1 and a free port, in a thread, over a freshly published home."""
    build_home(tmp_path)
    port = _free_port()
    config = uvicorn.Config(create_app(tmp_path), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")


def _logout(page: Page) -> None:
    page.click("button:has-text('退出')")
    page.wait_for_url("**/login")


def test_investigator_verifies_other_unit_is_refused_admin_audits(server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            context.route("**/*", only_local)
            page = context.new_page()

            # 1. an investigator of unit A logs in and opens the queue
            _login(page, server, "inv_a")
            page.wait_for_url("**/queue")
            assert page.locator("tr[data-packet]").count() == 2
            assert page.locator("tr[data-packet=PK-A] td.status").inner_text() == "已下发"
            assert page.evaluate("getComputedStyle(document.querySelector('header.bar')).display") == "flex", \
                "the local stylesheet loaded"
            page.screenshot(path=str(ARTIFACTS / "01-queue.png"), full_page=True)

            # 2. opens a packet and records a verification
            page.click("a:has-text('PK-A')")
            page.wait_for_url("**/packets/PK-A")
            assert page.locator("#status").inner_text() == "已下发"
            assert page.locator("article.packet svg").count() == 1 and "研判依据" in page.content()
            page.screenshot(path=str(ARTIFACTS / "02-packet.png"), full_page=True)
            form = page.locator("#form-verified")
            form.locator("select[name=outcome]").select_option("confirmed")
            form.locator("input[name=note]").fill("实地走访核实，情况属实")
            form.locator("button[type=submit]").click()

            # 3. sees the status change, on the packet and in the queue
            page.wait_for_url("**/packets/PK-A?done=recorded")
            assert page.locator("#status").inner_text() == "已核查"
            assert "已登记，状态已更新" in page.locator("p.notice").inner_text()
            assert "实地走访核实" in page.content()
            page.screenshot(path=str(ARTIFACTS / "03-verified.png"), full_page=True)
            page.click("a:has-text('我的队列')")
            assert page.locator("tr[data-packet=PK-A] td.status").inner_text() == "已核查"
            _logout(page)

            # 4. an investigator of unit B cannot open that packet
            _login(page, server, "inv_b")
            page.wait_for_url("**/queue")
            assert page.locator("tr[data-packet=PK-A]").count() == 0
            response = page.goto(f"{server}/packets/PK-A")
            assert response is not None and response.status == 404
            assert "页面不存在" in page.content() and "实地走访核实" not in page.content()
            page.screenshot(path=str(ARTIFACTS / "04-other-unit-404.png"), full_page=True)
            _logout(page)

            # 5. an admin finds both in the audit log
            _login(page, server, "admin")
            page.wait_for_url("**/admin/audit")
            page.fill("input[name=packet_id]", "PK-A")
            page.click("button:has-text('筛选')")
            page.wait_for_url("**/admin/audit?*")
            rows = page.locator("tr[data-action]")
            seen = [(rows.nth(i).get_attribute("data-action"), rows.nth(i).locator("td").nth(1).inner_text(),
                     rows.nth(i).locator("td").nth(5).inner_text()) for i in range(rows.count())]
            assert ("transition", "inv_a", UNIT_A) in seen
            assert ("denied", "inv_b", UNIT_A) in seen
            assert "实地走访核实" in page.content()
            page.screenshot(path=str(ARTIFACTS / "05-audit.png"), full_page=True)
        finally:
            browser.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert UNIT_B  # the other unit's investigator exists in the fixture (test_web_http.USERS)
