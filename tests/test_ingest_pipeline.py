"""The night's ingest overlapped (`ingest_lanes`): same warehouse as validating and loading file by file.

Files are read on a pool while GX validates batches of the files already read and each kind loads on
a lane of its own. These tests hold it to the sequential path (`validate_prepared` →
`load_prepared`, kind by kind, inbox order) table by table, on two generated nights (the second
re-issues leads of the first), with batches small enough that every kind spans several; and check
what a failure leaves behind.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from duanka.contract_schema import load_contract
from duanka.nightly import ingest_lanes, ingest_stage
from duanka.nightly.inbox import InboxFile, discover
from duanka.nightly.ingest_lanes import (
    Batch,
    batches_of,
    pipeline_order,
    plan_batches,
    validate_and_load_pending,
)
from duanka.nightly.ingest_stage import Prepared, StagedRows, load_prepared, prepare_file, validate_prepared
from duanka.progress import Progress
from duanka.sample import generate
from duanka.validate.suites import load_suites
from duanka.warehouse import connect

NIGHTS = (date(2026, 11, 3), date(2026, 11, 4))
TABLES = {
    "bank_leads": "*", "sim_leads": "*", "cases": "*", "bank_leads_history": "*", "sim_leads_history": "*",
    "quarantine": "*", "ingest_files": "* EXCLUDE (loaded_at)", "validation_results": "*",
}
SMALL = {"first_bytes": 15_000, "batch_bytes": 25_000}  # the 1,200-lead sample's bank and sim span several batches


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    generate(root, seed=13, leads=1200, nights=2, start=NIGHTS[0])
    return root


def _lead_files(con, inbox: Path, as_of: date) -> list[InboxFile]:
    return [f for f in discover(inbox, con, as_of) if f.action == "process" and f.kind in ingest_stage.LEAD_KINDS]


def _snapshot(con) -> dict[str, list[str]]:
    return {t: sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall())) for t, cols in TABLES.items()}


def _pipelined(con, inbox: Path, as_of: date, prepare=None, **sizes) -> list:
    order = pipeline_order(_lead_files(con, inbox, as_of))
    contract = load_contract()
    prepare = prepare or (lambda f, i: prepare_file(f, i, as_of, contract))
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [(f, pool.submit(prepare, f, i)) for i, f in enumerate(order, 1)]
        results = validate_and_load_pending(con, pending, load_suites(), as_of, Progress(quiet=True),
                                            contract, **sizes)
    assert [p.file for p, _ in results] == order  # results in reading order
    return results


def _sequential(con, inbox: Path, as_of: date) -> None:
    """Every file read, then each kind validated and loaded, inbox order: no threads anywhere."""
    files = _lead_files(con, inbox, as_of)
    prepared = [prepare_file(f, i, as_of) for i, f in enumerate(files, 1)]
    suites = load_suites()
    load_prepared(con, [p for p in prepared if p.table is None], {}, as_of, Progress(quiet=True))
    for kind in ingest_stage.LEAD_KINDS:
        mine = [p for p in prepared if p.table and p.file.kind == kind]
        load_prepared(con, mine, validate_prepared(mine, suites, as_of), as_of, Progress(quiet=True))


def _run(deliveries: Path, home: Path, pipelined: bool) -> dict[str, list[str]]:
    home.mkdir()
    con = connect(home / "warehouse.duckdb")
    try:
        for as_of in NIGHTS:
            inbox = deliveries / as_of.isoformat()
            if pipelined:
                _pipelined(con, inbox, as_of, **SMALL)
            else:
                _sequential(con, inbox, as_of)
        return _snapshot(con)
    finally:
        con.close()


def test_pipelined_nights_equal_sequential(deliveries: Path, tmp_path: Path) -> None:
    sequential = _run(deliveries, tmp_path / "seq", pipelined=False)
    pipelined = _run(deliveries, tmp_path / "pipe", pipelined=True)
    assert sequential["bank_leads"] and sequential["quarantine"] and sequential["bank_leads_history"]
    for table in TABLES:
        assert pipelined[table] == sequential[table], table


def test_each_kind_loads_on_its_own_lane_in_inbox_order(deliveries: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[tuple[str, str]] = []
    real = ingest_stage._load_one

    def recorded(con, p, *args):
        loads.append((threading.current_thread().name, p.file.name))
        return real(con, p, *args)

    monkeypatch.setattr(ingest_stage, "_load_one", recorded)
    con = connect(tmp_path / "warehouse.duckdb")
    inbox = deliveries / NIGHTS[0].isoformat()
    files = _lead_files(con, inbox, NIGHTS[0])
    _pipelined(con, inbox, NIGHTS[0], **SMALL)
    for kind in ingest_stage.LEAD_KINDS:
        mine = [name for thread, name in loads if thread == f"duanka-load-{kind}"]
        assert mine == [f.name for f in files if f.kind == kind]
    assert len(loads) == len(files)
    con.close()


def _fake(name: str, kind: str, rows: int, table: str | None = "t") -> Prepared:
    f = InboxFile(Path(name), name, kind, name, "process")
    staged = StagedRows(pa.table({"_row": list(range(rows))})) if table else None
    return Prepared(f, table and f"{table}_{name}", None if table else "拒收", rows, staged=staged)


def test_batches_are_planned_from_sizes_small_first_then_larger_one_kind_each() -> None:
    sizes = [("bank", 100), ("bank", 100), ("bank", 100), ("bank", 100), ("bank", 5), ("bank", 100),
             ("sim", 50), ("sim", 60), ("case", 500)]
    # A kind's first batch is small, the later ones larger; a file larger than a batch is a batch of its own.
    assert plan_batches(sizes, first_bytes=150, batch_bytes=300) == [0, 1, 1, 1, 2, 2, 3, 3, 4]


def test_a_batch_goes_on_with_its_last_file_not_after_the_next_one_is_read() -> None:
    files = [_fake("bank_a", "bank", 100), _fake("bank_b", "bank", 100), _fake("bank_c", "bank", 100),
             _fake("bank_d", "bank", 100), _fake("bank_x", "bank", 5, table=None), _fake("bank_e", "bank", 100),
             _fake("sim_a", "sim", 50), _fake("sim_b", "sim", 60), _fake("case_a", "case", 500)]
    pulled: list[str] = []

    def reading():
        for p in files:
            pulled.append(p.file.name)
            yield p

    shape = []
    for item in batches_of(reading(), [0, 1, 1, 1, 2, 2, 3, 3, 4]):
        names = [p.file.name for p in item.files] if isinstance(item, Batch) else [item.file.name]
        assert pulled[-1] == names[-1]  # nothing read past the batch's (or the passed file's) last file
        shape.append(names if isinstance(item, Batch) else item.file.name)
    # The refused file goes on at once, with no GX; its planned batch goes on without it.
    assert shape == [["bank_a"], ["bank_b", "bank_c", "bank_d"], "bank_x", ["bank_e"], ["sim_a", "sim_b"],
                     ["case_a"]]


def test_pipeline_reads_the_largest_kind_first(deliveries: Path) -> None:
    con = connect()
    files = _lead_files(con, deliveries / NIGHTS[0].isoformat(), NIGHTS[0])
    order = pipeline_order(files)
    sizes = {k: sum(f.path.stat().st_size for f in files if f.kind == k) for k in ingest_stage.LEAD_KINDS}
    kinds = list(dict.fromkeys(f.kind for f in order))
    assert [sizes[k] for k in kinds] == sorted(sizes.values(), reverse=True)
    for kind in kinds:  # inbox order within a kind
        assert [f for f in order if f.kind == kind] == [f for f in files if f.kind == kind]


def _whole(con) -> None:
    for read, ok, quarantined, duplicate in con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM ingest_files WHERE status = 'loaded'"
    ).fetchall():
        assert read == ok + quarantined + duplicate > 0


def _rerun_equals_uninterrupted(deliveries: Path, tmp_path: Path, con) -> None:
    """What a rerun of the night does: the files not loaded yet go through again; the end state is the
    uninterrupted night's."""
    as_of = NIGHTS[0]
    _pipelined(con, deliveries / as_of.isoformat(), as_of, **SMALL)
    clean = connect(tmp_path / "clean.duckdb")
    _pipelined(clean, deliveries / as_of.isoformat(), as_of, **SMALL)
    expected, actual = _snapshot(clean), _snapshot(con)
    for table in ("bank_leads", "sim_leads", "cases", "quarantine", "validation_results"):
        assert actual[table] == expected[table], table
    clean.close()


