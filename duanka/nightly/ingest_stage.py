"""Ingest: read and normalise each file, stage it, validate it with GX, load it.

The steps are separate so that each can be a Prefect task and so that
nothing reaches the warehouse before it is checked:

1. `prepare_files` reads and normalises every new file into its own parquet file
   under `HOME/staging/<as_of>/` (with the raw values of the rows it refused);
2. `validate_and_load` runs the GX suites on batches of those files and loads each
   file's valid rows into the warehouse and its bad rows into quarantine, one
   transaction per file (`validate_prepared` and `load_prepared` are its two halves; this is
   what the flow uses). `validate_and_load_pending` does the same for files still being
   prepared (each batch validated as soon as its files are ready, loaded while later files are
   still read and normalised); measured slower than the flow's order on 2 cores, it is used only
   by its tests and bench/bench_ingest.py's "pipelined" line.

Why a pipeline: GX and the loads each keep one core busy at most, and on a 2-core
machine they ran one after the other. GX now validates batch k+1 on a thread while
the loader commits batch k (both spend their time in DuckDB, which releases the GIL);
a file still loads only after its own batch passed GX, in inbox order within its kind.

A broken file never stops the run: it is refused with a one-line reason and
the rest of the delivery loads.
"""
from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duanka.contract_schema import Contract, load_contract
from duanka.ingest.clean import REASONS, clean
from duanka.ingest.load import FileLoadStats, load_file, load_settings, record_file
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
    return Prepared(f, table, None, staged.height, encoding=raw.encoding)


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


def prepare_files(files: list[InboxFile], staging_dir: Path, contract: Contract, as_of: date,
                  progress: Progress, workers: int = 1) -> list[Prepared]:
    """Prepare every file in this process, in inbox order: one after the other, or on `workers` threads
    as the flow's default task runner does (Polars and the encoders release the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(prepare_file, f, i, staging_dir, as_of, contract)
                   for i, f in enumerate(files, start=1)]
        prepared = []
        for i, future in enumerate(futures, start=1):
            prepared.append(future.result())
            progress.step(i, len(files), describe_prepared(prepared[-1]))
    return prepared


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
            FROM stg.{p.table} WHERE len(_reasons) > 0 OR _row IN (SELECT _row FROM gx_failed) ORDER BY _row"""
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
    rows_sql = (f"SELECT * EXCLUDE (_raw) FROM stg.{p.table} "
                "WHERE len(_reasons) = 0 AND _row NOT IN (SELECT _row FROM gx_failed)")
    return load_file(con, kind=p.file.kind, file_name=p.file.name, sha256=p.file.sha256,
                     as_of=as_of, rows=rows_sql, quarantine=quarantine, also=record_checks)


