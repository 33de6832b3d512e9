"""Scoring at scale: the set-wise rewrites give what the plain definitions give, within a budget.

The packet features count holders, cards and regions through one grouping each
instead of one count(DISTINCT ...) per feature; the identifier counts come from
the night's inputs table; packet_scores lost its index; the feature tables are
freed after a night. Each is checked here against the straightforward form on a
seeded world with the awkward cases (a payment account equal to a phone number,
one holder on bank and SIM leads, companies, students, roles and hubs).
"""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from test_score_world import AS_OF, World, born, ric

from duanka import warehouse
from duanka.score import load_rule_set, load_units, score_packets
from duanka.score.features import ROLES, build_features
from duanka.settings import ScoringSettings

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rule_set(ROOT / "rules")
UNITS = load_units(ROOT / "data" / "reference" / "units.csv")

# The features the rewrite touches, in their plain count(DISTINCT ...) form over score_leads.
PLAIN = {
    "n_persons": "count(DISTINCT person_key) FILTER (NOT is_company)",
    "n_companies": "count(DISTINCT person_key) FILTER (is_company)",
    "n_accounts": "count(DISTINCT account_no) FILTER (lead_kind = 'bank')",
    "n_sim_cards": "count(DISTINCT msisdn) FILTER (lead_kind = 'sim')",
    "n_iot_cards": "count(DISTINCT msisdn) FILTER (lead_kind = 'sim' AND kind = 'iot')",
    "n_corporate_accounts": "count(DISTINCT account_no) FILTER (kind = 'corporate' AND is_company)",
    "n_students": "count(DISTINCT person_key) FILTER (is_student)",
    "n_elderly": "count(DISTINCT person_key) FILTER (is_elderly)",
    "n_regions": "count(DISTINCT open_region)",
}


def random_world(seed: int, packets: int = 60) -> World:
    """Packets of 1-8 leads over a small pool of holders, phones and devices, so that they collide."""
    rng = random.Random(seed)
    world = World(seed)
    people = [ric(rng.choice(["370403", "110101"]), born(rng.choice([19, 20, 35, 61, 70])), i) for i in range(40)]
    companies = [world.company() for _ in range(5)]
    phones = [f"1380000{i:04d}" for i in range(12)]
    devices = [f"IMEI{i:011d}" for i in range(10)]
    for p in range(packets):
        pid = f"P{p:03d}"
        for _ in range(rng.randint(1, 8)):
            holder = rng.choice(people + companies)
            opened = AS_OF - timedelta(days=rng.randint(1, 20))
            region = rng.choice([None, "370403", "370402", "110101"])
            if rng.random() < 0.6:
                kind = "corporate" if holder in companies else rng.choice(["debit", "credit", "payment"])
                account = rng.choice(phones) if kind == "payment" else f"6222{rng.randrange(10**3):015d}"
                world.bank(pid, holder, account_no=account, account_kind=kind, open_date=opened, open_region=region,
                           holder_phone=rng.choice(phones + [None]), login_device=rng.sample(devices, rng.randint(0, 2)),
                           open_branch=rng.choice(["B1", "B2", None]))
            else:
                world.sim(pid, holder, msisdn=rng.choice(phones), card_kind=rng.choice(["personal", "iot", "enterprise"]),
                          imei=rng.choice(devices + [None]), open_date=opened, open_region=region,
                          open_outlet=rng.choice(["O1", "O2", None]))
        if rng.random() < 0.3:
            world.role(pid, f"person:{rng.choice(people)}", rng.choice(ROLES + ("member",)))
    world.hub(f"device:{devices[0]}")
    return world


def test_distinct_counts_equal_their_plain_definitions() -> None:
    """Holder/card/region groupings give exactly the count(DISTINCT ...) of each feature, packet by packet."""
    for seed in (1, 2, 3):
        world = random_world(seed)
        build_features(world.con, AS_OF)
        names = ", ".join(PLAIN)
        got = world.con.execute(f"SELECT packet_id, {names} FROM score_features ORDER BY 1").fetchall()
        plain = ", ".join(f"CAST(coalesce({expr}, 0) AS BIGINT)" for expr in PLAIN.values())
        want = world.con.execute(f"SELECT packet_id, {plain} FROM score_leads GROUP BY 1 ORDER BY 1").fetchall()
        assert got == want, f"seed {seed}"
        assert any(row[3] for row in got) and any(row[4] for row in got), "the world must have accounts and cards"


