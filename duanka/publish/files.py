"""Atomic publishing: a reader sees last night's files or tonight's, never half of either.

Everything is written under HOME first (same file system, so a rename is
atomic) and renamed into place with `os.replace`. Temporary names start with
`.publish-` so that leftovers of a killed run are recognisable and swept.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

TEMP_PREFIX = ".publish-"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary name beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
    try:
        temp.write_bytes(data)
        _fsync_file(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def new_staging_dir(home: Path) -> Path:
    """A fresh folder under HOME to render a day's files into before they go live."""
    home.mkdir(parents=True, exist_ok=True)
    staging = home / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    staging.mkdir()
    return staging


def swap_into_place(staging: Path, target: Path) -> None:
    """Make `staging` become `target`, replacing an earlier `target` (a rerun of the same night).

    POSIX cannot rename a folder over a non-empty one, so an earlier folder is
    first renamed aside, then the new one renamed in, then the old one deleted.
    If the second rename fails the old folder is put back, so the day is never lost.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for f in staging.iterdir():
        if f.is_file():
            _fsync_file(f)
    if not target.exists():
        os.replace(staging, target)
        return
    aside = target.parent / f"{TEMP_PREFIX}old-{secrets.token_hex(6)}-{target.name}"
    os.replace(target, aside)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def sweep_leftovers(*folders: Path) -> int:
    """Remove temporary files and folders a killed run left in `folders`; returns how many were removed."""
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if not entry.name.startswith(TEMP_PREFIX):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed
