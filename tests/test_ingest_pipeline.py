"""GX on a thread while the loader commits: same warehouse as validating everything first, then loading.

`validate_and_load` overlaps GX (batch k+1) with the loads (batch k). These tests hold it to the
sequential path (`stage_tables` → `validate_prepared` → `load_prepared`) table by table, on two
generated nights (the second re-issues leads of the first), with batches small enough that every
kind spans several; and check that a file never loads before its own batch passed GX.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from duanka.contract_schema import load_contract
from duanka.nightly import ingest_stage
from duanka.nightly.inbox import InboxFile, discover
from duanka.nightly.ingest_stage import (
    Prepared,
    load_prepared,
    pipeline_order,
    plan_batches,
    prepare_file,
    prepare_files,
    stage_tables,
    validate_and_load,
    validate_and_load_pending,
    validate_prepared,
)
from duanka.progress import Progress
from duanka.sample import generate
from duanka.validate.suites import load_suites
from duanka.warehouse import connect

NIGHTS = (date(2026, 11, 3), date(2026, 11, 4))
TABLES = {
    "bank_leads": "*", "sim_leads": "*", "cases": "*", "bank_leads_history": "*", "sim_leads_history": "*",
    "quarantine": "*", "ingest_files": "* EXCLUDE (loaded_at)", "validation_results": "*",
}


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    generate(root, seed=13, leads=1200, nights=2, start=NIGHTS[0])
    return root


def _prepare(con, inbox: Path, staging: Path, as_of: date) -> list[Prepared]:
    files = [f for f in discover(inbox, con, as_of) if f.action == "process" and f.kind in ingest_stage.LEAD_KINDS]
    return prepare_files(files, staging, load_contract(), as_of, Progress(quiet=True), workers=2)


def _snapshot(con) -> dict[str, list[str]]:
    return {t: sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall())) for t, cols in TABLES.items()}


def _run_pending(con, inbox: Path, staging: Path, as_of: date, batch_rows: int) -> None:
    """Read + normalise on a pool while the loads go (`validate_and_load_pending`), files submitted in
    `pipeline_order`."""
    files = [f for f in discover(inbox, con, as_of) if f.action == "process" and f.kind in ingest_stage.LEAD_KINDS]
    order = pipeline_order(files)
    kinds = [f.kind for f in order]
    assert kinds == sorted(kinds, key=kinds.index) and len(set(kinds)) == 3  # kind by kind
    contract = load_contract()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [(f, pool.submit(prepare_file, f, i, staging, as_of, contract)) for i, f in enumerate(order, 1)]
        results = validate_and_load_pending(con, pending, staging, load_suites(), as_of, Progress(quiet=True),
                                            batch_rows=batch_rows)
    assert [p.file for p, _ in results] == order


def _run(deliveries: Path, tmp_path: Path, pipelined: bool | str) -> dict[str, list[str]]:
    tmp_path.mkdir()
    con = connect(tmp_path / "warehouse.duckdb")
    suites = load_suites()
    try:
        for as_of in NIGHTS:
            staging = tmp_path / f"staging-{as_of}"
            if pipelined == "pending":
                _run_pending(con, deliveries / as_of.isoformat(), staging, as_of, batch_rows=400)
                continue
            prepared = _prepare(con, deliveries / as_of.isoformat(), staging, as_of)
            if pipelined:
                batches = plan_batches(prepared, staging, batch_rows=400)
                assert len(batches) > len({b.kind for b in batches})  # some kind spans several batches
                results = validate_and_load(con, prepared, staging, suites, as_of, Progress(quiet=True),
                                            batch_rows=400)
                assert [p for p, _ in results] == prepared
            else:
                db = tmp_path / f"staging-{as_of}.duckdb"
                stage_tables(prepared, staging, db)
                outcomes = validate_prepared(prepared, db, suites, as_of)
                load_prepared(con, prepared, outcomes, db, as_of, Progress(quiet=True))
        return _snapshot(con)
    finally:
        con.close()


def test_pipelined_night_equals_sequential(deliveries: Path, tmp_path: Path) -> None:
    sequential = _run(deliveries, tmp_path / "seq", pipelined=False)
    pipelined = _run(deliveries, tmp_path / "pipe", pipelined=True)
    assert sequential["bank_leads"] and sequential["quarantine"] and sequential["bank_leads_history"]
    for table in TABLES:
        assert pipelined[table] == sequential[table], table
    pending = _run(deliveries, tmp_path / "pending", pipelined="pending")
    for table in TABLES:
        assert pending[table] == sequential[table], table


def _fake(name: str, kind: str, rows: int, table: str | None = "t") -> Prepared:
    f = InboxFile(Path(name), name, kind, name, "process")
    return Prepared(f, table and f"{table}_{name}", None if table else "拒收", rows)


def test_batches_keep_kind_and_inbox_order(tmp_path: Path) -> None:
    files = [_fake("bank_a", "bank", 100), _fake("bank_b", "bank", 100), _fake("bank_c", "bank", 100),
             _fake("sim_a", "sim", 50), _fake("bank_x", "bank", 5, table=None), _fake("case_a", "case", 120),
             _fake("sim_b", "sim", 60)]
    batches = plan_batches(files, tmp_path, batch_rows=250)
    # Kinds with fewer rows first; every kind keeps its inbox order; refusals stay out.
    assert [[p.file.name for p in b.files] for b in batches] == [["sim_a", "sim_b"], ["case_a"],
                                                                 ["bank_a", "bank_b"], ["bank_c"]]
    assert all(p.file.kind == b.kind for b in batches for p in b.files)
    assert len({b.db for b in batches}) == len(batches)


def test_a_batch_that_fails_gx_loads_nothing_of_its_own(deliveries: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect(tmp_path / "warehouse.duckdb")
    as_of = NIGHTS[0]
    staging = tmp_path / "staging"
    prepared = _prepare(con, deliveries / as_of.isoformat(), staging, as_of)
    batches = plan_batches(prepared, staging, batch_rows=400)
    assert len(batches) >= 3
    real = ingest_stage._validate_batch

    def broken(batch, *args):
        if batch.db == batches[1].db:
            raise OSError("磁盘读取失败")
        return real(batch, *args)

    monkeypatch.setattr(ingest_stage, "_validate_batch", broken)
    with pytest.raises(OSError):
        validate_and_load(con, prepared, staging, load_suites(), as_of, Progress(quiet=True), batch_rows=400)
    loaded = {row[0] for row in con.execute("SELECT file FROM ingest_files").fetchall()}
    refused = {p.file.name for p in prepared if p.table is None}
    assert loaded == {p.file.name for p in batches[0].files} | refused
    # Each loaded file is whole: its rows add up.
    for read, ok, quarantined, duplicate in con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM ingest_files WHERE status = 'loaded'"
    ).fetchall():
        assert read == ok + quarantined + duplicate > 0
    con.close()


def test_pending_files_of_a_later_kind_failing_leave_the_earlier_kinds_whole(deliveries: Path,
                                                                            tmp_path: Path) -> None:
    con = connect(tmp_path / "warehouse.duckdb")
    as_of = NIGHTS[0]
    inbox, staging = deliveries / as_of.isoformat(), tmp_path / "staging"
    files = [f for f in discover(inbox, con, as_of) if f.action == "process" and f.kind in ingest_stage.LEAD_KINDS]
    order = pipeline_order(files)
    sizes = {k: sum(f.path.stat().st_size for f in files if f.kind == k) for k in ingest_stage.LEAD_KINDS}
    assert [sizes[k] for k in dict.fromkeys(f.kind for f in order)] == sorted(sizes.values())
    last = order[-1].kind

    def prepare(f, i):
        if f.kind == last and f == order[-1]:
            raise OSError("磁盘读取失败")
        return prepare_file(f, i, staging, as_of, load_contract())

    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [(f, pool.submit(prepare, f, i)) for i, f in enumerate(order, 1)]
        with pytest.raises(OSError):
            validate_and_load_pending(con, pending, staging, load_suites(), as_of, Progress(quiet=True))
    loaded = {row[0] for row in con.execute("SELECT file FROM ingest_files").fetchall()}
    assert loaded == {f.name for f in order if f.kind != last}
    for read, ok, quarantined, duplicate in con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM ingest_files WHERE status = 'loaded'"
    ).fetchall():
        assert read == ok + quarantined + duplicate > 0
    con.close()