def test_a_batch_failing_gx_loads_nothing_of_its_own_and_a_rerun_completes(
        deliveries: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect(tmp_path / "warehouse.duckdb")
    as_of = NIGHTS[0]
    real = ingest_lanes._validate_batch
    failed: list[Batch] = []

    def broken(batch, *args):
        if batch.kind == "sim" and not failed:
            failed.append(batch)
            raise OSError("磁盘读取失败")
        return real(batch, *args)

    monkeypatch.setattr(ingest_lanes, "_validate_batch", broken)
    with pytest.raises(OSError, match="磁盘读取失败"):
        _pipelined(con, deliveries / as_of.isoformat(), as_of, **SMALL)
    loaded = {row[0] for row in con.execute("SELECT file FROM ingest_files").fetchall()}
    assert failed and not loaded & {p.file.name for p in failed[0].files}
    _whole(con)
    monkeypatch.setattr(ingest_lanes, "_validate_batch", real)
    _rerun_equals_uninterrupted(deliveries, tmp_path, con)
    con.close()


def test_a_file_failing_to_read_stops_the_lanes_and_leaves_every_loaded_file_whole(
        deliveries: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "warehouse.duckdb")
    as_of = NIGHTS[0]
    order = pipeline_order(_lead_files(con, deliveries / as_of.isoformat(), as_of))

    def prepare(f, i):
        if f == order[-1]:
            raise OSError("磁盘读取失败")
        return prepare_file(f, i, as_of, load_contract())

    with pytest.raises(OSError, match="磁盘读取失败"):
        _pipelined(con, deliveries / as_of.isoformat(), as_of, prepare=prepare, **SMALL)
    loaded = {row[0] for row in con.execute("SELECT file FROM ingest_files").fetchall()}
    assert order[-1].name not in loaded
    _whole(con)
    _rerun_equals_uninterrupted(deliveries, tmp_path, con)
    con.close()


def test_a_retried_ingest_loads_nothing_twice(deliveries: Path, tmp_path: Path) -> None:
    """A retried ingest task gets the same prepare futures again: the files its first attempt committed
    keep their figures and rows. Their staged rows were let go of at commit (the futures outlive the
    ingest), so the retry must not need them."""
    con = connect(tmp_path / "warehouse.duckdb")
    as_of = NIGHTS[0]
    order = pipeline_order(_lead_files(con, deliveries / as_of.isoformat(), as_of))
    contract = load_contract()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [(f, pool.submit(prepare_file, f, i, as_of, contract)) for i, f in enumerate(order, 1)]
        first = validate_and_load_pending(con, pending, load_suites(), as_of, Progress(quiet=True))
        before = _snapshot(con)
        again = validate_and_load_pending(con, pending, load_suites(), as_of, Progress(quiet=True))
    assert all(p.staged.released for p, _ in first if p.staged) and any(p.staged for p, _ in first)
    assert again == first and any(stats for _, stats in first)
    assert _snapshot(con) == before
    con.close()
