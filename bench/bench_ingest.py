"""Benchmark: ingest + validate of N generated leads against DuckDB's bare `read_csv` of the same files.

    .venv/bin/python bench/bench_ingest.py --leads 1000000

Generates one night (seeded) into bench/out/, keeps its CSV files (the bare read has no XLSX reader
without a downloaded extension, so both sides read the same CSV files), then measures, each in a
fresh process so that peak RSS belongs to one side only:

- bare:   DuckDB `read_csv(all_varchar=true)` of every file, materialised into an in-memory table
          (GBK files transcoded to UTF-8 in Python first, inside the timing, as duanka must too);
- typed:  the same with DuckDB's own type detection (`read_csv` with defaults), for comparison:
          the baseline is not cheap for being untyped (both cost the same, measured);
- stored: the bare read into a DuckDB *file* instead of memory, one committed table per file:
          what persisting the same rows costs DuckDB alone (compressing them at each commit), before
          any normalisation, check or bookkeeping; reported for scale, the target stays the bare read;
- duanka: discover (SHA-256) → read + normalise (Polars) → stage → GX validation on DuckDB →
          transactional load into the warehouse file, every file committed on its own, overlapped as
          a night runs them (`ingest_lanes`: GX and one loader per kind take each file as it is read).

The duanka side does what a night does: the flow (`flows/nightly.py`, `ingest_fanned_out`) submits
read + normalise as one Prefect task per file to the flow's thread pool (`PREPARE_THREADS`, 2-4
threads) and hands the futures to `stages.ingest_leads`; the bench submits the same function to a
ThreadPoolExecutor of that size (`stages.ingest_leads` without futures does exactly this), without
Prefect's ~10 s server start-up. Importing GX and Prefect (one-off costs a nightly process pays once,
at start) happens before the clock starts and is reported apart. The machine may be shared: each side
reports wall time and CPU time (user + system, all threads), and the duanka side its split per stage.

Prints a Markdown table row for the README: with `--pairs N`, the bare read and duanka run N times,
alternated, and the row is the pair of median ratio (all ratios printed too).
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


def run_bare(inbox: Path, typed: bool = False, stored: bool = False) -> dict:
    import duckdb

    target = OUT / "stored.duckdb"
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target) if stored else ":memory:",
                         config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
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


def run_duanka(inbox: Path) -> dict:
    from duanka import warehouse
    from duanka.nightly import stages
    from duanka.nightly.context import preflight
    from duanka.nightly.ingest_lanes import PREPARE_THREADS
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
    stages.ingest_leads(cfg, con, files, clock)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rows = con.execute("SELECT sum(rows_read) FROM ingest_files").fetchone()[0]
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": int(rows), "import_seconds": imports[0],
            "import_cpu_seconds": imports[1], "prepare_workers": PREPARE_THREADS, "stages": clock.split()}


def child(side: str, inbox: Path) -> None:
    if side == "duanka":
        result = run_duanka(inbox)
    else:
        result = run_bare(inbox, typed=side == "typed", stored=side == "stored")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def table(leads: int, bare: dict, typed: dict, stored: dict, ours: dict) -> str:
    """The README's row: wall and CPU of both sides, their ratios, peak RSS; the other baselines below."""
    header = ("| leads | rows read | bare read_csv (wall / CPU) | duanka ingest+validate (wall / CPU) "
              "| ratio wall / CPU | one-off imports (GX, Prefect) | peak RSS bare / duanka |")
    row = (f"| {leads:,} | {ours['rows']:,} | {bare['seconds']:.1f} s / {bare['cpu_seconds']:.1f} s "
           f"| {ours['seconds']:.1f} s / {ours['cpu_seconds']:.1f} s "
           f"| {ours['seconds'] / bare['seconds']:.1f}× / {ours['cpu_seconds'] / bare['cpu_seconds']:.1f}× "
           f"| {ours['import_seconds']:.1f} s / {ours['import_cpu_seconds']:.1f} s "
           f"| {bare['peak_rss_mb']:.0f} MB / {ours['peak_rss_mb']:.0f} MB |")
    note = (f"typed read_csv (DuckDB's type detection): {typed['seconds']:.1f} s / {typed['cpu_seconds']:.1f} s CPU, "
            f"{typed['peak_rss_mb']:.0f} MB. The bare read stored in a DuckDB file (one committed table per "
            f"file): {stored['seconds']:.1f} s / {stored['cpu_seconds']:.1f} s CPU = "
            f"{stored['seconds'] / bare['seconds']:.1f}× the bare read; duanka is "
            f"{ours['seconds'] / stored['seconds']:.1f}× that. Ratio with the one-off imports counted: "
            f"{(ours['seconds'] + ours['import_seconds']) / bare['seconds']:.1f}× wall.")
    return f"{header}\n|---|---|---|---|---|---|---|\n{row}\n\n{note}"


SIDES = ("bare", "typed", "stored", "duanka")


def run_side(side: str, inbox: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", side, "--inbox", str(inbox)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--child", choices=SIDES)
    parser.add_argument("--inbox", type=Path)
    parser.add_argument("--quick", action="store_true", help="the bare read and duanka only (no README row)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="bare read and duanka run this many times, alternated; the README row is the pair "
                             "of median ratio (on a shared machine one pair can be off by 15 %%)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.inbox)
        return
    inbox = prepare(args.leads, args.seed)
    results = {} if args.quick else {side: run_side(side, inbox) for side in ("typed", "stored")}
    pairs = [{side: run_side(side, inbox) for side in ("bare", "duanka")} for _ in range(args.pairs)]
    ratios = [pair["duanka"]["seconds"] / pair["bare"]["seconds"] for pair in pairs]
    median = sorted(range(len(pairs)), key=ratios.__getitem__)[len(pairs) // 2]
    results.update(pairs[median])
    print(json.dumps(results, indent=2))
    ours, bare = results["duanka"], results["bare"]
    if len(pairs) > 1:
        print("ratios wall, pair by pair: " + ", ".join(f"{r:.2f}×" for r in ratios)
              + f" (median {ratios[median]:.2f}×)")
    if args.quick:
        print(f"duanka: {ours['seconds']:.1f} s / {ours['cpu_seconds']:.1f} s CPU, bare {bare['seconds']:.1f} s / "
              f"{bare['cpu_seconds']:.1f} s: {ours['seconds'] / bare['seconds']:.1f}× / "
              f"{ours['cpu_seconds'] / bare['cpu_seconds']:.1f}×")
        return
    print(table(args.leads, bare, results["typed"], results["stored"], ours))


if __name__ == "__main__":
    main()
