"""Peak RSS and CPU time of `write_metrics` on a casework store of N packets, built from a seed.

A full build at a million leads issues ~770k packets; metrics read every one of them. Building
such a home through the whole pipeline takes a long time, so this script fills only what metrics
read: the warehouse's `packet_scores`, `rule_hits` and `ingest_files`, and casework's `packets` and
`events` (every packet issued; a share analysed, verified, struck, closed, reopened; some events
after the night, which metrics must ignore). Then a fresh process runs `write_metrics` once and
reports its VmHWM (reset through /proc/self/clear_refs just before), wall and CPU seconds.

    .venv/bin/python bench/bench_metrics.py --packets 770000 --dir /work/tmp_metrics_bench [--keep]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa

from duanka import casework, warehouse

AS_OF = date(2026, 11, 20)
RULES = [(f"R-BENCH-{i:03d}", f"基准规则{i}") for i in range(24)]
FIGURES = casework.FIGURES


def packet_id(i: int) -> str:
    night = date(2026, 10, 1) + timedelta(days=i % 40)
    return f"DK-{night:%Y%m%d}-{i * 2654435761 % 2**32:08X}"  # a bijection on 32 bits: ids unique, order shuffled


def _steps(rng: random.Random) -> list[tuple[str, str | None]]:
    """The stages a packet's unit reported after issue (forward only, as casework allows)."""
    roll = rng.random()
    if roll < 0.80:
        return []
    if roll < 0.86:
        return [("analyzed", None)]
    outcome = rng.choice(["confirmed", "partial", "unfounded"])
    steps = [("analyzed", None)] if rng.random() < 0.5 else []
    steps.append(("verified", outcome))
    if outcome == "unfounded":
        return steps + ([("closed", None)] if rng.random() < 0.5 else [])
    if rng.random() < 0.6:
        steps.append(("struck", None))
        if rng.random() < 0.5:
            steps.append(("closed", None))
    return steps


def _events(i: int, pid: str, rng: random.Random) -> list[tuple]:
    issued = date(2026, 10, 1) + timedelta(days=i % 40)
    day, rows = issued, [(pid, f"{issued} 00:00:00", "duanka", None, "issued", None, *([None] * 5), None,
                              f"nightly {issued}")]
    status = "issued"
    for stage, outcome in _steps(rng):
        day += timedelta(days=rng.randint(0, 12))
        figures = [rng.randint(0, 3) if rng.random() < 0.3 else None for _ in FIGURES[:-1]]
        recovered = round(rng.uniform(0, 50_000), 2) if rng.random() < 0.2 else None
        rows.append((pid, f"{day} 10:{rng.randint(0, 59):02d}:00", "李警官", status, stage, outcome, *figures,
                     recovered, "备注", "feedback"))
        status = stage
    if status == "closed" and rng.random() < 0.2:  # a closed group that grew is issued again
        day += timedelta(days=rng.randint(1, 10))
        rows.append((pid, f"{day} 00:00:00", "duanka", "closed", "issued", None, *([None] * 5), "新增线索",
                     f"nightly {day}"))
    return rows


def build(folder: Path, packets: int, seed: int) -> None:
    """The warehouse and casework files of a world of `packets` packets."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    units = [(f"37{u:02d}00RF", f"第{u}市公安局反诈中心") for u in range(40)]
    store = casework.connect(folder / "casework.sqlite")
    scores = []
    store.execute("BEGIN")
    for start in range(0, packets, 50_000):
        batch, events = [], []
        for i in range(start, min(packets, start + 50_000)):
            pid, unit = packet_id(i), units[int(rng.paretovariate(1.2)) % len(units)]
            batch.append((pid, unit[0], "2026-10-01"))
            events += _events(i, pid, rng)
            tier = rng.choice(["red", "orange", "yellow", "yellow"])
            rules = sorted(rng.sample([r for r, _ in RULES], rng.randint(1, 4)))
            scores.append((pid, round(rng.uniform(0, 100), 1), tier, unit[0] if rng.random() < 0.97 else units[0][0],
                           unit[1], "bank", rules, "hash"))
        store.executemany("INSERT INTO packets VALUES (?,?,?)", batch)
        store.executemany("""INSERT INTO events (packet_id, at, actor, from_status, to_status, outcome, arrests,
                             penalties, cards_cancelled, accounts_frozen, recovered, note, source)
                             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", events)
    store.execute("COMMIT")
    store.close()
    con = warehouse.connect(folder / "warehouse.duckdb")
    names = ["packet_id", "priority", "tier", "unit_code", "unit_name", "category", "rules", "rule_set_hash"]
    scored = pa.table({n: [row[k] for row in scores] for k, n in enumerate(names)})
    con.execute("INSERT INTO packet_scores SELECT * FROM scored")
    del scores, scored
    titles = ", ".join(f"('{r}', '{t}')" for r, t in RULES)
    con.execute(f"""INSERT INTO rule_hits SELECT s.packet_id, r.rule_id, 1, t.title, '', 5, '1', '1', '[]'
                    FROM (SELECT packet_id, unnest(rules) AS rule_id FROM packet_scores) r
                    JOIN packet_scores s USING (packet_id) JOIN (VALUES {titles}) t(rule_id, title) USING (rule_id)""")
    con.execute("""INSERT INTO ingest_files (sha256, file, kind, status, rows_read, rows_loaded, rows_quarantined,
                   as_of) VALUES ('x', 'feedback_1.csv', 'feedback', 'loaded', 10, 8, 2, ?)""", [AS_OF])
    con.close()


def measure(folder: Path, reference: bool) -> dict:
    """Run write_metrics once in this (fresh) process: VmHWM over the call, wall and CPU seconds.

    `reference`: with the computation as it was before it streamed (tests/metrics_reference.py)."""
    import duanka.metrics
    from duanka.metrics import write_metrics

    if reference:
        sys.path.insert(0, str(ROOT / "tests"))
        from metrics_reference import compute_metrics_reference

        duanka.metrics.compute_metrics = compute_metrics_reference

    con = warehouse.connect(folder / "warehouse.duckdb", read_only=True)
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_mb("VmRSS")
    wall, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    metrics = write_metrics(con, folder / "casework.sqlite", folder / "home", AS_OF)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"rss_before_mb": base, "peak_rss_mb": _status_mb("VmHWM"), "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime, 2),
            "issued": metrics["totals"]["issued"],
            "metrics_sha1": hashlib.sha1((folder / "home" / "runs" / AS_OF.isoformat() / "metrics.json")
                                         .read_bytes()).hexdigest(),
            "dashboard_sha1": hashlib.sha1((folder / "home" / "runs" / AS_OF.isoformat() / "dashboard.html")
                                           .read_bytes()).hexdigest()}


def _status_mb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", type=Path, required=True, help="folder for the world (removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the world, to measure again")
    parser.add_argument("--reference", action="store_true", help="measure the old, all-in-memory computation")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_only:
        print(json.dumps(measure(args.dir, args.reference)))
        return 0
    try:
        if not (args.dir / "warehouse.duckdb").is_file():
            started = time.perf_counter()
            build(args.dir, args.packets, args.seed)
            print(f"built {args.packets} packets in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out = subprocess.run([sys.executable, __file__, "--dir", str(args.dir), "--measure-only",
                              *(["--reference"] if args.reference else [])],
                             check=True, capture_output=True, text=True).stdout
        print(json.dumps({"packets": args.packets, **json.loads(out)}))
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
