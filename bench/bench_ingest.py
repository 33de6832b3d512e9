"""Benchmark: ingest + validate of N generated leads against DuckDB's bare `read_csv` of the same files.

    .venv/bin/python bench/bench_ingest.py --leads 1000000

Generates one night (seeded) into bench/out/, keeps its CSV files (the bare read has no XLSX reader
without a downloaded extension, so both sides read the same CSV files), then measures, each in a
fresh process so that peak RSS belongs to one side only:

- bare:   DuckDB `read_csv(all_varchar=true)` of every file, materialised into a table;
- duanka: read + normalise (Polars) → stage → GX validation on DuckDB → transactional load.

The duanka side does what a night does: the flow (`flows/nightly.py`, `prepare_fanned_out`) runs
read + normalise as one Prefect task per file on the flow's thread pool (`PREPARE_THREADS` in
`flows/nightly.py`: 2-4 threads); the bench prepares the files on a ThreadPoolExecutor of that size, without Prefect's ~10 s server start-up,
then hands them to `stages.ingest_leads` like the flow does. The machine may be shared: each side
reports wall time and CPU time (user + system, all threads), and the duanka side its split per stage.

Prints a Markdown table row for the README.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
NIGHT = date(2026, 11, 3)


def prepare(leads: int, seed: int) -> Path:
    from duanka.sample import generate

    deliveries = OUT / f"deliveries-{leads}"
    if not (deliveries / "truth.json").exists():
        shutil.rmtree(deliveries, ignore_errors=True)
        generate(deliveries, seed=seed, leads=leads, nights=1, start=NIGHT)
    inbox = OUT / f"inbox-{leads}"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir(parents=True)
    for f in sorted((deliveries / NIGHT.isoformat()).glob("*.csv")):
        (inbox / f.name).symlink_to(f)
    return inbox


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prefect_default_workers(files: int) -> int:
    """The size of the nightly flow's thread pool for preparing files."""
    from flows.nightly import PREPARE_THREADS

    return max(1, min(files, PREPARE_THREADS))


def run_bare(inbox: Path) -> dict:
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    started, cpu = time.perf_counter(), cpu_seconds()
    rows = 0
    for i, f in enumerate(sorted(inbox.glob("*.csv"))):
        # The bare reader knows no GBK: hand it UTF-8 like duanka's reader ends up with.
        data = f.read_bytes()
        try:
            data.decode("utf-8")
            path = f
        except UnicodeDecodeError:
            path = OUT / f"utf8-{f.name}"
            path.write_bytes(data.decode("gb18030").encode("utf-8"))
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}', all_varchar = true, header = true)")
        rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "cpu_seconds": cpu_seconds() - cpu, "rows": rows}


def run_duanka(inbox: Path) -> dict:
    from duanka import warehouse
    from duanka.nightly import stages
    from duanka.nightly.context import preflight
    from duanka.nightly.ingest_stage import prepare_files
    from duanka.progress import Progress

    class StageClock(Progress):
        """Progress that keeps each stage's wall and CPU seconds (CPU of the whole process, all threads)."""

        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.times: dict[str, tuple[float, float]] = {}

        def begin(self, stage: str, detail: str = "") -> None:
            self.cpu_started = cpu_seconds()
            super().begin(stage, detail)

        def end(self, detail: str = "") -> float:
            elapsed = super().end(detail)
            self.times[self.stage] = (elapsed, cpu_seconds() - self.cpu_started)
            return elapsed

        def split(self) -> dict[str, str]:
            return {stage: f"{wall:.1f} s wall / {cpu:.1f} s CPU" for stage, (wall, cpu) in self.times.items()}

    home = OUT / "home"
    shutil.rmtree(home, ignore_errors=True)
    cfg = preflight(inbox, home, NIGHT)
    import_started = time.perf_counter()
    from duanka.validate.gx_duckdb import import_gx

    import_gx()  # a nightly process pays this once (4-10 s); reported apart from the stage work
    gx_import = time.perf_counter() - import_started
    con = warehouse.connect(cfg.home.warehouse)
    clock = StageClock(quiet=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    files = stages.discover_inbox(cfg, con, clock)
    todo = stages.files_to_prepare(files)
    workers = prefect_default_workers(len(todo))
    clock.begin("prepare")
    prepared = prepare_files(todo, stages.reset_staging_dir(cfg), cfg.contract, cfg.as_of, clock, workers=workers)
    clock.end()
    stages.ingest_leads(cfg, con, files, clock, prepared)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rows = con.execute("SELECT sum(rows_read) FROM ingest_files").fetchone()[0]
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": int(rows), "gx_import_seconds": gx_import,
            "prepare_workers": workers, "stages": clock.split()}


def child(side: str, inbox: Path) -> None:
    result = run_bare(inbox) if side == "bare" else run_duanka(inbox)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--child", choices=["bare", "duanka"])
    parser.add_argument("--inbox", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.inbox)
        return
    inbox = prepare(args.leads, args.seed)
    results = {}
    for side in ("bare", "duanka"):
        out = subprocess.run([sys.executable, __file__, "--child", side, "--inbox", str(inbox)],
                             capture_output=True, text=True, check=True)
        results[side] = json.loads(out.stdout.strip().splitlines()[-1])
    bare, ours = results["bare"], results["duanka"]
    print(json.dumps(results, indent=2))
    print("| leads | rows read | bare read_csv (wall / CPU) | duanka ingest+validate (wall / CPU, + GX import) "
          "| ratio wall / CPU | peak RSS bare / duanka |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.leads:,} | {ours['rows']:,} | {bare['seconds']:.1f} s / {bare['cpu_seconds']:.1f} s "
          f"| {ours['seconds']:.1f} s / {ours['cpu_seconds']:.1f} s (+ {ours['gx_import_seconds']:.1f} s) "
          f"| {ours['seconds'] / bare['seconds']:.1f}× / {ours['cpu_seconds'] / bare['cpu_seconds']:.1f}× "
          f"| {bare['peak_rss_mb']:.0f} MB / {ours['peak_rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
