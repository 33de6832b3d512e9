"""The DuckDB warehouse: connection settings and the DDL of every table.

One place defines the tables so that each stage, and each stage's tests, build
the same schema. The flow is the only writer (DuckDB allows one writing
process); extension auto-install and auto-load are off so that nothing reaches
for the network and waits on an intranet machine.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

# DuckDB's own default caches up to 80 % of the machine's memory, which makes a night's footprint
# depend on the machine; the warehouse gets a fixed budget instead. Both are settings of the
# deployment, read from the environment: DUANKA_DUCKDB_MEMORY (e.g. "2GB") and DUANKA_DUCKDB_THREADS
# (0 or unset: one per core). The budget is DuckDB's buffer pool: hash tables of joins and
# aggregates, sorts, windows and TEMP tables spill to `<warehouse>.tmp` beside the file (under HOME)
# past it; what it cannot spill is query state outside the buffer pool (list() aggregate states, a
# window partition being evaluated) and the Python side (results fetched into Python, NetworkX).
# The target is a whole night under 4 GB (its worker processes included): 2 GB for DuckDB leaves the
# rest to Python. Scoring runs in packet batches (score/batches.py) and the link analysis stores its
# rows in one INSERT per table (link/spool.py), so 5M leads fit it (README, Benchmarks).
MEMORY_ENV, THREADS_ENV = "DUANKA_DUCKDB_MEMORY", "DUANKA_DUCKDB_THREADS"
DEFAULT_MEMORY = "2GB"

PROVENANCE = """
    _file VARCHAR NOT NULL,
    _row INTEGER NOT NULL,
    _sha256 VARCHAR NOT NULL,
    _as_of DATE NOT NULL,
    _extra VARCHAR
"""

BANK_COLUMNS = """
    issuer VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL,
    bank VARCHAR NOT NULL,
    account_no VARCHAR NOT NULL,
    account_kind VARCHAR NOT NULL,
    holder_name VARCHAR NOT NULL,
    holder_id_type VARCHAR NOT NULL,
    holder_id_no VARCHAR NOT NULL,
    person_key VARCHAR NOT NULL,
    holder_phone VARCHAR,
    open_date DATE NOT NULL,
    open_branch VARCHAR,
    open_channel VARCHAR,
    open_region VARCHAR,
    status VARCHAR,
    login_device VARCHAR[],
    login_ip VARCHAR[],
    inflow_30d DOUBLE,
    outflow_30d DOUBLE,
    txn_count_30d BIGINT,
    counterparties_30d BIGINT,
    night_txn_ratio DOUBLE,
    case_ids VARCHAR[],
"""

SIM_COLUMNS = """
    issuer VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL,
    carrier VARCHAR NOT NULL,
    msisdn VARCHAR NOT NULL,
    iccid VARCHAR,
    imsi VARCHAR,
    card_kind VARCHAR NOT NULL,
    holder_name VARCHAR NOT NULL,
    holder_id_type VARCHAR NOT NULL,
    holder_id_no VARCHAR NOT NULL,
    person_key VARCHAR NOT NULL,
    open_date DATE NOT NULL,
    open_outlet VARCHAR,
    open_region VARCHAR,
    status VARCHAR,
    imei VARCHAR,
    abroad_days_30d BIGINT,
    calls_out_7d BIGINT,
    callees_7d BIGINT,
    sms_out_7d BIGINT,
    case_ids VARCHAR[],
"""

CASE_COLUMNS = """
    case_id VARCHAR NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    region VARCHAR NOT NULL,
    fraud_type VARCHAR NOT NULL,
    loss DOUBLE NOT NULL,
    accounts VARCHAR[],
    phones VARCHAR[],
