"""Rendering with Jinja2: the packet page and the night's index page.

Templates live in `templates/` inside the package so that an installed duanka
renders without the source tree. Both pages are self-contained (inline CSS and
SVG, a few lines of inline JS on the index), so they open from file:// on an
intranet machine with no network.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from duanka.publish import labels as L
from duanka.publish.mask import mask_account, mask_id, mask_phone
from duanka.publish.svg import network_svg

TEMPLATES = Path(__file__).parent / "templates"
# Part of every page digest: bump it when the packet template or the model changes
# shape, so that every page is rendered again once with the new layout.
PAGE_VERSION = "packet-page/3"
INDEX_SHOWN = 3
# Evidence rows shown open under each rule; the rest fold away on screen (the reader sees who to
# visit first) and print in full (style.css opens every fold on paper).
EVIDENCE_SHOWN = 3


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(tier_label=lambda t: L.word(L.TIER, t), status_label=lambda s: L.word(L.STATUS, s),
                       mask_id=mask_id, mask_phone=mask_phone, mask_account=mask_account, some=_some)
    return env


def _some(values: list[str], mask) -> str:  # type: ignore[no-untyped-def]
    """The first few masked identifiers of a list and how many more there are."""
    shown = "、".join(mask(v) for v in values[:INDEX_SHOWN])
    return shown + (f" 等{len(values)}个" if len(values) > INDEX_SHOWN else "")


def page_digest(page: dict) -> str:
    """Eight hex digits of the SHA-256 of everything the page shows (and of the page layout version)."""
    canonical = json.dumps([PAGE_VERSION, page], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]


def page_name(packet_id: str, digest: str) -> str:
    """`<packet_id>-<digest8>.html`, with characters unsafe in a file name replaced by `_`."""
    return f"{re.sub(r'[^0-9A-Za-z_.-]', '_', packet_id)}-{digest}.html"


def model_name(page_file: str) -> str:
    """The page model's file beside the page: `<packet_id>-<digest8>.json`."""
    return page_file.removesuffix(".html") + ".json"


def render_packet(page: dict, digest: str) -> str:
    """The packet's page as one self-contained HTML document."""
    svg = Markup(network_svg(page["graph"]))
    return environment().get_template("packet.html.j2").render(p=page, svg=svg, digest=digest,
                                                               evidence_shown=EVIDENCE_SHOWN)


def render_index(entries: list[dict], as_of: str, *, title: str = "断卡线索包清单", base: str = "../../",
                 extra: dict[str, dict] | None = None, units_nav: list[dict] | None = None, back: bool = False,
                 dashboard: str | None = None) -> str:
    """An index page: the index.json list for people, identifiers masked.

    `base` leads from the page's folder to HOME (links to packet pages are
    relative, so the folder can be copied to a stick and still work); `extra`
    holds per packet what index.json does not carry (deadline, PDF path).
    """
    extra = extra or {}
    tiers = [t for t in ("red", "orange", "yellow") if any(e["tier"] == t for e in entries)]
    statuses = [s for s in L.STATUS if any(e["status"] == s for e in entries)]
    units = sorted({e["unit_code"] for e in entries})
    overdue = sum(1 for e in entries if (extra.get(e["packet_id"], {}).get("deadline") or {}).get("state") == "overdue")
    return environment().get_template("index.html.j2").render(
        entries=entries, as_of=as_of, tiers=tiers, statuses=statuses, units=units, title=title, base=base,
        extra=extra, units_nav=units_nav or [], back=back, dashboard=dashboard, overdue_count=overdue)


def unit_file(unit_code: str) -> str:
    """`<unit_code>.html` for a unit's index page; packets no unit matched go to `UNASSIGNED.html`."""
    return f"{re.sub(r'[^0-9A-Za-z_.-]', '_', unit_code) or 'UNASSIGNED'}.html"
