"""Runs the per-group analysis over the packets that need it and stores roles, layout and bridges.

Only packets that changed tonight (or have no analysis yet) are analysed again:
an unchanged packet has the same members and lead versions, hence the same
roles and layout, so its rows from an earlier night stay. Rows of packets that
are no longer active are removed. A night's cost therefore follows the groups
it touches, not the history.

Three paths, by the group's shape (`solo.py` explains why they agree):

* one holder, a tree: everything in SQL (closed-form betweenness);
* one holder, with a cycle: betweenness and bridges in `smallgraph.py`, roles and
  the radial layout in SQL (no spring layout: 1.4 of the 1.8 ms a group cost);
* two holders or more: `roles.analyse_group` (integer-adjacency roles, ring picture;
  NetworkX for groups over `EXACT_BETWEENNESS_MAX` nodes).

Python works through the packets in chunks, so memory stays flat on a first
night that analyses millions of groups, and in worker processes (`workers.py`)
when the night is big enough to use both cores: the main process reads the
next batches from DuckDB while the workers analyse. Their rows are spooled to
Parquet and stored with one INSERT per table (`spool.py` says why).
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from duanka.link import solo, workers
from duanka.link.runner import Step, drop_temp, run_steps
from duanka.link.spool import RowSpool, spool_folder

log = logging.getLogger("duanka.link")

GROUP_JOB = 250  # multi-holder groups per DuckDB read and worker job (~0.3 s of work)
SOLO_JOB = 5_000  # one-holder groups with a cycle per DuckDB read and worker job
PARALLEL_MIN = 10_000  # ms of estimated Python work below which two worker start-ups (~1.5 s CPU each) do not pay
LAYOUT_CHUNK = 200_000  # one-holder packets per radial-layout query

_CARDS = f"""CREATE OR REPLACE TEMP TABLE {solo.CARDS} AS
SELECT l.packet_id, 'account:' || b.account_no AS node,
       CASE WHEN b.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || b.person_key AS holder,
       b.open_date, 'branch:' || nullif(b.open_branch, '') AS place
  FROM packet_leads l JOIN bank_leads b USING (issuer, lead_id)
 WHERE l.lead_kind = 'bank' AND l.packet_id IN (SELECT packet_id FROM {solo.REFRESH})
UNION ALL
SELECT l.packet_id, 'phone:' || s.msisdn,
       CASE WHEN s.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || s.person_key,
       s.open_date, 'outlet:' || nullif(s.open_outlet, '')
  FROM packet_leads l JOIN sim_leads s USING (issuer, lead_id)
 WHERE l.lead_kind = 'sim' AND l.packet_id IN (SELECT packet_id FROM {solo.REFRESH})"""

_BATCH = "_link_batch"
_BATCH_EDGES = "_link_batch_edges"
_BATCH_CARDS = "_link_batch_cards"
_LAYOUT_BATCH = "_link_layout_batch"
_LAYOUT_EDGES = "_link_layout_edges"
_LAYOUT_CARDS = "_link_layout_cards"
def packets_to_refresh(con: duckdb.DuckDBPyConnection, changed: set[str], scope: str | None = None,
                       issued: str | None = None) -> str:
    """Fill TEMP `_link_refresh` with the packets to analyse, and return its name: `changed` ones, those
    issued in SQL tonight (`issued`, a table of packet ids), and active packets (of `scope`, when
    given) without stored roles (e.g. a first run). Built in SQL: a first night at 5M leads has
    millions of them, which as Python strings cost a gigabyte."""
    within = f"AND packet_id IN (SELECT packet_id FROM {scope})" if scope else ""
    con.register("_link_changed_view", pa.table({"packet_id": pa.array(sorted(changed), pa.string())}))
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {solo.REFRESH} AS
            SELECT packet_id FROM _link_changed_view
            {f"UNION SELECT packet_id FROM {issued}" if issued else ""}
            UNION SELECT packet_id FROM packet_registry WHERE state = 'active' {within}
               AND packet_id NOT IN (SELECT packet_id FROM group_roles)""")
    finally:
        con.unregister("_link_changed_view")
    return solo.REFRESH


