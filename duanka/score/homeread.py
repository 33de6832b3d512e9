"""Read a home's warehouse without changing it, for `rules diff` and `rules backtest`.

The warehouse is opened read-only and all work happens in TEMP tables, so the
last run's scores stay exactly as published. DuckDB lets one process hold the
file: while the nightly run writes it, no other process may open it, not even
read-only. Then the admin is told so in plain words and tries again later.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from duanka.home import Home
from duanka.warehouse import connect

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_UNITS = PROJECT_ROOT / "data" / "reference" / "units.csv"


class HomeUnavailable(Exception):
    """The home's warehouse cannot be read; `busy` when another process (the nightly run) holds it."""

    def __init__(self, message: str, busy: bool = False):
        self.busy = busy
        super().__init__(message)


def open_warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    """HOME/warehouse.duckdb, read-only; HomeUnavailable with a message a person understands."""
    path = Home(Path(home)).warehouse
    if not path.exists():
        raise HomeUnavailable(f"{path}: 仓库不存在（该目录还没有运行过 duanka run）")
    try:
        return connect(path, read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        busy = "lock" in text.lower()
        if busy:
            raise HomeUnavailable(f"{path}: 夜间运行正在使用仓库（DuckDB 只允许一个进程打开，只读也不行），"
                                  f"请在运行结束后再试。", busy=True) from None
        raise HomeUnavailable(f"{path}: 无法读取仓库: {text.splitlines()[0]}") from None


def last_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The as-of date of the last run that loaded or linked anything (today when the home is empty)."""
    row = con.execute("""SELECT greatest((SELECT max(as_of) FROM ingest_files),
                                         (SELECT max(last_changed_as_of) FROM packet_registry))""").fetchone()
    return row[0] if row and row[0] else date.today()


def units_path(home: Path) -> Path:
    """The home's own units.csv when it has one, else the bundled reference (as the nightly run does)."""
    override = Home(Path(home)).units_override
    return override if override.exists() else DEFAULT_UNITS