def load_prepared(con: duckdb.DuckDBPyConnection, prepared: list[Prepared], outcomes: dict[str, Outcome],
                  staging_db: Path | None, as_of: date, progress: Progress,
                  contract: Contract | None = None,
                  loaded: Callable[[Prepared, FileLoadStats | None], None] | None = None,
                  ) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Load each prepared file in its own transaction; record refusals. Returns per-file stats.

    `staging_db` holds the files' staging views (None when every file was refused while reading);
    `loaded` is told of each file as it commits, instead of `progress` (the pipeline counts them).
    """
    contract = contract or load_contract()
    results: list[tuple[Prepared, FileLoadStats | None]] = []
    con.execute("DETACH DATABASE IF EXISTS stg")
    if staging_db is not None:
        con.execute(f"ATTACH '{staging_db}' AS stg (READ_ONLY)")
    try:
        with load_settings(con):
            for i, p in enumerate(prepared, start=1):
                stats = _load_one(con, p, outcomes.get(p.table or "", Outcome()), as_of, contract)
                results.append((p, stats))
                if loaded is not None:
                    loaded(p, stats)
                else:
                    progress.step(i, len(prepared), describe_loaded(p, stats, outcomes.get(p.table or "")))
    finally:
        con.execute("DETACH DATABASE IF EXISTS stg")
    return results


def describe_loaded(p: Prepared, stats: FileLoadStats | None, outcome: Outcome | None) -> str:
    if stats is None:
        return f"{p.file.name}: 拒收 — {p.refused or (outcome.refused if outcome else '')}"
    return f"{p.file.name}: 入库 {stats.rows_loaded}，隔离 {stats.rows_quarantined}，重复 {stats.rows_duplicate}"


# Rows per GX batch. GX costs ~0.8 s CPU per run whatever the rows (building the metric graph of
# ~15 expectations; measured on 1,000 rows), against ~1 s per million rows for its queries: batches
# of 150k rows at 1M leads added 6 s CPU. So a batch is a whole kind up to this many rows, and the
# kinds are what the pipeline overlaps.
BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class Batch:
    """Consecutive prepared files of one kind, validated by one GX run from their own staging database."""

    kind: str
    files: list[Prepared]
    db: Path

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.files)


def plan_batches(prepared: list[Prepared], staging_dir: Path, batch_rows: int = BATCH_ROWS,
                 tag: str = "") -> list[Batch]:
    """Group the staged files into batches: same kind, inbox order, about `batch_rows` rows each.

    Files of one kind stay in inbox order across batches (a re-issued lead's newest version is
    decided by delivery order when issue times tie). Kinds with fewer rows go first: the loader waits
    for GX only on the first batch, and each later batch is then validated while the earlier load.
    """
    groups: list[list[Prepared]] = []
    for kind in LEAD_KINDS:
        current: list[Prepared] = []
        for p in prepared:
            if p.table is None or p.file.kind != kind:
                continue
            if current and sum(q.rows for q in current) + p.rows > batch_rows:
                groups.append(current)
                current = []
            current.append(p)
        if current:
            groups.append(current)
    kind_rows: dict[str, int] = {}
    for p in prepared:
        if p.table is not None:
            kind_rows[p.file.kind or ""] = kind_rows.get(p.file.kind or "", 0) + p.rows
    groups.sort(key=lambda g: kind_rows[g[0].file.kind or ""])  # stable: a kind's batches keep their order
    return [Batch(g[0].file.kind or "", g, staging_dir / f"{tag}g{i:03d}.duckdb") for i, g in enumerate(groups, 1)]


def _validate_batch(batch: Batch, staging_dir: Path, suites: dict[str, Suite], as_of: date) -> dict[str, Outcome]:
    stage_tables(batch.files, staging_dir, batch.db)
    return validate_prepared(batch.files, batch.db, suites, as_of)


def validate_and_load(con: duckdb.DuckDBPyConnection, prepared: list[Prepared], staging_dir: Path,
                      suites: dict[str, Suite], as_of: date, progress: Progress,
                      contract: Contract | None = None,
                      batch_rows: int = BATCH_ROWS) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Validate the prepared files batch by batch on a GX thread while this thread loads the checked ones.

    The warehouse connection stays on this thread; GX reads only its batch's staging database, so
    the two never share a DuckDB file. Results come back in the order of `prepared`.
    """
    contract = contract or load_contract()
    batches = plan_batches(prepared, staging_dir, batch_rows)
    done: dict[int, tuple[Prepared, FileLoadStats | None]] = {}

    def loaded(p: Prepared, stats: FileLoadStats | None) -> None:
        done[id(p)] = (p, stats)
        progress.step(len(done), len(prepared), describe_loaded(p, stats, None))

    progress.begin("校验 (Great Expectations)", f"{len(batches)} 批，{sum(b.rows for b in batches)} 行")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duanka-gx")
    try:
        futures: list[Future] = [pool.submit(_validate_batch, b, staging_dir, suites, as_of) for b in batches]
        refused = [p for p in prepared if p.table is None]
        outcomes = futures[0].result() if futures else {}
        progress.begin("入库", f"{len(prepared)} 个文件（校验与入库并行）")
        # Files refused while reading need no GX: their refusal is recorded first.
        load_prepared(con, refused, {}, None, as_of, progress, contract, loaded)
        for i, batch in enumerate(batches):
            outcomes = futures[i].result()
            load_prepared(con, batch.files, outcomes, batch.db, as_of, progress, contract, loaded)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [done[id(p)] for p in prepared]


def pipeline_kinds(files: list[InboxFile]) -> list[str]:
    """The lead kinds present in `files`, smallest first by bytes: the order `validate_and_load_pending`
    validates and loads them in."""
    present = [k for k in LEAD_KINDS if any(f.kind == k for f in files)]
    return sorted(present, key=lambda k: sum(f.path.stat().st_size for f in files if f.kind == k))


def pipeline_order(files: list[InboxFile]) -> list[InboxFile]:
    """`files` in the order to submit their `prepare_file`: kind by kind as `pipeline_kinds`, inbox
    order within a kind. Submitted otherwise, the first kind to load may be the last to be read."""
    kinds = pipeline_kinds(files)
    return sorted(files, key=lambda f: kinds.index(f.kind or ""))


