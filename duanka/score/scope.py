"""Which packets a night must score again; the others keep last night's scores and hits.

A packet's features depend on its own leads and roles, and on a few things
outside it: how many holders share a reserved phone or a device (counted over
the whole warehouse), whether an IoT card's IMEI is seen in a phone, which
identifiers linking judged hubs, the cases its leads name, and its holders' ages
on the night. Scoring keeps a snapshot of those inputs (`score_inputs`, one row
per identifier, hub and case) and of each packet's digest at scoring time
(`score_packet_inputs`). A night scores again:

* packets whose digest changed (members or lead versions: `packet_registry.digest`),
  or that were never scored;
* packets with a lead on an identifier, hub or case whose input changed (found
  through `link_incidence`, which has every lead's identifiers);
* packets with a holder whose birthday fell since the last scored night (age);

and every active packet when the rule set, the scoring settings or the units
changed (their fingerprint is kept in `score_state`), or on a first run.
"""
from __future__ import annotations

import hashlib
from datetime import date

import duckdb

from duanka.score.features import INPUTS, INPUTS_SQL
from duanka.score.model import RuleSet
from duanka.score.units import Units
from duanka.settings import ScoringSettings

SCOPE = "score_scope"
_CURRENT = INPUTS  # key -> value of everything outside a packet that its features read (features.INPUTS_SQL)
_CHANGED = "score_inputs_changed"

# The graph node an input key is about (how link_incidence names it).
_NODE = """CASE WHEN key LIKE 'hub:%' THEN substr(key, 5)
                WHEN key LIKE 'inphone:%' THEN 'device:' || substr(key, 9)
                ELSE key END"""


def fingerprint(rule_set: RuleSet, settings: ScoringSettings, units: Units) -> str:
    """What scores depend on besides the data: when it changes, every packet is scored again."""
    text = repr((rule_set.hash, settings, sorted(units.by_prefix.items())))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _state(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM score_state WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def choose_scope(con: duckdb.DuckDBPyConnection, stamp: str, as_of: date) -> bool:
    """Fill TEMP `score_scope(packet_id)` with the active packets to score; return True for all of them."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CURRENT} AS {INPUTS_SQL}")
    last = _state(con, "scored_as_of")
    full = _state(con, "fingerprint") != stamp or last is None
    if full:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE} AS SELECT packet_id FROM packet_registry WHERE state = 'active'")
        return True
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_CHANGED} AS
        SELECT key FROM (SELECT * FROM {_CURRENT} EXCEPT SELECT * FROM score_inputs)
        UNION SELECT key FROM (SELECT * FROM score_inputs EXCEPT SELECT * FROM {_CURRENT})""")
    birthdays = """
        SELECT 'bank' AS lead_kind, issuer, lead_id, holder_id_type, person_key FROM bank_leads
        UNION ALL SELECT 'sim', issuer, lead_id, holder_id_type, person_key FROM sim_leads"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {SCOPE} AS
        WITH active AS (SELECT packet_id, digest FROM packet_registry WHERE state = 'active'),
        nodes AS (SELECT DISTINCT {_NODE} AS node FROM {_CHANGED}),
        touched_leads AS (
            SELECT lead_kind, issuer, lead_id FROM link_incidence WHERE node IN (SELECT node FROM nodes)
            UNION SELECT lead_kind, issuer, lead_id FROM link_incidence WHERE lead_node IN (SELECT node FROM nodes)
            UNION SELECT lead_kind, issuer, lead_id FROM ({birthdays}) b
             WHERE holder_id_type = 'RIC' AND date_sub('year', CAST(try_strptime(substr(person_key, 7, 8), '%Y%m%d')
                       AS DATE), DATE '{as_of.isoformat()}')
                   <> date_sub('year', CAST(try_strptime(substr(person_key, 7, 8), '%Y%m%d') AS DATE),
                               DATE '{last}'))
        SELECT packet_id FROM active a
         WHERE NOT EXISTS (SELECT 1 FROM score_packet_inputs s WHERE s.packet_id = a.packet_id AND s.digest = a.digest)
        UNION
        SELECT pl.packet_id FROM packet_leads pl SEMI JOIN touched_leads USING (lead_kind, issuer, lead_id)
         WHERE pl.packet_id IN (SELECT packet_id FROM active)""")
    return False


def remember_inputs(con: duckdb.DuckDBPyConnection, stamp: str, as_of: date, full: bool) -> None:
    """Keep tonight's inputs and the scored packets' digests for the next night's comparison."""
    if full:
        con.execute("DELETE FROM score_inputs")
        con.execute(f"INSERT INTO score_inputs SELECT * FROM {_CURRENT}")
        con.execute("DELETE FROM score_packet_inputs")
    else:
        con.execute(f"DELETE FROM score_inputs WHERE key IN (SELECT key FROM {_CHANGED})")
        con.execute(f"INSERT INTO score_inputs SELECT * FROM {_CURRENT} WHERE key IN (SELECT key FROM {_CHANGED})")
        con.execute(f"""DELETE FROM score_packet_inputs WHERE packet_id IN (SELECT packet_id FROM {SCOPE})
                        OR packet_id NOT IN (SELECT packet_id FROM packet_registry WHERE state = 'active')""")
    con.execute(f"""INSERT INTO score_packet_inputs SELECT packet_id, digest FROM packet_registry
                    WHERE packet_id IN (SELECT packet_id FROM {SCOPE})""")
    con.execute("INSERT OR REPLACE INTO score_state VALUES ('fingerprint', ?), ('scored_as_of', ?)",
                [stamp, as_of.isoformat()])


def drop_scope(con: duckdb.DuckDBPyConnection) -> None:
    for table in (SCOPE, _CURRENT, _CHANGED):
        con.execute(f"DROP TABLE IF EXISTS {table}")
