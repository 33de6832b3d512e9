"""The fast paths of publishing (issue 8, second round) write what the plain paths wrote: columnar views give
the same rows, orjson the same JSON bytes, the fast escaper the same HTML."""
from __future__ import annotations

import json
import random

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from test_publish_outputs import NIGHT1, build

from duanka.publish import columns, pages, render
from duanka.publish.model import build_page
from duanka.publish.views import fetch_views

TRICKY = "".join(chr(i) for i in range(0x80)) + "中文\u2028\u2029😀<&>'\""


def _slow_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_columnar_views_give_every_packet_the_rows_the_dict_views_give() -> None:
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    chunks = list(columns.iter_chunks(fx.con, NIGHT1, chunk=3))  # several chunks, cut in the middle of the list
    assert [h for c in chunks for h in c.packets] == views.packets
    for chunk in chunks:
        pids = [h["packet_id"] for h in chunk.packets]
        blobs = columns.cut(chunk, pids[0], pids[-1])
        for name, rows in views.sections.items():
            got = columns.rows_by_packet(blobs[name])
            assert got == {pid: rows[pid] for pid in pids if pid in rows}, name


def test_column_units_skip_closed_packets_and_pages_stay_the_same() -> None:
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    chunk = columns.fetch_chunk(fx.con, NIGHT1)
    closed = views.packets[1]["packet_id"]
    statuses = {closed: "closed"}
    units = list(render.column_units(chunk, statuses, {}, size=2))
    old = list(render.units_of(views, statuses, {}, size=2))
    assert [[h["packet_id"] for h in u.packets] for u in units] == [[h["packet_id"] for h in u.packets] for u in old]
    assert closed not in {h["packet_id"] for u in units for h in u.packets}
    for new_unit, old_unit in zip(units, old):
        grouped = new_unit.grouped()
        for head in new_unit.packets:
            pid = head["packet_id"]
            for name in old_unit.sections:
                assert grouped[name].get(pid, []) == old_unit.sections[name].get(pid, [])


def test_page_json_is_the_standard_librarys_json_byte_for_byte() -> None:
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    for head in views.packets:
        page = build_page(head, views, "issued")
        assert pages.page_json(page) == _slow_json(page)
    rng = random.Random(8)
    odd = {"text": TRICKY, "z": [round(rng.uniform(-1, 101), rng.randint(0, 4)) for _ in range(2000)],
           "a": {"b": None, "A": True, "é": -0.0}}
    assert pages.page_json(odd) == _slow_json(odd)
    # what orjson refuses still comes out, the slow way
    for refused in ({"n": 2**70}, {"s": "\ud800"}):
        assert pages.page_json(refused) == _slow_json(refused)
    entries = [{"packet_id": "PK-1", "rules": [], "persons": ["中"], "priority": 87.5, "changed": True}]
    assert pages.index_json(entries) == json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    assert pages.index_json([]) == "[]\n"


@pytest.mark.parametrize("value", [TRICKY, "", "a&b", 87.5, 3, Markup("<b>kept</b>"), None])
def test_fast_escape_matches_markupsafe(value: object) -> None:
    assert str(pages.fast_escape(value)) == str(escape(value))


def test_packet_page_renders_as_plain_jinja_renders_it() -> None:
    """The style sheet rendered once and the dict-first attribute lookup change no byte of a page."""
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    plain = Environment(loader=FileSystemLoader(pages.TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    plain.globals.update(pages.environment().globals)
    source = (pages.TEMPLATES / "packet.html.j2").read_text(encoding="utf-8")
    reference = plain.from_string(source.replace("{{ style }}", '{% include "style.css.j2" %}'))
    for head in views.packets:
        page = build_page(head, views, "issued")
        page["summary"] += TRICKY  # escaping is exercised, not only plain text
        expected = reference.render(p=page, svg=Markup(pages.network_svg(page["graph"])), digest="0a1b2c3d",
                                    evidence_shown=pages.EVIDENCE_SHOWN)
        assert pages.render_packet(page, "0a1b2c3d") == expected
        assert "&lt;&amp;&gt;&#39;&#34;" in expected
