"""The home folder: where a run keeps its state, and the lock that keeps runs apart.

DuckDB allows one writing process; a second nightly run started by mistake must
fail at once with a message a person understands, not wait or corrupt state.
The lock is an advisory `flock` on `HOME/run.lock`, released by the kernel when
the process dies, so a `kill -9` never leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self


class HomeError(Exception):
    """The home cannot be used (not writable, or another run holds it)."""


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def casework(self) -> Path:
        return self.root / "casework.sqlite"

    @property
    def packets(self) -> Path:
        return self.root / "packets"

    def packets_day(self, as_of: str) -> Path:
        return self.packets / as_of

    def runs_day(self, as_of: str) -> Path:
        return self.root / "runs" / as_of

    @property
    def units_override(self) -> Path:
        return self.root / "reference" / "units.csv"

    def ensure(self) -> None:
        """Create the home if needed and prove it is writable, before any work starts."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-probe"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            raise HomeError(f"无法写入工作目录 {self.root}: {exc.strerror or exc}") from None


class RunLock:
    """One run at a time per home. Use as a context manager."""

    def __init__(self, home: Home):
        self.path = home.root / "run.lock"
        self._handle: IO[str] | None = None

    def __enter__(self) -> Self:
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise HomeError(
                f"另一个 duanka 运行正在使用 {self.path.parent} (进程 {holder})。"
                "请等它结束后再运行。Another run holds this home."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
