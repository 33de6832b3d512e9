"""The night's views read as columns: Arrow in the flow's process, rows per packet only where pages are built.

`views.fetch_views` turns every row of every section into a Python dict in the
process that holds the warehouse, and the render workers then received those
dicts pickled one by one: ~0.15 ms of the parent's CPU a page, on the one
process that cannot be spread over the cores. Here the parent runs the same
section SQL (`views.SECTIONS`, sorted by packet) into Arrow tables, cuts them
into units by row ranges (a binary search on the sorted packet ids) and hands
each unit its slices as Arrow IPC bytes (a pickled slice would carry the whole
chunk's buffers). The unit's renderer turns its slices into row dicts grouped
by packet (`rows_by_packet`), the shape `model.build_page` reads.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from duanka.publish.views import ACTIVE, SECTIONS, packet_chunks, packets_sql


def fetch_table(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run one view query into an Arrow table (only parameters the SQL names are passed)."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    return con.sql(sql, params=used or None).to_arrow_table()


@dataclass
class ChunkColumns:
    """One chunk of open packets: header rows as dicts, every section as an Arrow table sorted by packet."""

    packets: list[dict]
    tables: dict[str, pa.Table]
    keys: dict[str, list[str]]  # each table's packet_id column, for cutting by binary search


def fetch_chunk(con: duckdb.DuckDBPyConnection, as_of: date, packets: str = ACTIVE) -> ChunkColumns:
    """The header rows of `packets` and each section of `views.SECTIONS` as a table."""
    params = {"as_of": as_of}
    heads = fetch_table(con, packets_sql(packets), params).to_pylist()
    tables = {name: fetch_table(con, build(packets), params) for name, build in SECTIONS.items()}
    keys = {name: table.column("packet_id").to_pylist() for name, table in tables.items()}
    return ChunkColumns(packets=heads, tables=tables, keys=keys)


def iter_chunks(con: duckdb.DuckDBPyConnection, as_of: date, chunk: int = 50_000) -> Iterator[ChunkColumns]:
    """`fetch_chunk` of every open packet, `chunk` packets at a time in packet-id order (memory stays bounded)."""
    for packets in packet_chunks(con, chunk):
        yield fetch_chunk(con, as_of, packets)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def cut(columns: ChunkColumns, first: str, last: str) -> dict[str, bytes]:
    """Every section's rows of the packets from `first` to `last` (packet-id order), as Arrow IPC bytes."""
    out = {}
    for name, table in columns.tables.items():
        keys = columns.keys[name]
        start, end = bisect_left(keys, first), bisect_right(keys, last)
        out[name] = _ipc(table.slice(start, end - start))
    return out


def rows_by_packet(blob: bytes) -> dict[str, list[dict]]:
    """One section's IPC bytes as `{packet_id: [row dict without packet_id, ...]}`, rows in their SQL order."""
    table = pa.ipc.open_stream(blob).read_all()
    if table.num_rows == 0:
        return {}
    names = [n for n in table.column_names if n != "packet_id"]
    pids = table.column("packet_id").to_pylist()
    rows = [dict(zip(names, values)) for values in zip(*(table.column(n).to_pylist() for n in names))]
    grouped: dict[str, list[dict]] = {}
    start = 0
    for i in range(1, len(pids) + 1):  # the rows are sorted by packet: one run per packet
        if i == len(pids) or pids[i] != pids[start]:
            grouped[pids[start]] = rows[start:i]
            start = i
    return grouped
