"""Scoring in packet batches: the feature tables of a few hundred thousand leads at a time.

The feature tables (score_lead_base … score_features) of every active packet at once do not fit a
small DuckDB budget: a first full scoring of 5M leads failed in 2.5 GB ("failed to pin block"
building score_lead_cases) and peaked at 4.7 GB RSS in 4 GB. Every feature is a function of one
packet's own rows, except the whole-warehouse counts in `features.INPUTS` (built once a night), so
scoring the packets batch by batch gives exactly the rows scoring them all at once gives
(tests/test_score_batches.py), while only one batch's tables are held at a time.

A batch is a run of packets in packet_id order holding about `BATCH_LEADS` leads (a packet is
never split; one larger than that is a batch of its own).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb

from duanka.score.features import INPUTS, INPUTS_SQL, active_packets, build_features, drop_feature_tables

# Leads per batch. Each batch scans the lead tables once more: at 5M leads batches of 300k made
# scoring 110 s instead of 72 s. A batch of 1M leads holds ~1.2 GB of feature tables, and a whole
# scoring of 1M leads ran in a 1 GB budget (it spills), so 1M fits the default 2 GB budget.
BATCH_LEADS = 1_000_000
PLAN = "score_batches"   # packet_id -> batch number, for the packets to score tonight
BATCH = "score_batch"    # the packet ids of the batch being scored: the `scope` of the feature SQL


def plan_sql(scope: str | None, batch_leads: int) -> str:
    """TEMP score_batches: each packet to score with its batch, from the leads before it in packet_id order."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {PLAN} AS
    WITH sizes AS (
        SELECT a.packet_id, count(l.packet_id) AS n
        FROM {active_packets(scope)} a LEFT JOIN packet_leads l USING (packet_id) GROUP BY 1
    )
    SELECT packet_id,
           CAST((sum(n) OVER (ORDER BY packet_id ROWS UNBOUNDED PRECEDING) - n) // {int(batch_leads)} AS BIGINT)
               AS batch
    FROM sizes"""


def batch_sql(number: int) -> str:
    """TEMP score_batch: the packet ids of batch `number`."""
    return f"CREATE OR REPLACE TEMP TABLE {BATCH} AS SELECT packet_id FROM {PLAN} WHERE batch = {int(number)}"


def plan(con: duckdb.DuckDBPyConnection, scope: str | None, batch_leads: int | None = None) -> list[int]:
    """Assign the packets to score (all active ones, or those of `scope`) to batches; return the batch numbers.

    With nothing to score there is still one (empty) batch, so the rules run once on empty, typed
    tables: `rules check` relies on that, and a night with no packets scores like it always did."""
    if batch_leads is None:
        batch_leads = BATCH_LEADS  # read at call time, so tests can make batches tiny
    if batch_leads < 1:
        raise ValueError(f"batch_leads must be ≥ 1, got {batch_leads}")
    con.execute(plan_sql(scope, batch_leads))
    numbers = [n for (n,) in con.execute(f"SELECT DISTINCT batch FROM {PLAN} ORDER BY 1").fetchall()]
    return numbers or [0]


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for table in (PLAN, BATCH):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")


def feature_batches(con: duckdb.DuckDBPyConnection, as_of: date, scope: str | None = None,
                    inputs_ready: bool = False, batch_leads: int | None = None) -> Iterator[int]:
    """Build the feature tables batch by batch: yields each batch's number with its tables built, and
    frees them when the caller asks for the next. INPUTS (whole-warehouse counts) is built first
    unless `inputs_ready`, and kept. Scoring a night and checking rules both go through here.

    A caller that stops early (an error) drops the tables itself (features.drop_feature_tables, `drop`)."""
    if not inputs_ready:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {INPUTS} AS {INPUTS_SQL}")
    for number in plan(con, scope, batch_leads):
        con.execute(batch_sql(number))
        build_features(con, as_of, BATCH, inputs_ready=True)
        yield number
        drop_feature_tables(con, keep_inputs=True)
    drop(con)
