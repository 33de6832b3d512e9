"""One place that runs the linking SQL.

The SQL text is built by pure functions (`edges.py`, `hubs.py`, ...) that
return `Step`s; this runner executes them in order and logs each one with its
row count and time, so a slow or wrong step is visible in `run.log`. With
`keep=True` the intermediate `_link_*` tables survive for inspection (the
debug switch); otherwise they are dropped at the end of the run.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import duckdb

log = logging.getLogger("duanka.link")


@dataclass(frozen=True)
class Step:
    """A SQL statement and the table it (re)creates, or '' for a statement that only writes."""

    name: str
    sql: str
    table: str = ""


def run_steps(con: duckdb.DuckDBPyConnection, steps: list[Step]) -> dict[str, int]:
    """Execute steps in order; return row counts of the tables they created (for the report and logs)."""
    counts: dict[str, int] = {}
    for step in steps:
        started = time.perf_counter()
        con.execute(step.sql)
        if step.table:
            counts[step.table] = int(scalar(con, f"SELECT count(*) FROM {step.table}"))
        log.info(
            "link step %s: %s rows in %.3f s",
            step.name,
            counts.get(step.table, "-"),
            time.perf_counter() - started,
        )
    return counts


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """First value of a query's first row, the result fully consumed (DuckDB 2.0 refuses new work
    on a connection while a result is only partly fetched)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def drop_temp(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Drop the intermediate tables once the run no longer needs them."""
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")
