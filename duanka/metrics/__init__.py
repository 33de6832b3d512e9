"""Metrics of the feedback loop per run: `runs/<as-of>/metrics.json` and `dashboard.html`."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from duanka.metrics.compute import compute_metrics
from duanka.metrics.dashboard import render_dashboard
from duanka.publish.files import write_atomic
from duanka.publish.settings import PublishSettings

__all__ = ["compute_metrics", "render_dashboard", "write_metrics"]


def write_metrics(con: duckdb.DuckDBPyConnection, casework_db: Path, home: Path, as_of: date,
                  settings: PublishSettings | None = None) -> dict:
    """Compute the night's metrics and write metrics.json and dashboard.html under HOME/runs/<as_of>/.

    Reads casework without writing to it (a missing file means nothing issued
    yet), a range of packets at a time, and the score tables through `con`; returns the metrics dict.
    """
    settings = settings or PublishSettings()
    metrics = compute_metrics(con, casework_db, as_of, settings.deadlines)
    day = Path(home) / "runs" / as_of.isoformat()
    write_atomic(day / "metrics.json", (json.dumps(metrics, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    write_atomic(day / "dashboard.html", render_dashboard(metrics).encode("utf-8"))
    return metrics
