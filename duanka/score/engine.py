"""Run the rules on the feature tables and write packet_scores and rule_hits.

Each rule is one SQL query over `score_features` (or `score_leads` for lead
rules); each hit is written with the observed value, the threshold and the
lead rows it cites, so that an investigator can check the claim by hand.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

from duanka.score import scope
from duanka.score.features import PACKET_FEATURES, build_features
from duanka.score.model import Rule, RuleSet
from duanka.score.priority import category, priority, tier
from duanka.score.units import Units
from duanka.settings import ScoringSettings

_EVIDENCE = {feature.name: feature.evidence for feature in PACKET_FEATURES}
_STAGE = "score_hit_stage"


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
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_STAGE} (
        packet_id VARCHAR, rule_id VARCHAR, rule_version INTEGER, title VARCHAR, explanation VARCHAR,
        points DOUBLE, category VARCHAR, observed VARCHAR, threshold VARCHAR, evidence VARCHAR)""")
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


def _score_rows(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings,
                units: Units, report: ScoreReport) -> pa.Table:
    """One packet_scores row per active packet; points are summed per category in SQL."""
    query = f"""
        WITH per_category AS (SELECT packet_id, category, sum(points) AS points FROM {_STAGE} GROUP BY ALL),
        per_packet AS (SELECT packet_id, list(category) AS categories, list(points) AS points
                       FROM per_category GROUP BY 1),
        fired AS (SELECT packet_id, list(rule_id ORDER BY rule_id) AS rules FROM {_STAGE} GROUP BY 1)
        SELECT r.packet_id, r.region, p.categories, p.points, f.rules
        FROM ({_regions_sql(settings.unit_match)}) r
        LEFT JOIN per_packet p USING (packet_id) LEFT JOIN fired f USING (packet_id)
        ORDER BY r.packet_id"""
    columns: dict[str, list] = {name: [] for name in (
        "packet_id", "priority", "tier", "unit_code", "unit_name", "category", "rules", "rule_set_hash")}
    for packet_id, region, categories, points, rules in con.execute(query).fetchall():
        by_cat = dict(zip(categories or [], points or []))
        value = priority(sum(by_cat.values()), settings.saturation)
        unit_code, unit_name = units.match(region)
        row = (packet_id, value, tier(value, settings), unit_code, unit_name, category(by_cat),
               rules or [], rule_set.hash)
        for name, item in zip(columns, row):
            columns[name].append(item)
        report.tiers[row[2]] += 1
        report.unassigned += unit_code == "UNASSIGNED"
    report.packets = len(columns["packet_id"])
    return pa.table(columns, schema=pa.schema([
        ("packet_id", pa.string()), ("priority", pa.float64()), ("tier", pa.string()), ("unit_code", pa.string()),
        ("unit_name", pa.string()), ("category", pa.string()), ("rules", pa.list_(pa.string())),
        ("rule_set_hash", pa.string())]))


def compute_scores(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, settings: ScoringSettings,
                   units: Units, as_of: date, scope: str | None = None) -> tuple[pa.Table, ScoreReport]:
    """Score every active packet (or those of `scope`, a table of packet ids) without writing:
    packet_scores rows, and TEMP score_hit_stage.

    Works on a read-only warehouse (only TEMP tables are created), which is what
    `rules diff` needs while the last run's scores stay untouched.
    """
    report = ScoreReport(rule_set_hash=rule_set.hash)
    build_features(con, as_of, scope)
    report.fired = evaluate(con, rule_set)
    return _score_rows(con, rule_set, settings, units, report), report


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
        scores, report = compute_scores(con, rule_set, settings, units, as_of, None if everything else scope.SCOPE)
        redo = "TRUE" if everything else (
            f"packet_id IN (SELECT packet_id FROM {scope.SCOPE}) "
            "OR packet_id NOT IN (SELECT packet_id FROM packet_registry WHERE state = 'active')")
        con.execute(f"DELETE FROM rule_hits WHERE {redo}")
        con.execute(f"DELETE FROM packet_scores WHERE {redo}")
        con.execute(f"""INSERT INTO rule_hits SELECT packet_id, rule_id, rule_version, title, explanation,
                        points, observed, threshold, evidence FROM {_STAGE} ORDER BY packet_id, rule_id""")
        con.register("score_rows", scores)
        con.execute("INSERT INTO packet_scores SELECT * FROM score_rows")
        con.unregister("score_rows")
        scope.remember_inputs(con, stamp, as_of, everything)
        scope.drop_scope(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    report.rescored, report.full = report.packets, everything
    report.packets = con.execute("SELECT count(*) FROM packet_scores").fetchone()[0]
    report.hits = con.execute("SELECT count(*) FROM rule_hits").fetchone()[0]
    report.seconds = round(time.perf_counter() - started, 3)
    return report