def write_group_analysis(con: duckdb.DuckDBPyConnection, refresh: str, gone: set[str] | None = None,
                         processes: int | None = None) -> int:
    """Re-analyse the packets of `refresh` (a table of packet ids, from `packets_to_refresh`) and store
    roles, layout and bridges; return how many were analysed.

    Rows of packets no longer active are removed: those of `gone` (tonight's merged and
    dissolved ones) when given, else of every inactive packet (a full rebuild). The Python part runs
    in `processes` worker processes (default: `workers.default_workers()`; 1 = in this process)."""
    if refresh != solo.REFRESH:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {solo.REFRESH} AS SELECT packet_id FROM {refresh}")
    if gone is None:
        stale = f"packet_id IN (SELECT packet_id FROM {solo.REFRESH}) OR packet_id NOT IN " \
            "(SELECT packet_id FROM packet_registry WHERE state = 'active')"
    else:
        con.register("_link_gone_view", pa.table({"packet_id": pa.array(sorted(gone), pa.string())}))
        con.execute("CREATE OR REPLACE TEMP TABLE _link_gone AS SELECT * FROM _link_gone_view")
        con.unregister("_link_gone_view")
        stale = f"packet_id IN (SELECT packet_id FROM {solo.REFRESH} UNION ALL SELECT packet_id FROM _link_gone)"
    for table in ("group_roles", "group_layout", "group_bridges"):
        con.execute(f"DELETE FROM {table} WHERE {stale}")
    run_steps(con, [
        Step("analysis_edges", solo.pedges_sql(), solo.PEDGES),
        Step("analysis_cards", _CARDS, solo.CARDS),
        Step("analysis_shape", solo.shape_sql(), solo.SHAPE),
        Step("centrality_table", f"CREATE OR REPLACE TEMP TABLE {solo.CENTRALITY} "
                                 "(packet_id VARCHAR, node VARCHAR, score DOUBLE)"),
        Step("solo_tree_centrality", solo.tree_centrality_sql()),
        Step("solo_tree_bridges", solo.tree_bridges_sql()),
    ])
    size = _pool_size(con, processes)
    with RowSpool(spool_folder(con)) as spool:
        with _timed(f"in Python, {size} processes (cpu: with the workers)"), workers.Pool(size) as pool:
            with _timed("solo cycles"):
                _solo_cycles(con, pool, spool)
            with _timed("groups of several holders"):
                _groups(con, pool, spool)
        with _timed("stored"):
            for table in (solo.CENTRALITY, "group_bridges", "group_roles", "group_layout"):
                spool.store(con, table)
    run_steps(con, [Step("solo_roles", solo.solo_roles_sql())])
    _solo_layout(con)
    analysed = int(con.execute(f"SELECT count(*) FROM {solo.SHAPE}").fetchall()[0][0])
    drop_temp(con, [solo.REFRESH, solo.PEDGES, solo.CARDS, solo.SHAPE, solo.CENTRALITY, _BATCH, _BATCH_EDGES, _BATCH_CARDS, _LAYOUT_BATCH, "_link_gone"])
    return analysed


