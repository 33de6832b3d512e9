"""Benchmark: linking at scale on synthetic lead history, against SciPy components alone.

    .venv/bin/python bench/bench_link.py --leads 1000000 5000000 [--night 50000]

For each size, in a fresh process (so that peak RSS is that size's own):

1. synthesise the clean lead tables directly in DuckDB SQL (the sample
   generator writes ~2k rows/s: too slow for 5M) with realistic shapes: most
   holders alone with one card, own phone, device and home IP (a third also
   hold the SIM of their phone: a cycle); people with several cards; families
   sharing a home tablet; gangs whose sellers open cards within days on the
   gang's phones and devices, some named in cases; carrier NAT addresses and
   branch tablets used by hundreds of holders over years (hubs);
2. `link_all` on the whole history (first night: every group is new and
   analysed), timed;
3. the plain bulk method on the same edges: `link_edges` to dense ids to
   `scipy.sparse.csgraph.connected_components`, timed in the same process;
4. a night on top: `--night` new leads (new holders, families, and gang sellers
   joining existing gangs), then `link_all` again, timed.

Prints one JSON line per size (wall and CPU seconds: user + sys of the process, its DuckDB threads
and its analysis worker processes; the machine is shared, so CPU is the steadier figure) and a
Markdown table for docs/linking.md. The log on stderr has each link step and the Python analysis
phases (`link analysis ...`) with their wall and CPU times.
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
OUT = ROOT / "bench" / "out" / "link"
FIRST, SECOND = date(2026, 11, 3), date(2026, 11, 4)

# One row per lead i in [lo, hi). Shapes by i % 100: 0-69 alone (bank, or SIM when i % 10 >= 7),
# 70-84 several cards (3 leads a holder), 85-93 families (3 holders on one home device),
# 94-99 gangs (16 leads a gang over 400 rows: 8 sellers, 2 cards each, gang phones and device).
_LEADS = """
WITH ids AS (SELECT i, i % 100 AS r, hash(i * 7919 + {seed}) AS h FROM range({lo}, {hi}) t(i)),
shaped AS (
  SELECT i, r, h,
         CASE WHEN r < 70 THEN 'alone' WHEN r < 85 THEN 'multi' WHEN r < 94 THEN 'family' ELSE 'gang' END AS shape,
         CASE WHEN r < 70 THEN i WHEN r < 94 THEN i // 3 ELSE i // 2 END AS holder,
         i // 100 AS family,
         (i // 400) % {gangs} AS gang
    FROM ids)
SELECT i, shape, h,
       CASE shape WHEN 'alone' THEN '1' WHEN 'multi' THEN '2' WHEN 'family' THEN '3' ELSE '4' END
         || lpad(CAST(holder AS VARCHAR), 16, '0') || 'X' AS person_key,
       '6222' || lpad(CAST(i AS VARCHAR), 15, '0') AS account_no,
       CASE shape WHEN 'alone' THEN '13' WHEN 'multi' THEN '15' WHEN 'family' THEN '17' ELSE '18' END
         || lpad(CAST(holder % 1000000000 AS VARCHAR), 9, '0') AS own_phone,
       CASE WHEN shape = 'gang' THEN '19' || lpad(CAST((gang * 3 + h % 3) % 1000000000 AS VARCHAR), 9, '0')
            ELSE own_phone END AS reserved_phone,
       CASE WHEN shape = 'gang' THEN ['GD' || gang]
            WHEN shape = 'family' THEN ['FD' || family, 'PD' || person_key]
            WHEN h % 50 = 1 THEN ['PD' || person_key, 'TABLET' || (h // 50) % {tablets}]
            ELSE ['PD' || person_key] END AS devices,
       CASE WHEN shape = 'gang' THEN ['10.' || (gang % 250) || '.' || (gang // 250 % 250) || '.1']
            WHEN h % 20 = 0 THEN ['112.224.0.' || (h // 20) % {nat}]
            WHEN h % 10 < 7 THEN ['27.' || (i % 250) || '.' || (i // 250 % 250) || '.' || (i // 62500 % 250)]
            ELSE [] END AS ips,
       CASE WHEN shape = 'gang' AND h % 10 < 3 THEN ['K' || gang] ELSE [] END AS cases,
       CASE WHEN shape = 'gang' THEN DATE '2024-01-01' + CAST(gang % 900 AS INTEGER) + CAST(h % 3 AS INTEGER)
            ELSE DATE '2010-01-01' + CAST(h % 5800 AS INTEGER) END AS open_date,
       'BR' || (h % 3000) AS branch,
       shape = 'alone' AND i % 10 >= 7 AS is_sim
  FROM shaped
"""

_BANK = """INSERT INTO bank_leads (issuer, lead_id, issued_at, reason, bank, account_no, account_kind, holder_name,
    holder_id_type, holder_id_no, person_key, holder_phone, open_date, open_branch, login_device, login_ip,
    case_ids, _file, _row, _sha256, _as_of)
  SELECT 'B', 'L' || i, TIMESTAMP '2026-11-01 09:00', 'MULTI_CARD', 'ICBC', account_no, 'debit', '张三', 'RIC',
         person_key, person_key, reserved_phone, open_date, branch, devices, ips, cases, 'bank.csv', 1, 'x', ?
    FROM leads WHERE NOT is_sim"""
# A SIM per alone-SIM row, plus the SIM of the own phone for a third of the alone bank holders (a cycle).
_SIM = """INSERT INTO sim_leads (issuer, lead_id, issued_at, reason, carrier, msisdn, card_kind, holder_name,
    holder_id_type, holder_id_no, person_key, open_date, open_outlet, imei, case_ids, _file, _row, _sha256, _as_of)
  SELECT 'S', 'L' || i, TIMESTAMP '2026-11-01 09:00', 'ABNORMAL_OPEN', 'CMCC', own_phone, 'personal', '李四', 'RIC',
         person_key, person_key, open_date, 'OUT' || (h % 2000), devices[1], cases, 'sim.csv', 1, 'x', ?
    FROM leads WHERE is_sim OR (shape = 'alone' AND i % 10 < 3)"""
_CASES = """INSERT INTO cases SELECT DISTINCT cases[1], TIMESTAMP '2026-10-01', '370403', '刷单返利', 5000,
    [], [], 'case.csv', 1, 'x', ?, NULL FROM leads WHERE len(cases) > 0 AND cases[1] NOT IN (SELECT case_id FROM cases)"""


def synthesise(con, lo: int, hi: int, as_of: date, seed: int = 1) -> None:
    """Add leads [lo, hi) to the clean tables (about 1.2 rows per lead: some holders' own SIM too).

    On a later night (lo > 0) the gang rows join the gangs already held: new sellers, same phones."""
    sql = _LEADS.format(lo=lo, hi=hi, seed=seed, nat=max(1, hi // 200_000), tablets=max(1, hi // 100_000),
                        gangs=max(1, lo // 400) if lo else 1 << 40)
    con.execute(f"CREATE OR REPLACE TEMP TABLE leads AS {sql}")
    for sql in (_BANK, _SIM, _CASES):
        con.execute(sql, [as_of])
    con.execute("DROP TABLE leads")


def bulk_components(con) -> tuple[float, int]:
    """The plain bulk method: edges -> dense ids -> SciPy connected components, nothing else."""
    import numpy as np

    from duanka.link.components import component_labels

    started = time.perf_counter()
    arrays = con.execute(
        """WITH ids AS (SELECT node, CAST(dense_rank() OVER (ORDER BY node) - 1 AS BIGINT) AS id
                          FROM (SELECT src AS node FROM link_edges UNION SELECT dst FROM link_edges))
           SELECT s.id AS s, d.id AS d, (SELECT count(*) FROM ids) AS n
             FROM link_edges e JOIN ids s ON s.node = e.src JOIN ids d ON d.node = e.dst""").fetchnumpy()
    n = int(arrays["n"][0]) if len(arrays["n"]) else 0
    labels = component_labels(np.asarray(arrays["s"]), np.asarray(arrays["d"]), n)
    return time.perf_counter() - started, len(np.unique(labels))


def _cpu() -> float:
    """CPU seconds (user + sys) of this process, its DuckDB threads and any analysis worker processes:
    the machine is shared, so wall time alone says little."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def child(leads: int, night: int, memory: str) -> dict:
    import logging

    from duanka import warehouse
    from duanka.link import link_all
    from duanka.settings import LinkingSettings

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"warehouse-{leads}.duckdb"
    path.unlink(missing_ok=True)
    con = warehouse.connect(path)
    # DuckDB caches up to 80 % of RAM by default; a fixed limit makes peak RSS mean something.
    con.execute(f"SET memory_limit = '{memory}'")
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s", stream=sys.stderr)
    started = time.perf_counter()
    synthesise(con, 0, leads, FIRST)
    rows = con.execute("SELECT (SELECT count(*) FROM bank_leads) + (SELECT count(*) FROM sim_leads)").fetchall()[0][0]
    result: dict = {"leads": leads, "rows": int(rows), "synth_s": round(time.perf_counter() - started, 1)}
    started, cpu = time.perf_counter(), _cpu()
    report = link_all(con, FIRST, LinkingSettings())
    result["link_s"] = round(time.perf_counter() - started, 1)
    result["link_cpu_s"] = round(_cpu() - cpu, 1)
    result.update(groups=report.groups, edges=report.edges, hubs=report.hubs)
    result["rss_after_link_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    seconds, components = bulk_components(con)
    result.update(bulk_s=round(seconds, 1), bulk_components=components)
    # A night: new leads continuing the same shapes (gang rows at the end join the last gangs' phones).
    synthesise(con, leads, leads + night, SECOND)
    started, cpu = time.perf_counter(), _cpu()
    report = link_all(con, SECOND, LinkingSettings())
    result["night_s"] = round(time.perf_counter() - started, 1)
    result["night_cpu_s"] = round(_cpu() - cpu, 1)
    result.update(night_new=report.packets_new, night_changed=report.packets_changed)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    # analysis workers are separate processes: the largest one, to add twice for two workers
    result["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    con.close()
    path.unlink(missing_ok=True)
    shutil.rmtree(OUT / f"warehouse-{leads}.duckdb.wal", ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--night", type=int, default=50_000)
    parser.add_argument("--memory", default="2GB", help="DuckDB memory_limit")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.leads[0], args.night, args.memory)))
        return
    results = []
    for leads in args.leads:
        out = subprocess.run([sys.executable, __file__, "--child", "--leads", str(leads), "--night", str(args.night),
                              "--memory", args.memory], stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print("| leads (rows) | groups | edges | full link (CPU) | SciPy components alone | ratio | "
          f"night of {args.night:,} (CPU) | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['leads']:,} ({r['rows']:,}) | {r['groups']:,} | {r['edges']:,} | {r['link_s']} s "
              f"({r['link_cpu_s']} s) | {r['bulk_s']} s | {r['link_s'] / max(r['bulk_s'], 0.1):.0f}× | "
              f"{r['night_s']} s ({r['night_cpu_s']} s) | {r['peak_rss_mb']:,} MB |")


if __name__ == "__main__":
    main()
