"""`publish`: one night's packets, indexes, PDFs, metrics and run reports, put in place atomically.

Order matters for a reader who opens files while the run works: packet pages
(and their PDFs) first (new names, nothing refers to them yet), then the run
reports and the dashboard, and last the day's folder with index.json,
index.html and the per-unit index pages, swapped in as a whole.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duanka.publish.columns import iter_chunks
from duanka.publish.files import new_staging_dir, swap_into_place, sweep_leftovers, sync_folder
from duanka.publish.lifecycle import Casework, read_casework
from duanka.publish.pages import index_json, unit_file, write_index
from duanka.publish.pdf import PdfUnavailable, print_pages
from duanka.publish.reference import load_reference
from duanka.publish.render import NightContext, column_units, publish_units, workers_wanted
from duanka.publish.reports import write_run_reports
from duanka.publish.settings import PublishSettings, load_publish_settings, settings_path
from duanka.publish.views import ACTIVE, hubs_sql

log = logging.getLogger(__name__)

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules"
VIEW_CHUNK = 50_000  # packets read from the warehouse at once when rendering here
VIEW_CHUNK_POOLED = 20_000  # smaller when workers render: the first units reach them sooner


@dataclass(frozen=True)
class PublishReport:
    pages_rendered: int
    pages_kept: int
    packets_listed: int
    index_path: Path
    units: int = 0
    pdfs_printed: int = 0
    pdf_problem: str | None = None


def _publish_pages(con: duckdb.DuckDBPyConnection, home: Path, as_of: date, statuses: dict[str, str],
                   casework: Casework, reference: dict[str, dict],
                   settings: PublishSettings) -> tuple[list[dict], dict[str, dict], dict[str, str], list[tuple[Path, Path]], int]:
    """Render every open packet's page whose content changed (render.py: in worker processes for a big night).

    Returns the index entries, per-packet extras for the index pages (deadline,
    PDF), unit names, the (html, pdf) pairs still to print, and how many pages were kept.
    """
    pages_dir = home / "packets" / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    hubs = frozenset(node for (node,) in con.execute(hubs_sql()).fetchall())
    ctx = NightContext(pages_dir=pages_dir, as_of=as_of, settings=settings, reference=reference, hubs=hubs)
    workers = workers_wanted(con.execute(f"SELECT count(*) FROM {ACTIVE}").fetchall()[0][0])
    chunks = iter_chunks(con, as_of, chunk=VIEW_CHUNK_POOLED if workers else VIEW_CHUNK)
    units = (unit for chunk in chunks for unit in column_units(chunk, statuses, casework.events))
    entries, extra, unit_names, to_print, kept = [], {}, {}, [], 0
    for done in publish_units(ctx, units, workers):
        entries.append(done.entry)
        extra[done.entry["packet_id"]] = {"deadline": done.deadline, "pdf": done.pdf}
        unit_names[done.unit_code] = done.unit_name
        kept += done.kept
        if done.to_print:
            to_print.append(done.to_print)
    sync_folder(pages_dir)  # the pages' names are on disk before any index names them
    entries.sort(key=lambda e: (-e["priority"], e["packet_id"]))
    return entries, extra, unit_names, to_print, kept


def _print_pdfs(home: Path, to_print: list[tuple[Path, Path]], settings: PublishSettings,
                extra: dict[str, dict]) -> tuple[int, str | None]:
    """Print the PDFs; when the browser is missing or fails, the night still publishes, without them
    (the index links only PDFs that exist)."""
    try:
        printed, problem = print_pages(to_print, timeout=settings.pdf.timeout_seconds), None
    except (PdfUnavailable, OSError) as exc:
        printed, problem = 0, f"PDF 未生成: {exc}"
        log.warning(problem)
    for item in extra.values():
        if item["pdf"] and not (home / item["pdf"]).is_file():
            item["pdf"] = None
    return printed, problem


def _write_indexes(staging: Path, entries: list[dict], day: str, extra: dict[str, dict],
                   unit_names: dict[str, str]) -> int:
    """index.json, index.html and units/<unit>.html into the day's staging folder; returns the unit count."""
    (staging / "index.json").write_text(index_json(entries), encoding="utf-8")
    by_unit: dict[str, list[dict]] = {}
    for e in entries:
        by_unit.setdefault(e["unit_code"], []).append(e)
    dashboard = f"../../runs/{day}/dashboard.html"
    nav = [{"code": code or "UNASSIGNED", "name": unit_names.get(code) or "未分配单位", "file": unit_file(code),
            "count": len(rows)} for code, rows in sorted(by_unit.items())]
    write_index(staging / "index.html", entries, day, extra=extra, units_nav=nav, dashboard=dashboard)
    (staging / "units").mkdir()
    for code, rows in by_unit.items():
        title = f"{unit_names.get(code) or '未分配单位'} 断卡线索包清单"
        write_index(staging / "units" / unit_file(code), rows, day, title=title, base="../../../", extra=extra,
                    back=True, dashboard="../" + dashboard)
    return len(by_unit)


def publish(con: duckdb.DuckDBPyConnection, home: Path, as_of: date, *, statuses: dict[str, str],
            summary: dict, quarantine: pl.DataFrame, rules_dir: Path | None = None,
            casework_db: Path | None = None, settings: PublishSettings | None = None) -> PublishReport:
    """Publish the night: pages (and PDFs) under packets/pages/, packets/<as_of>/index.json, index.html
    and units/<unit>.html, runs/<as_of>/summary.json, quarantine.csv, metrics.json and dashboard.html.

    Reads the link and score tables through `con` and the lifecycle from
    `casework_db` (default HOME/casework.sqlite; missing means no history).
    `rules_dir` (default the project's rules/) holds the category reference and
    publish/publish.yaml. A rerun for the same `as_of` replaces that day's index folder as a whole.
    """
    from duanka.metrics import write_metrics  # metrics reads publish's lifecycle helpers: import late

    home = Path(home)
    day = as_of.isoformat()
    rules = Path(rules_dir) if rules_dir else DEFAULT_RULES
    settings = settings or load_publish_settings(settings_path(rules))
    casework_db = Path(casework_db) if casework_db else home / "casework.sqlite"
    sweep_leftovers(home, home / "packets", home / "packets" / "pages", home / "runs" / day)
    entries, extra, unit_names, to_print, kept = _publish_pages(
        con, home, as_of, statuses, read_casework(casework_db), load_reference(rules), settings)
    printed, problem = _print_pdfs(home, to_print, settings, extra)
    write_run_reports(home / "runs" / day, summary, quarantine)
    write_metrics(con, casework_db, home, as_of, settings=settings)
    staging = new_staging_dir(home)
    try:
        units = _write_indexes(staging, entries, day, extra, unit_names)
        swap_into_place(staging, home / "packets" / day)
    finally:
        sweep_leftovers(home)
    rendered = len(entries) - kept
    log.info("published %s: %d packets, %d pages rendered, %d kept, %d PDFs", day, len(entries), rendered, kept,
             printed)
    return PublishReport(pages_rendered=rendered, pages_kept=kept, packets_listed=len(entries),
                         index_path=home / "packets" / day / "index.json", units=units, pdfs_printed=printed,
                         pdf_problem=problem)
