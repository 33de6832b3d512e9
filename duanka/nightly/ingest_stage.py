"""Ingest, file by file: read and normalise, stage, validate with GX, load.

The steps are separate so that each can be a Prefect task and so that
nothing reaches the warehouse before it is checked:

1. `prepare_file` reads and normalises one file into its own parquet file under
   `HOME/staging/<as_of>/` (with the raw values of the rows it refused);
2. `_validate_batch` runs the GX suite of a kind on a batch of those files (`stage_tables`: a
   staging database of views over them, `validate_prepared`);
3. `load_prepared` loads each file's valid rows into the warehouse and its bad rows into
   quarantine, one transaction per file, reading the rows straight from the parquet file.

`ingest_lanes` runs them overlapped for a night: files validated and loaded while later files are
still read, each kind loading on a lane of its own.

A broken file never stops the run: it is refused with a one-line reason and
the rest of the delivery loads.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duanka.contract_schema import Contract, load_contract
from duanka.ingest.clean import REASONS, clean
from duanka.ingest.load import FileLoadStats, load_file, record_file
from duanka.ingest.rawvalues import raw_values, reread_raw_values
from duanka.ingest.read import FileRefused, read_delivery
from duanka.nightly.inbox import InboxFile
from duanka.progress import Progress
from duanka.validate.runner import Outcome, StagedTable, validate_staged
from duanka.validate.suites import Suite

LEAD_KINDS = ("bank", "sim", "case")
READING = "读取与规范化"  # the progress stage of read + normalise
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    file: InboxFile
    table: str | None  # staging table, None when refused while reading
    refused: str | None
    rows: int
    encoding: str = ""
    parquet: Path | None = None  # the staged rows (None when refused while reading)

    def source(self) -> str:
        """SQL for the staged rows, read straight from the parquet file (no staging database to attach)."""
        assert self.parquet is not None, "a refused file has no staged rows"
        return "read_parquet('" + str(self.parquet).replace("'", "''") + "')"


def key_column(kind: str) -> str:
    return "case_id" if kind == "case" else "lead_id"


def prepare_file(f: InboxFile, index: int, staging_dir: Path, as_of: date,
                 contract: Contract | None = None) -> Prepared:
    """Read + normalise one file into `staging_dir/fNNNNN.parquet`; a refusal is returned, not raised.

    A plain function of the file alone, so Prefect can fan it out: in threads by default, or over
    Dask workers in other processes (nothing here holds a connection or a terminal).
    """
    contract = contract or load_contract()
    table = f"f{index:05d}"
    try:
        raw = read_delivery(f.path, f.kind or "", contract)
        cleaned = clean(raw, as_of, contract)
    except FileRefused as exc:
        return Prepared(f, None, exc.reason, 0)
    except Exception as exc:  # noqa: BLE001 - a file we cannot parse must not stop the night
        _log.exception("reading %s failed", f.name)
        return Prepared(f, None, f"文件 {f.name}: 无法解析 ({type(exc).__name__}: {str(exc)[:160]})", 0)
    # `clean` keeps one output row per input row, in order: row i of both frames is the same row.
    staged = cleaned.with_columns(raw_values(raw.frame, cleaned[REASONS].list.len() > 0).alias("_raw"))
    staging_dir.mkdir(parents=True, exist_ok=True)
    target = staging_dir / f"{table}.parquet"
    tmp = target.with_suffix(".tmp")
    # No statistics: the loader and GX scan every row anyway (measured ~20 % of the write).
    staged.write_parquet(tmp, compression="uncompressed", statistics=False)
    tmp.replace(target)
    return Prepared(f, table, None, staged.height, encoding=raw.encoding, parquet=target)


def stage_tables(prepared: list[Prepared], staging_dir: Path, staging_db: Path) -> None:
    """Gather the prepared parquet files into one staging database for GX and the loader.

    Views, not copies: GX's checks and the loader read only the columns they need, straight
    from the parquet files (measured: materialising them cost more than all the reads)."""
    staging_db.unlink(missing_ok=True)
    con = duckdb.connect(str(staging_db), config={"autoinstall_known_extensions": False,
                                                  "autoload_known_extensions": False})
    try:
        for p in prepared:
            if p.table:
                path = str(staging_dir / f"{p.table}.parquet").replace("'", "''")
                con.execute(f"CREATE VIEW {p.table} AS SELECT * FROM read_parquet('{path}')")
    finally:
        con.close()


def describe_prepared(p: Prepared) -> str:
    return f"{p.file.name}: 拒收 — {p.refused}" if p.refused else f"{p.file.name}: {p.rows} 行 ({p.encoding})"


def validate_prepared(prepared: list[Prepared], staging_db: Path, suites: dict[str, Suite],
                      as_of: date) -> dict[str, Outcome]:
    tables = [StagedTable(p.table, p.file.kind or "", p.file.name) for p in prepared if p.table]
    return validate_staged(staging_db, tables, suites, as_of)


def _merge_reasons(clean_reasons: list[str], gx_reasons: list[str]) -> list[str]:
    """GX re-checks what normalisation already refused; keep one reason per column."""
    flagged = {r.split("(")[0].split(":")[0].strip() for r in clean_reasons}
    extra = [r for r in gx_reasons if r.split(":")[0].strip() not in flagged]
    return clean_reasons + extra


def _quarantine_frame(con: duckdb.DuckDBPyConnection, p: Prepared, gx_rows: dict[int, list[str]],
                      contract: Contract) -> pl.DataFrame:
    """The file's quarantined rows with every reason and their values as delivered (see `rawvalues`)."""
    assert p.table is not None and p.file.kind is not None
    key = key_column(p.file.kind)
    rows = con.execute(
        f"""SELECT _row, coalesce({key}, json_extract_string(_raw, '$.{key}')) AS lead_id, _reasons, _raw
            FROM {p.source()} WHERE len(_reasons) > 0 OR _row IN (SELECT _row FROM gx_failed) ORDER BY _row"""
    ).fetchall()
    missing = [row for row, _, _, raw in rows if raw is None]
    reread = reread_raw_values(p.file.path, p.file.kind, contract, p.file.sha256, missing)
    records = [
        {"row": row, "lead_id": lead_id or "", "reasons": "；".join(_merge_reasons(list(reasons), gx_rows.get(row, []))),
         "raw": raw if raw is not None else reread.get(row)}
        for row, lead_id, reasons, raw in rows
    ]
    return pl.DataFrame(records, schema={"row": pl.Int32, "lead_id": pl.String, "reasons": pl.String,
                                         "raw": pl.String})


