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
the render workers it waited for), per page in milliseconds, and memory: the
process's peak RSS (`peak_rss_mb`: Linux VmHWM, DuckDB included), the largest
worker's (`worker_peak_rss_mb`: getrusage of the waited-for children, and
`worker_sampled_mb`: each worker sampled every 0.2 s), this process and its workers
together (`tree_peak_mb`, sampled), and per publisher step its own VmHWM (reset
through /proc/self/clear_refs when the step starts) and the sampled tree peak.
Memory does not depend on CPU load; time does: other jobs may share the 2 cores,
so CPU time is the steadier figure. `projected_1m_wall_s` scales the per-page wall
to a 1M-lead full build's ~770k pages. The DuckDB budget is the warehouse's
(`DUANKA_DUCKDB_MEMORY` in the environment, or `--memory`).
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

from bench_nightly import peak_rss_mb, reset_peak_rss

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


class MemorySampler:
    """RSS of this process, of each worker process and of all of them together, every `period` seconds.

    `take_tree()` returns the tree's peak since the last take (a step's peak); the per-process peaks
    (`me_mb`, `workers_mb` by pid) run over the whole publish."""

    def __init__(self, period: float = 0.2) -> None:
        import threading

        import psutil

        self.me = psutil.Process()
        self.period = period
        self.me_mb, self.tree_mb, self.step_tree_mb = 0, 0, 0
        self.workers_mb: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self.stop.wait(self.period):
            try:
                mine = self.me.memory_info().rss >> 20
                total = mine
                for kid in self.me.children(recursive=True):
                    try:
                        rss = kid.memory_info().rss >> 20
                    except psutil.Error:
                        continue
                    total += rss
                    self.workers_mb[kid.pid] = max(self.workers_mb.get(kid.pid, 0), rss)
            except psutil.Error:
                continue
            self.me_mb = max(self.me_mb, mine)
            self.tree_mb = max(self.tree_mb, total)
            self.step_tree_mb = max(self.step_tree_mb, total)

    def take_tree(self) -> int:
        peak, self.step_tree_mb = self.step_tree_mb, 0
        return peak

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def _time_phases(times: dict[str, dict[str, float]], sampler: MemorySampler | None = None) -> None:
    """Wrap the publisher's steps so that each reports its wall and CPU seconds (summed over calls) and its peak
    RSS: this process's VmHWM during the step (`rss_mb`) and, sampled, with its workers (`tree_mb`)."""
    import duanka.metrics
    from duanka.publish import publisher

    def wrap(name, fn):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            times["_peak_before_steps"]["rss_mb"] = max(times["_peak_before_steps"]["rss_mb"], peak_rss_mb())
            if sampler is not None:
                sampler.take_tree()
            reset_peak_rss()
            wall, cpu = time.perf_counter(), _cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                t = times.setdefault(name, {"wall": 0.0, "cpu": 0.0, "rss_mb": 0, "tree_mb": 0})
                t["wall"] = round(t["wall"] + time.perf_counter() - wall, 2)
                t["cpu"] = round(t["cpu"] + _cpu() - cpu, 2)
                t["rss_mb"] = max(t["rss_mb"], peak_rss_mb())
                if sampler is not None:
                    t["tree_mb"] = max(t["tree_mb"], sampler.take_tree())
                reset_peak_rss()
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
    phases: dict[str, dict[str, float]] = {"_peak_before_steps": {"rss_mb": 0}}
    sampler = MemorySampler()
    _time_phases(phases, sampler)
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
    sampler.close()
    duck_limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.close()
    pages = max(1, report.pages_rendered)
    return {"pages_rendered": report.pages_rendered, "packets_listed": report.packets_listed,
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "user_s": user, "sys_s": system, "phases": phases,
            "wall_ms_per_page": round(1000 * wall / pages, 3), "cpu_ms_per_page": round(1000 * cpu / pages, 3),
            "projected_1m_wall_s": round(wall / pages * PAGES_AT_1M),
            "duckdb_memory_limit": duck_limit,
            "peak_rss_mb": max([peak_rss_mb(), sampler.me_mb] + [p["rss_mb"] for p in phases.values()]),
            "worker_sampled_mb": sorted(sampler.workers_mb.values(), reverse=True),
            "tree_peak_mb": sampler.tree_mb}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="publish the home an earlier run built")
    parser.add_argument("--workers", type=int, help="render processes (default: the publisher's choice)")
    parser.add_argument("--profile", nargs="?", const="cumulative", choices=("cumulative", "tottime"),
                        help="cProfile of the publish call, to stderr, sorted by cumulative (default) or own time")
    parser.add_argument("--memory", help="DuckDB budget of the publishing process (DUANKA_DUCKDB_MEMORY, e.g. 1536MB)")
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
    env = dict(os.environ, DUANKA_DUCKDB_MEMORY=args.memory) if args.memory else None
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
    result["publish"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