def test_role_and_identifier_features_equal_their_plain_definitions() -> None:
    """Role counts skip `member` rows and holders-per-phone/device come from the inputs table: same values."""
    world = random_world(4)
    build_features(world.con, AS_OF)
    roles = ", ".join(f"count(DISTINCT node) FILTER (role = '{r}')" for r in ROLES)
    want = {row[0]: row[1:] for row in world.con.execute(
        f"SELECT packet_id, {roles} FROM group_roles GROUP BY 1").fetchall()}
    got = world.con.execute(f"SELECT packet_id, {', '.join('role_' + r for r in ROLES)} FROM score_features").fetchall()
    assert {pid: tuple(v) for pid, *v in got if any(v)} == {pid: v for pid, v in want.items() if any(v)}
    phones = dict(world.con.execute("""SELECT holder_phone, count(DISTINCT person_key) FROM bank_leads
                                       WHERE holder_phone IS NOT NULL GROUP BY 1""").fetchall())
    rows = world.con.execute("SELECT reserved_phone, holders_on_phone FROM score_leads WHERE lead_kind = 'bank'").fetchall()
    assert all(n == phones.get(phone, 0) for phone, n in rows) and any(n > 1 for _, n in rows)


def test_scores_are_the_same_in_a_small_budget_and_the_tables_are_freed(tmp_path, monkeypatch) -> None:
    """A warehouse file with a 256 MB budget (DuckDB's floor for ~40 tables) scores exactly as an unbounded in-memory one; no TEMP table stays."""
    world = random_world(5, packets=150)
    score_packets(world.con, RULES, ScoringSettings(), UNITS, AS_OF)
    want = {t: sorted(world.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ("packet_scores", "rule_hits")}
    assert want["rule_hits"], "rules must fire in the world"
    path = tmp_path / "warehouse.duckdb"
    world.con.execute("DELETE FROM packet_scores; DELETE FROM rule_hits; DELETE FROM score_state")
    world.save(path)
    monkeypatch.setenv(warehouse.MEMORY_ENV, "256MB")
    con = warehouse.connect(path)
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == f"{path}.tmp"
    score_packets(con, RULES, ScoringSettings(), UNITS, AS_OF)
    got = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ("packet_scores", "rule_hits")}
    assert got == want
    temp = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temp == [], f"TEMP tables left after scoring: {temp}"


def test_keyed_packet_scores_lose_their_index_and_keep_their_rows(tmp_path) -> None:
    """A warehouse made when packet_scores had a PRIMARY KEY is rebuilt without it on open, rows intact."""
    import duckdb

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("""CREATE TABLE packet_scores (packet_id VARCHAR PRIMARY KEY, priority DOUBLE, tier VARCHAR,
                   unit_code VARCHAR, unit_name VARCHAR, category VARCHAR, rules VARCHAR[], rule_set_hash VARCHAR)""")
    old.execute("INSERT INTO packet_scores VALUES ('DK-1', 75.1, 'red', 'U', '单位', 'collector', ['R-1'], 'h')")
    old.close()
    con = warehouse.connect(path)
    kinds = {r[0] for r in con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'packet_scores'").fetchall()}
    assert "PRIMARY KEY" not in kinds and "NOT NULL" in kinds
    assert con.execute("SELECT * FROM packet_scores").fetchall() == [
        ("DK-1", 75.1, "red", "U", "单位", "collector", ["R-1"], "h")]


def test_engine_settings_spill_folder_beside_the_warehouse(monkeypatch) -> None:
    """Spilling goes beside a warehouse file (inside HOME), and nowhere for an in-memory one."""
    monkeypatch.delenv(warehouse.MEMORY_ENV, raising=False)
    assert warehouse.engine_config()["memory_limit"] == warehouse.DEFAULT_MEMORY
    assert "temp_directory" not in warehouse.engine_config()
    assert warehouse.engine_config(path="/home/x/warehouse.duckdb")["temp_directory"] == "/home/x/warehouse.duckdb.tmp"
