"""`publish`: one night's packets, indexes, PDFs, metrics and run reports, put in place atomically.

Order matters for a reader who opens files while the run works: packet pages
(and their PDFs) first (new names, nothing refers to them yet), then the run
reports and the dashboard, and last the day's folder with index.json,
index.html and the per-unit index pages, swapped in as a whole.
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
from duanka.publish.lifecycle import Casework, deadline, history, read_casework
from duanka.publish.model import build_page, index_entry
from duanka.publish.pages import model_name, page_digest, page_name, render_index, render_packet, unit_file
from duanka.publish.pdf import PdfUnavailable, print_pages
from duanka.publish.reference import category_block, load_reference
from duanka.publish.reports import write_run_reports
from duanka.publish.settings import PublishSettings, load_publish_settings, settings_path
from duanka.publish.views import iter_views

log = logging.getLogger(__name__)

OPEN_STATUSES = ("issued", "analyzed", "verified", "struck")
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules"


@dataclass(frozen=True)
class PublishReport:
    pages_rendered: int
    pages_kept: int
    packets_listed: int
    index_path: Path
    units: int = 0
    pdfs_printed: int = 0
    pdf_problem: str | None = None


@dataclass
class _Night:
    """What one night's page rendering needs besides the warehouse views."""

    as_of: date
    statuses: dict[str, str]
    casework: Casework
    reference: dict[str, dict]
    settings: PublishSettings


def _lifecycle(head: dict, night: _Night) -> dict:
    events = night.casework.of(head["packet_id"])
    first = head["first_as_of"] or night.as_of
    return {"deadline": deadline(head["tier"], events, first, night.as_of, night.settings.deadlines),
            "history": history(events), "category": category_block(head["category"], night.reference)}


def _publish_pages(con: duckdb.DuckDBPyConnection, home: Path,
                   night: _Night) -> tuple[list[dict], dict[str, dict], dict[str, str], list[tuple[Path, Path]], int]:
    """Render every open packet's page whose content changed.

    Returns the index entries, per-packet extras for the index pages (deadline,
    PDF), unit names, the (html, pdf) pairs still to print, and how many pages were kept.
    """
    pages_dir = home / "packets" / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    entries, extra, unit_names, to_print, kept = [], {}, {}, [], 0
    pdf = night.settings.pdf
    for views in iter_views(con, night.as_of):  # chunks of packets: memory stays bounded
        for head in views.packets:
            status = night.statuses.get(head["packet_id"], "issued")
            if status not in OPEN_STATUSES:
                continue  # closed (or unknown) packets leave the index
            page = build_page(head, views, status, _lifecycle(head, night))
            digest = page_digest(page)
            name = page_name(head["packet_id"], digest)
            model_path = pages_dir / model_name(name)
            if (pages_dir / name).is_file() and model_path.is_file():
                kept += 1
            else:
                # The page model beside the page: the web app renders the same content from it, masked
                # until an investigator reveals an identifier (it never opens the warehouse).
                write_atomic(model_path, json.dumps({"digest": digest, "page": page}, ensure_ascii=False,
                                                    default=str).encode("utf-8"))
                write_atomic(pages_dir / name, render_packet(page, digest).encode("utf-8"))
            pdf_path = pages_dir / name.replace(".html", ".pdf")
            if pdf.enabled and head["tier"] in pdf.tiers and not pdf_path.is_file():
                to_print.append((pages_dir / name, pdf_path))
            entries.append(index_entry(page, views, head["changed"], f"packets/pages/{name}"))
            extra[head["packet_id"]] = {"deadline": page["deadline"],
                                        "pdf": f"packets/pages/{pdf_path.name}" if pdf.enabled and head["tier"] in pdf.tiers
                                        else None}
            unit_names[head["unit_code"]] = head["unit_name"]
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
    (staging / "index.json").write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    by_unit: dict[str, list[dict]] = {}
    for e in entries:
        by_unit.setdefault(e["unit_code"], []).append(e)
    dashboard = f"../../runs/{day}/dashboard.html"
    nav = [{"code": code or "UNASSIGNED", "name": unit_names.get(code) or "未分配单位", "file": unit_file(code),
            "count": len(rows)} for code, rows in sorted(by_unit.items())]
    (staging / "index.html").write_text(
        render_index(entries, day, extra=extra, units_nav=nav, dashboard=dashboard), encoding="utf-8")
    (staging / "units").mkdir()
    for code, rows in by_unit.items():
        title = f"{unit_names.get(code) or '未分配单位'} 断卡线索包清单"
        (staging / "units" / unit_file(code)).write_text(
            render_index(rows, day, title=title, base="../../../", extra=extra, back=True,
                         dashboard="../" + dashboard), encoding="utf-8")
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
    night = _Night(as_of=as_of, statuses=statuses, casework=read_casework(casework_db),
                   reference=load_reference(rules), settings=settings)
    sweep_leftovers(home, home / "packets", home / "packets" / "pages", home / "runs" / day)
    entries, extra, unit_names, to_print, kept = _publish_pages(con, home, night)
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
