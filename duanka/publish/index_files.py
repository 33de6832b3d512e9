"""index.json, index.html and units/<unit>.html, written from the night's index table (index_store.py).

Two sorted reads of the table: by priority for index.json and index.html
(written side by side from the same chunks), by unit then priority for the
unit pages (one file after the other). Each page's head needs facts about its
whole list (counts, tiers present, overdue), taken first from one small
aggregate query; the rows then stream between the head and the tail.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path

import duckdb

from duanka.publish.index_store import BY_PRIORITY, BY_UNIT, iter_sorted, night_facts, unit_facts
from duanka.publish.pages import batched, iter_index_rows, json_end, json_piece, unit_file


def _json_alongside(chunks: Iterable[list[tuple[dict, dict]]], out) -> Iterator[list[tuple[dict, dict]]]:  # type: ignore[no-untyped-def]
    """Pass the chunks on, writing each one's entries to index.json (`out`) on the way."""
    first = True
    for chunk in chunks:
        if chunk:
            out.write(json_piece([entry for entry, _ in chunk], first))
            first = False
        yield chunk
    out.write(json_end(first))


def write_indexes(con: duckdb.DuckDBPyConnection, staging: Path, day: str, unit_names: dict[str, str]) -> int:
    """index.json, index.html and units/<unit>.html into the day's staging folder; returns the unit count."""
    units = unit_facts(con)
    dashboard = f"../../runs/{day}/dashboard.html"
    nav = [{"code": code or "UNASSIGNED", "name": unit_names.get(code) or "未分配单位", "file": unit_file(code),
            "count": facts.count} for code, facts in sorted(units.items())]
    with open(staging / "index.json", "w", encoding="utf-8") as js, \
            open(staging / "index.html", "w", encoding="utf-8") as page:
        rows = _json_alongside(iter_sorted(con, BY_PRIORITY), js)
        page.writelines(iter_index_rows(night_facts(units), rows, day, units_nav=nav, dashboard=dashboard))
    (staging / "units").mkdir()
    flat = (row for chunk in iter_sorted(con, BY_UNIT) for row in chunk)
    for code, rows_of_unit in groupby(flat, key=lambda row: row[0]["unit_code"]):
        title = f"{unit_names.get(code) or '未分配单位'} 断卡线索包清单"
        with open(staging / "units" / unit_file(code), "w", encoding="utf-8") as out:
            out.writelines(iter_index_rows(units[code], batched(rows_of_unit), day, title=title, base="../../../",
                                           back=True, dashboard="../" + dashboard))
    return len(units)
