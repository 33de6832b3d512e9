"""The index files streamed from the night's index table (issue 8, memory) are byte for byte what the
in-memory lists wrote: the publisher before that change is kept here, verbatim, as the reference.

The world is built in code from a seed: many packets over several units (one unassigned), tied
priorities, every status, overdue and on-track deadlines, a closed packet, and PDFs of which the
printer (faked) wrote only some. Small chunk sizes make every chunk boundary happen.
"""
from __future__ import annotations

import json
import random
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from markupsafe import Markup
from test_publish_outputs import NIGHT1, QUARANTINE, SUMMARY, Fixture, _ric, build

from duanka import casework
from duanka.publish import index_store, pages, publish, publisher, render
from duanka.publish import labels as L
from duanka.publish.columns import iter_chunks
from duanka.publish.lifecycle import EventReader, read_casework
from duanka.publish.pages import index_json, iter_index_json, unit_file
from duanka.publish.reference import load_reference
from duanka.publish.render import NightContext, column_units, publish_units
from duanka.publish.settings import load_publish_settings, settings_path
from duanka.publish.views import hubs_sql

UNITS = [("370403RF", "泰山区反诈中心"), ("370402RF", "泰山区<东>中队"), ("", "")]


def world(seed: int, folder: Path, packets: int = 40) -> tuple[Fixture, dict[str, str], Path]:
    """`packets` open packets over three units, scores drawn from the seed, and a casework store beside them."""
    fx = Fixture(seed)
    rng = fx.rng
    pids = [f"PK-{i:03d}" for i in range(packets)]
    for n, pid in enumerate(pids):
        fx.packet(pid, 0.0, "yellow", [("RIC", _ric(rng), f"李{n}{k}") for k in range(rng.randint(1, 3))])
        code, name = rng.choice(UNITS)
        tier = rng.choice(["red", "orange", "yellow"])
        priority = rng.choice([91.25, 55.0, 55.0, 30.5, round(rng.uniform(0, 100), 2)])  # ties on purpose
        fx.con.execute("UPDATE packet_scores SET priority = ?, tier = ?, unit_code = ?, unit_name = ? "
                       "WHERE packet_id = ?", [priority, tier, code, name, pid])
        if rng.random() < 0.5:
            fx.con.execute("DELETE FROM packet_changes WHERE packet_id = ?", [pid])  # unchanged tonight
    db = folder / "casework.sqlite"
    store = casework.connect(db)
    casework.record_issued(store, [(p, "") for p in pids[: packets // 2]], NIGHT1)
    casework.record_issued(store, [(p, "") for p in pids[packets // 2:]], date(2026, 9, 1))  # overdue ones
    steps = {1: [("analyzed", None)], 2: [("analyzed", None), ("verified", "confirmed")],
             3: [("analyzed", None), ("verified", "confirmed"), ("struck", None)],
             4: [("analyzed", None), ("verified", "unfounded"), ("closed", None)]}
    for i, pid in enumerate(pids):
        for stage, outcome in steps.get(i % 6, []):
            casework.apply(store, casework.Transition(pid, stage, "王警官", "2026-11-02 10:00", outcome,
                                                      note="核查<记录>"))
    statuses = casework.statuses(store)
    store.close()
    return fx, statuses, db


def reference_indexes(fx: Fixture, home: Path, statuses: dict[str, str], db: Path, out: Path) -> None:
    """The publisher's index files as written before the index table: every entry held in Python lists."""
    rules = publisher.DEFAULT_RULES
    settings = load_publish_settings(settings_path(rules))
    hubs = frozenset(node for (node,) in fx.con.execute(hubs_sql()).fetchall())
    ctx = NightContext(pages_dir=home / "packets" / "pages", as_of=NIGHT1, settings=settings,
                       reference=load_reference(rules), hubs=hubs)
    events = read_casework(db).events
    units = (u for chunk in iter_chunks(fx.con, NIGHT1) for u in column_units(chunk, statuses, events))
    entries, extra, unit_names = [], {}, {}
    for done in publish_units(ctx, units, 0):
        entries.append(done.entry)
        extra[done.entry["packet_id"]] = {"deadline": done.deadline, "pdf": done.pdf}
        unit_names[done.unit_code] = done.unit_name
    entries.sort(key=lambda e: (-e["priority"], e["packet_id"]))
    for item in extra.values():
        if item["pdf"] and not (home / item["pdf"]).is_file():
            item["pdf"] = None
    day = NIGHT1.isoformat()
    (out / "index.json").write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    by_unit: dict[str, list[dict]] = {}
    for e in entries:
        by_unit.setdefault(e["unit_code"], []).append(e)
    dashboard = f"../../runs/{day}/dashboard.html"
    nav = [{"code": code or "UNASSIGNED", "name": unit_names.get(code) or "未分配单位", "file": unit_file(code),
            "count": len(rows)} for code, rows in sorted(by_unit.items())]
    _old_write_index(out / "index.html", entries, day, extra=extra, units_nav=nav, dashboard=dashboard)
    (out / "units").mkdir()
    for code, rows in by_unit.items():
        title = f"{unit_names.get(code) or '未分配单位'} 断卡线索包清单"
        _old_write_index(out / "units" / unit_file(code), rows, day, title=title, base="../../../", extra=extra,
                         back=True, dashboard="../" + dashboard)


# The index template as it was when the page head counted the entries list itself.
_OLD_TEMPLATE = (pages.TEMPLATES / "index.html.j2").read_text(encoding="utf-8").replace(
    "{{ count }}", "{{ entries|length }}").replace("{{ changed_count }}", '{{ entries|selectattr("changed")|list|length }}')


def _old_write_index(path: Path, entries: list[dict], as_of: str, *, title: str = "断卡线索包清单",
                     base: str = "../../", extra: dict[str, dict] | None = None, units_nav: list[dict] | None = None,
                     back: bool = False, dashboard: str | None = None) -> None:
    """`pages.write_index` before the head facts were computed apart from the list (verbatim but for the file)."""
    extra = extra or {}
    tiers = [t for t in ("red", "orange", "yellow") if any(e["tier"] == t for e in entries)]
    statuses = [s for s in L.STATUS if any(e["status"] == s for e in entries)]
    units = sorted({e["unit_code"] for e in entries})
    overdue = sum(1 for e in entries if (extra.get(e["packet_id"], {}).get("deadline") or {}).get("state") == "overdue")
    frame = pages.environment().from_string(_OLD_TEMPLATE).render(
        entries=entries, as_of=as_of, tiers=tiers, statuses=statuses, units=units, title=title, base=base,
        rows=Markup(pages._ROWS_MARK), units_nav=units_nav or [], back=back, dashboard=dashboard,
        overdue_count=overdue)
    head, tail = frame.split(pages._ROWS_MARK)
    with open(path, "w", encoding="utf-8") as out:
        out.write(head)
        out.write("".join(pages.index_row(e, extra.get(e["packet_id"], {}), base) for e in entries))
        out.write(tail)


def _some_printed(pairs, timeout=60.0, browser=None) -> int:  # type: ignore[no-untyped-def]
    """A printer that writes every other PDF (the rest "failed"): the index must link only those on disk."""
    for html, pdf in pairs[::2]:
        pdf.write_bytes(b"%PDF-1.4 fake " + html.name.encode())
    return len(pairs[::2])


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


CASES = [
    ("one chunk each way, in this process", 7, {}),
    ("every chunk size small: boundaries inside units and pages", 11,
     {"READ_CHUNK": 3, "WRITE_BATCH": 4, "ROWS_PER_WRITE": 2, "VIEW_CHUNK": 7}),
    ("two spawned render workers", 12, {"WORKERS": 2, "READ_CHUNK": 5, "WRITE_BATCH": 6}),
]


@pytest.mark.parametrize("seed, sizes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_streamed_index_files_are_the_in_memory_ones_byte_for_byte(seed: int, sizes: dict, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fx, statuses, db = world(seed, tmp_path)
    monkeypatch.setattr(publisher, "print_pages", _some_printed)
    for name, module in (("READ_CHUNK", index_store), ("WRITE_BATCH", index_store),
                         ("ROWS_PER_WRITE", pages), ("VIEW_CHUNK", publisher)):
        if name in sizes:
            monkeypatch.setattr(module, name, sizes[name])
    if "WORKERS" in sizes:
        monkeypatch.setattr(render, "SERIAL_BELOW", 0)
        monkeypatch.setenv(render.WORKERS_ENV, str(sizes["WORKERS"]))
    home = tmp_path / "home"
    report = publish(fx.con, home, NIGHT1, statuses=statuses, summary=SUMMARY, quarantine=QUARANTINE,
                     casework_db=db)
    reference = tmp_path / "reference"
    reference.mkdir()
    reference_indexes(fx, home, statuses, db, reference)
    got, expected = _files(home / "packets" / NIGHT1.isoformat()), _files(reference)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], f"{name} differs from the in-memory writer's"
    listed = json.loads(got["index.json"])
    # the world exercises what the test claims: closed packets left out, overdue rows, PDFs dropped and kept
    assert report.packets_listed == len(listed) == sum(1 for s in statuses.values() if s != "closed") < 40
    html = got["index.html"].decode()
    assert 'data-deadline="overdue"' in html and 'data-deadline="on_track"' in html
    pdf_links = html.count(">PDF</a>")
    red = sum(1 for e in listed if e["tier"] == "red")
    assert 0 < pdf_links < red, "some PDFs linked, the unprinted ones not"
    assert {"units/UNASSIGNED.html", "units/370403RF.html", "units/370402RF.html"} <= set(got)
    tables = fx.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [index_store.TABLE])
    assert tables.fetchall()[0][0] == 0, "the index table is dropped after the night"


def test_an_empty_night_writes_the_empty_list_and_pages(tmp_path: Path) -> None:
    fx = build()
    fx.con.execute("UPDATE packet_registry SET state = 'dissolved'")
    publish(fx.con, tmp_path, NIGHT1, statuses={}, summary=SUMMARY, quarantine=QUARANTINE)
    day = tmp_path / "packets" / NIGHT1.isoformat()
    assert (day / "index.json").read_text(encoding="utf-8") == "[]\n"
    assert "在办线索包 0 个" in (day / "index.html").read_text(encoding="utf-8")
    assert list((day / "units").iterdir()) == []


def test_index_json_in_chunks_is_one_dump_of_the_whole_list() -> None:
    rng = random.Random(3)
    entries = [{"packet_id": f"PK-{i}", "priority": round(rng.uniform(0, 100), rng.randint(0, 3)),
                "persons": [f"中{j}" for j in range(rng.randint(0, 3))], "changed": rng.random() < 0.5, "rules": []}
               for i in range(50)]
    whole = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    for _ in range(20):
        cuts = sorted(rng.sample(range(51), rng.randint(0, 8)))
        chunks = [entries[a:b] for a, b in zip([0, *cuts], [*cuts, 50])]  # some chunks empty
        assert "".join(iter_index_json(chunks)) == whole
    assert "".join(iter_index_json([[], []])) == index_json([]) == "[]\n"


def test_events_read_by_range_are_the_events_read_at_once(tmp_path: Path) -> None:
    _, _, db = world(5, tmp_path, packets=30)
    everything = read_casework(db).events
    reader = EventReader(db)
    try:
        pids = sorted(everything)
        for first, last in [(pids[0], pids[-1]), (pids[3], pids[9]), (pids[10], pids[10]), ("PK-9", "PK-99")]:
            assert reader.between(first, last) == {p: everything[p] for p in pids if first <= p <= last}
    finally:
        reader.close()
    assert EventReader(db.parent / "missing.sqlite").between("A", "Z") == {}
    with sqlite3.connect(db) as con:  # the reader never wrote: the store's rows are as casework left them
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == sum(map(len, everything.values()))
