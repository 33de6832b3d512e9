"""A night killed with SIGKILL mid-stage and rerun ends exactly where an uninterrupted night ends.

Both the warehouse (every table that holds leads, bookkeeping, packets and scores) and the published
outputs (index.json, summary figures, quarantine.csv, validation report) are compared.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from duanka.sample import generate

NIGHT = "2026-11-03"
TABLES = {
    "bank_leads": "* EXCLUDE (_as_of)", "sim_leads": "* EXCLUDE (_as_of)", "cases": "* EXCLUDE (_as_of)",
    "bank_leads_history": "*", "quarantine": "*", "ingest_files": "* EXCLUDE (loaded_at)",
    "validation_results": "*", "packet_registry": "*", "packet_members": "*", "packet_leads": "*",
    "packet_scores": "*", "rule_hits": "*", "packet_changes": "*",
}


def _start(inbox: Path, home: Path, prefect_home: Path) -> subprocess.Popen:
    env = dict(os.environ, PREFECT_HOME=str(prefect_home))
    return subprocess.Popen([sys.executable, "-m", "duanka.cli", "run", "--inbox", str(inbox), "--home", str(home),
                             "--as-of", NIGHT], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _snapshot(home: Path) -> dict:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = {t: sorted(map(repr, con.execute(f"SELECT {cols} FROM {t}").fetchall())) for t, cols in TABLES.items()}
    finally:
        con.close()
    summary = json.loads((home / "runs" / NIGHT / "summary.json").read_text(encoding="utf-8"))
    keys = ("files_loaded", "files_skipped", "files_rejected", "rows_read", "rows_loaded", "rows_quarantined",
            "rows_duplicate", "files", "rule_set_hash")
    return {
        "tables": tables,
        "index": (home / "packets" / NIGHT / "index.json").read_text(encoding="utf-8"),
        "summary": {k: summary[k] for k in keys},
        "quarantine": (home / "runs" / NIGHT / "quarantine.csv").read_bytes(),
        "validation": (home / "runs" / NIGHT / "validation.html").read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    generate(root / "deliveries", seed=5, leads=900, nights=1)
    prefect_home = root / "prefect"
    baseline = root / "baseline"
    assert _start(root / "deliveries" / NIGHT, baseline, prefect_home).wait(timeout=600) == 0
    return root, prefect_home, _snapshot(baseline)


@pytest.mark.parametrize("marker", ["[读取与规范化] 2/", "[校验与入库] 开始", "[校验与入库] 3/",
                                    "[关联成组] 开始", "[评分] 开始", "[发布] 开始"],
                         ids=["reading", "validating", "mid-load", "linking", "scoring", "publishing"])
def test_kill_then_rerun_equals_uninterrupted(delivery, tmp_path, marker) -> None:
    root, prefect_home, expected = delivery
    home = tmp_path / "home"
    child = _start(root / "deliveries" / NIGHT, home, prefect_home)
    log = home / "runs" / NIGHT / "run.log"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and marker in log.read_text(encoding="utf-8"):
            break
        time.sleep(0.02)
    assert child.poll() is None, "the run ended before the kill point"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert _start(root / "deliveries" / NIGHT, home, prefect_home).wait(timeout=600) == 0
    actual = _snapshot(home)
    for key in expected:
        assert actual[key] == expected[key], key