def record_validation(con: duckdb.DuckDBPyConnection, p: Prepared, outcome: Outcome, as_of: date) -> None:
    """Keep the file's GX results with its load, so the night's report survives a rerun unchanged."""
    rows = [(as_of, p.file.name, p.file.sha256, p.file.kind, c.id, c.success, c.severity, c.reason,
             c.unexpected, c.error) for c in outcome.checks]
    if p.refused:
        rows.append((as_of, p.file.name, p.file.sha256, p.file.kind, "READ", False, "file", p.refused, 0, None))
    if rows:
        # One statement with the rows as values: executemany is one round trip per row (~20 ms a file).
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        con.execute(f"INSERT INTO validation_results VALUES {values}", [v for row in rows for v in row])


def _load_one(con: duckdb.DuckDBPyConnection, p: Prepared, outcome: Outcome, as_of: date,
              contract: Contract) -> FileLoadStats | None:
    """One file, one transaction: its valid rows, quarantine and checks; or its refusal (None)."""
    refused = p.refused or outcome.refused

    def record_checks(c: duckdb.DuckDBPyConnection) -> None:
        record_validation(c, p, outcome, as_of)

    if refused:
        con.execute("BEGIN TRANSACTION")
        record_file(con, sha256=p.file.sha256, file_name=p.file.name, kind=p.file.kind,
                    status="rejected", reason=refused, as_of=as_of)
        record_checks(con)
        con.execute("COMMIT")
        return None
    assert p.table is not None and p.file.kind is not None
    # Rows GX failed, as a table: a hash anti-join, not a list searched once per row.
    # Registered as one Arrow column, not one INSERT per row (executemany is a round trip each).
    failed = pl.DataFrame({"_row": list(outcome.row_reasons)}, schema={"_row": pl.Int32})
    con.register("gx_failed_rows", failed.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE gx_failed AS SELECT _row FROM gx_failed_rows")
    con.unregister("gx_failed_rows")
    quarantine = _quarantine_frame(con, p, outcome.row_reasons, contract)
    rows_sql = (f"SELECT * EXCLUDE (_raw) FROM {p.source()} "
                "WHERE len(_reasons) = 0 AND _row NOT IN (SELECT _row FROM gx_failed)")
    return load_file(con, kind=p.file.kind, file_name=p.file.name, sha256=p.file.sha256,
                     as_of=as_of, rows=rows_sql, quarantine=quarantine, also=record_checks)


def load_prepared(con: duckdb.DuckDBPyConnection, prepared: list[Prepared], outcomes: dict[str, Outcome],
                  as_of: date, progress: Progress, contract: Contract | None = None,
                  loaded: Callable[[Prepared, FileLoadStats | None], None] | None = None,
                  ) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Load each prepared file in its own transaction; record refusals. Returns per-file stats.

    Each file's rows are read from its parquet file (`Prepared.source`); `loaded` is told of each file
    as it commits, instead of `progress` (the pipeline counts them). The night's loads run under
    `load.load_settings`, set once by the caller (they are settings of the whole database, and the
    lanes load from several threads at once).
    """
    contract = contract or load_contract()
    results: list[tuple[Prepared, FileLoadStats | None]] = []
    for i, p in enumerate(prepared, start=1):
        committed = committed_before(con, p)
        stats = committed[0] if committed else _load_one(con, p, outcomes.get(p.table or "", Outcome()),
                                                         as_of, contract)
        results.append((p, stats))
        if loaded is not None:
            loaded(p, stats)
        else:
            progress.step(i, len(prepared), describe_loaded(p, stats, outcomes.get(p.table or "")))
    return results


def committed_before(con: duckdb.DuckDBPyConnection, p: Prepared) -> tuple[FileLoadStats | None] | None:
    """The recorded outcome of a file already committed (its stats, None when refused), or None.

    Discovery only hands on files never loaded nor refused, so a committed one here was committed by an
    earlier attempt of this same ingest (a retried Prefect task): it is not loaded twice."""
    row = con.execute(
        """SELECT status, rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM ingest_files
           WHERE sha256 = ? AND status IN ('loaded', 'rejected') LIMIT 1""", [p.file.sha256]).fetchone()
    if row is None:
        return None
    return (FileLoadStats(*row[1:]) if row[0] == "loaded" else None,)


def describe_loaded(p: Prepared, stats: FileLoadStats | None, outcome: Outcome | None) -> str:
    if stats is None:
        return f"{p.file.name}: 拒收 — {p.refused or (outcome.refused if outcome else '')}"
    return f"{p.file.name}: 入库 {stats.rows_loaded}，隔离 {stats.rows_quarantined}，重复 {stats.rows_duplicate}"


@dataclass(frozen=True)
class Batch:
    """Consecutive prepared files of one kind, validated by one GX run from their own staging database."""

    kind: str
    files: list[Prepared]
    db: Path

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.files)


def _validate_batch(batch: Batch, staging_dir: Path, suites: dict[str, Suite], as_of: date) -> dict[str, Outcome]:
    stage_tables(batch.files, staging_dir, batch.db)
    return validate_prepared(batch.files, batch.db, suites, as_of)
