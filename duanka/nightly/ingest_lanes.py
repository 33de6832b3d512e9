"""Validate and load the night's files while later files are still read and normalised.

Why lanes: loading is the longest chain of the ingest (each file one transaction, most of it DuckDB
compressing the rows at commit, one core), and the kinds load into separate tables. So each lead kind
gets a lane of its own: a thread with its own cursor of the warehouse, loading its kind's files in
inbox order (which decides a re-issued lead's newest version when issue times tie). One GX thread takes
the prepared files as they are ready, cuts them into batches of one kind, validates each batch and hands
it to its kind's lane. Files are read largest kind first, and the first batch of each kind is small, so
the longest load chain starts early and runs beside the reading of everything else.

Measured at 1M leads on 2 cores (bench/bench_ingest.py): reading everything, then validating and loading
kind by kind on one connection left one core idle for the whole bank load (~4 s); see README.

Each file still commits in its own transaction: a run killed at any moment leaves every file loaded
whole or not at all, and the rerun finishes what is missing. Files of different kinds touch different
lead tables; the bookkeeping tables (ingest_files, quarantine, validation_results) only get appends.
"""
from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import date
from pathlib import Path

import duckdb

from duanka.contract_schema import Contract, load_contract
from duanka.ingest.load import FileLoadStats, load_settings
from duanka.nightly.inbox import InboxFile
from duanka.nightly.ingest_stage import (
    LEAD_KINDS,
    READING,
    Batch,
    Prepared,
    _validate_batch,
    describe_loaded,
    describe_prepared,
    load_prepared,
)
from duanka.progress import Progress
from duanka.validate.gx_session import drop_gx_session
from duanka.validate.suites import Suite

# Rows of a kind's first GX batch, and of its later ones. GX costs ~0.3 s CPU per run whatever the rows,
# so batches are not made smaller than the pipeline needs: the first small, so its lane starts loading
# soon; the later ones larger. Measured at 1M leads: 250k/600k beat 150k/400k and 100k/250k.
FIRST_BATCH_ROWS = 250_000
BATCH_ROWS = 600_000
# Files read and normalised at once: each holds its frame in memory (a 200k-row file ~250 MB); all at
# once doubled the peak at a million leads without being faster on 2 cores.
PREPARE_THREADS = max(2, min(4, os.cpu_count() or 2))


def pipeline_order(files: list[InboxFile]) -> list[InboxFile]:
    """Lead files in the order to read them: kind by kind, the kind with the most bytes first (its lane
    has the longest chain of loads), inbox order within a kind."""
    size = {k: sum(f.path.stat().st_size for f in files if f.kind == k) for k in LEAD_KINDS}
    kinds = sorted((k for k in LEAD_KINDS if any(f.kind == k for f in files)), key=lambda k: -size[k])
    return sorted(files, key=lambda f: kinds.index(f.kind or ""))


def batches_of(prepared: Iterator[Prepared], staging_dir: Path, first_rows: int = FIRST_BATCH_ROWS,
               batch_rows: int = BATCH_ROWS) -> Iterator[Prepared | Batch]:
    """Cut prepared files, in the order they come, into batches of one kind: a kind's first batch up to
    `first_rows`, the later up to `batch_rows` (one file alone may be larger). A file refused while
    reading is passed on as it is, at once: it needs no GX."""
    current: list[Prepared] = []
    started: set[str] = set()
    count = 0

    def cut() -> Batch:
        nonlocal current, count
        count += 1
        kind = current[0].file.kind or ""
        started.add(kind)
        batch = Batch(kind, current, staging_dir / f"g{count:03d}.duckdb")
        current = []
        return batch

    for p in prepared:
        if p.table is None:
            yield p
            continue
        if current:
            limit = batch_rows if current[0].file.kind in started else first_rows
            if p.file.kind != current[0].file.kind or sum(q.rows for q in current) + p.rows > limit:
                yield cut()
        current.append(p)
    if current:
        yield cut()


class _Stopped(Exception):
    """Another thread of the pipeline failed: this one stops at its next file or batch."""


