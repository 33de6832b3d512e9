"""Loading one checked file into the warehouse, in one transaction.

Why one transaction per file: a run killed at any moment leaves each file
either wholly loaded (and recorded in `ingest_files`) or not at all, so the
rerun finishes exactly what was missing.

Why content hashes: a lead re-delivered unchanged is a duplicate and must not be
counted twice; a lead re-issued with other values (same issuer + lead_id) is a
new version: the newer one (by `issued_at`, then delivery order) is current and
the other goes to `*_history`.
"""
from __future__ import annotations

from collections.abc import Callable
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


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def content_columns(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """The contract columns of a kind: what makes two versions of a lead the same or different."""
    table = LEAD_TABLES[kind][0]
    return [c for c in table_columns(con, table) if not c.startswith("_")]


def content_hash(alias: str, columns: list[str]) -> str:
    """SQL for a hash of a row's contract values; the same expression for incoming and current rows."""
    fields = ", ".join(f'"{c}" := {alias}."{c}"' for c in columns)
    return f"md5(to_json(struct_pack({fields})))"


def sql_stage_incoming(table: str, columns: list[str]) -> list[str]:
    """Typed copy of the incoming rows (cast to the target table's types) with a content hash."""
    return [
        f"CREATE OR REPLACE TEMP TABLE inc_typed AS SELECT * FROM {table} LIMIT 0",
        "INSERT INTO inc_typed BY NAME SELECT * EXCLUDE (_reasons) FROM incoming",
        f"CREATE OR REPLACE TEMP TABLE inc AS SELECT i.*, {content_hash('i', columns)} AS _content FROM inc_typed i",
    ]


def sql_mark_duplicates(table: str, key: tuple[str, ...], columns: list[str]) -> str:
    """Duplicates: a repeat of an earlier row of the same file, or of the key's current version."""
    on = " AND ".join(f'c."{k}" = inc."{k}"' for k in key)
    current_hash = content_hash("c", columns)
    return f"""
        CREATE OR REPLACE TEMP TABLE inc_dup AS
        SELECT inc._row,
               row_number() OVER (PARTITION BY inc._content ORDER BY inc._row) > 1
               OR EXISTS (SELECT 1 FROM {table} c WHERE {on} AND {current_hash} = inc._content) AS dup
        FROM inc
    """


def sql_apply_versions(table: str, key: tuple[str, ...], version: str, as_of: date) -> list[str]:
    """Move superseded versions to history and insert the newest of each key as current."""
    key_list = ", ".join(f'"{k}"' for k in key)
    on_c = " AND ".join(f'c."{k}" = n."{k}"' for k in key)
    return [
        f"""CREATE OR REPLACE TEMP TABLE inc_new AS
            SELECT inc.* EXCLUDE (_content),
                   row_number() OVER (PARTITION BY {key_list} ORDER BY "{version}" DESC, _row DESC) = 1 AS newest
            FROM inc JOIN inc_dup USING (_row) WHERE NOT inc_dup.dup""",
        # The incoming newest version wins over the current one when it is at least as new.
        f"""CREATE OR REPLACE TEMP TABLE inc_wins AS
            SELECT n.* FROM inc_new n
            WHERE n.newest AND NOT EXISTS (
                SELECT 1 FROM {table} c WHERE {on_c} AND c."{version}" > n."{version}")""",
        f"""INSERT INTO {table}_history BY NAME
            SELECT c.*, DATE '{as_of.isoformat()}' AS _replaced_as_of
            FROM {table} c JOIN inc_wins n ON {on_c}""",
        f"""DELETE FROM {table} c WHERE EXISTS (SELECT 1 FROM inc_wins n WHERE {on_c})""",
        f"""INSERT INTO {table} BY NAME SELECT * EXCLUDE (newest) FROM inc_wins""",
        f"""INSERT INTO {table}_history BY NAME
            SELECT n.* EXCLUDE (newest), DATE '{as_of.isoformat()}' AS _replaced_as_of
            FROM inc_new n WHERE NOT EXISTS (SELECT 1 FROM inc_wins w WHERE w._row = n._row)""",
    ]


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
    columns = content_columns(con, kind)
    provenance = f"'{file_name.replace(chr(39), chr(39) * 2)}' AS _file, '{sha256}' AS _sha256, DATE '{as_of}' AS _as_of"
    con.execute("BEGIN TRANSACTION")
    try:
        if isinstance(rows, pl.DataFrame):
            con.register("incoming_frame", rows.to_arrow())
            source = "SELECT * FROM incoming_frame"
        else:
            source = rows
        con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT src.*, {provenance} FROM ({source}) src")
        valid = con.execute("SELECT count(*) FROM incoming").fetchone()[0]
        for statement in sql_stage_incoming(table, columns):
            con.execute(statement)
        con.execute(sql_mark_duplicates(table, key, columns))
        duplicates = con.execute("SELECT count(*) FROM inc_dup WHERE dup").fetchone()[0]
        for statement in sql_apply_versions(table, key, VERSION_COLUMN[kind], as_of):
            con.execute(statement)
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
        for temp in ("incoming", "inc_typed", "inc", "inc_dup", "inc_new", "inc_wins"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        if isinstance(rows, pl.DataFrame):
            con.unregister("incoming_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return stats


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
