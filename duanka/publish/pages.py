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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

try:  # installed with Prefect; the standard library's json writes the same bytes, only slower
    import orjson
except ImportError:  # pragma: no cover - exercised by test_publish_speed with orjson hidden
    orjson = None  # type: ignore[assignment]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

try:  # markupsafe's C escaper without the Markup object around its result (see `fast_escape`)
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - a markupsafe without it escapes through its public function
    def _escape_inner(s: str) -> str:
        return str(escape(s))

from duanka.publish import labels as L
from duanka.publish.mask import mask_account, mask_id, mask_phone
from duanka.publish.svg import network_svg

TEMPLATES = Path(__file__).parent / "templates"
# Part of every page digest: bump it when the packet template or the model changes
# shape, so that every page is rendered again once with the new layout.
PAGE_VERSION = "packet-page/3"
_DIGEST_HEAD = json.dumps([PAGE_VERSION], ensure_ascii=False)[:-1]  # `["packet-page/N"`
INDEX_SHOWN = 3
TIERS = ("red", "orange", "yellow")
# Evidence rows shown open under each rule; the rest fold away on screen (the reader sees who to
# visit first) and print in full (style.css opens every fold on paper).
EVIDENCE_SHOWN = 3


class _Environment(Environment):
    """Jinja with `x.key` looking in a dict first: the page model is all dicts, and Jinja's own order
    (attribute first, then item) raised and caught an AttributeError for each of ~200 lookups a page."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def fast_escape(value: Any) -> Any:
    """markupsafe's `escape` for the index rows built in Python: a plain `str` is escaped by the same C function,
    without wrapping the result in a `Markup` (whose Python `__new__` cost as much as the escaping,
    ~100 values a page); anything else (numbers, `Markup`) goes through `escape` itself."""
    if type(value) is str:
        return _escape_inner(value)
    return escape(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    # auto_reload off: the templates ship inside the package and never change while a night runs;
    # with it on, every render stat()ed each template file (two per page, ~0.1 ms).
    env = _Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       auto_reload=False)
    # The style sheet, rendered once: `{% include %}` made a context and rendered it again for each page.
    # The include swallowed the newline after its tag (trim_blocks); `{{ style }}` keeps it, so one goes here.
    env.globals["style"] = Markup(env.get_template("style.css.j2").render().removesuffix("\n"))
    env.globals.update(tier_label=lambda t: L.word(L.TIER, t), status_label=lambda s: L.word(L.STATUS, s),
                       mask_id=mask_id, mask_phone=mask_phone, mask_account=mask_account, some=_some)
    return env


def _some(values: list[str], mask) -> str:  # type: ignore[no-untyped-def]
    """The first few masked identifiers of a list and how many more there are."""
    shown = "、".join(mask(v) for v in values[:INDEX_SHOWN])
    return shown + (f" 等{len(values)}个" if len(values) > INDEX_SHOWN else "")


def page_json(page: dict) -> str:
    """The page model as canonical JSON (sorted keys, no blanks): hashed for the digest, written as the model.

    orjson writes the bytes `json.dumps(ensure_ascii=False, sort_keys=True, separators=(",", ":"))`
    writes for what a page model holds (str keys; floats rounded to at most 4 decimals print alike)
    in a tenth of the time; anything it refuses (an int beyond 64 bits, a lone surrogate) goes the slow way."""
    if orjson is not None:
        try:
            return orjson.dumps(page, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(page, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest_of(canonical: str) -> str:
    """Eight hex digits of the SHA-256 of `[PAGE_VERSION, page]` as canonical JSON, from `page_json(page)`.

    The same bytes as hashing `json.dumps([PAGE_VERSION, page], ...)` at once, so digests (and page
    names) stay what earlier nights computed, while the page is serialised only once."""
    return hashlib.sha256(f"{_DIGEST_HEAD},{canonical}]".encode()).hexdigest()[:8]


def page_digest(page: dict) -> str:
    """Eight hex digits of the SHA-256 of everything the page shows (and of the page layout version)."""
    return digest_of(page_json(page))


def _indented(entries: list[dict]) -> str:
    """`json.dumps(entries, ensure_ascii=False, indent=2)` (orjson when there: the same bytes, faster)."""
    if orjson is not None:
        try:
            return orjson.dumps(entries, option=orjson.OPT_INDENT_2).decode()
        except TypeError:
            pass
    return json.dumps(entries, ensure_ascii=False, indent=2)


def json_piece(chunk: list[dict], first: bool) -> str:
    """One chunk of index.json's list, to follow the pieces before it (`first`: none yet); empty for no entries.

    A list indented by two is `[`, each element one level in, joined by `,` and newlines, then `]`: an
    element's text does not depend on the list around it, so each chunk is dumped alone and the text
    between its brackets is joined. A province's ~770k entries never have to be in memory at once."""
    if not chunk:
        return ""
    return ("[\n" if first else ",\n") + _indented(chunk)[2:-2]


