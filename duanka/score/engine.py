"""Run the rules on the feature tables and write packet_scores and rule_hits.

Each rule is one SQL query over `score_features` (or `score_leads` for lead
rules); each hit is written with the observed value, the threshold and the
lead rows it cites, so that an investigator can check the claim by hand.
Features, rules and scores run per batch of packets (batches.py) so that a
province's warehouse fits a small DuckDB budget; only the hits and score rows
of each batch are kept.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

from duanka.score import batches, scope
from duanka.score.features import PACKET_FEATURES, drop_feature_tables
from duanka.score.model import Rule, RuleSet
from duanka.score.priority import category, priority, tier
from duanka.score.units import Units
from duanka.settings import ScoringSettings

_EVIDENCE = {feature.name: feature.evidence for feature in PACKET_FEATURES}
_STAGE = "score_hit_stage"
_STAGE_COLUMNS = """packet_id VARCHAR, rule_id VARCHAR, rule_version INTEGER, title VARCHAR, explanation VARCHAR,
    points DOUBLE, category VARCHAR, observed VARCHAR, threshold VARCHAR, evidence VARCHAR"""
# packet_scores' columns, for the rows `compute_scores` gathers over the batches without writing.
_ROWS_COLUMNS = """packet_id VARCHAR, priority DOUBLE, tier VARCHAR, unit_code VARCHAR, unit_name VARCHAR,
    category VARCHAR, rules VARCHAR[], rule_set_hash VARCHAR"""
_ROWS_ALL = "score_rows_all"
# TEMP tables of one batch's rules and scores, freed with its feature tables before the next batch.
_BATCH_TABLES = (_STAGE, "score_fired", "score_rows")


@dataclass
class ScoreReport:
    """What a scoring pass did, for the run log and summary."""

    packets: int = 0
    hits: int = 0
    tiers: dict[str, int] = field(default_factory=lambda: {"red": 0, "orange": 0, "yellow": 0})
    unassigned: int = 0
    rule_set_hash: str = ""
    fired: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rescored: int = 0  # packets scored tonight (the others kept their scores)
    full: bool = True


def number_text(value: float) -> str:
    """5.0 -> '5', 0.9 -> '0.9': thresholds as a person writes them."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def rule_sql(rule: Rule) -> str:
    """SELECT packet_id, observed for the packets the rule fires on (pure)."""
    if rule.per_lead:
        return (f"SELECT packet_id, CAST(count(*) AS DOUBLE) AS observed FROM score_leads "
                f"WHERE coalesce(({rule.when}), FALSE) GROUP BY packet_id HAVING count(*) >= {rule.threshold}")
    return (f"SELECT packet_id, CAST(\"{rule.observed}\" AS DOUBLE) AS observed FROM score_features "
            f"WHERE coalesce(({rule.when}), FALSE)")


def evidence_predicate(rule: Rule) -> str:
    """Which lead rows a hit cites: the matching leads, or those behind the observed feature."""
    if rule.per_lead:
        return rule.when
    return _EVIDENCE[rule.observed or ""].replace("{t}", repr(rule.threshold))


def _stage_rule(con: duckdb.DuckDBPyConnection, rule: Rule) -> int:
    """Insert one rule's hits into the stage table; returns how many packets it fired on."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE score_fired AS {rule_sql(rule)}")
    con.execute(f"""
        INSERT INTO {_STAGE}
        SELECT f.packet_id, $id, $version, $title, $explanation, $points, $category,
               CASE WHEN f.observed = round(f.observed) THEN CAST(CAST(f.observed AS HUGEINT) AS VARCHAR)
                    ELSE CAST(round(f.observed, 4) AS VARCHAR) END,
               $threshold, coalesce(CAST(to_json(e.rows) AS VARCHAR), '[]')
        FROM score_fired f LEFT JOIN (
            SELECT l.packet_id, list({{'file': l.file, 'row': l."row", 'lead_id': l.lead_id}}
                                     ORDER BY l.file, l."row", l.lead_id) AS rows
            FROM score_leads l WHERE l.packet_id IN (SELECT packet_id FROM score_fired)
              AND coalesce(({evidence_predicate(rule)}), FALSE)
            GROUP BY 1) e USING (packet_id)
        """, {"id": rule.id, "version": rule.version, "title": rule.title, "explanation": rule.explanation,
              "points": rule.weight, "category": rule.category, "threshold": number_text(rule.threshold)})
    return con.execute("SELECT count(*) FROM score_fired").fetchone()[0]


def evaluate(con: duckdb.DuckDBPyConnection, rule_set: RuleSet) -> dict[str, int]:
    """All rules on the feature tables already built: fills TEMP score_hit_stage; returns fires per rule."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} ({_STAGE_COLUMNS})")
    return {rule.id: _stage_rule(con, rule) for rule in rule_set.rules}


