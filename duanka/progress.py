"""Progress lines for long work: on the terminal and in the Prefect run log.

The nightly run is unattended, but when someone watches it (or reads the log
the next morning) each stage says what it is doing, how far it is, and how
long it has taken. Identifiers never appear here: messages carry counts and
file names only.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

_log = logging.getLogger("duanka")


def _prefect_logger() -> logging.Logger | logging.LoggerAdapter | None:
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger
    except ImportError:  # pragma: no cover - prefect is a dependency
        return None
    try:
        return get_run_logger()
    except MissingContextError:
        return None


class Progress:
    """Reports `[stage] done/total detail (elapsed)` lines; also appends them to a run log file."""

    def __init__(self, log_file: Path | None = None, stream=sys.stderr, quiet: bool = False):
        self.started = time.monotonic()
        self.stage_started = self.started
        self.stage = ""
        self.log_file = log_file
        self.stream = stream
        self.quiet = quiet

    def begin(self, stage: str, detail: str = "") -> None:
        self.stage = stage
        self.stage_started = time.monotonic()
        self._emit(f"[{stage}] 开始 {detail}".rstrip())

    def step(self, done: int, total: int, detail: str = "", stage: str | None = None) -> None:
        """`stage` names a stage that runs alongside the current one (files read while others load)."""
        elapsed = time.monotonic() - self.stage_started
        self._emit(f"[{stage or self.stage}] {done}/{total} {detail} ({elapsed:.1f}s)")

    def end(self, detail: str = "") -> float:
        elapsed = time.monotonic() - self.stage_started
        self._emit(f"[{self.stage}] 完成 {detail} ({elapsed:.1f}s)")
        return elapsed

    def _emit(self, line: str) -> None:
        logger = _prefect_logger()
        if logger is not None:
            logger.info(line)
        else:
            _log.info(line)
        if not self.quiet and logger is None:
            print(line, file=self.stream, flush=True)
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
