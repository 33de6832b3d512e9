"""Benchmark: ingest + validate of N generated leads against DuckDB's bare `read_csv` of the same files.

    .venv/bin/python bench/bench_ingest.py --leads 1000000

Generates one night (seeded) into bench/out/, keeps its CSV files (the bare read has no XLSX reader
without a downloaded extension, so both sides read the same CSV files), then measures, each in a
fresh process so that peak RSS belongs to one side only:

- bare:   DuckDB `read_csv(all_varchar=true)` of every file, materialised into an in-memory table
          (GBK files transcoded to UTF-8 in Python first, inside the timing, as duanka must too);
- typed:  the same with DuckDB's own type detection (`read_csv` with defaults), for comparison:
          the baseline is not cheap for being untyped (both cost the same, measured);
- duanka: discover (SHA-256) → read + normalise (Polars) → stage → GX validation on DuckDB →
          transactional load into the warehouse file, every file committed on its own. GX validates
          one kind on a thread while the previous kind loads (`ingest_stage.validate_and_load`): the
          split reports "校验" as the wait for the first kind's GX and "入库" as the loads with the
          other kinds' GX overlapped;
- pipelined: the same with the loads also overlapping read + normalise of the files not loaded yet
          (`ingest_stage.validate_and_load_pending`: batches of one kind up to ~400k rows, each
          validated as soon as its files are ready): what a night would do if the flow handed the
          prepare futures to the ingest task instead of waiting for them. Measured on the shared
          machine it cost ~1-1.5 s more CPU and was not faster, so the flow does not do it.
          Reported on its own line; the README row stays the flow as it is.

The duanka side does what a night does: the flow (`flows/nightly.py`, `prepare_fanned_out`) runs
read + normalise as one Prefect task per file on the flow's thread pool (`PREPARE_THREADS` in
`flows/nightly.py`: 2-4 threads); the bench prepares the files on a ThreadPoolExecutor of that size,
without Prefect's ~10 s server start-up, then hands them to `stages.ingest_leads` like the flow does.
Importing GX and Prefect (one-off costs a nightly process pays once, at start) happens before the
clock starts and is reported apart. The machine may be shared: each side reports wall time and CPU
time (user + system, all threads), and the duanka side its split per stage.

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


def run_bare(inbox: Path, typed: bool = False) -> dict:
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    options = "" if typed else ", all_varchar = true, header = true"
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
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}'{options})")
        rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "cpu_seconds": cpu_seconds() - cpu, "rows": rows}


def run_duanka(inbox: Path, pipelined: bool = False) -> dict:
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
            if self.stage and self.stage not in self.times:  # a stage that the next one closes
                self.times[self.stage] = (time.monotonic() - self.stage_started, cpu_seconds() - self.cpu_started)
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
    import_started, import_cpu = time.perf_counter(), cpu_seconds()
    import prefect  # noqa: F401 - the flow's process has it; progress lines go through its logger

    from duanka.validate.gx_duckdb import import_gx

    import_gx()  # a nightly process pays this once (4-10 s); reported apart from the stage work
    imports = (time.perf_counter() - import_started, cpu_seconds() - import_cpu)
    con = warehouse.connect(cfg.home.warehouse)
    clock = StageClock(quiet=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    files = stages.discover_inbox(cfg, con, clock)
    todo = stages.files_to_prepare(files)
    workers = prefect_default_workers(len(todo))
    if pipelined:
        run_pipelined(cfg, con, todo, workers, clock)
    else:
        clock.begin("prepare")
        prepared = prepare_files(todo, stages.reset_staging_dir(cfg), cfg.contract, cfg.as_of, clock,
                                 workers=workers)
        clock.end()
        stages.ingest_leads(cfg, con, files, clock, prepared)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rows = con.execute("SELECT sum(rows_read) FROM ingest_files").fetchone()[0]
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": int(rows), "import_seconds": imports[0],
            "import_cpu_seconds": imports[1],
            "prepare_workers": workers, "stages": clock.split()}


def run_pipelined(cfg, con, todo: list, workers: int, clock) -> None:
    """What a night would do with the flow change proposed for issue 3: the loads start while later
    files are still read and normalised (`ingest_stage.validate_and_load_pending`)."""
    from concurrent.futures import ThreadPoolExecutor

    from duanka.nightly import ingest_stage, stages

    staging = stages.reset_staging_dir(cfg)
    order = ingest_stage.pipeline_order(todo)
    clock.begin("prepare (overlapped)")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [(f, pool.submit(ingest_stage.prepare_file, f, i, staging, cfg.as_of, cfg.contract))
                   for i, f in enumerate(order, start=1)]
        ingest_stage.validate_and_load_pending(con, pending, staging, cfg.suites, cfg.as_of, clock, cfg.contract)
    clock.end()
    shutil.rmtree(staging, ignore_errors=True)


def child(side: str, inbox: Path) -> None:
    if side in ("duanka", "pipelined"):
        result = run_duanka(inbox, pipelined=side == "pipelined")
    else:
        result = run_bare(inbox, typed=side == "typed")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def table(leads: int, bare: dict, typed: dict, ours: dict) -> str:
    """The README's row: wall and CPU of both sides, their ratios, peak RSS."""
    header = ("| leads | rows read | bare read_csv (wall / CPU) | duanka ingest+validate (wall / CPU) "
              "| ratio wall / CPU | one-off imports (GX, Prefect) | peak RSS bare / duanka |")
    row = (f"| {leads:,} | {ours['rows']:,} | {bare['seconds']:.1f} s / {bare['cpu_seconds']:.1f} s "
           f"| {ours['seconds']:.1f} s / {ours['cpu_seconds']:.1f} s "
           f"| {ours['seconds'] / bare['seconds']:.1f}× / {ours['cpu_seconds'] / bare['cpu_seconds']:.1f}× "
           f"| {ours['import_seconds']:.1f} s / {ours['import_cpu_seconds']:.1f} s "
           f"| {bare['peak_rss_mb']:.0f} MB / {ours['peak_rss_mb']:.0f} MB |")
    note = (f"typed read_csv (DuckDB's type detection): {typed['seconds']:.1f} s / {typed['cpu_seconds']:.1f} s CPU, "
            f"{typed['peak_rss_mb']:.0f} MB; ratio with the one-off imports counted: "
            f"{(ours['seconds'] + ours['import_seconds']) / bare['seconds']:.1f}× wall.")
    return f"{header}\n|---|---|---|---|---|---|---|\n{row}\n\n{note}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--child", choices=["bare", "typed", "duanka", "pipelined"])
    parser.add_argument("--inbox", type=Path)
    parser.add_argument("--only", choices=["duanka", "pipelined"],
                        help="the bare read and this side only (quicker; no README row)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.inbox)
        return
    inbox = prepare(args.leads, args.seed)
    results = {}
    for side in ("bare", args.only) if args.only else ("bare", "typed", "duanka", "pipelined"):
        out = subprocess.run([sys.executable, __file__, "--child", side, "--inbox", str(inbox)],
                             capture_output=True, text=True, check=True)
        results[side] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))
    if args.only:
        ours, bare = results[args.only], results["bare"]
        print(f"{args.only}: {ours['seconds']:.1f} s / {ours['cpu_seconds']:.1f} s CPU, bare {bare['seconds']:.1f} s / "
              f"{bare['cpu_seconds']:.1f} s: {ours['seconds'] / bare['seconds']:.1f}× / "
              f"{ours['cpu_seconds'] / bare['cpu_seconds']:.1f}×")
        return
    print(table(args.leads, results["bare"], results["typed"], results["duanka"]))
    ours = results["pipelined"]
    print(f"\nwith the loads overlapping read + normalise (flow change proposed): {ours['seconds']:.1f} s / "
          f"{ours['cpu_seconds']:.1f} s CPU, {ours['seconds'] / results['bare']['seconds']:.1f}× / "
          f"{ours['cpu_seconds'] / results['bare']['cpu_seconds']:.1f}× the bare read, {ours['peak_rss_mb']:.0f} MB.")


if __name__ == "__main__":
    main()
