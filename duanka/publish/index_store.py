"""The night's index entries in a DuckDB TEMP table while pages render, read back sorted for the index files.

At a million leads a night lists ~770k packets. Held as Python dicts (the
entry, its deadline and PDF for the index pages, rows regrouped per unit) they
cost the flow's process over a GB while the render workers ran. Here each
rendered packet's index facts go into a TEMP table in batches of Arrow columns
(DuckDB keeps it inside its memory budget and spills past it), and the index
files are streamed from it: one query sorted in SQL, read `READ_CHUNK` rows at
a time. The bytes are the ones the in-memory lists wrote (tests/test_publish_index_store.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from duanka.publish.labels import STATUS
from duanka.publish.pages import TIERS, IndexFacts

TABLE = "publish_index"
WRITE_BATCH = 10_000  # packets buffered as columns before one INSERT
READ_CHUNK = 10_000  # rows fetched from a sorted query at once

# index.json's fields in contract order, then what only the index pages show.
ENTRY_FIELDS = ("packet_id", "priority", "tier", "unit_code", "status", "changed", "persons", "accounts", "phones",
                "rules", "html")
SCHEMA = pa.schema([
    ("packet_id", pa.string()), ("priority", pa.float64()), ("tier", pa.string()), ("unit_code", pa.string()),
    ("status", pa.string()), ("changed", pa.bool_()), ("persons", pa.list_(pa.string())),
    ("accounts", pa.list_(pa.string())), ("phones", pa.list_(pa.string())), ("rules", pa.list_(pa.string())),
    ("html", pa.string()), ("due", pa.string()), ("deadline_state", pa.string()), ("deadline_label", pa.string()),
    ("pdf", pa.string())])
_SQL_TYPE = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.list_(pa.string()): "VARCHAR[]"}

BY_PRIORITY = "priority DESC, packet_id"  # index.json's order (contract §4): highest priority first
BY_UNIT = f"unit_code, {BY_PRIORITY}"  # the per-unit pages, each in index order


def create_sql() -> str:
    columns = ", ".join(f"{f.name} {_SQL_TYPE[f.type]}" for f in SCHEMA)
    return f"CREATE OR REPLACE TEMP TABLE {TABLE} ({columns})"


def sorted_sql(order: str) -> str:
    return f"SELECT * FROM {TABLE} ORDER BY {order}"


def unit_facts_sql() -> str:
    """Per unit: the head facts of its page (count, changed, tiers and statuses present, overdue)."""
    return f"""
        SELECT unit_code, count(*) AS count, count(*) FILTER (WHERE changed) AS changed,
               list(DISTINCT tier) AS tiers, list(DISTINCT status) AS statuses,
               count(*) FILTER (WHERE deadline_state = 'overdue') AS overdue
        FROM {TABLE} GROUP BY unit_code"""


class IndexStore:
    """Collects the night's index entries into the TEMP table, `WRITE_BATCH` packets at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, batch: int | None = None) -> None:
        self.con = con
        self.batch = batch or WRITE_BATCH
        self.columns: dict[str, list] = {f.name: [] for f in SCHEMA}
        self.count = 0
        con.execute(create_sql())

    def add(self, entry: dict, deadline: dict | None, pdf: str | None) -> None:
        """One packet: its index.json entry (contract fields), its deadline and PDF for the index pages."""
        cols = self.columns
        for name in ENTRY_FIELDS:
            cols[name].append(entry[name])
        deadline = deadline or {}
        cols["due"].append(deadline.get("due"))
        cols["deadline_state"].append(deadline.get("state"))
        cols["deadline_label"].append(deadline.get("label"))
        cols["pdf"].append(pdf)
        self.count += 1
        if len(cols["packet_id"]) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.columns["packet_id"]:
            return
        batch = pa.table(self.columns, schema=SCHEMA)
        self.con.register("publish_index_batch", batch)
        try:
            self.con.execute(f"INSERT INTO {TABLE} SELECT * FROM publish_index_batch")
        finally:
            self.con.unregister("publish_index_batch")
        self.columns = {f.name: [] for f in SCHEMA}

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {TABLE}")


def drop_missing_pdfs(con: duckdb.DuckDBPyConnection, home: Path) -> int:
    """Unlink from the index the PDFs that are not on disk (the browser was missing or failed); returns how many."""
    missing = [pid for pid, pdf in con.execute(f"SELECT packet_id, pdf FROM {TABLE} WHERE pdf IS NOT NULL").fetchall()
               if not (home / pdf).is_file()]
    if missing:
        con.execute(f"UPDATE {TABLE} SET pdf = NULL WHERE list_contains($ids, packet_id)", {"ids": missing})
    return len(missing)


def unit_facts(con: duckdb.DuckDBPyConnection) -> dict[str, IndexFacts]:
    """Every unit's page head facts (a unit's page lists its own code only); a few hundred rows at most."""
    out = {}
    for code, count, changed, tiers, statuses, overdue in con.execute(unit_facts_sql()).fetchall():
        out[code] = IndexFacts(count=count, changed=changed, tiers=[t for t in TIERS if t in tiers],
                               statuses=[s for s in STATUS if s in statuses], units=[code], overdue=overdue)
    return out


def night_facts(units: dict[str, IndexFacts]) -> IndexFacts:
    """The whole index's head facts, from its units'."""
    tiers = {t for f in units.values() for t in f.tiers}
    statuses = {s for f in units.values() for s in f.statuses}
    return IndexFacts(count=sum(f.count for f in units.values()), changed=sum(f.changed for f in units.values()),
                      tiers=[t for t in TIERS if t in tiers], statuses=[s for s in STATUS if s in statuses],
                      units=sorted(units), overdue=sum(f.overdue for f in units.values()))


def _pairs(batch: pa.RecordBatch) -> list[tuple[dict, dict]]:
    """A batch of table rows as (index.json entry, what the index pages add), column by column (cheaper than rows)."""
    cols = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    entries = [dict(zip(ENTRY_FIELDS, values)) for values in zip(*(cols[name] for name in ENTRY_FIELDS))]
    extras = [{"deadline": {"due": due, "state": state, "label": label} if state is not None else None, "pdf": pdf}
              for due, state, label, pdf in zip(cols["due"], cols["deadline_state"], cols["deadline_label"], cols["pdf"])]
    return list(zip(entries, extras))


def iter_sorted(con: duckdb.DuckDBPyConnection, order: str,
                chunk: int | None = None) -> Iterator[list[tuple[dict, dict]]]:
    """Every stored packet as (entry, extra), sorted by `order`, `chunk` rows at a time.

    The query streams: nothing else may run on `con` until the iterator is exhausted or closed."""
    reader = con.sql(sorted_sql(order)).to_arrow_reader(chunk or READ_CHUNK)
    for batch in reader:
        if batch.num_rows:
            yield _pairs(batch)