def _regions_sql(unit_match: str) -> str:
    """Region deciding each packet's unit: key person's household or the commonest open region."""
    household = """
        SELECT h.packet_id, h.home AS region, row_number() OVER (PARTITION BY h.packet_id
               ORDER BY coalesce(r.s, -1) DESC, h.n DESC, h.person_key) AS pick
        FROM (SELECT packet_id, person_key, count(*) AS n,
                     CASE holder_id_type WHEN 'RIC' THEN substr(person_key, 1, 6)
                                         WHEN 'USCC' THEN substr(person_key, 3, 6) END AS home
              FROM score_leads GROUP BY ALL) h
        LEFT JOIN (SELECT packet_id, regexp_replace(node, '^(person|company):', '') AS person_key, max(score) AS s
                   FROM group_roles WHERE role <> 'member' AND regexp_matches(node, '^(person|company):')
                   GROUP BY ALL) r USING (packet_id, person_key)
        WHERE h.home IS NOT NULL"""
    opened = """
        SELECT packet_id, open_region AS region,
               row_number() OVER (PARTITION BY packet_id ORDER BY count(*) DESC, open_region) AS pick
        FROM score_leads WHERE open_region IS NOT NULL GROUP BY packet_id, open_region"""
    first, second = (household, opened) if unit_match == "household" else (opened, household)
    return f"""
        SELECT f.packet_id, coalesce(a.region, b.region) AS region FROM score_features f
        LEFT JOIN ({first}) a ON a.packet_id = f.packet_id AND a.pick = 1
        LEFT JOIN ({second}) b ON b.packet_id = f.packet_id AND b.pick = 1
        ORDER BY f.packet_id"""


def _verdicts(con: duckdb.DuckDBPyConnection, settings: ScoringSettings, units: Units) -> None:
    """TEMP score_verdicts (combo -> priority, tier, category) and score_unit_of (region -> unit).

    Priority, tier, category and unit stay Python functions (priority.py, units.py), the one
    definition of each; they run once per distinct combination of category points and once
    per distinct region, a few thousand at most, instead of once per packet in Python lists
    (at 5M leads ~2M packets fetched into Python cost time and ~1 GB).
    """
    combos = con.execute("SELECT DISTINCT combo, categories, points FROM score_rows_raw").fetchall()
    verdicts: dict[str, list] = {"combo": [], "priority": [], "tier": [], "category": []}
    for combo, categories, points in combos + [("", [], [])]:
        by_cat = dict(zip(categories or [], points or []))
        value = priority(sum(by_cat.values()), settings.saturation)
        for name, item in zip(verdicts, (combo or "", value, tier(value, settings), category(by_cat))):
            verdicts[name].append(item)
    con.register("score_verdict_rows", pa.table(verdicts, schema=pa.schema([
        ("combo", pa.string()), ("priority", pa.float64()), ("tier", pa.string()), ("category", pa.string())])))
    con.execute("CREATE OR REPLACE TEMP TABLE score_verdicts AS SELECT DISTINCT * FROM score_verdict_rows")
    con.unregister("score_verdict_rows")
    regions = [r for (r,) in con.execute("SELECT DISTINCT coalesce(region, '') FROM score_rows_raw").fetchall()]
    matched = [units.match(region) for region in regions]
    con.register("score_unit_rows", pa.table({"region": regions, "unit_code": [m[0] for m in matched],
                                              "unit_name": [m[1] for m in matched]},
                                             schema=pa.schema([("region", pa.string()), ("unit_code", pa.string()),
                                                               ("unit_name", pa.string())])))
    con.execute("CREATE OR REPLACE TEMP TABLE score_unit_of AS SELECT * FROM score_unit_rows")
    con.unregister("score_unit_rows")


def stage_scores(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings,
                 units: Units, report: ScoreReport) -> None:
    """TEMP score_rows: one packet_scores row per scored packet, built in SQL (nothing per packet in Python)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE score_rows_raw AS
        WITH per_category AS (SELECT packet_id, category, sum(points) AS points FROM {_STAGE} GROUP BY ALL),
        per_packet AS (SELECT packet_id, list(category ORDER BY category) AS categories,
                              list(points ORDER BY category) AS points,
                              string_agg(category || '=' || CAST(points AS VARCHAR), ';' ORDER BY category) AS combo
                       FROM per_category GROUP BY 1),
        fired AS (SELECT packet_id, list(rule_id ORDER BY rule_id) AS rules FROM {_STAGE} GROUP BY 1)
        SELECT r.packet_id, r.region, p.categories, p.points, p.combo, f.rules
        FROM ({_regions_sql(settings.unit_match)}) r
        LEFT JOIN per_packet p USING (packet_id) LEFT JOIN fired f USING (packet_id)""")
    _verdicts(con, settings, units)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE score_rows AS
        SELECT r.packet_id, v.priority, v.tier, u.unit_code, u.unit_name, v.category,
               coalesce(r.rules, CAST([] AS VARCHAR[])) AS rules, '{rule_set.hash}' AS rule_set_hash
        FROM score_rows_raw r JOIN score_verdicts v ON v.combo = coalesce(r.combo, '')
        JOIN score_unit_of u ON u.region = coalesce(r.region, '')
        ORDER BY r.packet_id""")
    for table in ("score_rows_raw", "score_verdicts", "score_unit_of"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for name, n, unassigned in con.execute(
            "SELECT tier, count(*), count(*) FILTER (unit_code = 'UNASSIGNED') FROM score_rows GROUP BY 1").fetchall():
        report.tiers[name] += n
        report.unassigned += unassigned
    report.packets = sum(report.tiers.values())


def compute_scores(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings,
                   units: Units, as_of: date, scope: str | None = None) -> tuple[pa.Table, ScoreReport]:
    """Score every active packet (or those of `scope`, a table of packet ids) without writing:
    the packet_scores rows, batch by batch as a night scores them.

    Works on a read-only warehouse (only TEMP tables are created, and freed before returning),
    which is what `rules diff` needs while the last run's scores stay untouched.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ROWS_ALL} ({_ROWS_COLUMNS})")
    try:
        report = score_batches(con, rule_set, settings, units, as_of, scope,
                               on_batch=lambda c: c.execute(f"INSERT INTO {_ROWS_ALL} SELECT * FROM score_rows"))
        return con.sql(f"SELECT * FROM {_ROWS_ALL}").to_arrow_table(), report
    finally:
        _free_temp_tables(con)


