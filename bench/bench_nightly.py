"""Benchmark: whole nights through the real stage functions, against DuckDB's bare read of the same files.

    .venv/bin/python bench/bench_nightly.py --scenario full --leads 1000000          # every page rendered
    .venv/bin/python bench/bench_nightly.py --scenario history --leads 5000000       # through scoring
    .venv/bin/python bench/bench_nightly.py --scenario night --leads 5000000 --night 50000

Scenarios (issue 8):

* `full`: one delivery of N leads into an empty home: ingest (read + normalise,
  GX, load), link, score, issue, publish with every packet page rendered;
* `history`: the same for N leads, stopping after scoring (and issue);
* `night`: `history` first (not timed here: its own row), then a night of
  `--night` new leads on top (new holders and gang sellers joining existing
  gangs), every stage timed. Publish is timed only with `--publish-history`
  (the history's pages rendered first, as a real night finds them); without
  it the night's publish would render every open packet's page once.

Data: the shapes of `bench/bench_link.py` (holders alone, several cards,
families on a home tablet, gangs, NAT addresses and branch tablets), written as
contract CSV files with valid identifiers (RIC check digits, Luhn account and
IMEI numbers) by DuckDB `COPY`: the sample generator writes ~2k rows/s, too slow
for 5M. The files then go through the real ingest: nothing is loaded behind it.

The stages are the functions the flow's tasks call (`duanka.nightly.stages`),
called directly: Prefect's server start-up (~13 s) and per-task cost (~0.1 s)
are left out. Each scenario runs in a fresh process; each stage reports its own peak
RSS (`rss_mb`: Linux VmHWM, reset before the stage through /proc/self/clear_refs; `tree_mb`: this
process and its worker processes together, sampled every 0.2 s — the table's peak) and the
run its largest (DuckDB included; its budget is the warehouse default unless `--memory`
passes one as `DUANKA_DUCKDB_MEMORY`), with what DuckDB still holds at the end
(`duckdb_memory()`). Other jobs share the 2 cores, so CPU time (user + system, all threads) is
reported beside wall time. The bare read is DuckDB `read_csv(all_varchar)` of the
same files into tables, in its own process.
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
OUT = ROOT / "bench" / "out" / "nightly"
FIRST, SECOND = date(2026, 11, 3), date(2026, 11, 4)
FILE_ROWS = 250_000
MEMORY = ""  # DuckDB budget of the measured processes; empty: the warehouse's default

_MACROS = [
    # Luhn check digit of a digit string (accounts, IMEI).
    """CREATE OR REPLACE MACRO luhn_digit(body) AS CAST((10 - list_sum(list_transform(range(length(body)),
         lambda k: CASE WHEN k % 2 = 0 THEN (CASE WHEN CAST(substr(reverse(body), k + 1, 1) AS INT) * 2 > 9
                                        THEN CAST(substr(reverse(body), k + 1, 1) AS INT) * 2 - 9
                                        ELSE CAST(substr(reverse(body), k + 1, 1) AS INT) * 2 END)
                   ELSE CAST(substr(reverse(body), k + 1, 1) AS INT) END)) % 10) % 10 AS VARCHAR)""",
    # GB 11643 check character of a 17-digit RIC body.
    """CREATE OR REPLACE MACRO ric_char(body) AS substr('10X98765432', CAST(list_sum(list_transform(range(17),
         lambda k: CAST(substr(body, k + 1, 1) AS INT) * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][k + 1]))
         % 11 AS INT) + 1, 1)""",
    # A RIC number per holder number n: region, birth date 1960-2001, sequence; unique for n < 60M.
    """CREATE OR REPLACE MACRO ric_of(n) AS (
         ['370403', '110101', '440305', '310115'][CAST(n // 15000000 % 4 AS INT) + 1]
         || strftime(DATE '1960-01-01' + CAST(n % 15000 AS INTEGER), '%Y%m%d')
         || lpad(CAST(n // 15000 % 1000 AS VARCHAR), 3, '0'))""",
]

_CSV = {
    "bank": """SELECT 'L' || i AS lead_id, '2026-11-01 09:00' AS issued_at, 'B' AS issuer, 'MULTI_CARD' AS reason,
        'ICBC' AS bank, acct || luhn_digit(acct) AS account_no, 'debit' AS account_kind, '张三' AS holder_name,
        'RIC' AS holder_id_type, ric || ric_char(ric) AS holder_id_no, reserved_phone AS holder_phone,
        CAST(open_date AS VARCHAR) AS open_date, branch AS open_branch, '370403' AS open_region,
        array_to_string(devices, ';') AS login_device, array_to_string(ips, ';') AS login_ip,
        array_to_string(cases, ';') AS case_ids
      FROM lead_rows WHERE NOT is_sim""",
    "sim": """SELECT 'L' || i AS lead_id, '2026-11-01 09:00' AS issued_at, 'S' AS issuer, 'ABNORMAL_OPEN' AS reason,
        'CMCC' AS carrier, own_phone AS msisdn, 'personal' AS card_kind, '李四' AS holder_name,
        'RIC' AS holder_id_type, ric || ric_char(ric) AS holder_id_no, CAST(open_date AS VARCHAR) AS open_date,
        'OUT' || (h % 2000) AS open_outlet, '370403' AS open_region, imei || luhn_digit(imei) AS imei,
        array_to_string(cases, ';') AS case_ids
      FROM lead_rows WHERE is_sim OR (shape = 'alone' AND i % 10 < 3)""",
    "case": """SELECT DISTINCT cases[1] AS case_id, '2026-10-01' AS reported_at, '370403' AS region,
        '刷单返利' AS fraud_type, 5000 AS loss, '' AS accounts, '' AS phones
      FROM lead_rows WHERE len(cases) > 0 AND cases[1] NOT IN (SELECT case_id FROM known_cases)""",
}


def write_delivery(folder: Path, lo: int, hi: int, tag: str, known_cases: set[str] | None = None) -> dict:
    """Contract CSV files for leads [lo, hi), `FILE_ROWS` rows a file; returns the case ids written."""
    import duckdb
    from bench_link import _LEADS

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for macro in _MACROS:
        con.execute(macro)
    sql = _LEADS.format(lo=lo, hi=hi, seed=1, nat=max(1, hi // 200_000), tablets=max(1, hi // 100_000),
                        gangs=max(1, lo // 400) if lo else 1 << 40)
    con.execute(f"""CREATE TABLE lead_rows AS SELECT *,
        ric_of(CAST(substr(person_key, 2, 16) AS BIGINT) * 4 + CAST(substr(person_key, 1, 1) AS BIGINT)) AS ric,
        '6222' || lpad(CAST(i AS VARCHAR), 14, '0') AS acct,
        '86' || lpad(CAST(hash(devices[1]) % 1000000000000 AS VARCHAR), 12, '0') AS imei
      FROM ({sql})""")
    con.execute("CREATE TABLE known_cases (case_id VARCHAR)")
    if known_cases:
        con.executemany("INSERT INTO known_cases VALUES (?)", [[c] for c in sorted(known_cases)])
    written = {}
    for kind, query in _CSV.items():
        con.execute(f"CREATE TABLE out_{kind} AS {query}")
        n = con.execute(f"SELECT count(*) FROM out_{kind}").fetchall()[0][0]
        written[kind] = n
        for part in range(max(1, -(-n // FILE_ROWS))):
            if n == 0:
                break
            target = folder / f"{kind}_{tag}_{part:03d}.csv"
            con.execute(f"""COPY (SELECT * FROM out_{kind} LIMIT {FILE_ROWS} OFFSET {part * FILE_ROWS})
                            TO '{target}' (HEADER, DELIMITER ',')""")
    cases = {row[0] for row in con.execute("SELECT case_id FROM out_case").fetchall()}
    con.close()
    return {"rows": written, "cases": sorted(cases | (known_cases or set()))}


def cpu_seconds() -> float:
    """User + system seconds of this process and of its ended worker processes (the link analysis and
    the publisher spawn some; their time counts once they are reaped, at the end of their stage)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def reset_peak_rss() -> None:
    """Start a new high-water mark of this process's RSS (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> int:
    """VmHWM: the highest RSS since the last reset (ru_maxrss when /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class TreeSampler:
    """Highest RSS of this process plus its worker processes together (MB), sampled every 0.2 s.

    VmHWM sees this process only; the link analysis and the publisher also run spawned workers,
    and what the machine must hold is the sum. Sampling can miss a peak shorter than its period,
    so the stage's figure is the larger of this and the process's own VmHWM."""

    def __init__(self, period: float = 0.2) -> None:
        import threading

        import psutil

        self.me, self.period, self.peak = psutil.Process(), period, 0
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        import psutil

        while not self.stop.wait(self.period):
            try:
                total = self.me.memory_info().rss
                for kid in self.me.children(recursive=True):
                    try:
                        total += kid.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            self.peak = max(self.peak, total >> 20)

    def take(self) -> int:
        """The peak since the last take, and start a new one."""
        peak, self.peak = self.peak, 0
        return peak


class Clock:
    """Wall and CPU seconds and peak RSS (MB, DuckDB included) per stage: `rss_mb` of this process,
    `tree_mb` of this process and its workers together."""

    def __init__(self) -> None:
        self.times: dict[str, dict[str, float]] = {}
        self.peak_mb = peak_rss_mb()  # set-up before the first stage (imports, preflight)
        self.tree = TreeSampler()
        self.tree_mb = self.peak_mb

    def run(self, name: str, fn, *args, **kwargs):
        self.peak_mb = max(self.peak_mb, peak_rss_mb())
        reset_peak_rss()
        self.tree.take()
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = fn(*args, **kwargs)
        own = peak_rss_mb()
        self.times[name] = {"wall": round(time.perf_counter() - wall, 1), "cpu": round(cpu_seconds() - cpu, 1),
                            "rss_mb": own, "tree_mb": max(own, self.tree.take())}
        self.peak_mb = max(self.peak_mb, own)
        self.tree_mb = max(self.tree_mb, self.times[name]["tree_mb"])
        print(f"  {name}: {self.times[name]}", file=sys.stderr, flush=True)
        return result


def rules_without_pdf(base: Path) -> Path:
    """A copy of the project's rules/ with PDF printing off (Chromium, ~0.5 s a red page, timed apart)."""
    import yaml

    rules = base / "rules"
    shutil.rmtree(rules, ignore_errors=True)
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "publish" / "publish.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["pdf"]["enabled"] = False
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return rules


def run_night(inbox: Path, home: Path, as_of: date, publish: bool, rules: Path | None = None) -> dict:
    """One night through the stage functions the flow's tasks call (no Prefect server)."""
    import logging

    from duanka import warehouse
    from duanka.nightly import stages
    from duanka.nightly.context import preflight
    from duanka.progress import Progress
    from duanka.validate.gx_duckdb import import_gx

    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s", stream=sys.stderr)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    steps = logging.getLogger("duanka")  # the link and score steps' timings, to stderr
    steps.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(relativeCreated)8.0f ms %(name)s %(message)s"))
    steps.addHandler(handler)
    cfg = preflight(inbox, home, as_of, rules)
    import_gx()  # paid once per process (4-10 s), left out of the stage times
    progress = Progress(quiet=True)
    clock = Clock()
    con = warehouse.connect(cfg.home.warehouse)
    started, cpu = time.perf_counter(), cpu_seconds()
    files = clock.run("discover", stages.discover_inbox, cfg, con, progress)
    clock.run("ingest", stages.ingest_leads, cfg, con, files, progress)  # read, validate, load: overlapped
    linked = clock.run("link", stages.link, cfg, con, progress)
    clock.run("score", stages.score, cfg, con, progress)
    statuses = clock.run("issue", stages.issue, cfg, con)
    pages = {}
    if publish:
        report = clock.run("publish", stages.publish_night, cfg, con, files, statuses, {}, progress)
        pages = {"pages_rendered": report.pages_rendered, "pages_kept": report.pages_kept,
                 "packets_listed": report.packets_listed}
    total = {"wall": round(time.perf_counter() - started, 1), "cpu": round(cpu_seconds() - cpu, 1)}
    duck = {"memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchone()[0],
            "memory_mb": {tag: round(used / 2**20) for tag, used, _ in con.execute(
                "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() "
                "WHERE memory_usage_bytes > 0").fetchall()}}
    rows = con.execute("SELECT sum(rows_loaded), sum(rows_quarantined) FROM ingest_files WHERE as_of = ?",
                       [as_of]).fetchall()[0]
    con.close()
    return {"stages": clock.times, "total": total, "peak_rss_mb": max(clock.peak_mb, peak_rss_mb()),
            "peak_tree_mb": clock.tree_mb,
            "duckdb": duck, "rows_loaded": int(rows[0] or 0),
            "rows_quarantined": int(rows[1] or 0), "groups": linked.groups, "packets_new": linked.packets_new,
            "packets_changed": linked.packets_changed, **pages}


def bare_read(inbox: Path) -> dict:
    """DuckDB's bare read of the same files: read_csv(all_varchar) into tables."""
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "memory_limit": "2GB"})
    started, cpu = time.perf_counter(), cpu_seconds()
    for i, f in enumerate(sorted(inbox.glob("*.csv"))):
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{f}', all_varchar = true, header = true)")
    return {"wall": round(time.perf_counter() - started, 1), "cpu": round(cpu_seconds() - cpu, 1)}


def child(args: argparse.Namespace) -> dict:
    inbox, home = Path(args.inbox), Path(args.home)
    if args.child == "bare":
        result = bare_read(inbox)
    else:
        as_of = date.fromisoformat(args.as_of)
        result = run_night(inbox, home, as_of, publish=args.publish, rules=Path(args.rules) if args.rules else None)
    # ru_maxrss follows the resets of VmHWM between stages: the process's peak is the largest stage's.
    result["peak_rss_mb"] = max(result.get("peak_rss_mb", 0), peak_rss_mb(),
                                round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return result


def spawn(kind: str, inbox: Path, home: Path, as_of: date, publish: bool, rules: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--inbox", str(inbox), "--home", str(home),
           "--as-of", as_of.isoformat()] + (["--publish"] if publish else []) + (["--rules", str(rules)] if rules else [])
    env = dict(os.environ, DUANKA_DUCKDB_MEMORY=MEMORY) if MEMORY else dict(os.environ)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scenario(args: argparse.Namespace) -> dict:
    base = OUT / f"{args.scenario}-{args.leads}"
    shutil.rmtree(base, ignore_errors=True)
    history, home = base / "inbox-1", base / "home"
    started = time.perf_counter()
    written = write_delivery(history, 0, args.leads, "h")
    result: dict = {"scenario": args.scenario, "leads": args.leads, "gen_s": round(time.perf_counter() - started, 1),
                    "rows": written["rows"]}
    full_publish = args.scenario == "full" or args.publish_history
    rules = None if args.pdf else rules_without_pdf(base)
    result["build"] = spawn("night", history, home, FIRST, full_publish, rules)
    result["build_bare"] = spawn("bare", history, home, FIRST, False)
    print(json.dumps(result), file=sys.stderr, flush=True)
    if args.scenario == "night":
        tonight = base / "inbox-2"
        write_delivery(tonight, args.leads, args.leads + args.night, "n", set(written["cases"]))
        # Without the history's pages, the night's publish would render every page once: only
        # measured when the history was published too.
        result["night"] = spawn("night", tonight, home, SECOND, full_publish, rules)
        result["night_bare"] = spawn("bare", tonight, home, SECOND, False)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


def table_row(label: str, run: dict, bare: dict) -> str:
    s = run["stages"]

    def cell(name: str) -> str:
        return f"{s[name]['wall']} / {s[name]['cpu']}" if name in s else "–"

    return (f"| {label} | {cell('ingest')} | {cell('link')} | {cell('score')} | "
            f"{cell('issue')} | {cell('publish')} | **{run['total']['wall']}** / {run['total']['cpu']} | "
            f"{max(run['peak_rss_mb'], run.get('peak_tree_mb', 0)):,} MB | {bare['wall']} s | {run['total']['wall'] / max(bare['wall'], 0.1):.0f}× |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=["full", "history", "night"], default="full")
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--night", type=int, default=50_000)
    parser.add_argument("--publish-history", action="store_true", help="render every page of the history too")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/nightly/<scenario>-<leads>")
    parser.add_argument("--child", choices=["night", "bare"])
    parser.add_argument("--inbox")
    parser.add_argument("--home")
    parser.add_argument("--as-of")
    parser.add_argument("--publish", action="store_true")
    parser.add_argument("--rules")
    parser.add_argument("--memory", default="", help="DuckDB budget of the measured processes "
                        "(DUANKA_DUCKDB_MEMORY; default: the warehouse's own)")
    parser.add_argument("--pdf", action="store_true", help="print PDFs of red packets too (default: off)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    global MEMORY
    MEMORY = args.memory
    result = scenario(args)
    print(json.dumps(result))
    print("| scenario | ingest | link | score | issue | publish | total | peak RSS | bare read | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    label = {"full": "full build", "history": "history through scoring", "night": "history"}[args.scenario]
    print(table_row(f"{label}, {args.leads:,} leads", result["build"], result["build_bare"]))
    if "night" in result:
        print(table_row(f"night of {args.night:,} on {args.leads:,}", result["night"], result["night_bare"]))


if __name__ == "__main__":
    main()
