"""Rendering a night's packet pages in bulk: in this process for a small night, in worker processes for a province.

A million leads make ~770k packets, each with a page and its model to write:
serially that was ~40 minutes. The warehouse can be read by the flow's
process alone (DuckDB allows no second process, not even read-only), so this
process reads the views and cuts them into units of packets; each unit goes
whole to `publish_unit`, here or in a worker, which builds each packet's page
model, decides from its digest whether the page exists already, writes the new
ones in one `PageBatch` and returns what the index needs. Results come back in
the order the units went out, so the output is the same whichever way it ran.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from duanka.procpool import Pool, default_workers
from duanka.publish.columns import ChunkColumns, cut, rows_by_packet
from duanka.publish.files import PageBatch
from duanka.publish.lifecycle import deadline, history
from duanka.publish.model import build_page, index_entry
from duanka.publish.pages import digest_of, model_bytes, model_name, page_json, page_name, render_packet
from duanka.publish.reference import category_block
from duanka.publish.settings import PublishSettings
from duanka.publish.views import NightViews

OPEN_STATUSES = ("issued", "analyzed", "verified", "struck")
UNIT = 1000  # packets per unit of work: a batch of ~2,000 files flushed to disk at once
IN_FLIGHT = 12  # units per worker queued ahead: they keep the workers busy while the next views are read
SERIAL_BELOW = 4000  # open packets; below this, starting worker processes costs more than it saves
WORKERS_ENV = "DUANKA_PUBLISH_WORKERS"


@dataclass(frozen=True)
class NightContext:
    """What every page of the night shares; sent to each worker once."""

    pages_dir: Path
    as_of: date
    settings: PublishSettings
    reference: dict[str, dict]
    hubs: frozenset[str]


@dataclass
class Unit:
    """A run of packets in packet-id order with their view rows, status and casework events.

    The rows come either grouped already (`sections`) or as each section's Arrow IPC bytes (`blobs`,
    see columns.py), turned into rows only where the unit is rendered."""

    packets: list[dict]
    sections: dict[str, dict[str, list]]
    statuses: dict[str, str]
    events: dict[str, list[dict]] = field(default_factory=dict)
    blobs: dict[str, bytes] | None = None

    def grouped(self) -> dict[str, dict[str, list]]:
        if self.blobs is None:
            return self.sections
        return {name: rows_by_packet(blob) for name, blob in self.blobs.items()}


@dataclass(frozen=True)
class Published:
    """One open packet as the index pages need it."""

    entry: dict
    deadline: dict | None
    pdf: str | None
    unit_code: str
    unit_name: str
    to_print: tuple[Path, Path] | None
    kept: bool


def _lifecycle(head: dict, events: list[dict], ctx: NightContext) -> dict:
    first = head["first_as_of"] or ctx.as_of
    return {"deadline": deadline(head["tier"], events, first, ctx.as_of, ctx.settings.deadlines),
            "history": history(events), "category": category_block(head["category"], ctx.reference)}


def publish_unit(ctx: NightContext, unit: Unit) -> list[Published]:
    """Build, digest and (when new) write every packet page of `unit`; the pages go into place together."""
    views = NightViews(packets=unit.packets, sections=unit.grouped(), hubs=ctx.hubs)  # type: ignore[arg-type]
    pdf = ctx.settings.pdf
    folder = os.fspath(ctx.pages_dir)
    batch = PageBatch(ctx.pages_dir)
    out = []
    try:
        for head in unit.packets:
            pid = head["packet_id"]
            page = build_page(head, views, unit.statuses[pid], _lifecycle(head, unit.events.get(pid, []), ctx))
            canonical = page_json(page)
            digest = digest_of(canonical)
            name = page_name(pid, digest)
            page_path = os.path.join(folder, name)  # strings, not Paths: ~5 path joins a page added up
            model_path = os.path.join(folder, model_name(name))
            kept = os.path.isfile(page_path) and os.path.isfile(model_path)
            if not kept:
                # The page model beside the page: the web app renders the same content from it, masked
                # until an investigator reveals an identifier (it never opens the warehouse).
                batch.add(model_path, model_bytes(digest, canonical))
                batch.add(page_path, render_packet(page, digest).encode("utf-8"))
            printed = pdf.enabled and head["tier"] in pdf.tiers
            pdf_name = name.replace(".html", ".pdf")
            pdf_path = ctx.pages_dir / pdf_name if printed else None
            out.append(Published(
                entry=index_entry(page, views, head["changed"], f"packets/pages/{name}"), deadline=page["deadline"],
                pdf=f"packets/pages/{pdf_name}" if printed else None, unit_code=head["unit_code"],
                unit_name=head["unit_name"], to_print=(ctx.pages_dir / name, pdf_path)
                if pdf_path is not None and not pdf_path.is_file() else None, kept=kept))
        batch.commit()
    finally:
        batch.discard()
    return out


def units_of(views: NightViews, statuses: dict[str, str], events: dict[str, list[dict]],
             size: int | None = None) -> Iterator[Unit]:
    """Cut one chunk of views into units of `size` (default `UNIT`) open packets (closed ones leave the index here)."""
    size = size or UNIT
    heads = [h for h in views.packets if statuses.get(h["packet_id"], "issued") in OPEN_STATUSES]
    for start in range(0, len(heads), size):
        part = heads[start:start + size]
        pids = [h["packet_id"] for h in part]
        sections = {name: {pid: rows[pid] for pid in pids if pid in rows} for name, rows in views.sections.items()}
        yield Unit(packets=part, sections=sections, statuses={pid: statuses.get(pid, "issued") for pid in pids},
                   events={pid: events[pid] for pid in pids if pid in events})


def column_units(chunk: ChunkColumns, statuses: dict[str, str], events: dict[str, list[dict]],
                 size: int | None = None) -> Iterator[Unit]:
    """Cut one chunk of columnar views (columns.py) into units of `size` (default `UNIT`) open packets.

    A unit's slices run from its first to its last open packet; closed packets in between ride along
    unread (their rows are never looked up)."""
    size = size or UNIT
    heads = [h for h in chunk.packets if statuses.get(h["packet_id"], "issued") in OPEN_STATUSES]
    for start in range(0, len(heads), size):
        part = heads[start:start + size]
        pids = [h["packet_id"] for h in part]
        yield Unit(packets=part, sections={}, statuses={pid: statuses.get(pid, "issued") for pid in pids},
                   events={pid: events[pid] for pid in pids if pid in events}, blobs=cut(chunk, pids[0], pids[-1]))


def workers_wanted(open_packets: int) -> int:
    """Worker processes for a night: none below `SERIAL_BELOW` packets, else $DUANKA_PUBLISH_WORKERS or the cores (≤ 2)."""
    if open_packets < SERIAL_BELOW:
        return 0
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit():
        return int(configured) if int(configured) > 1 else 0
    wanted = default_workers()
    return wanted if wanted > 1 else 0


_CTX: NightContext | None = None


def _init_worker(ctx: NightContext) -> None:
    global _CTX
    _CTX = ctx


def _publish_in_worker(unit: Unit) -> list[Published]:
    assert _CTX is not None, "worker started without its night context"
    return publish_unit(_CTX, unit)


def publish_units(ctx: NightContext, units: Iterable[Unit], workers: int) -> Iterator[Published]:
    """Every unit's pages, in unit order; with `workers` ≥ 2 the units are rendered in that many processes
    (`duanka.procpool.Pool`: spawned, results in order). At most `IN_FLIGHT` units per worker are queued,
    so memory stays bounded and this process reads the next chunk of views while the workers render.
    """
    if workers < 2:
        for unit in units:
            yield from publish_unit(ctx, unit)
        return
    with Pool(workers, in_flight=IN_FLIGHT, initializer=_init_worker, initargs=(ctx,)) as pool:
        for published in pool.map(_publish_in_worker, units):
            yield from published