def score_batches(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings, units: Units,
                  as_of: date, scope: str | None = None, inputs_ready: bool = False,
                  on_batch: Callable[[duckdb.DuckDBPyConnection], object] = lambda con: None,
                  batch_leads: int | None = None) -> ScoreReport:
    """Features, rules and scores per batch of packets (batches.py): after each batch `on_batch` takes
    its TEMP score_hit_stage and score_rows, which are then freed with the batch's feature tables.

    Only INPUTS (whole-warehouse counts, built here unless `inputs_ready`) outlives a batch, so a
    night holds one batch's tables at a time; nothing is fetched into Python but a few counts."""
    report = ScoreReport(rule_set_hash=rule_set.hash, fired={rule.id: 0 for rule in rule_set.rules})
    for _ in batches.feature_batches(con, as_of, scope, inputs_ready, batch_leads):
        for rule_id, n in evaluate(con, rule_set).items():
            report.fired[rule_id] += n
        stage_scores(con, rule_set, settings, units, report)
        on_batch(con)
        for table in _BATCH_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return report


def _write_batch(con: duckdb.DuckDBPyConnection) -> None:
    """One batch's hits and scores into rule_hits and packet_scores (inside score_packets' transaction).

    Batches come in packet_id order and each is written sorted, so the tables keep the order one
    sort of the whole night gave."""
    con.execute(f"""INSERT INTO rule_hits SELECT packet_id, rule_id, rule_version, title, explanation,
                    points, observed, threshold, evidence FROM {_STAGE} ORDER BY packet_id, rule_id""")
    con.execute("INSERT INTO packet_scores SELECT * FROM score_rows")


def _free_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the night's scoring tables: TEMP tables hold DuckDB memory (1.2 GB at 1M leads) until dropped.

    Cleanup after a failure too, where the connection may be unusable: its own error must not hide
    the one that stopped scoring, so it is left unreported here."""
    try:
        scope.drop_scope(con)
        batches.drop(con)
        drop_feature_tables(con)
        for table in (*_BATCH_TABLES, _ROWS_ALL):
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    except duckdb.Error:
        pass


def score_packets(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings,
                  units: Units, as_of: date, full: bool = False) -> ScoreReport:
    """Rewrite packet_scores and rule_hits of the packets whose inputs changed, in one transaction.

    `scope.py` decides which: every active packet on a first run, with a new rule set,
    settings or units, or with `full=True`; else those whose members, lead versions,
    shared identifiers, hubs, cases or holders' ages changed. The others keep their rows,
    which equal what scoring them again would give (tested against full runs).
    """
    started = time.perf_counter()
    stamp = scope.fingerprint(rule_set, settings, units)
    con.execute("BEGIN TRANSACTION")
    try:
        everything = scope.choose_scope(con, stamp, as_of) or full
        if full:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE {scope.SCOPE} AS
                            SELECT packet_id FROM packet_registry WHERE state = 'active'""")
        redo = "TRUE" if everything else (
            f"packet_id IN (SELECT packet_id FROM {scope.SCOPE}) "
            "OR packet_id NOT IN (SELECT packet_id FROM packet_registry WHERE state = 'active')")
        con.execute(f"DELETE FROM rule_hits WHERE {redo}")
        con.execute(f"DELETE FROM packet_scores WHERE {redo}")
        report = score_batches(con, rule_set, settings, units, as_of, None if everything else scope.SCOPE,
                               inputs_ready=True, on_batch=_write_batch)
        scope.remember_inputs(con, stamp, as_of, everything)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _free_temp_tables(con)
    report.rescored, report.full = report.packets, everything
    report.packets = con.execute("SELECT count(*) FROM packet_scores").fetchone()[0]
    report.hits = con.execute("SELECT count(*) FROM rule_hits").fetchone()[0]
    report.seconds = round(time.perf_counter() - started, 3)
    return report
