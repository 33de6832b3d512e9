"""Rows of the per-group analysis, spooled to Parquet files and stored with one INSERT per table.

Why not an INSERT per batch: the link stage runs in one transaction (a killed night leaves the
previous packets untouched), and each INSERT of an Arrow batch into a table inside a transaction
leaves DuckDB bookkeeping that lives outside its memory budget until the commit. Measured at 5M
leads: ~1.1 GB of the main process's heap after ~15,000 batch inserts, growing with every batch;
the same rows in one INSERT from Parquet files cost a few MB (`docs/scale.md`). The files go to a
folder beside the warehouse (inside HOME, like DuckDB's own spill folder) and are removed once
stored, or at the next night's start after a kill.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def spool_folder(con: duckdb.DuckDBPyConnection) -> Path:
    """`<warehouse file>.spool` beside the warehouse; a fresh temporary folder for an in-memory one."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    path = rows[0][0] if rows else None
    if not path:
        return Path(tempfile.mkdtemp(prefix="duanka-spool-"))
    return Path(f"{path}.spool")


class RowSpool:
    """Collects Arrow tables per target table in files; `store` inserts each table's rows in the order added."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, list[Path]] = {}
        self.count = 0

    def __enter__(self) -> Self:
        shutil.rmtree(self.folder, ignore_errors=True)  # a killed night's leftovers
        self.folder.mkdir(parents=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def add(self, table: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        path = self.folder / f"{self.count:07d}-{table}.parquet"
        pq.write_table(rows, path, compression="none")
        self.files.setdefault(table, []).append(path)
        self.count += 1

    def store(self, con: duckdb.DuckDBPyConnection, table: str) -> int:
        """Insert the rows spooled for `table` (file order, then row order) and forget them; return how many."""
        files = self.files.pop(table, [])
        if not files:
            return 0
        names = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        count = con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet([{names}])").fetchall()[0][0]
        for path in files:
            path.unlink()
        return int(count)
