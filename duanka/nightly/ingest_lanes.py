"""Validate and load the night's files while later files are still read and normalised.

Why lanes: loading is the longest chain of the ingest (each file one transaction, most of it DuckDB
compressing the rows when the commit checkpoints, one core; a commit while another connection writes
leaves its checkpoint to a later commit, so the compressing runs mostly one file at a time), and the
kinds load into separate tables. So each lead kind gets a lane of its own: a thread
with its own cursor of the warehouse, loading its kind's files in inbox order (which decides a re-issued
lead's newest version when issue times tie). One GX thread takes the prepared files as they are ready,
gathers them into batches of one kind (planned from the files' sizes, `plan_batches`), validates each
batch and hands it to its kind's lane. Files are read largest kind first, and the first batch of each
kind is about one file, so the loads start early and run beside the reading of everything else.

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
from duanka.validate.runner import warm_up
from duanka.validate.suites import Suite

# Bytes of a kind's first GX batch, and of its later ones (~100k and ~400k rows of a bank CSV). GX costs
# ~0.2 s CPU per run whatever the rows, so batches are not made smaller than the pipeline needs: the first
# about one file, so the loads start as soon as it is read; the later ones larger, each validated while
# the lane loads the one before. Measured at 1M leads, alternated, 4 runs each: 24/100 MB 11.5 s median,
# 64/160 MB 12.3 s (a slow afternoon of the shared host); in rows earlier, 250k/600k beat 150k/400k and
# 100k/250k (then a batch also waited for the next file's read, see `plan_batches`).
FIRST_BATCH_BYTES = 24_000_000
BATCH_BYTES = 100_000_000
# Files read and normalised at once: each holds its frame in memory (a 200k-row file ~250 MB); all at
# once doubled the peak at a million leads without being faster on 2 cores.
PREPARE_THREADS = max(2, min(4, os.cpu_count() or 2))


def pipeline_order(files: list[InboxFile]) -> list[InboxFile]:
    """Lead files in the order to read them: kind by kind, the kind with the most bytes first (its lane
    has the longest chain of loads), inbox order within a kind."""
    size = {k: sum(f.path.stat().st_size for f in files if f.kind == k) for k in LEAD_KINDS}
    kinds = sorted((k for k in LEAD_KINDS if any(f.kind == k for f in files)), key=lambda k: -size[k])
    return sorted(files, key=lambda f: kinds.index(f.kind or ""))


def plan_batches(files: list[tuple[str, int]], first_bytes: int = FIRST_BATCH_BYTES,
                 batch_bytes: int = BATCH_BYTES) -> list[int]:
    """The GX batch of each file (kind, bytes), in reading order: consecutive files of one kind, a kind's
    first batch up to `first_bytes`, the later up to `batch_bytes` (one file alone may be larger).

    Planned from the sizes before anything is read, so a batch is validated the moment its last file is
    read: cut by rows, a batch waited for the next file's read to learn that it did not fit, and its lane
    (the bank lane, the night's longest chain) sat idle meanwhile (~0.7 s at 1M leads)."""
    plan: list[int] = []
    started: set[str] = set()
    batch, size, kind = -1, 0, None
    for file_kind, n in files:
        limit = batch_bytes if file_kind in started else first_bytes
        if file_kind != kind or size + n > limit:
            if kind is not None:
                started.add(kind)
            batch, size, kind = batch + 1, 0, file_kind
        plan.append(batch)
        size += n
    return plan


def batches_of(prepared: Iterator[Prepared], plan: list[int]) -> Iterator[Prepared | Batch]:
    """The prepared files, in the order they come, gathered into their planned batches (`plan_batches`);
    each batch is handed on with its last file. A file that needs no GX (refused while reading, or
    committed by an earlier attempt) is passed on as it is, at once."""
    current: list[Prepared] = []
    for i, p in enumerate(prepared):
        if p.needs_validation:
            current.append(p)
        else:
            yield p
        if current and (i + 1 == len(plan) or plan[i + 1] != plan[i]):
            yield Batch(current[0].file.kind or "", current)
            current = []
    if current:
        yield Batch(current[0].file.kind or "", current)


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

    def validate(self, pending: list[Future], plan: list[int], suites: dict[str, Suite]) -> None:
        """The GX thread: batches validated in reading order, each handed to its kind's lane."""
        try:
            warm_up(suites, list(self.lanes), self.as_of)

            def ready() -> Iterator[Prepared]:
                for i, future in enumerate(pending, start=1):
                    p = future.result()
                    self.read(i, p)
                    yield p

            for item in batches_of(ready(), plan):
                if self.stop.is_set():
                    raise _Stopped
                if isinstance(item, Batch):
                    outcomes = _validate_batch(item, suites, self.as_of)
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
                              suites: dict[str, Suite], as_of: date, progress: Progress,
                              contract: Contract | None = None, first_bytes: int = FIRST_BATCH_BYTES,
                              batch_bytes: int = BATCH_BYTES) -> list[tuple[Prepared, FileLoadStats | None]]:
    """Validate and load files as their `prepare_file` futures complete; results in the order of `pending`.

    `pending` pairs each lead file with the future of its `prepare_file` (a thread pool's, or Prefect's
    task futures: anything with `.result()`), in `pipeline_order`. The first error of any thread stops
    the others at their next file and is raised here; the files committed by then stay committed.
    """
    contract = contract or load_contract()
    assert all(f.kind in LEAD_KINDS for f, _ in pending), "only lead files are prepared (files_to_prepare)"
    kinds = list(dict.fromkeys(f.kind or "" for f, _ in pending))
    plan = plan_batches([(f.kind or "", f.path.stat().st_size) for f, _ in pending], first_bytes, batch_bytes)
    run = _Pipeline(kinds, len(pending), as_of, progress, contract)
    progress.begin("校验与入库", f"{len(pending)} 个文件（读取、校验与入库并行，{len(kinds)} 条入库线）")
    # The caller's context goes along: Prefect's futures and logger look up the run in it.
    threads = [threading.Thread(target=contextvars.copy_context().run, name="duanka-gx", daemon=True,
                                args=(run.validate, [fut for _, fut in pending], plan, suites))]
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