def json_end(first: bool) -> str:
    """What closes index.json: `]` after the pieces, or the empty list when there was none."""
    return "[]\n" if first else "\n]\n"


def iter_index_json(chunks: Iterable[list[dict]]) -> Iterator[str]:
    """index.json's text in pieces, from the entries in chunks: the bytes `index_json` writes for them all."""
    first = True
    for chunk in chunks:
        if chunk:
            yield json_piece(chunk, first)
            first = False
    yield json_end(first)


def index_json(entries: list[dict]) -> str:
    """index.json's text: `json.dumps(entries, ensure_ascii=False, indent=2)` plus a newline."""
    return "".join(iter_index_json([entries]))


def model_bytes(digest: str, canonical: str) -> bytes:
    """The page model file the web app reads: `{"digest": ..., "page": ...}` around the canonical JSON."""
    return f'{{"digest":"{digest}","page":{canonical}}}'.encode()


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


_ROWS_MARK = "\x00duanka-index-rows\x00"
ROWS_PER_WRITE = 2_000  # index rows joined into one string per write


def batched(items: Iterable[Any]) -> Iterator[list[Any]]:
    """`items` in lists of `ROWS_PER_WRITE` (read at call time), the last one shorter."""
    it = iter(items)
    while batch := list(islice(it, ROWS_PER_WRITE)):
        yield batch


@dataclass(frozen=True)
class IndexFacts:
    """What an index page's head says about its whole list, known before its first row is written."""

    count: int
    changed: int
    tiers: list[str]  # present ones, in tier order
    statuses: list[str]  # present ones, in lifecycle order
    units: list[str]  # sorted
    overdue: int


def facts_of(entries: list[dict], extra: dict[str, dict] | None = None) -> IndexFacts:
    """The head facts of a list of entries held in memory (`extra`: per packet, its deadline)."""
    extra = extra or {}
    present_tiers = {e["tier"] for e in entries}
    present_statuses = {e["status"] for e in entries}
    return IndexFacts(
        count=len(entries), changed=sum(1 for e in entries if e["changed"]),
        tiers=[t for t in TIERS if t in present_tiers], statuses=[s for s in L.STATUS if s in present_statuses],
        units=sorted({e["unit_code"] for e in entries}),
        overdue=sum(1 for e in entries
                    if (extra.get(e["packet_id"], {}).get("deadline") or {}).get("state") == "overdue"))


def iter_index_rows(facts: IndexFacts, rows: Iterable[Iterable[tuple[dict, dict]]], as_of: str, *,
                    title: str = "断卡线索包清单", base: str = "../../", units_nav: list[dict] | None = None,
                    back: bool = False, dashboard: str | None = None) -> Iterator[str]:
    """An index page, in pieces: the index.json list for people, identifiers masked.

    `rows` yields chunks of (entry, extra) pairs in the page's order; `extra` holds what index.json
    does not carry (deadline, PDF path). `base` leads from the page's folder to HOME (links to packet
    pages are relative, so the folder can be copied to a stick and still work). In pieces because a
    province lists ~770k packets: the whole page as one string (and its UTF-8 copy) cost several GB
    at 1M leads, and the list itself ~1 GB; the template is rendered once around a mark with the
    head `facts`, and the rows, read chunk by chunk, are written between its halves.
    """
    frame = environment().get_template("index.html.j2").render(
        count=facts.count, changed_count=facts.changed, as_of=as_of, tiers=facts.tiers, statuses=facts.statuses,
        units=facts.units, title=title, base=base, rows=Markup(_ROWS_MARK), units_nav=units_nav or [], back=back,
        dashboard=dashboard, overdue_count=facts.overdue)
    head, tail = frame.split(_ROWS_MARK)
    yield head
    for chunk in rows:
        yield "".join(index_row(e, x, base) for e, x in chunk)
    yield tail


