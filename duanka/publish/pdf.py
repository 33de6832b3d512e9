"""PDF copies of packet pages, printed by headless Chromium from the same HTML the unit opens.

One browser prints every page of a night through the DevTools protocol over
a pipe (`--remote-debugging-pipe`: no port, no network, no websocket), because
starting Chromium once per page costs ~1.4 s and a night has hundreds of
pages; reusing one tab costs a fraction of that. Chinese glyphs need a CJK
font installed on the machine (Debian `fonts-noto-cjk`, `fonts-wqy-microhei`);
nothing is downloaded at run time. The flags turn off everything that would
reach for the network (component updates, background networking).
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from duanka.publish.files import write_atomic

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         "--disable-sync", "--mute-audio", "--remote-debugging-pipe")


class PdfUnavailable(RuntimeError):
    """PDFs cannot be printed here (no browser, or it failed); the message says why, in Chinese."""


def _high(fd: int) -> int:
    """Move `fd` to a number >= 10, clear of the 3 and 4 the browser expects."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def find_browser() -> str | None:
    """The first Chromium-like browser on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class PdfPrinter:
    """A headless Chromium driven over its DevTools pipe; use as a context manager, call `print_page`."""

    def __init__(self, browser: str | None = None, timeout: float = 60.0) -> None:
        self.browser = browser or find_browser()
        if not self.browser:
            raise PdfUnavailable("未找到 chromium，无法生成 PDF（请安装 Debian 软件包 chromium 与 fonts-noto-cjk）")
        self.timeout = timeout
        self.next_id = 0
        self.buffer = b""
        self.profile = tempfile.mkdtemp(prefix="duanka-chromium-")

    def __enter__(self) -> Self:
        to_child_r, self.to_child = (_high(fd) for fd in os.pipe())
        self.from_child, from_child_w = (_high(fd) for fd in os.pipe())
        # The browser reads commands on fd 3 and writes replies on fd 4; bash puts our pipe ends there
        # (no preexec_fn: the nightly run has threads, and preexec_fn is unsafe with threads). Our ends
        # sit at fd >= 10 first, so that moving one onto 3 or 4 never overwrites the other.
        command = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w} {to_child_r}<&- {from_child_w}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", command, self.browser, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        try:
            target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self._call("Page.enable", {}, self.session)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _send(self, method: str, params: dict, session: str | None) -> int:
        self.next_id += 1
        message: dict = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_child, json.dumps(message).encode("utf-8") + b"\0")
        return self.next_id

    def _next_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                raise PdfUnavailable(f"chromium 在 {self.timeout:g} 秒内未完成打印")
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise PdfUnavailable("chromium 意外退出，无法生成 PDF")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)

    def _wait(self, matches, deadline: float) -> dict:  # type: ignore[no-untyped-def]
        while True:
            message = self._next_message(deadline)
            if matches(message):
                return message

    def _call(self, method: str, params: dict, session: str | None = None) -> dict:
        wanted = self._send(method, params, session)
        reply = self._wait(lambda m: m.get("id") == wanted, time.monotonic() + self.timeout)
        if "error" in reply:
            raise PdfUnavailable(f"chromium 拒绝 {method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def print_page(self, html: Path, pdf: Path) -> None:
        """Open `html` from file:// and write its A4 print (the page's own @page and print CSS) to `pdf`."""
        deadline = time.monotonic() + self.timeout
        self._send("Page.navigate", {"url": Path(html).resolve().as_uri()}, self.session)
        self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == self.session,
                   deadline)
        result = self._call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                                "displayHeaderFooter": False}, self.session)
        write_atomic(Path(pdf), base64.b64decode(result["data"]))


def print_pages(pairs: list[tuple[Path, Path]], timeout: float = 60.0, browser: str | None = None) -> int:
    """Print every (html, pdf) pair with one browser; returns how many PDFs were written."""
    if not pairs:
        return 0
    with PdfPrinter(browser, timeout) as printer:
        for html, pdf in pairs:
            printer.print_page(html, pdf)
    return len(pairs)
