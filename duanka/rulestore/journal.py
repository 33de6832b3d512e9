"""The active pointer, the append-only history, and the lock that keeps two admins apart.

`HOME/rulesets/log.jsonl` gets one JSON line per activation or rollback (at, actor,
action, version, digest, note, previous); it is the record of who made which rules
live, and it is never rewritten. `HOME/rulesets/ACTIVE` names the version in force
and is replaced atomically (write a temporary file, fsync, os.replace), so a
nightly run reading it sees the old name or the new one, never half of one.

Order of an activation: the version folder is complete (renamed into place), then
the log line is written and synced (the commit point), then ACTIVE is replaced.
The store reads the version in force from the log's last complete line, so a kill
between the last two steps is already the new version for every reader; ACTIVE,
the mirror people and other tools look at, is brought up to date by the next
activation or rollback (`repair`). A line torn by a kill mid-write never counts.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path
from typing import IO, Self

from duanka.rulestore.errors import RuleStoreError

VERSION_NAME = re.compile(r"^v\d{4,}$")
LOCK_WAIT_SECONDS = 30.0


class JournalError(RuleStoreError):
    """The history or the pointer cannot be used; one Chinese line."""


class StoreLock:
    """An exclusive `flock` on HOME/rulesets/.lock, waited for (an activation takes a second or two)."""

    def __init__(self, root: Path, wait: float = LOCK_WAIT_SECONDS):
        self.path = Path(root) / ".lock"
        self.wait = wait
        self._handle: IO[str] | None = None

    def __enter__(self) -> Self:
        handle = open(self.path, "a+", encoding="utf-8")
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise JournalError("另一位管理员正在激活或回退规则版本，请稍后再试") from None
                time.sleep(0.05)
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def read_log(path: Path) -> list[dict]:
    """Every complete entry, oldest first; a line torn by a kill mid-write is not an entry."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and VERSION_NAME.match(str(entry.get("version", ""))):
            entries.append(entry)
    return entries


def append_log(path: Path, entry: dict) -> None:
    """One line, synced to disk; starts a fresh line if a torn one was left behind."""
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_active(path: Path) -> str | None:
    """The version named by ACTIVE, None when nothing was activated yet."""
    try:
        name = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(f"无法读取 {path}: {exc.strerror or exc}") from None
    if not VERSION_NAME.match(name):
        raise JournalError(f"{path}: 内容不是规则版本名（应形如 v0001，实为 {name[:40]!r}）")
    return name


def active_name(log_path: Path, active_path: Path) -> str | None:
    """The version in force: the last complete log entry; ACTIVE only where there is no log."""
    entries = read_log(log_path)
    return entries[-1]["version"] if entries else read_active(active_path)


def write_active(path: Path, name: str) -> None:
    """Replace ACTIVE atomically."""
    temp = path.with_name(f".ACTIVE.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def repair(log_path: Path, active_path: Path) -> None:
    """Finish an activation killed after its log line: ACTIVE follows the last entry. Call under the lock."""
    entries = read_log(log_path)
    try:
        current = read_active(active_path)
    except JournalError:
        current = None  # a damaged mirror is simply rewritten
    if entries and current != entries[-1]["version"]:
        write_active(active_path, entries[-1]["version"])
