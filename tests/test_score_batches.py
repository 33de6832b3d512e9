"""Scoring in packet batches gives exactly what scoring every packet at once gives.

Batches exist for memory (duanka/score/batches.py): only the whole-warehouse inputs are global,
every other feature is per packet. These tests score seeded worlds (the generators of
test_score_scale and test_link_incremental, plus cases linked both ways) with batches of a few
leads and with one batch, and compare the written tables with EXCEPT ALL both ways.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_score_incremental import linked_twin_nights, scores
from test_score_scale import random_world
from test_score_world import AS_OF

from duanka.score import batches, load_rule_set, load_units, score_packets
from duanka.score.engine import compute_scores, score_batches
from duanka.settings import ScoringSettings

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rule_set(ROOT / "rules")
UNITS = load_units(ROOT / "data" / "reference" / "units.csv")
TINY, ONE = 40, 10**9  # leads per batch: a dozen batches of a seeded world (~550 leads), or one
TABLES = ("packet_scores", "rule_hits")


def world_with_cases(seed: int):
    """random_world's packets plus cases named by leads and naming their accounts and phones."""
    world = random_world(seed, packets=120)
    rng = random.Random(seed)
    accounts = [a for (a,) in world.con.execute("SELECT account_no FROM bank_leads ORDER BY 1").fetchall()]
    phones = [p for (p,) in world.con.execute("SELECT msisdn FROM sim_leads ORDER BY 1").fetchall()]
    for i in range(12):
        world.case(f"C{i}", loss=rng.choice([0.0, 5000.0, 120000.0]), accounts=rng.sample(accounts, 2),
                   phones=rng.sample(phones, 1))
    for i in range(6):
        world.bank(f"P{rng.randrange(120):03d}", world.person(), case_ids=[f"C{i}", "C-unknown"])
    return world


def temp_tables(con) -> set[str]:
    return {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}


def differences(con, table: str, copy: str) -> tuple[int, int]:
    """Rows of `table` missing from `copy`, and the reverse (duplicates counted: EXCEPT ALL)."""
    one = con.execute(f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM {copy})").fetchall()[0][0]
    two = con.execute(f"SELECT count(*) FROM (SELECT * FROM {copy} EXCEPT ALL SELECT * FROM {table})").fetchall()[0][0]
    return one, two


@pytest.mark.parametrize("seed", [11, 12])
def test_tiny_batches_score_exactly_as_one_batch(seed: int, monkeypatch) -> None:
    """Several batches of a few leads write the same packet_scores and rule_hits, and report the same counts."""
    world = world_with_cases(seed)
    monkeypatch.setattr(batches, "BATCH_LEADS", ONE)
    assert batches.plan(world.con, None) == [0]
    whole = score_packets(world.con, RULES, ScoringSettings(), UNITS, AS_OF)
    for table in TABLES:
        world.con.execute(f"CREATE TABLE whole_{table} AS SELECT * FROM {table}")
    monkeypatch.setattr(batches, "BATCH_LEADS", TINY)
    assert len(batches.plan(world.con, None)) >= 10, "the world must fall into many batches"
    batched = score_packets(world.con, RULES, ScoringSettings(), UNITS, AS_OF, full=True)
    for table in TABLES:
        assert differences(world.con, table, f"whole_{table}") == (0, 0), table
    assert whole.hits > 50 and sum(1 for n in whole.tiers.values() if n) >= 2, "rules must fire, tiers differ"
    for name in ("packets", "hits", "tiers", "unassigned", "fired", "rescored", "rule_set_hash"):
        assert getattr(batched, name) == getattr(whole, name), name
    assert temp_tables(world.con) == set(), "no TEMP table may outlive scoring"


def test_batches_cover_every_packet_once_and_free_their_tables(monkeypatch) -> None:
    """Each batch sees only its own packets, together every active packet once, and no table grows between batches."""
    world = world_with_cases(13)
    seen: list[set[str]] = []
    tables: list[set[str]] = []

    def look(con) -> None:
        scored = {p for (p,) in con.execute("SELECT packet_id FROM score_rows").fetchall()}
        featured = {p for (p,) in con.execute("SELECT packet_id FROM score_features").fetchall()}
        leads = {p for (p,) in con.execute("SELECT DISTINCT packet_id FROM score_leads").fetchall()}
        assert scored == featured and leads <= featured
        seen.append(scored)
        tables.append(temp_tables(con))

    report = score_batches(world.con, RULES, ScoringSettings(), UNITS, AS_OF, on_batch=look, batch_leads=TINY)
    active = {p for (p,) in world.con.execute("SELECT packet_id FROM packet_registry WHERE state = 'active'").fetchall()}
    assert len(seen) >= 10 and all(seen)
    assert sum(len(s) for s in seen) == len(active) == report.packets and set().union(*seen) == active
    assert all(t == tables[0] for t in tables), "a batch left a table behind"


def test_compute_scores_in_batches_matches_the_written_scores(monkeypatch) -> None:
    """`rules diff`'s read-only path, in tiny batches, returns the rows a night wrote, and frees its tables."""
    world = world_with_cases(14)
    score_packets(world.con, RULES, ScoringSettings(), UNITS, AS_OF)
    monkeypatch.setattr(batches, "BATCH_LEADS", TINY)
    table, report = compute_scores(world.con, RULES, ScoringSettings(), UNITS, AS_OF)
    world.con.register("computed", table)
    assert differences(world.con, "packet_scores", "computed") == (0, 0)
    assert report.packets == table.num_rows == world.con.execute("SELECT count(*) FROM packet_scores").fetchall()[0][0]
    world.con.unregister("computed")
    assert temp_tables(world.con) == set()


def test_incremental_nights_in_tiny_batches_equal_full_scoring_in_one(monkeypatch) -> None:
    """Five seeded nights (growth, merges, re-issues, hubs, cases): incremental scoring in batches of a
    few leads writes what a full pass in one batch writes, night after night."""
    for i, night, incremental, full in linked_twin_nights(8):
        monkeypatch.setattr(batches, "BATCH_LEADS", TINY)
        report = score_packets(incremental.con, RULES, ScoringSettings(), UNITS, night)
        monkeypatch.setattr(batches, "BATCH_LEADS", ONE)
        score_packets(full.con, RULES, ScoringSettings(), UNITS, night, full=True)
        assert scores(incremental) == scores(full), f"night {i + 1}"
        assert report.full is (i == 0)
    assert incremental.con.execute("SELECT count(*) FROM rule_hits").fetchall()[0][0] > 0


def test_batch_size_must_be_positive() -> None:
    world = random_world(1, packets=3)
    with pytest.raises(ValueError, match="batch_leads"):
        batches.plan(world.con, None, 0)
