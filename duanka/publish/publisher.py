"""`publish`: one night's packets, index and run reports, put in place atomically.

Order matters for a reader who opens files while the run works: packet pages
first (new names, nothing refers to them yet), then the run reports, and last
the day's folder with index.json and index.html, swapped in as a whole.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duanka.publish.files import new_staging_dir, swap_into_place, sweep_leftovers, write_atomic
from duanka.publish.model import build_page, index_entry
from duanka.publish.pages import page_digest, page_name, render_index, render_packet
from duanka.publish.reports import write_run_reports
from duanka.publish.views import fetch_views

log = logging.getLogger(__name__)

OPEN_STATUSES = ("issued", "analyzed", "verified", "struck")


@dataclass(frozen=True)
class PublishReport:
    pages_rendered: int
    pages_kept: int
    packets_listed: int
    index_path: Path


def _publish_pages(con: duckdb.DuckDBPyConnection, home: Path, as_of: date,
                   statuses: dict[str, str]) -> tuple[list[dict], int, int]:
    """Render the page of every open packet whose content changed; return index entries and counts."""
    pages_dir = home / "packets" / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    views = fetch_views(con, as_of)
    entries, rendered, kept = [], 0, 0
    for head in views.packets:
        status = statuses.get(head["packet_id"], "issued")
        if status not in OPEN_STATUSES:
            continue  # closed (or unknown) packets leave the index
        page = build_page(head, views, status)
        digest = page_digest(page)
        name = page_name(head["packet_id"], digest)
        if (pages_dir / name).is_file():
            kept += 1
        else:
            write_atomic(pages_dir / name, render_packet(page, digest).encode("utf-8"))
            rendered += 1
        entries.append(index_entry(page, views, head["changed"], f"packets/pages/{name}"))
    entries.sort(key=lambda e: (-e["priority"], e["packet_id"]))
    return entries, rendered, kept


def publish(con: duckdb.DuckDBPyConnection, home: Path, as_of: date, *, statuses: dict[str, str],
            summary: dict, quarantine: pl.DataFrame) -> PublishReport:
    """Publish the night: pages under packets/pages/, packets/<as_of>/index.json and index.html,
    runs/<as_of>/summary.json and quarantine.csv. Reads the link and score tables through `con`.

    A rerun for the same `as_of` replaces that day's index folder as a whole.
    """
    home = Path(home)
    day = as_of.isoformat()
    sweep_leftovers(home, home / "packets", home / "packets" / "pages", home / "runs" / day)
    entries, rendered, kept = _publish_pages(con, home, as_of, statuses)
    write_run_reports(home / "runs" / day, summary, quarantine)
    staging = new_staging_dir(home)
    try:
        (staging / "index.json").write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n",
                                            encoding="utf-8")
        (staging / "index.html").write_text(render_index(entries, day), encoding="utf-8")
        swap_into_place(staging, home / "packets" / day)
    finally:
        sweep_leftovers(home)
    log.info("published %s: %d packets, %d pages rendered, %d kept", day, len(entries), rendered, kept)
    return PublishReport(pages_rendered=rendered, pages_kept=kept, packets_listed=len(entries),
                         index_path=home / "packets" / day / "index.json")
