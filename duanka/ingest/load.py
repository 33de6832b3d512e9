"""Loading one checked file into the warehouse, in one transaction.

Why one transaction per file: a run killed at any moment leaves each file
either wholly loaded (and recorded in `ingest_files`) or not at all, so the
rerun finishes exactly what was missing.

Why content hashes: a lead re-delivered unchanged is a duplicate and must not be
counted twice; a lead re-issued with other values (same issuer + lead_id) is a
new version: the newer one (by `issued_at`, then delivery order) is current and
the other goes to `*_history`.

Why two paths: most rows of a night are leads never seen before, once each. Every
row goes from the staging source straight into the table, in one read of the file;
only the rows of keys already current or repeated within the file are then taken
back out (by rowid, inside the same transaction) and run through the version logic,
so the cost of versioning follows the re-issues, not the size of the delivery. On
a first night no key is current, and the statements that scan the whole table
(history, delete, key guard) are not run at all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from duanka.warehouse import LEAD_TABLES

# The column that orders versions of the same key.
VERSION_COLUMN = {"bank": "issued_at", "sim": "issued_at", "case": "reported_at"}
PROVENANCE = ("_file", "_row", "_sha256", "_as_of", "_extra")


@dataclass(frozen=True)
class FileLoadStats:
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int


# Settings of the warehouse while a night's files load (restored afterwards); see `load_settings`.
LOAD_SETTINGS = {"max_vacuum_tasks": 0, "threads": 1}


@contextmanager
def load_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB settings for the loads, measured at 1M leads in 13 files (2 cores):

    - `max_vacuum_tasks = 0`: a file's commit checkpoints the warehouse (DuckDB skips the WAL
      for a large commit), and by default each checkpoint also merges partly filled row groups,
      decompressing and compressing the rows of every earlier file of the night again, file
      after file: 4.8 s CPU of commits, 2.6 s without merging, same file size. The price is one
      partly filled row group per file, which DuckDB scans like any other.
    - `threads = 1`: the loads are appends and small joins; a second thread did not shorten
      them but added ~1 s CPU (its share of the work is waiting), which the rest of the night
      can use.

    Each file still commits on its own, so kill-safety is unchanged.
    """
    before = {name: con.execute(f"SELECT current_setting('{name}')").fetchone()[0] for name in LOAD_SETTINGS}
    for name, value in LOAD_SETTINGS.items():
        con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        for name, value in before.items():
            con.execute(f"SET {name} = {int(value)}")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def content_columns(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """The contract columns of a kind: what makes two versions of a lead the same or different."""
    table = LEAD_TABLES[kind][0]
    return [c for c in table_columns(con, table) if not c.startswith("_")]


def content_hash(alias: str, columns: list[str]) -> str:
    """SQL for a hash of a row's contract values; the same expression for incoming and current rows.

    DuckDB's 64-bit `hash` is compared only between versions of one key, or within one file
    (a collision there is ~1e-8 per million rows), and never stored: its stability across DuckDB
    versions does not matter. md5 over JSON was 4x slower at a million rows.
    """
    return f"hash({', '.join(f'{alias}.{_q(c)}' for c in columns)})"


def _q(column: str) -> str:
    return '"' + column + '"'


def sql_contested_keys(table: str, key: tuple[str, ...], source: str) -> str:
    """Keys of the file that need the version logic: repeated within the file, or already in the table
    (`current` says which; a key may be both).

    One statement, reading only the key columns of the source: the file's keys are grouped once
    (DuckDB materialises the CTE that is read twice), and the table is probed against them, so its
    scan skips the row groups of other issuers (min/max filters from the join). Measured at 1M leads:
    0.25 s CPU, against 0.28 s for a temp table of the file's keys and a second statement."""
    keys = ", ".join(_q(k) for k in key)
    return f"""CREATE OR REPLACE TEMP TABLE contested AS
        WITH k AS (SELECT {keys}, count(*) AS n FROM ({source}) s GROUP BY {keys})
        SELECT {keys}, bool_or(current) AS current FROM (
            SELECT {keys}, false AS current FROM k WHERE n > 1
            UNION ALL SELECT {keys}, true AS current FROM {table} t SEMI JOIN k USING ({keys}))
        GROUP BY {keys}"""


def sql_last_rowid(table: str) -> str:
    """The highest rowid in the table before this file's rows go in: DuckDB gives appended rows higher
    ones, so `rowid > it` is this transaction's rows alone (and prunes every older row group)."""
    return f"SELECT coalesce(max(rowid), -1) FROM {table}"


def sql_insert_rows(table: str, source: str, provenance: str) -> str:
    """Every row of the file, as current: the only statement that reads all the source's columns."""
    return f"INSERT INTO {table} BY NAME SELECT src.* EXCLUDE (_reasons), {provenance} FROM ({source}) src"


def sql_take_contested(table: str, key: tuple[str, ...], last_rowid: int) -> list[str]:
    """Take the file's rows of contested keys back out of the table into `inc`.

    Why by rowid: a scan of the key columns finds them (~0.5 % of a first night's rows), and only
    those rows are then fetched whole. Copying them from the source instead (beside an insert of
    the other rows) read every column of every row a second time: measured at 1M leads, 0.5 s CPU
    against ~0.17 s here, though the commit then costs ~0.2 s more (the file's row groups now hold
    deleted rows). Rowids are stable within a transaction, which is all this relies on."""
    keys = ", ".join(_q(k) for k in key)
    return [
        f"""CREATE OR REPLACE TEMP TABLE inc_rowids AS SELECT t.rowid AS id FROM {table} t
            SEMI JOIN contested c USING ({keys}) WHERE t.rowid > {int(last_rowid)}""",
        f"CREATE OR REPLACE TEMP TABLE inc AS SELECT * FROM {table} WHERE rowid IN (SELECT id FROM inc_rowids)",
        f"DELETE FROM {table} WHERE rowid IN (SELECT id FROM inc_rowids)",
    ]


def sql_flag_rows(table: str, key: tuple[str, ...], version: str, columns: list[str],
                  any_current: bool = True) -> str:
    """Per incoming row: is it a duplicate (of an earlier row of the file, or of the current version of
    its key), and is it the newest new version of its key that is at least as new as the current one.

    Without `any_current` (no key of `inc` is current) the table is not read at all."""
    keys = ", ".join(_q(k) for k in key)
    on = " AND ".join(f"x.{_q(k)} = cur.{_q(k)}" for k in key)
    if any_current:
        cur = f""",
             cur AS (SELECT {', '.join(f'c.{_q(k)}' for k in key)}, c.{_q(version)} AS cv,
                            {content_hash('c', columns)} AS ch
                     FROM {table} c SEMI JOIN (SELECT DISTINCT {keys} FROM inc) k USING ({keys}))"""
        joined, current_dup = f"x LEFT JOIN cur ON {on}", "coalesce(x.h = cur.ch, false)"
    else:
        cur, joined, current_dup = "", "(SELECT *, NULL AS cv FROM x) x", "false"
    return f"""
        CREATE OR REPLACE TEMP TABLE inc_flag AS
        WITH x AS (SELECT i._row, {', '.join(f'i.{_q(k)}' for k in key)}, i.{_q(version)} AS v,
                          {content_hash('i', columns)} AS h FROM inc i){cur},
             d AS (SELECT x.*, cv, (row_number() OVER (PARTITION BY x.h ORDER BY x._row) > 1)
                          OR {current_dup} AS dup
                   FROM {joined})
        SELECT _row, dup,
               NOT dup AND row_number() OVER (PARTITION BY dup, {keys} ORDER BY v DESC, _row DESC) = 1
                   AND (cv IS NULL OR v >= cv) AS wins
        FROM d
    """


def sql_apply_versions(table: str, key: tuple[str, ...], as_of: date, any_current: bool = True) -> list[str]:
    """Move superseded versions to history and insert the winners as current; losers go to history.

    Without `any_current` no winner replaces anything: the two statements that scan the table are left out."""
    keys = ", ".join(_q(k) for k in key)
    replaced = f"DATE '{as_of.isoformat()}' AS _replaced_as_of"
    winners = "(SELECT i.* FROM inc i JOIN inc_flag f USING (_row) WHERE f.wins)"
    supersede = [
        f"""INSERT INTO {table}_history BY NAME
            SELECT c.*, {replaced} FROM {table} c SEMI JOIN {winners} w USING ({keys})""",
        f"DELETE FROM {table} WHERE ({keys}) IN (SELECT ({keys}) FROM {winners} w)",
    ]
    return [
        *(supersede if any_current else []),
        f"INSERT INTO {table} BY NAME SELECT * FROM {winners} w",
        f"""INSERT INTO {table}_history BY NAME
            SELECT i.*, {replaced} FROM inc i JOIN inc_flag f USING (_row) WHERE NOT f.dup AND NOT f.wins""",
    ]


def sql_repeated_keys(table: str, key: tuple[str, ...]) -> str:
    """Keys of this file that are current more than once: must be none (the table has no index to say so)."""
    keys = ", ".join(_q(k) for k in key)
    return (f"SELECT {keys} FROM {table} SEMI JOIN (SELECT DISTINCT {keys} FROM inc) k USING ({keys}) "
            f"GROUP BY {keys} HAVING count(*) > 1 LIMIT 1")


def load_file(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    file_name: str,
    sha256: str,
    as_of: date,
    rows: pl.DataFrame | str,
    quarantine: pl.DataFrame,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> FileLoadStats:
    """Load the valid `rows` and record `quarantine` for one file, atomically.

    `rows` is a frame, or a SELECT, with the clean-table columns plus `_row`, `_extra`
    and `_reasons` (empty); `quarantine` has `row`, `lead_id`, `reasons`, `raw`.
    `also` writes further bookkeeping (the file's validation results) in the same transaction.
    """
    table, _, key = LEAD_TABLES[kind]
    provenance = f"'{file_name.replace(chr(39), chr(39) * 2)}' AS _file, '{sha256}' AS _sha256, DATE '{as_of}' AS _as_of"
    con.execute("BEGIN TRANSACTION")
    try:
        if isinstance(rows, pl.DataFrame):
            con.register("incoming_frame", rows.to_arrow())
            source = "SELECT * FROM incoming_frame"
        else:
            source = rows
        valid, duplicates = _load_rows(con, table, key, kind, source, provenance, as_of, file_name)
        record_quarantine(con, as_of=as_of, file_name=file_name, sha256=sha256, kind=kind, quarantine=quarantine)
        stats = FileLoadStats(
            rows_read=valid + quarantine.height,
            rows_loaded=valid - duplicates,
            rows_quarantined=quarantine.height,
            rows_duplicate=duplicates,
        )
        record_file(con, sha256=sha256, file_name=file_name, kind=kind, status="loaded", reason=None,
                    as_of=as_of, stats=stats)
        if also is not None:
            also(con)
        for temp in ("inc", "inc_flag", "inc_rowids", "contested"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        if isinstance(rows, pl.DataFrame):
            con.unregister("incoming_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return stats


def _load_rows(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], kind: str, source: str,
               provenance: str, as_of: date, file_name: str) -> tuple[int, int]:
    """Insert every row, then version the rows of contested keys; returns (valid rows, duplicates)."""
    con.execute(sql_contested_keys(table, key, source))
    contested, current = con.execute("SELECT count(*), count(*) FILTER (WHERE current) FROM contested").fetchone()
    last_rowid = con.execute(sql_last_rowid(table)).fetchone()[0] if contested else -1
    valid = con.execute(sql_insert_rows(table, source, provenance)).fetchone()[0]
    if contested == 0:
        return valid, 0
    for statement in sql_take_contested(table, key, last_rowid):
        con.execute(statement)
    columns = content_columns(con, kind)
    con.execute(sql_flag_rows(table, key, VERSION_COLUMN[kind], columns, current > 0))
    duplicates = con.execute("SELECT count(*) FILTER (WHERE dup) FROM inc_flag").fetchone()[0]
    for statement in sql_apply_versions(table, key, as_of, current > 0):
        con.execute(statement)
    # With no key of the file current before, each key is current once: its single row, or its one winner.
    repeated = con.execute(sql_repeated_keys(table, key)).fetchall() if current else []
    if repeated:
        raise RuntimeError(f"{table}: key {repeated[0]} would be current twice; load of {file_name} undone")
    return valid, duplicates


def record_quarantine(
    con: duckdb.DuckDBPyConnection, *, as_of: date, file_name: str, sha256: str | None, kind: str | None,
    quarantine: pl.DataFrame,
) -> None:
    if quarantine.is_empty():
        return
    frame = quarantine.select(
        pl.lit(as_of).alias("as_of"), pl.lit(file_name).alias("file"), pl.lit(sha256).alias("sha256"),
        pl.lit(kind).alias("kind"), pl.col("row").cast(pl.Int32), pl.col("lead_id").cast(pl.String),
        pl.col("reasons").cast(pl.String), pl.col("raw").cast(pl.String),
    )
    con.register("quarantine_incoming", frame.to_arrow())
    con.execute("INSERT INTO quarantine BY NAME SELECT * FROM quarantine_incoming")
    con.unregister("quarantine_incoming")


def record_file(
    con: duckdb.DuckDBPyConnection, *, sha256: str, file_name: str, kind: str | None, status: str,
    reason: str | None, as_of: date, stats: FileLoadStats | None = None,
) -> None:
    stats = stats or FileLoadStats(0, 0, 0, 0)
    con.execute(
        """INSERT INTO ingest_files (sha256, file, kind, status, reason, rows_read, rows_loaded,
               rows_quarantined, rows_duplicate, as_of)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [sha256, file_name, kind, status, reason, stats.rows_read, stats.rows_loaded,
         stats.rows_quarantined, stats.rows_duplicate, as_of],
    )
