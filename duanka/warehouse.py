"""The DuckDB warehouse: connection settings and the DDL of every table.

One place defines the tables so that each stage, and each stage's tests, build
the same schema. The flow is the only writer (DuckDB allows one writing
process); extension auto-install and auto-load are off so that nothing reaches
for the network and waits on an intranet machine.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

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
        """CREATE TABLE IF NOT EXISTS packet_scores (
            packet_id VARCHAR PRIMARY KEY, priority DOUBLE, tier VARCHAR, unit_code VARCHAR,
            unit_name VARCHAR, category VARCHAR, rules VARCHAR[], rule_set_hash VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS rule_hits (
            packet_id VARCHAR, rule_id VARCHAR, rule_version INTEGER, title VARCHAR, explanation VARCHAR,
            points DOUBLE, observed VARCHAR, threshold VARCHAR, evidence VARCHAR)""",
    ]
    return statements


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with network-reaching features off, and make sure every table exists."""
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    if not read_only:
        for statement in _ddl():
            con.execute(statement)
    return con
