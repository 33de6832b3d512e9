"""Features that rules refer to, computed in DuckDB SQL.

Two tables, both TEMP so that a read-only warehouse can be checked too:

* `score_leads` — one row per lead of an active packet, with lead features
  (what `scope: lead` rules test) and the provenance (`file`, `row`, `lead_id`)
  that every hit cites as evidence.
* `score_features` — one row per active packet, with packet features (what
  entity/group/pattern rules test). Each packet feature names an evidence
  predicate over `score_leads`, so a hit cites the lead rows that made it fire.

Identifier counts that must see past a packet's border are global: a phone
bound to many holders' accounts, or a device, may have been cut as a hub by
linking, and the holders then sit in other packets. Outlet bursts are counted
inside the packet: outlets never connect leads, and an outlet busy with
unrelated customers is no signal, while linked holders opening together is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

STUDENT_AGES = (18, 22)
ELDERLY_AGE = 60
BURST_DAYS = 3      # "within 3 days": the opening day and the two after
RAPID_DAYS = 7      # "within 7 days"
# Roles that linking gives a node besides `member` (98 % of group_roles rows): the only ones a
# feature or an evidence predicate reads, so scoring joins only these.
ROLES = ("card_farmer", "collector", "organiser", "rogue_outlet", "shell_company")


@dataclass(frozen=True)
class Feature:
    """A named column a rule may use; `evidence` selects the lead rows it cites ({t}: threshold).

    `expr` aggregates rows of `source` per packet: `l` the packet's leads (score_leads), `p` its
    holders, `k` its cards, `r` its open regions, `c` its cases, `h` its hub identifiers, `g` its
    role nodes (see _packet_sql). Distinct counts go through the holder/card/region rows, one
    grouping each, instead of one count(DISTINCT ...) per feature: at 1M leads those were most of
    the scoring time."""

    name: str
    sql_type: str
    expr: str
    description: str
    evidence: str = "TRUE"
    source: str = "l"


# Counts over the whole warehouse that features read, one row per key: `phone:<no>` and
# `device:<id>` -> holders using it, `inphone:<imei>` -> '1' when seen in a phone, `hub:<node>`,
# `case:<id>` -> a hash of the case. Built once a night: scoring reads it here, and `scope.py`
# compares it with last night's copy to find the packets whose inputs changed.
INPUTS = "score_inputs_now"
INPUTS_SQL = """
    SELECT 'phone:' || holder_phone AS key, CAST(count(DISTINCT person_key) AS VARCHAR) AS value
      FROM bank_leads WHERE holder_phone IS NOT NULL GROUP BY holder_phone
    UNION ALL
    SELECT 'device:' || device, CAST(count(DISTINCT person_key) AS VARCHAR) FROM (
        SELECT unnest(login_device) AS device, person_key FROM bank_leads
        UNION ALL SELECT imei, person_key FROM sim_leads WHERE imei IS NOT NULL) GROUP BY device
    UNION ALL
    SELECT DISTINCT 'inphone:' || device, '1' FROM (
        SELECT imei AS device FROM sim_leads WHERE card_kind = 'personal' AND imei IS NOT NULL
        UNION ALL SELECT unnest(login_device) FROM bank_leads)
    UNION ALL
    SELECT DISTINCT 'hub:' || node, '1' FROM link_hubs
    UNION ALL
    SELECT 'case:' || case_id, CAST(hash(reported_at, loss, accounts, phones, _sha256) AS VARCHAR) FROM cases"""
# The TEMP tables scoring builds per batch of packets (batches.py; they held ~1.2 GB at 1M leads
# in one batch), freed before the next batch; INPUTS is built once a night and freed after it.
BATCH_TABLES = ("score_lead_base", "score_lead_nodes", "score_lead_cases", "score_leads", "score_features")
FEATURE_TABLES = (INPUTS, *BATCH_TABLES)


# --- lead features: columns of score_leads that `scope: lead` rules may use ---------------
LEAD_FEATURES: dict[str, tuple[str, str]] = {
    "lead_kind": ("VARCHAR", "线索类型 bank 或 sim"),
    "kind": ("VARCHAR", "账户类型 debit/credit/corporate/payment 或卡类型 personal/iot/enterprise"),
    "reason": ("VARCHAR", "下发原因代码"),
    "status": ("VARCHAR", "账户/号码状态"),
    "open_channel": ("VARCHAR", "开户渠道 counter/mobile/agent（仅银行）"),
    "is_company": ("BOOLEAN", "持有人为单位（USCC）"),
    "inflow_30d": ("DOUBLE", "近30日流入金额（元）"),
    "outflow_30d": ("DOUBLE", "近30日流出金额（元）"),
    "txn_count_30d": ("BIGINT", "近30日交易笔数"),
    "counterparties_30d": ("BIGINT", "近30日交易对手数"),
    "night_txn_ratio": ("DOUBLE", "夜间交易占比 0–1"),
    "abroad_days_30d": ("BIGINT", "近30日境外天数"),
    "calls_out_7d": ("BIGINT", "近7日主叫次数"),
    "callees_7d": ("BIGINT", "近7日被叫号码数"),
    "sms_out_7d": ("BIGINT", "近7日短信数"),
    "age": ("BIGINT", "持有人在 as_of 日的周岁（由身份证出生日期计算，非身份证为空）"),
    "is_student": ("BOOLEAN", f"持有人 {STUDENT_AGES[0]}–{STUDENT_AGES[1]} 周岁（在校学生年龄段）"),
    "is_elderly": ("BOOLEAN", f"持有人 ≥ {ELDERLY_AGE} 周岁"),
    "far_from_home": ("BOOLEAN", "开户地与户籍地不在同一地市（行政区划代码前4位不同）"),
    "lead_cases": ("BIGINT", "该线索关联的案件数（双向关联）"),
    "lead_loss": ("DOUBLE", "该线索关联案件的损失合计（元）"),
    "holder_cards": ("BIGINT", "同一持有人在本包内的卡/账户数"),
    "holder_cards_7d": ("BIGINT", f"含本条在内，同一持有人 {RAPID_DAYS} 日内开立的卡/账户数（最大窗口）"),
    "holders_on_phone": ("BIGINT", "与本账户共用同一预留手机号的持有人数（全库）"),
    "holders_on_device": ("BIGINT", "与本线索共用同一登录设备/IMEI 的持有人数（全库，取最大）"),
    "burst_at_place": ("BIGINT", f"本包内同一网点 {BURST_DAYS} 日内开户/入网的持有人数（含本条的最大窗口）"),
    "iot_in_phone": ("BOOLEAN", "物联网卡插在手机中（IMEI 也见于个人卡或手机银行登录设备）"),
    "hub_identifiers": ("BIGINT", "本线索的标识中被连接阶段判为枢纽（hub）的个数"),
}

# --- packet features: columns of score_features ------------------------------------------------
# expr: an aggregate over score_leads `l` (grouped by packet), or over the packet's cases /
# hub nodes / roles (see _packet_sql). evidence: predicate over score_leads.
PACKET_FEATURES: tuple[Feature, ...] = (
    Feature("n_leads", "BIGINT", "count(l.lead_seq)", "线索条数"),
    Feature("n_persons", "BIGINT", "count(*) FILTER (p.natural)", "自然人持有人数", "NOT is_company", "p"),
    Feature("n_companies", "BIGINT", "count(*) FILTER (p.company)", "单位持有人数", "is_company", "p"),
    Feature("n_accounts", "BIGINT", "count(*) FILTER (k.lead_kind = 'bank')",
            "银行账户/支付账户数", "lead_kind = 'bank'", "k"),
    Feature("n_sim_cards", "BIGINT", "count(*) FILTER (k.lead_kind = 'sim')",
            "电话卡数（含物联网卡、行业卡）", "lead_kind = 'sim'", "k"),
    Feature("n_iot_cards", "BIGINT", "count(*) FILTER (k.lead_kind = 'sim' AND k.iot)",
            "物联网卡数", "lead_kind = 'sim' AND kind = 'iot'", "k"),
    Feature("n_corporate_accounts", "BIGINT", "count(*) FILTER (k.lead_kind = 'bank' AND k.corporate)",
            "单位名下对公账户数", "kind = 'corporate' AND is_company", "k"),
    Feature("cards_per_holder_max", "BIGINT", "max(l.holder_cards)",
            "单个持有人名下卡/账户数（最大）", "holder_cards >= {t}"),
    Feature("cards_7d_per_holder_max", "BIGINT", "max(l.holder_cards_7d)",
            f"单个持有人 {RAPID_DAYS} 日内开立卡/账户数（最大）", "holder_cards_7d >= {t}"),
    Feature("holders_per_phone_max", "BIGINT", "max(l.holders_on_phone)",
            "同一预留手机号绑定的持有人数（最大，全库）", "holders_on_phone >= {t}"),
    Feature("holders_per_device_max", "BIGINT", "max(l.holders_on_device)",
            "同一设备/IMEI 的持有人数（最大，全库）", "holders_on_device >= {t}"),
    Feature("outlet_burst_max", "BIGINT", "max(l.burst_at_place)",
            f"同一网点 {BURST_DAYS} 日内开卡的持有人数（最大，本包）", "burst_at_place >= {t}"),
    Feature("inflow_sum", "DOUBLE", "sum(l.inflow_30d)", "近30日流入合计（元）", "inflow_30d > 0"),
    Feature("outflow_sum", "DOUBLE", "sum(l.outflow_30d)", "近30日流出合计（元）", "outflow_30d > 0"),
    Feature("settlement_sum", "DOUBLE", "sum(coalesce(l.inflow_30d, 0) + coalesce(l.outflow_30d, 0))",
            "近30日支付结算金额合计（流入+流出，元）", "inflow_30d > 0 OR outflow_30d > 0"),
    Feature("passthrough_ratio", "DOUBLE",
            "CASE WHEN greatest(sum(l.inflow_30d), sum(l.outflow_30d)) > 0 THEN least(sum(l.inflow_30d), "
            "sum(l.outflow_30d)) / greatest(sum(l.inflow_30d), sum(l.outflow_30d)) ELSE 0 END",
            "快进快出比 min(流入,流出)/max(流入,流出)", "inflow_30d > 0 OR outflow_30d > 0"),
    Feature("night_txn_ratio_max", "DOUBLE", "max(l.night_txn_ratio)", "夜间交易占比（最大）",
            "night_txn_ratio >= {t}"),
    Feature("abroad_days_max", "BIGINT", "max(l.abroad_days_30d)", "近30日境外天数（最大）",
            "abroad_days_30d >= {t}"),
    Feature("calls_out_max", "BIGINT", "max(l.calls_out_7d)", "近7日主叫次数（最大）", "calls_out_7d >= {t}"),
    Feature("n_students", "BIGINT", "count(*) FILTER (p.student)", "在校学生年龄段持有人数", "is_student", "p"),
    Feature("n_elderly", "BIGINT", "count(*) FILTER (p.elderly)", "60 岁以上持有人数", "is_elderly", "p"),
    Feature("n_far_from_home", "BIGINT", "count(l.lead_seq) FILTER (l.far_from_home)",
            "异地开户/入网的线索数", "far_from_home"),
    Feature("n_regions", "BIGINT", "count(*)", "开户/入网地（区县）个数", "open_region IS NOT NULL", "r"),
    Feature("n_iot_in_phone", "BIGINT", "count(l.lead_seq) FILTER (l.iot_in_phone)",
            "插在手机中使用的物联网卡数", "iot_in_phone"),
    Feature("n_cases", "BIGINT", "count(DISTINCT c.case_id)", "关联案件数", "lead_cases > 0", "c"),
    Feature("total_loss", "DOUBLE", "sum(c.loss)", "关联案件损失合计（元）", "lead_cases > 0", "c"),
    Feature("n_hub_identifiers", "BIGINT", "count(DISTINCT h.node)", "被判为枢纽的共用标识个数",
            "hub_identifiers > 0", "h"),
    *(Feature(f"role_{role}", "BIGINT", f"count(*) FILTER (g.role = '{role}')",
              f"连接阶段识别的角色 {role} 的节点数", f"list_contains(roles, '{role}')", "g")
      for role in ROLES),
)
PACKET_FEATURE_TYPES: dict[str, str] = {feature.name: feature.sql_type for feature in PACKET_FEATURES}


def active_packets(scope: str | None) -> str:
    """The packets to score: every active one, or those of `scope` (a table of packet ids)."""
    within = f" AND packet_id IN (SELECT packet_id FROM {scope})" if scope else ""
    return f"(SELECT packet_id FROM packet_registry WHERE state = 'active'{within})"


def _lead_base_sql(scope: str | None = None) -> str:
    """Every lead of an active packet (of `scope`), bank and sim in one shape."""
    return f"""
    CREATE OR REPLACE TEMP TABLE score_lead_base AS
    WITH pl AS (
        -- lead_seq: a number per (packet, lead), any unique one (rules never see it); the smallest
        -- rowid needs no global sort (row_number over 1M leads sorted was a third of this step)
        SELECT p.packet_id, p.lead_kind, p.issuer, p.lead_id, min(p.rowid) AS lead_seq
        FROM packet_leads p WHERE p.packet_id IN {active_packets(scope)} GROUP BY ALL
    ), base AS (
        SELECT 'bank' AS lead_kind, issuer, lead_id, _file AS file, _row AS "row", reason, person_key,
               holder_id_type, account_kind AS kind, status, open_channel, account_no,
               CAST(NULL AS VARCHAR) AS msisdn, holder_phone AS reserved_phone, open_date,
               'branch:' || nullif(open_branch, '') AS place, open_region, coalesce(login_device, []) AS devices,
               coalesce(login_ip, []) AS ips, inflow_30d, outflow_30d, txn_count_30d, counterparties_30d,
               night_txn_ratio, CAST(NULL AS BIGINT) AS abroad_days_30d, CAST(NULL AS BIGINT) AS calls_out_7d,
               CAST(NULL AS BIGINT) AS callees_7d, CAST(NULL AS BIGINT) AS sms_out_7d,
               coalesce(case_ids, []) AS case_ids
        FROM bank_leads
        UNION ALL BY NAME
        SELECT 'sim' AS lead_kind, issuer, lead_id, _file AS file, _row AS "row", reason, person_key,
               holder_id_type, card_kind AS kind, status, msisdn, open_date, 'outlet:' || nullif(open_outlet, '') AS place, open_region,
               CASE WHEN imei IS NULL THEN CAST([] AS VARCHAR[]) ELSE [imei] END AS devices,
               abroad_days_30d, calls_out_7d, callees_7d, sms_out_7d, coalesce(case_ids, []) AS case_ids
        FROM sim_leads
    )
    SELECT pl.packet_id, pl.lead_seq, b.*, b.holder_id_type = 'USCC' AS is_company,
           coalesce(b.account_no, b.msisdn) AS card
    FROM pl JOIN base b USING (lead_kind, issuer, lead_id)
    """


def _lead_nodes_sql() -> str:
    """The graph nodes each lead touches (same keys as linking) that scoring asks about: hubs and
    nodes with a role other than member. Filtering before DISTINCT keeps a few percent of the
    ~5 nodes a lead touches; the distinct pairs of all of them cost 5 s at 1M leads."""
    return f"""
    CREATE OR REPLACE TEMP TABLE score_lead_nodes AS
    SELECT DISTINCT lead_seq, node FROM (
        SELECT lead_seq, unnest([CASE WHEN is_company THEN 'company:' ELSE 'person:' END || person_key,
                                 'account:' || account_no, 'phone:' || msisdn, 'phone:' || reserved_phone,
                                 place])
               AS node FROM score_lead_base
        UNION ALL SELECT lead_seq, 'device:' || unnest(devices) FROM score_lead_base
        UNION ALL SELECT lead_seq, 'ip:' || unnest(ips) FROM score_lead_base
        UNION ALL SELECT lead_seq, 'case:' || unnest(case_ids) FROM score_lead_base
    ) WHERE node IN (SELECT node FROM link_hubs UNION SELECT node FROM group_roles WHERE role IN {ROLES})
    """


def _lead_cases_sql() -> str:
    """Cases linked to each lead, in both directions (contract §1: both count)."""
    return """
    CREATE OR REPLACE TEMP TABLE score_lead_cases AS
    WITH case_idents AS (
        SELECT case_id, unnest(coalesce(accounts, [])) AS ident, 'account' AS ident_kind FROM cases
        UNION ALL SELECT case_id, unnest(coalesce(phones, [])), 'phone' FROM cases
    )
    SELECT DISTINCT lead_seq, case_id FROM (
        SELECT lead_seq, unnest(case_ids) AS case_id FROM score_lead_base
        UNION ALL SELECT b.lead_seq, c.case_id FROM score_lead_base b
            JOIN case_idents c ON c.ident_kind = 'account' AND c.ident = b.account_no
        UNION ALL SELECT b.lead_seq, c.case_id FROM score_lead_base b
            JOIN case_idents c ON c.ident_kind = 'phone' AND c.ident = b.msisdn
        UNION ALL SELECT b.lead_seq, c.case_id FROM score_lead_base b
            JOIN case_idents c ON c.ident_kind = 'phone' AND c.ident = b.reserved_phone
    )
    """


def _window_sql(name: str, count: str, partition: str, days: int) -> str:
    """Largest count in any `days`-day window of one partition that contains the lead.

    First the window starting at each lead, then the max over starts up to days-1
    before it: a lead is cited exactly when some qualifying window holds it.
    """
    return f"""
    {name}_start AS (
        SELECT s.lead_seq, s.packet_id, s.open_date, {', '.join('s.' + p for p in partition.split(', '))},
               {count} AS n
        FROM score_lead_base s JOIN score_lead_base o ON o.packet_id = s.packet_id
             AND {' AND '.join(f'o.{p} = s.{p}' for p in partition.split(', '))}
             AND o.open_date BETWEEN s.open_date AND s.open_date + {days - 1}
        GROUP BY ALL
    ), {name} AS (
        SELECT lead_seq, max(n) OVER (PARTITION BY packet_id, {partition} ORDER BY open_date
                                      RANGE BETWEEN INTERVAL {days - 1} DAYS PRECEDING AND CURRENT ROW) AS {name}
        FROM {name}_start
    )"""


def _leads_sql(as_of: date) -> str:
    """score_leads: the lead features, from the base, cases, windows, identifiers and roles."""
    low, high = STUDENT_AGES
    return f"""
    CREATE OR REPLACE TEMP TABLE score_leads AS
    WITH phone_holders AS (
        -- counted over the whole warehouse (INPUTS_SQL), for the reserved phones of the scored leads
        SELECT substr(key, 7) AS phone, CAST(value AS BIGINT) AS n FROM {INPUTS}
        WHERE key LIKE 'phone:%' AND substr(key, 7) IN (SELECT reserved_phone FROM score_lead_base)
    ), device_holders AS (
        SELECT substr(key, 8) AS device, CAST(value AS BIGINT) AS n FROM {INPUTS}
        WHERE key LIKE 'device:%' AND substr(key, 8) IN (SELECT unnest(devices) FROM score_lead_base)
    ), lead_device AS (
        SELECT b.lead_seq, max(d.n) AS n
        FROM (SELECT lead_seq, unnest(devices) AS device FROM score_lead_base) b
        JOIN device_holders d USING (device) GROUP BY 1
    ), iot_phone AS (
        SELECT DISTINCT b.lead_seq FROM (
            SELECT lead_seq, 'inphone:' || unnest(devices) AS key FROM score_lead_base
            WHERE lead_kind = 'sim' AND kind = 'iot') b
        JOIN {INPUTS} USING (key)
    ), cases_per_lead AS (
        SELECT lc.lead_seq, count(*) AS n, sum(coalesce(c.loss, 0)) AS loss
        FROM score_lead_cases lc LEFT JOIN cases c USING (case_id) GROUP BY 1
    ), hubs_per_lead AS (
        SELECT n.lead_seq, count(*) AS n FROM score_lead_nodes n JOIN link_hubs h ON h.node = n.node GROUP BY 1
    ), roles_per_lead AS (
        SELECT n.lead_seq, list(DISTINCT g.role ORDER BY g.role) AS roles
        FROM score_lead_base b JOIN score_lead_nodes n USING (lead_seq)
        JOIN group_roles g ON g.packet_id = b.packet_id AND g.node = n.node
        WHERE g.role IN {ROLES} GROUP BY 1
    ), holder_cards AS (
        SELECT packet_id, person_key, count(DISTINCT card) AS n FROM score_lead_base GROUP BY ALL
    ), births AS (
        SELECT lead_seq, CAST(try_strptime(substr(person_key, 7, 8), '%Y%m%d') AS DATE) AS birth
        FROM score_lead_base WHERE holder_id_type = 'RIC'
    ), {_window_sql('cards7', 'count(DISTINCT o.card)', 'person_key', RAPID_DAYS)},
    {_window_sql('burst', 'count(DISTINCT o.person_key)', 'place', BURST_DAYS)}
    SELECT b.*,
           CASE WHEN bi.birth <= DATE '{as_of.isoformat()}'
                THEN date_sub('year', bi.birth, DATE '{as_of.isoformat()}') END AS age,
           coalesce(age BETWEEN {low} AND {high}, FALSE) AS is_student,
           coalesce(age >= {ELDERLY_AGE}, FALSE) AS is_elderly,
           coalesce(b.holder_id_type = 'RIC' AND substr(b.open_region, 1, 4) <> substr(b.person_key, 1, 4), FALSE)
               AS far_from_home,
           coalesce(cl.n, 0) AS lead_cases, coalesce(cl.loss, 0) AS lead_loss,
           coalesce(hc.n, 0) AS holder_cards,
           coalesce(c7.cards7, 1) AS holder_cards_7d,
           coalesce(ph.n, 0) AS holders_on_phone, coalesce(ld.n, 0) AS holders_on_device,
           coalesce(bu.burst, 0) AS burst_at_place,
           ip.lead_seq IS NOT NULL AS iot_in_phone,
           coalesce(hl.n, 0) AS hub_identifiers, coalesce(rl.roles, CAST([] AS VARCHAR[])) AS roles
    FROM score_lead_base b
    LEFT JOIN births bi USING (lead_seq) LEFT JOIN cases_per_lead cl USING (lead_seq)
    LEFT JOIN cards7 c7 USING (lead_seq) LEFT JOIN burst bu USING (lead_seq)
    LEFT JOIN phone_holders ph ON ph.phone = b.reserved_phone LEFT JOIN lead_device ld USING (lead_seq)
    LEFT JOIN hubs_per_lead hl USING (lead_seq) LEFT JOIN roles_per_lead rl USING (lead_seq)
    LEFT JOIN iot_phone ip USING (lead_seq)
    LEFT JOIN holder_cards hc ON hc.packet_id = b.packet_id AND hc.person_key = b.person_key
    """


def _packet_sql(scope: str | None = None) -> str:
    """score_features: one row per active packet (of `scope`); no lead or no data means 0, never NULL."""
    sources = sorted({f.source for f in PACKET_FEATURES})
    columns = [f"CAST(coalesce({f.source}_agg.{f.name}, 0) AS {f.sql_type}) AS {f.name}" for f in PACKET_FEATURES]

    def agg(source: str) -> str:
        return ", ".join(f"{f.expr} AS {f.name}" for f in PACKET_FEATURES if f.source == source)

    rows = {
        "l": "score_leads l",
        # one row per holder, per card and per open region of a packet (see Feature)
        "p": """(SELECT packet_id, person_key, bool_or(NOT is_company) AS natural, bool_or(is_company) AS company,
                        bool_or(is_student) AS student, bool_or(is_elderly) AS elderly
                 FROM score_leads GROUP BY ALL) p""",
        "k": """(SELECT packet_id, lead_kind, card, bool_or(kind = 'iot') AS iot,
                        bool_or(kind = 'corporate' AND is_company) AS corporate
                 FROM score_leads GROUP BY ALL) k""",
        "r": "(SELECT DISTINCT packet_id, open_region FROM score_leads WHERE open_region IS NOT NULL) r",
        "c": """(SELECT DISTINCT b.packet_id, lc.case_id, k.loss FROM score_lead_cases lc
                 JOIN score_lead_base b USING (lead_seq) LEFT JOIN cases k USING (case_id)) c""",
        "h": """(SELECT b.packet_id, n.node FROM score_lead_nodes n JOIN link_hubs h USING (node)
                 JOIN score_lead_base b USING (lead_seq)) h""",
        "g": f"""(SELECT DISTINCT packet_id, node, role FROM group_roles WHERE role IN {ROLES}
                  AND packet_id IN (SELECT packet_id FROM active)) g""",
    }
    ctes = ",\n    ".join(f"{src}_agg AS (SELECT {src}.packet_id, {agg(src)} FROM {rows[src]} GROUP BY 1)"
                          for src in sources)
    joins = " ".join(f"LEFT JOIN {src}_agg USING (packet_id)" for src in sources)
    return f"""
    CREATE OR REPLACE TEMP TABLE score_features AS
    WITH active AS {active_packets(scope)},
    {ctes}
    SELECT a.packet_id, {', '.join(columns)}
    FROM active a {joins}
    ORDER BY a.packet_id
    """


def feature_sql(as_of: date, scope: str | None = None) -> list[str]:
    """The statements that build the feature tables, in order (pure: no connection needed).

    `scope` (a table of packet ids) limits them to those packets: a night scores only the
    packets whose inputs changed (`scope.py`)."""
    return [_lead_base_sql(scope), _lead_nodes_sql(), _lead_cases_sql(), _leads_sql(as_of), _packet_sql(scope)]


def build_features(con: duckdb.DuckDBPyConnection, as_of: date, scope: str | None = None,
                   inputs_ready: bool = False) -> None:
    """Run `feature_sql` on `con`: leaves TEMP tables score_leads and score_features.

    `inputs_ready`: TEMP score_inputs_now was built tonight already (scope.choose_scope does)."""
    if not inputs_ready:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {INPUTS} AS {INPUTS_SQL}")
    for statement in feature_sql(as_of, scope):
        con.execute(statement)


def drop_feature_tables(con: duckdb.DuckDBPyConnection, keep_inputs: bool = False) -> None:
    """Free the feature tables (TEMP tables stay in DuckDB's memory until dropped); `keep_inputs`:
    all but INPUTS, between two batches of one night."""
    for table in BATCH_TABLES if keep_inputs else FEATURE_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")


_ZERO = {"VARCHAR": "''", "BIGINT": "0", "DOUBLE": "0.0", "BOOLEAN": "FALSE"}


def create_empty_feature_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Correctly typed, empty score_leads and score_features: rules are bound against them at load.

    Also `*_probe` copies holding one all-zero row, so a condition that fails on
    any value at all (a bad cast of a constant) is refused at load, not at night.
    """
    columns = {
        "score_leads": [(name, sql_type) for name, (sql_type, _) in LEAD_FEATURES.items()],
        "score_features": [(f.name, f.sql_type) for f in PACKET_FEATURES],
    }
    for table, cols in columns.items():
        ddl = ", ".join(f'"{name}" {sql_type}' for name, sql_type in cols)
        zeros = ", ".join(_ZERO[sql_type] for _, sql_type in cols)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (packet_id VARCHAR, {ddl})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_probe AS SELECT * FROM {table}")
        con.execute(f"INSERT INTO {table}_probe VALUES ('probe', {zeros})")