def _solo_layout(con: duckdb.DuckDBPyConnection) -> None:
    """The radial layout of one-holder packets, `LAYOUT_CHUNK` packets per query. The chunk's edges and
    cards are first copied sorted by chunk, so each query reads its own row groups: scanning the whole
    night's 19M edges for each of 19 chunks cost ~100 s at 5M leads."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_LAYOUT_BATCH} AS
        SELECT packet_id, (row_number() OVER (ORDER BY packet_id) - 1) // {LAYOUT_CHUNK} AS batch
          FROM {solo.SHAPE} WHERE holders = 1""")
    for name, source in ((_LAYOUT_EDGES, solo.PEDGES), (_LAYOUT_CARDS, solo.CARDS)):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT b.batch, s.* FROM {source} s JOIN {_LAYOUT_BATCH} b USING (packet_id) ORDER BY b.batch""")
    chunks = int(con.execute(f"SELECT coalesce(max(batch) + 1, 0) FROM {_LAYOUT_BATCH}").fetchall()[0][0])
    run_steps(con, [Step(f"solo_layout_{b}", solo.solo_layout_sql(
        f"SELECT packet_id FROM {_LAYOUT_BATCH} WHERE batch = {b}",
        f"(SELECT * EXCLUDE (batch) FROM {_LAYOUT_EDGES} WHERE batch = {b})",
        f"(SELECT * EXCLUDE (batch) FROM {_LAYOUT_CARDS} WHERE batch = {b})")) for b in range(chunks)])
    drop_temp(con, [_LAYOUT_EDGES, _LAYOUT_CARDS])


@contextmanager
def _timed(what: str) -> Iterator[None]:
    """Log wall and CPU time of an analysis phase: this process, its threads, and worker processes
    once they have ended (the operating system reports a child's time when it is reaped)."""
    started, t0 = time.perf_counter(), os.times()
    yield
    t1 = os.times()
    cpu = sum(t1[:4]) - sum(t0[:4])
    log.info("link analysis %s: %.1f s wall, %.1f s cpu", what, time.perf_counter() - started, cpu)


def _batches(con: duckdb.DuckDBPyConnection, where: str, rows: dict[str, str], size: int) -> range:
    """Number the packets matching `where` in batches of `size`, and copy each of `rows` (name -> query
    with a `packet_id` column) into a temp table sorted by batch: reading one batch then skips the other
    row groups instead of joining the whole night's rows again (that made batches quadratic at 5M)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_BATCH} AS
        SELECT packet_id, (row_number() OVER (ORDER BY packet_id) - 1) // {size} AS batch
          FROM {solo.SHAPE} WHERE {where}""")
    for name, query in rows.items():
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT b.batch, q.* FROM ({query}) q JOIN {_BATCH} b USING (packet_id) ORDER BY b.batch, q.packet_id""")
    return range(int(con.execute(f"SELECT coalesce(max(batch) + 1, 0) FROM {_BATCH}").fetchall()[0][0]))


def _read(con: duckdb.DuckDBPyConnection, table: str, columns: str, batch: int) -> pa.Table:
    """One batch's rows as Arrow: no Python object per row in this process, cheap to send to a worker."""
    return con.sql(f"SELECT {columns} FROM {table} WHERE batch = ? ORDER BY ALL", params=[batch]).to_arrow_table()


def _solo_cycles(con: duckdb.DuckDBPyConnection, pool: workers.Pool, spool: RowSpool) -> None:
    """One-holder groups with a cycle: plain-Python betweenness and bridges, batch by batch."""
    batches = _batches(con, "holders = 1 AND edges <> nodes - 1",
                       {_BATCH_EDGES: f"SELECT packet_id, src, dst FROM {solo.PEDGES}"}, SOLO_JOB)
    jobs = (_read(con, _BATCH_EDGES, "packet_id, src, dst", b) for b in batches)
    for scores, bridges in pool.map(workers.cycle_groups, jobs):
        spool.add(solo.CENTRALITY, scores)
        spool.add("group_bridges", bridges)


def _groups(con: duckdb.DuckDBPyConnection, pool: workers.Pool, spool: RowSpool) -> None:
    """Groups of two holders or more: the analysis of `roles.py`, batch by batch."""
    rows = {
        _BATCH_EDGES: "SELECT m.packet_id, e.src, e.dst, e.kind FROM link_edges e JOIN (SELECT * FROM packet_members "
                      f"SEMI JOIN {solo.REFRESH} USING (packet_id)) m ON m.node = e.src",
        _BATCH_CARDS: f"SELECT packet_id, node, holder, open_date, place FROM {solo.CARDS}",
    }
    batches = _batches(con, "holders <> 1", rows, GROUP_JOB)
    jobs = ((_read(con, _BATCH_EDGES, "packet_id, src, dst, kind", b),
             _read(con, _BATCH_CARDS, "packet_id, node, holder, open_date, place", b)) for b in batches)
    for roles, layout, bridges in pool.map(workers.analyse_groups, jobs):
        spool.add("group_roles", roles)
        spool.add("group_layout", layout)
        spool.add("group_bridges", bridges)


def _pool_size(con: duckdb.DuckDBPyConnection, requested: int | None) -> int:
    """Worker processes for tonight: `requested` (default: one per core, at most two), but one (no
    start-up) when the Python work is small: about 1 ms a multi-holder group, 0.05 ms a cycle."""
    wanted = workers.default_workers() if requested is None else max(1, requested)
    if wanted == 1:
        return 1
    multi, cycles = con.execute(f"""SELECT count(*) FILTER (WHERE holders <> 1),
        count(*) FILTER (WHERE holders = 1 AND edges <> nodes - 1) FROM {solo.SHAPE}""").fetchall()[0]
    return wanted if multi + cycles / 20 >= PARALLEL_MIN else 1
