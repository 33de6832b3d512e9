"""Ingest, file by file: read and normalise, stage, validate with GX, load.

The steps are separate so that each can be a Prefect task and so that
nothing reaches the warehouse before it is checked:

1. `prepare_file` reads and normalises one file into an Arrow table held in memory (`StagedRows`,
   with the raw values of the rows it refused);
2. `_validate_batch` runs the GX suite of a kind on a batch of those files (`validate_prepared`);
3. `load_prepared` loads each file's valid rows into the warehouse and its bad rows into
   quarantine, one transaction per file, reading the rows in place, then lets go of them.

Why in memory, not a staging file: the rows were written to parquet once and read back twice (GX,
the load); at 1M leads that cost ~1.5 s CPU of ~17 (measured A/B, alternated: writing 1.1-1.4 s, and
DuckDB scans a registered Arrow table in about half the time it decodes the same parquet). What it
costs: the files read but not loaded yet stay in memory (at most the night's normalised rows, ~300 MB
at 1M leads; the peak RSS of the 1M bench rose ~100 MB).

`ingest_lanes` runs them overlapped for a night: files validated and loaded while later files are
still read, each kind loading on a lane of its own.

A broken file never stops the run: it is refused with a one-line reason and
the rest of the delivery loads.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl
import pyarrow as pa

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


class StagedRows:
    """A prepared file's normalised rows, held from reading until its load commits, then let go of.

    A holder of its own because the prepare task's future keeps its `Prepared` until the night's
    ingest ends: `release` frees the rows all the same. It pickles with its rows, so a file prepared
    on a Dask worker in another process comes back whole."""

    def __init__(self, rows: pa.Table) -> None:
        self._rows: pa.Table | None = rows

    @property
    def released(self) -> bool:
        return self._rows is None

    def arrow(self) -> pa.Table:
        if self._rows is None:
            raise RuntimeError("the staged rows were let go of after the file's load committed")
        return self._rows

    def release(self) -> None:
        self._rows = None


@dataclass(frozen=True)
class Prepared:
    file: InboxFile
    table: str | None  # the name its rows are registered under, None when refused while reading
    refused: str | None
    rows: int
    encoding: str = ""
    staged: StagedRows | None = field(default=None, compare=False, repr=False)  # None when refused

    @property
    def needs_validation(self) -> bool:
        """Read, and not loaded yet (a retried ingest meets files its first attempt committed)."""
        return self.table is not None and self.staged is not None and not self.staged.released


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, p: Prepared) -> Iterator[str]:
    """The file's staged rows as the view `p.table` of this connection, for the length of the block."""
    assert p.table is not None and p.staged is not None, "a file refused while reading has no rows"
    con.register(p.table, p.staged.arrow())
    try:
        yield p.table
    finally:
        con.unregister(p.table)


def key_column(kind: str) -> str:
    return "case_id" if kind == "case" else "lead_id"


def prepare_file(f: InboxFile, index: int, as_of: date, contract: Contract | None = None) -> Prepared:
    """Read + normalise one file into staged rows named `fNNNNN`; a refusal is returned, not raised.

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
    return Prepared(f, table, None, staged.height, encoding=raw.encoding, staged=StagedRows(staged.to_arrow()))


def describe_prepared(p: Prepared) -> str:
    return f"{p.file.name}: 拒收 — {p.refused}" if p.refused else f"{p.file.name}: {p.rows} 行 ({p.encoding})"


def validate_prepared(prepared: list[Prepared], suites: dict[str, Suite], as_of: date) -> dict[str, Outcome]:
    tables = [StagedTable(p.table, p.file.kind or "", p.file.name, p.staged.arrow())
              for p in prepared if p.table and p.staged]
    return validate_staged(tables, suites, as_of)


def _merge_reasons(clean_reasons: list[str], gx_reasons: list[str]) -> list[str]:
    """GX re-checks what normalisation already refused; keep one reason per column."""
    flagged = {r.split("(")[0].split(":")[0].strip() for r in clean_reasons}
    extra = [r for r in gx_reasons if r.split(":")[0].strip() not in flagged]
    return clean_reasons + extra


def _quarantine_frame(con: duckdb.DuckDBPyConnection, p: Prepared, source: str, gx_rows: dict[int, list[str]],
                      contract: Contract) -> pl.DataFrame:
    """The file's quarantined rows with every reason and their values as delivered (see `rawvalues`)."""
    assert p.table is not None and p.file.kind is not None
    key = key_column(p.file.kind)
    rows = con.execute(
        f"""SELECT _row, coalesce({key}, json_extract_string(_raw, '$.{key}')) AS lead_id, _reasons, _raw
            FROM {source} WHERE len(_reasons) > 0 OR _row IN (SELECT _row FROM gx_failed) ORDER BY _row"""
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
    with registered(con, p) as source:
        quarantine = _quarantine_frame(con, p, source, outcome.row_reasons, contract)
        rows_sql = (f"SELECT * EXCLUDE (_raw) FROM {source} "
                    "WHERE len(_reasons) = 0 AND _row NOT IN (SELECT _row FROM gx_failed)")
        return load_file(con, kind=p.file.kind, file_name=p.file.name, sha256=p.file.sha256,
                         as_of=as_of, rows=rows_sql, quarantine=quarantine, also=record_checks)


def load_prepared(con: duckdb.DuckDBPyConnection, prepared: list[Prepared], outcomes: dict[str, Outcome],
                  as_of: date, progress: Progress, contract: Contract | None = None,
                  loaded: Callable[[Prepared, FileLoadStats | None], None] | None = None,
                  ) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Load each prepared file in its own transaction; record refusals. Returns per-file stats.

    Each file's rows are read in place (`registered`) and let go of once it commits; `loaded` is told of
    each file as it commits, instead of `progress` (the pipeline counts them). The night's loads run under
    `load.load_settings`, set once by the caller (they are settings of the whole database, and the
    lanes load from several threads at once).
    """
    contract = contract or load_contract()
    results: list[tuple[Prepared, FileLoadStats | None]] = []
    for i, p in enumerate(prepared, start=1):
        committed = committed_before(con, p)
        stats = committed[0] if committed else _load_one(con, p, outcomes.get(p.table or "", Outcome()),
                                                         as_of, contract)
        if p.staged is not None:
            p.staged.release()
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
    """Consecutive prepared files of one kind, validated by one GX run."""

    kind: str
    files: list[Prepared]

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.files)


def _validate_batch(batch: Batch, suites: dict[str, Suite], as_of: date) -> dict[str, Outcome]:
    return validate_prepared(batch.files, suites, as_of)