def iter_index(entries: list[dict], as_of: str, *, extra: dict[str, dict] | None = None,
               **options: Any) -> Iterator[str]:
    """`iter_index_rows` for a list held in memory (tests, small lists); the publisher streams its rows."""
    extra = extra or {}
    chunks = batched((e, extra.get(e["packet_id"], {})) for e in entries)
    return iter_index_rows(facts_of(entries, extra), chunks, as_of, **options)


def render_index(entries: list[dict], as_of: str, **options: Any) -> str:
    """The whole index page as one string (tests, small lists); the publisher streams `iter_index`."""
    return "".join(iter_index(entries, as_of, **options))


def write_index(path: Path, entries: list[dict], as_of: str, **options: Any) -> None:
    """Write an index page piece by piece (see `iter_index`)."""
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(iter_index(entries, as_of, **options))


def masked_cells(entry: dict) -> tuple[str, str, str, str]:
    """The index row's persons, accounts, phones (masked) and rules cells, escaped."""
    x = fast_escape
    return (str(x(_some(entry["persons"], mask_id))), str(x(_some(entry["accounts"], mask_account))),
            str(x(_some(entry["phones"], mask_phone))), " ".join(str(x(r)) for r in entry["rules"]))


def index_row(e: dict, extra: dict, base: str) -> str:
    """One packet's row of an index page, in plain Python: a province lists ~770k packets twice (the
    whole index and its unit's page), and Jinja cost ~0.2 ms a row. The masking (~5 us) is done for
    each page again rather than cached: a cache of 770k rows' cells cost ~0.4 GB."""
    pid = e["packet_id"]
    persons, accounts, phones, rules = masked_cells(e)
    x = fast_escape
    deadline = extra.get("deadline") or {}
    pdf = extra.get("pdf")
    changed = '<span class="changed">新/变化</span>' if e["changed"] else ""
    pdf_link = f' <a class="noprint" href="{x(base)}{x(pdf)}">PDF</a>' if pdf else ""
    due = (f'{x(deadline["due"])} <span class="deadline deadline-{x(deadline["state"])}">{x(deadline["label"])}</span>'
           if deadline else "")
    return (f'<tr data-priority="{x(e["priority"])}" data-tier="{x(e["tier"])}" data-packet="{x(pid)}" '
            f'data-unit="{x(e["unit_code"])}"\n    data-status="{x(e["status"])}" data-changed="{1 if e["changed"] else 0}" '
            f'data-deadline="{x(deadline.get("state", ""))}" data-due="{x(deadline.get("due", ""))}">\n'
            f'<td class="num">{x(e["priority"])}</td><td><span class="tier tier-{x(e["tier"])}">'
            f'{x(L.word(L.TIER, e["tier"]))}</span></td>\n'
            f'<td class="mono"><a href="{x(base)}{x(e["html"])}">{x(pid)}</a>{pdf_link}</td>'
            f'<td class="mono">{x(e["unit_code"])}</td>\n'
            f'<td>{x(L.word(L.STATUS, e["status"]))}</td><td>{changed}</td>\n'
            f'<td>{due}</td>\n'
            f'<td class="mono">{persons}</td><td class="mono">{accounts}</td>\n'
            f'<td class="mono">{phones}</td><td class="mono">{rules}</td>\n</tr>\n')


def unit_file(unit_code: str) -> str:
    """`<unit_code>.html` for a unit's index page; packets no unit matched go to `UNASSIGNED.html`."""
    return f"{re.sub(r'[^0-9A-Za-z_.-]', '_', unit_code) or 'UNASSIGNED'}.html"
