"""`publish`: one night's packets, indexes, PDFs, metrics and run reports, put in place atomically.

Order matters for a reader who opens files while the run works: packet pages
(and their PDFs) first (new names, nothing refers to them yet), then the run
reports and the dashboard, and last the day's folder with index.json,
index.html and the per-unit index pages, swapped in as a whole.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duanka.publish.columns import ChunkColumns, iter_chunks
from duanka.publish.files import new_staging_dir, swap_into_place, sweep_leftovers, sync_folder
from duanka.publish.index_files import write_indexes
from duanka.publish.index_store import TABLE as INDEX_TABLE
from duanka.publish.index_store import IndexStore, drop_missing_pdfs
from duanka.publish.lifecycle import EventReader
from duanka.publish.pdf import PdfUnavailable, print_pages
from duanka.publish.reference import load_reference
from duanka.publish.render import NightContext, Unit, column_units, publish_units, workers_wanted
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


@dataclass
class Rendered:
    """What rendering left for the index files besides the index table: small whatever the night's size."""

    listed: int = 0
    kept: int = 0
    unit_names: dict[str, str] = field(default_factory=dict)
    to_print: list[tuple[Path, Path]] = field(default_factory=list)


def _chunk_units(chunks: Iterable[ChunkColumns], statuses: dict[str, str], events: EventReader) -> Iterator[Unit]:
    """Units of work chunk by chunk, each chunk with the casework events of its packets only."""
    for chunk in chunks:
        if chunk.packets:
            first, last = chunk.packets[0]["packet_id"], chunk.packets[-1]["packet_id"]
            yield from column_units(chunk, statuses, events.between(first, last))


def _publish_pages(con: duckdb.DuckDBPyConnection, home: Path, as_of: date, statuses: dict[str, str],
                   casework_db: Path, reference: dict[str, dict], settings: PublishSettings) -> Rendered:
    """Render every open packet's page whose content changed (render.py: in worker processes for a big night).

    Each packet's index entry, deadline and PDF go into the index table (index_store.py) as they come
    back, not into Python lists: a province's ~770k entries would hold the flow's process at ~1 GB.
    """
    pages_dir = home / "packets" / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    hubs = frozenset(node for (node,) in con.execute(hubs_sql()).fetchall())
    ctx = NightContext(pages_dir=pages_dir, as_of=as_of, settings=settings, reference=reference, hubs=hubs)
    workers = workers_wanted(con.execute(f"SELECT count(*) FROM {ACTIVE}").fetchall()[0][0])
    store = IndexStore(con)
    events = EventReader(casework_db)
    done = Rendered()
    try:
        chunks = iter_chunks(con, as_of, chunk=VIEW_CHUNK_POOLED if workers else VIEW_CHUNK)
        for page in publish_units(ctx, _chunk_units(chunks, statuses, events), workers):
            store.add(page.entry, page.deadline, page.pdf)
            done.unit_names[page.unit_code] = page.unit_name
            done.kept += page.kept
            if page.to_print:
                done.to_print.append(page.to_print)
        store.flush()
    finally:
        events.close()
    done.listed = store.count
    sync_folder(pages_dir)  # the pages' names are on disk before any index names them
    return done


def _print_pdfs(con: duckdb.DuckDBPyConnection, home: Path, to_print: list[tuple[Path, Path]],
                settings: PublishSettings) -> tuple[int, str | None]:
    """Print the PDFs; when the browser is missing or fails, the night still publishes, without them
    (the index links only PDFs that exist)."""
    try:
        printed, problem = print_pages(to_print, timeout=settings.pdf.timeout_seconds), None
    except (PdfUnavailable, OSError) as exc:
        printed, problem = 0, f"PDF 未生成: {exc}"
        log.warning(problem)
    drop_missing_pdfs(con, home)
    return printed, problem


def _write_indexes(con: duckdb.DuckDBPyConnection, staging: Path, day: str, unit_names: dict[str, str]) -> int:
    """index.json, index.html and units/<unit>.html into the day's staging folder (index_files.py); the unit count."""
    return write_indexes(con, staging, day, unit_names)


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
    try:
        done = _publish_pages(con, home, as_of, statuses, casework_db, load_reference(rules), settings)
        printed, problem = _print_pdfs(con, home, done.to_print, settings)
        write_run_reports(home / "runs" / day, summary, quarantine)
        write_metrics(con, casework_db, home, as_of, settings=settings)
        staging = new_staging_dir(home)
        try:
            units = _write_indexes(con, staging, day, done.unit_names)
            swap_into_place(staging, home / "packets" / day)
        finally:
            sweep_leftovers(home)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {INDEX_TABLE}")
    rendered, kept = done.listed - done.kept, done.kept
    log.info("published %s: %d packets, %d pages rendered, %d kept, %d PDFs", day, done.listed, rendered, kept,
             printed)
    return PublishReport(pages_rendered=rendered, pages_kept=kept, packets_listed=done.listed,
                         index_path=home / "packets" / day / "index.json", units=units, pdfs_printed=printed,
                         pdf_problem=problem)
