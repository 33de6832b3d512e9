"""Bulk rendering (duanka.publish.render): worker processes publish the same bytes as this process,
page digests are those of earlier nights, and a batch of pages goes into place only whole."""
from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from markupsafe import Markup
from test_publish_outputs import NIGHT1, build, index, run

from duanka.publish import files, pages, render
from duanka.publish.files import PageBatch, sweep_leftovers
from duanka.publish.model import build_page
from duanka.publish.settings import PublishSettings
from duanka.publish.views import fetch_views


def _tree(folder: Path) -> dict[str, bytes]:
    """Every published file's bytes; a PDF only by name (Chromium stamps the time it printed)."""
    return {str(p.relative_to(folder)): b"" if p.suffix == ".pdf" else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_worker_processes_publish_the_same_bytes_as_this_process(tmp_path: Path, monkeypatch) -> None:
    run(build(), tmp_path / "serial", NIGHT1, {"PK-C": "analyzed"})
    monkeypatch.setattr(render, "SERIAL_BELOW", 0)
    monkeypatch.setattr(render, "UNIT", 1)  # one packet a unit: four units spread over the two workers
    monkeypatch.setenv(render.WORKERS_ENV, "2")
    assert render.workers_wanted(4) == 2
    report = run(build(), tmp_path / "pooled", NIGHT1, {"PK-C": "analyzed"})
    assert (report.pages_rendered, report.pages_kept, report.packets_listed) == (4, 0, 4)
    serial, pooled = _tree(tmp_path / "serial" / "packets"), _tree(tmp_path / "pooled" / "packets")
    assert len([name for name in serial if name.endswith(".html")]) == 4 + 2  # 4 pages, index and a unit page
    assert pooled == serial
    # a second night on the pooled home keeps every page, as the serial path does
    again = run(build(), tmp_path / "pooled", NIGHT1, {"PK-C": "analyzed"})
    assert (again.pages_rendered, again.pages_kept) == (0, 4)


def test_workers_wanted_serial_for_a_small_night_and_configurable(monkeypatch) -> None:
    monkeypatch.setenv(render.WORKERS_ENV, "2")
    assert render.workers_wanted(render.SERIAL_BELOW - 1) == 0
    assert render.workers_wanted(render.SERIAL_BELOW) == 2
    monkeypatch.setenv(render.WORKERS_ENV, "1")
    assert render.workers_wanted(10 * render.SERIAL_BELOW) == 0, "one worker would only add the hand-over"


def test_an_error_in_a_worker_reaches_the_caller_with_its_errno(tmp_path: Path) -> None:
    """The CLI tells a full disk (ENOSPC) by errno: the error must cross the process boundary intact."""
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    ctx = render.NightContext(pages_dir=tmp_path / "missing", as_of=NIGHT1, settings=PublishSettings(),
                              reference={}, hubs=frozenset())
    units = render.units_of(views, {}, {}, size=1)
    with pytest.raises(OSError) as caught:
        list(render.publish_units(ctx, units, workers=2))
    assert caught.value.errno == errno.ENOENT


def test_digest_is_the_one_earlier_nights_computed_and_the_model_is_the_page(tmp_path: Path) -> None:
    fx = build()
    views = fetch_views(fx.con, NIGHT1)
    for head in views.packets:
        page = build_page(head, views, "issued")
        old = json.dumps([pages.PAGE_VERSION, page], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        canonical = pages.page_json(page)
        digest = pages.digest_of(canonical)
        assert digest == hashlib.sha256(old.encode("utf-8")).hexdigest()[:8] == pages.page_digest(page)
        assert json.loads(pages.model_bytes(digest, canonical)) == {"digest": digest, "page": page}


def test_page_batch_puts_files_in_place_only_after_commit(tmp_path: Path) -> None:
    batch = PageBatch(tmp_path)
    batch.add(tmp_path / "a.html", b"<p>a</p>")
    batch.add(tmp_path / "a.json", b"{}")
    assert not (tmp_path / "a.html").exists(), "nothing under its final name before the batch is on disk"
    assert len(list(tmp_path.glob(f"{files.TEMP_PREFIX}*"))) == 2
    batch.commit()
    assert (tmp_path / "a.html").read_bytes() == b"<p>a</p>" and (tmp_path / "a.json").read_bytes() == b"{}"
    assert list(tmp_path.glob(f"{files.TEMP_PREFIX}*")) == []


def test_a_failed_batch_leaves_no_partial_file_under_a_final_name(tmp_path: Path, monkeypatch) -> None:
    real_replace = os.replace

    def full_disk(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(dst).endswith(".html"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    batch = PageBatch(tmp_path)
    batch.add(tmp_path / "b.html", b"<p>b</p>")
    batch.add(tmp_path / "b.json", b"{}")
    with pytest.raises(OSError):
        batch.commit()
    batch.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"], "a model alone is re-rendered next night"
    (tmp_path / f"{files.TEMP_PREFIX}0a1b-c.html").write_bytes(b"<p")  # a killed worker's half file
    assert sweep_leftovers(tmp_path) == 1


def test_index_row_escapes_and_shows_deadline_and_pdf() -> None:
    entry = {"packet_id": "PK-1", "priority": 87.5, "tier": "red", "unit_code": "U<1>&", "status": "issued",
             "changed": True, "persons": ["370403199901011234", "370403199901015678", "37040319990101901X",
                                          "PASSPORT:E1234567"], "accounts": ["6222021234567890123"],
             "phones": ["13800138000"], "rules": ["R-A", "R-<B>"], "html": "packets/pages/PK-1-0a1b2c3d.html"}
    extra = {"deadline": {"due": "2026-11-10", "state": "overdue", "label": "逾期"},
             "pdf": "packets/pages/PK-1-0a1b2c3d.pdf"}
    row = pages.index_row(entry, extra, "../../")
    assert 'data-unit="U&lt;1&gt;&amp;"' in row and "R-A R-&lt;B&gt;" in row
    assert "370403********1234、370403********5678、370403********901X 等4个" in row
    assert "6222 **** **** 0123" in row and "138****8000" in row and "1234567890123" not in row
    assert 'data-deadline="overdue" data-due="2026-11-10"' in row and '<span class="changed">新/变化</span>' in row
    assert '<a href="../../packets/pages/PK-1-0a1b2c3d.html">PK-1</a>' in row
    assert '<a class="noprint" href="../../packets/pages/PK-1-0a1b2c3d.pdf">PDF</a>' in row
    quiet = pages.index_row(dict(entry, changed=False), {}, "../../../")
    assert "PDF" not in quiet and 'data-deadline=""' in quiet and "新/变化" not in quiet
    assert isinstance(Markup(row), Markup)


def test_a_long_index_is_written_in_pieces_that_make_the_whole_page(tmp_path: Path) -> None:
    """Thousands of rows stream into the file between the template's halves, in order, each once."""
    count = 2 * pages.ROWS_PER_WRITE + 7
    entries = [{"packet_id": f"PK-{i:05d}", "priority": 100 - i / count, "tier": ("red", "orange", "yellow")[i % 3],
                "unit_code": f"U{i % 4}", "status": "issued", "changed": i % 2 == 0,
                "persons": [f"3704031999010{i:05d}"], "accounts": [], "phones": ["13800138000"],
                "rules": ["R-A"], "html": f"packets/pages/PK-{i:05d}-0a1b2c3d.html"} for i in range(count)]
    pages.write_index(tmp_path / "index.html", entries, "2026-11-03", title="清单<测试>")
    written = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert written == pages.render_index(entries, "2026-11-03", title="清单<测试>")
    assert pages._ROWS_MARK not in written and "清单&lt;测试&gt;" in written
    positions = [written.index(f'data-packet="PK-{i:05d}"') for i in range(count)]
    assert positions == sorted(positions) and written.count("<tr data-priority=") == count
    assert written.rstrip().endswith("</html>")


def test_the_index_lists_every_open_packet_once_on_the_unit_page_too(tmp_path: Path) -> None:
    run(build(), tmp_path, NIGHT1)
    day = tmp_path / "packets" / NIGHT1.isoformat()
    html, unit = (day / "index.html").read_text(encoding="utf-8"), next((day / "units").glob("*.html"))
    for entry in index(tmp_path, NIGHT1):
        assert html.count(f'data-packet="{entry["packet_id"]}"') == 1
        assert unit.read_text(encoding="utf-8").count(f'href="../../../{entry["html"]}"') == 1
