"""Benchmark: publishing alone, on a home built by a full build of N leads (every packet page rendered).

    .venv/bin/python bench/bench_publish.py --leads 200000            # build the home, then publish it
    .venv/bin/python bench/bench_publish.py --leads 200000 --reuse    # publish again on the kept home
    .venv/bin/python bench/bench_publish.py --leads 20000 --reuse --workers 1 --profile   # serial, cProfile

The home is built the way `bench/bench_nightly.py --scenario full` builds it (its
delivery generator and its stage functions, in a child process) but stops before
publishing and is kept under `bench/out/publish/home-<N>`. Each publish run then
starts from a home without published packets (`packets/` removed), so every open
packet's page is rendered, as on the first night of a full build.

Reported per run: wall and CPU seconds (user + system of this process and of
the render workers it waited for), per page in milliseconds, peak RSS of the
process and of the largest worker. Other jobs may share the 2 cores: CPU time
is the steadier figure. `--projected` scales the per-page wall to a 1M-lead
full build's ~770k pages.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "out" / "publish"
AS_OF = date(2026, 11, 3)
PAGES_AT_1M = 770_000


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _user_sys() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime


def build_home(leads: int) -> dict:
    """A home after ingest, link, score and issue of `leads` leads (bench_nightly's data and stages)."""
    from bench_nightly import rules_without_pdf, spawn, write_delivery

    base = OUT / f"home-{leads}"
    shutil.rmtree(base, ignore_errors=True)
    write_delivery(base / "inbox", 0, leads, "h")
    rules = rules_without_pdf(base)
    result = spawn("night", base / "inbox", base / "home", AS_OF, False, rules)
    shutil.rmtree(base / "inbox", ignore_errors=True)
    return result


PHASES = ("sweep_leftovers", "_publish_pages", "_print_pdfs", "write_run_reports", "write_metrics", "_write_indexes",
          "swap_into_place")


def _time_phases(times: dict[str, dict[str, float]]) -> None:
    """Wrap the publisher's steps so that each reports its wall and CPU seconds (summed over calls)."""
    import duanka.metrics
    from duanka.publish import publisher

    def wrap(name, fn):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            wall, cpu = time.perf_counter(), _cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                t = times.setdefault(name, {"wall": 0.0, "cpu": 0.0})
                t["wall"] = round(t["wall"] + time.perf_counter() - wall, 2)
                t["cpu"] = round(t["cpu"] + _cpu() - cpu, 2)
        return timed

    for name in PHASES:
        if name == "write_metrics":
            duanka.metrics.write_metrics = wrap(name, duanka.metrics.write_metrics)
        else:
            setattr(publisher, name, wrap(name, getattr(publisher, name)))


def publish_once(base: Path, workers: int | None, profile: str | None) -> dict:
    """Publish the kept home from scratch (no earlier pages) and time it."""
    import polars as pl

    from duanka import casework, warehouse
    from duanka.publish import publish
    from duanka.publish.settings import load_publish_settings, settings_path

    home, rules = base / "home", base / "rules"
    shutil.rmtree(home / "packets", ignore_errors=True)
    if workers is not None:
        os.environ["DUANKA_PUBLISH_WORKERS"] = str(workers)
    store = casework.connect(home / "casework.sqlite")
    statuses = casework.statuses(store)
    store.close()
    con = warehouse.connect(home / "warehouse.duckdb")
    quarantine = pl.DataFrame(schema={"file": pl.String, "row": pl.Int64, "lead_id": pl.String,
                                      "reasons": pl.String, "raw": pl.String})
    settings = load_publish_settings(settings_path(rules))
    phases: dict[str, dict[str, float]] = {}
    _time_phases(phases)
    started, cpu = time.perf_counter(), _cpu()
    user_sys = _user_sys()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    report = publish(con, home, AS_OF, statuses=statuses, summary={"files_loaded": 0}, quarantine=quarantine,
                     rules_dir=rules, casework_db=home / "casework.sqlite", settings=settings)
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(profile).print_stats(45)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    user, system = (round(a - b, 1) for a, b in zip(_user_sys(), user_sys))
    con.close()
    pages = max(1, report.pages_rendered)
    return {"pages_rendered": report.pages_rendered, "packets_listed": report.packets_listed,
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "user_s": user, "sys_s": system, "phases": phases,
            "wall_ms_per_page": round(1000 * wall / pages, 3), "cpu_ms_per_page": round(1000 * cpu / pages, 3),
            "projected_1m_wall_s": round(wall / pages * PAGES_AT_1M),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="publish the home an earlier run built")
    parser.add_argument("--workers", type=int, help="render processes (default: the publisher's choice)")
    parser.add_argument("--profile", nargs="?", const="cumulative", choices=("cumulative", "tottime"),
                        help="cProfile of the publish call, to stderr, sorted by cumulative (default) or own time")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    base = OUT / f"home-{args.leads}"
    if args.child:
        print(json.dumps(publish_once(base, args.workers, args.profile)))
        return
    result: dict = {"leads": args.leads}
    if not (args.reuse and (base / "home" / "warehouse.duckdb").is_file()):
        result["build"] = build_home(args.leads)
    cmd = [sys.executable, __file__, "--child", "--leads", str(args.leads)]
    cmd += ["--workers", str(args.workers)] if args.workers is not None else []
    cmd += ["--profile", args.profile] if args.profile else []
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    result["publish"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