"""

# No PRIMARY KEY: scoring writes one row per active packet by construction, and keeping the index
# cost 14 s of CPU at each full rescoring of 1M leads (the commit of 770k deleted and new keys).
PACKET_SCORES_COLUMNS = """
    packet_id VARCHAR NOT NULL, priority DOUBLE, tier VARCHAR, unit_code VARCHAR,
    unit_name VARCHAR, category VARCHAR, rules VARCHAR[], rule_set_hash VARCHAR"""

# kind -> (table, columns, primary key)
LEAD_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bank": ("bank_leads", BANK_COLUMNS, ("issuer", "lead_id")),
    "sim": ("sim_leads", SIM_COLUMNS, ("issuer", "lead_id")),
    "case": ("cases", CASE_COLUMNS, ("case_id",)),
}


def _ddl() -> list[str]:
    statements = []
    for table, columns, key in LEAD_TABLES.values():
        statements.append(
            # No PRIMARY KEY: the loader keeps the key unique itself (and checks it in every load's
            # transaction); DuckDB's index made each million-row load ~1 s slower per table.
            f"CREATE TABLE IF NOT EXISTS {table} ({columns} {PROVENANCE})"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table}_history ({columns} {PROVENANCE}, _replaced_as_of DATE)"
        )
    statements += [
        """CREATE TABLE IF NOT EXISTS ingest_files (
            sha256 VARCHAR NOT NULL, file VARCHAR NOT NULL, kind VARCHAR, status VARCHAR NOT NULL,
            reason VARCHAR, rows_read BIGINT DEFAULT 0, rows_loaded BIGINT DEFAULT 0,
            rows_quarantined BIGINT DEFAULT 0, rows_duplicate BIGINT DEFAULT 0,
            as_of DATE NOT NULL, loaded_at TIMESTAMP DEFAULT current_timestamp)""",
        """CREATE TABLE IF NOT EXISTS quarantine (
            as_of DATE NOT NULL, file VARCHAR NOT NULL, sha256 VARCHAR, kind VARCHAR, "row" INTEGER NOT NULL,
            lead_id VARCHAR, reasons VARCHAR NOT NULL, raw VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS validation_results (
            as_of DATE NOT NULL, file VARCHAR NOT NULL, sha256 VARCHAR, kind VARCHAR, check_id VARCHAR,
            success BOOLEAN, severity VARCHAR, reason VARCHAR, unexpected BIGINT, error VARCHAR)""",
        # Linking keeps its graph between nights, so that a night only redoes what it touched
        # (duanka/link/incremental.py): the incidence rows, and the lead/case versions last linked.
        """CREATE TABLE IF NOT EXISTS link_incidence (
            lead_node VARCHAR, node VARCHAR, kind VARCHAR, lead_kind VARCHAR, issuer VARCHAR, lead_id VARCHAR,
            person_key VARCHAR, open_date DATE, place VARCHAR, via_case VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS link_linked_leads (
            lead_kind VARCHAR, issuer VARCHAR, lead_id VARCHAR, issued_at TIMESTAMP, _sha256 VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS link_linked_cases (case_id VARCHAR, reported_at TIMESTAMP, _sha256 VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS link_state (key VARCHAR PRIMARY KEY, value VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS link_edges (src VARCHAR, dst VARCHAR, kind VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS link_hubs (node VARCHAR, node_kind VARCHAR, fan_out INTEGER)""",
        """CREATE TABLE IF NOT EXISTS packet_registry (
            packet_id VARCHAR PRIMARY KEY, first_as_of DATE, last_changed_as_of DATE,
            state VARCHAR, merged_into VARCHAR, digest VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS packet_members (packet_id VARCHAR, node VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS packet_leads (
            packet_id VARCHAR, lead_kind VARCHAR, issuer VARCHAR, lead_id VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS packet_changes (
            as_of DATE, packet_id VARCHAR, change VARCHAR, detail VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS group_roles (packet_id VARCHAR, node VARCHAR, role VARCHAR, score DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS group_layout (packet_id VARCHAR, node VARCHAR, x DOUBLE, y DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS group_bridges (packet_id VARCHAR, src VARCHAR, dst VARCHAR)""",
        f"CREATE TABLE IF NOT EXISTS packet_scores ({PACKET_SCORES_COLUMNS})",
        # Scoring keeps what a packet's scores were computed from (duanka/score/scope.py), so that a
        # night scores again only the packets whose inputs changed.
        """CREATE TABLE IF NOT EXISTS score_state (key VARCHAR PRIMARY KEY, value VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS score_inputs (key VARCHAR, value VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS score_packet_inputs (packet_id VARCHAR, digest VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS rule_hits (
            packet_id VARCHAR, rule_id VARCHAR, rule_version INTEGER, title VARCHAR, explanation VARCHAR,
            points DOUBLE, observed VARCHAR, threshold VARCHAR, evidence VARCHAR)""",
    ]
    return statements


def engine_config(env: dict[str, str] | None = None, path: Path | str = ":memory:") -> dict[str, object]:
    """DuckDB settings of every warehouse connection: no network, a memory budget, a thread count,
    and for a warehouse file the spill folder `<file>.tmp` beside it (inside HOME, not /tmp)."""
    env = dict(os.environ) if env is None else env
    config: dict[str, object] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "memory_limit": env.get(MEMORY_ENV) or DEFAULT_MEMORY}
    if str(path) != ":memory:":
        config["temp_directory"] = str(Path(path)) + ".tmp"
    threads = (env.get(THREADS_ENV) or "0").strip()
    if not threads.isdigit():
        raise ValueError(f"{THREADS_ENV} 须为非负整数 (must be a whole number), got {threads!r}")
    if int(threads) > 0:
        config["threads"] = int(threads)
    return config


def _drop_score_key(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made before packet_scores lost its PRIMARY KEY get the table rebuilt without it."""
    keyed = con.execute("""SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database()
                           AND table_name = 'packet_scores' AND constraint_type = 'PRIMARY KEY'""").fetchall()[0][0]
    if keyed:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE TABLE packet_scores_unkeyed ({PACKET_SCORES_COLUMNS})")
        con.execute("INSERT INTO packet_scores_unkeyed SELECT * FROM packet_scores")
        con.execute("DROP TABLE packet_scores")
        con.execute("ALTER TABLE packet_scores_unkeyed RENAME TO packet_scores")
        con.execute("COMMIT")


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with network-reaching features off, and make sure every table exists."""
    config = engine_config(path=path)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    if not read_only:
        for statement in _ddl():
            con.execute(statement)
        _drop_score_key(con)
    return con