class _Pipeline:
    """The threads of one ingest and what they share: a queue per lane, the first error, the results."""

    def __init__(self, kinds: list[str], total: int, as_of: date, progress: Progress, contract: Contract) -> None:
        self.as_of, self.progress, self.contract = as_of, progress, contract
        self.lanes: dict[str, queue.Queue] = {k: queue.Queue() for k in kinds}
        self.total = total
        self.done: dict[str, tuple[Prepared, FileLoadStats | None]] = {}
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if not isinstance(exc, _Stopped):
                self.errors.append(exc)
        self.stop.set()
        self.close_lanes()

    def close_lanes(self) -> None:
        """Tell every lane there is nothing more to load (after what is queued already)."""
        for lane in self.lanes.values():
            lane.put(None)

    def read(self, i: int, p: Prepared) -> None:
        with self.lock:
            self.progress.step(i, self.total, describe_prepared(p), stage=READING)

    def loaded(self, p: Prepared, stats: FileLoadStats | None) -> None:
        if self.stop.is_set():
            raise _Stopped
        with self.lock:
            self.done[p.file.name] = (p, stats)
            self.progress.step(len(self.done), self.total, describe_loaded(p, stats, None))

    def validate(self, pending: list[Future], staging_dir: Path, suites: dict[str, Suite],
                 first_rows: int, batch_rows: int) -> None:
        """The GX thread: batches validated in reading order, each handed to its kind's lane."""
        try:
            def ready() -> Iterator[Prepared]:
                for i, future in enumerate(pending, start=1):
                    p = future.result()
                    self.read(i, p)
                    yield p

            for item in batches_of(ready(), staging_dir, first_rows, batch_rows):
                if self.stop.is_set():
                    raise _Stopped
                if isinstance(item, Batch):
                    outcomes = _validate_batch(item, staging_dir, suites, self.as_of)
                    self.lanes[item.kind].put((item.files, outcomes))
                else:
                    self.lanes[item.file.kind or ""].put(([item], {}))
            self.close_lanes()
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller's thread
            self.fail(exc)
        finally:
            drop_gx_session()  # this thread's GX set-up, kept across its batches (`gx_session`)

    def load(self, kind: str, cursor: duckdb.DuckDBPyConnection) -> None:
        """A lane: its kind's files, each in its own transaction, in the order GX hands them over."""
        try:
            while (item := self.lanes[kind].get()) is not None:
                files, outcomes = item
                load_prepared(cursor, files, outcomes, self.as_of, self.progress, self.contract, self.loaded)
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller's thread
            self.fail(exc)
        finally:
            cursor.close()


def validate_and_load_pending(con: duckdb.DuckDBPyConnection, pending: list[tuple[InboxFile, Future]],
                              staging_dir: Path, suites: dict[str, Suite], as_of: date, progress: Progress,
                              contract: Contract | None = None, first_rows: int = FIRST_BATCH_ROWS,
                              batch_rows: int = BATCH_ROWS) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Validate and load files as their `prepare_file` futures complete; results in the order of `pending`.

    `pending` pairs each lead file with the future of its `prepare_file` (a thread pool's, or Prefect's
    task futures: anything with `.result()`), in `pipeline_order`. The first error of any thread stops
    the others at their next file and is raised here; the files committed by then stay committed.
    """
    contract = contract or load_contract()
    assert all(f.kind in LEAD_KINDS for f, _ in pending), "only lead files are prepared (files_to_prepare)"
    kinds = list(dict.fromkeys(f.kind or "" for f, _ in pending))
    run = _Pipeline(kinds, len(pending), as_of, progress, contract)
    progress.begin("校验与入库", f"{len(pending)} 个文件（读取、校验与入库并行，{len(kinds)} 条入库线）")
    # The caller's context goes along: Prefect's futures and logger look up the run in it.
    threads = [threading.Thread(target=contextvars.copy_context().run, name="duanka-gx", daemon=True,
                                args=(run.validate, [fut for _, fut in pending], staging_dir, suites,
                                      first_rows, batch_rows))]
    threads += [threading.Thread(target=contextvars.copy_context().run, name=f"duanka-load-{kind}", daemon=True,
                                 args=(run.load, kind, con.cursor())) for kind in kinds]
    with load_settings(con):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if run.errors:
        raise run.errors[0]
    return [run.done[f.name] for f, _ in pending]