# Rows per GX batch while files are still being prepared: big enough that GX's fixed cost per run
# (~0.3 s CPU) stays small, small enough that the largest kind of a night (bank, ~70 % of the rows)
# loads in two or more parts, the first while its later files are still read and normalised.
PENDING_BATCH_ROWS = 400_000


@dataclass
class _Checked:
    """What the GX thread hands the loader: files refused while reading, then a checked batch."""

    refused: list[Prepared]
    batch: Batch | None = None
    outcomes: dict[str, Outcome] | None = None


def _validate_stream(pending: list[Future], staging_dir: Path, suites: dict[str, Suite], as_of: date,
                     batch_rows: int, out: queue.Queue, stop: threading.Event,
                     read: Callable[[int, Prepared], None]) -> None:
    """On the GX thread: take the prepared files in order (telling `read` of each), cut them into
    batches of one kind and about `batch_rows` rows (a batch never grows past it unless one file
    alone does), validate each batch as soon as its files are ready, and queue it for the loader.
    Errors are queued too."""
    try:
        current: list[Prepared] = []
        refused: list[Prepared] = []
        count = 0

        def flush() -> None:
            nonlocal current, refused, count
            if stop.is_set():
                raise _Stopped
            batch = None
            outcomes: dict[str, Outcome] = {}
            if current:
                count += 1
                batch = Batch(current[0].file.kind or "", current, staging_dir / f"p{count:03d}.duckdb")
                outcomes = _validate_batch(batch, staging_dir, suites, as_of)
            out.put(_Checked(refused, batch, outcomes))
            current, refused = [], []

        for i, future in enumerate(pending, start=1):
            p = future.result()
            read(i, p)
            if p.table is None:
                refused.append(p)
                continue
            rows = sum(q.rows for q in current)
            if current and (p.file.kind != current[0].file.kind or rows + p.rows > batch_rows):
                flush()
            current.append(p)
        flush()
        out.put(None)
    except _Stopped:
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the loader's thread, which raises it
        out.put(exc)


class _Stopped(Exception):
    """The loader gave up: the GX thread stops at the next batch."""


def validate_and_load_pending(con: duckdb.DuckDBPyConnection, pending: list[tuple[InboxFile, Future]],
                              staging_dir: Path, suites: dict[str, Suite], as_of: date, progress: Progress,
                              contract: Contract | None = None,
                              batch_rows: int = PENDING_BATCH_ROWS) -> list[tuple[Prepared, FileLoadStats | None]]:
    """`validate_and_load` for files still being prepared: a batch is validated as soon as its files
    are read and normalised, and loaded while the files after it still are.

    `pending` pairs each file with the future of its `prepare_file` (a thread pool's, or Prefect's
    task futures: anything with `.result()`), in the order to validate and load them
    (`pipeline_order`: kinds apart, inbox order within a kind, which decides re-issues when issue
    times tie). Why: on 2 cores the loads (one thread) and read + normalise (Polars, both cores)
    each leave a core idle part of the time when they run one after the other.
    """
    contract = contract or load_contract()
    assert all(f.kind in LEAD_KINDS for f, _ in pending), "only lead files are prepared (files_to_prepare)"
    done: dict[str, tuple[Prepared, FileLoadStats | None]] = {}

    def loaded(p: Prepared, stats: FileLoadStats | None) -> None:
        done[p.file.name] = (p, stats)
        progress.step(len(done), len(pending), describe_loaded(p, stats, None))

    def read(i: int, p: Prepared) -> None:
        progress.step(i, len(pending), describe_prepared(p), stage=READING)

    progress.begin("校验 (Great Expectations)", f"{len(pending)} 个文件（读取、校验与入库并行）")
    checked: queue.Queue = queue.Queue()
    stop = threading.Event()
    # The caller's context goes along: Prefect's futures may look up the flow run's settings in it.
    gx = threading.Thread(target=contextvars.copy_context().run, name="duanka-gx", daemon=True,
                          args=(_validate_stream, [fut for _, fut in pending], staging_dir, suites, as_of,
                                batch_rows, checked, stop, read))
    gx.start()
    try:
        first = True
        while (item := checked.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if first:
                progress.begin("入库", f"{len(pending)} 个文件（读取、校验与入库并行）")
                first = False
            load_prepared(con, item.refused, {}, None, as_of, progress, contract, loaded)
            if item.batch is not None:
                load_prepared(con, item.batch.files, item.outcomes or {}, item.batch.db, as_of, progress,
                              contract, loaded)
    finally:
        stop.set()
        gx.join()
    return [done[f.name] for f, _ in pending]
