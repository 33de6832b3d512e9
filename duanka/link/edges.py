"""SQL that turns the clean lead tables into the lead graph's edges.

Every edge is first written as an *incidence*: one row per (lead node,
identifier node) with the context of the lead that claims it: the holder
(`person_key`), when the card/account was opened and where (branch or
outlet). The hub rule (`hubs.py`) needs that context, because fan-out alone
does not tell a carrier NAT address from a SIM box. Connecting edges are then
the incidences whose identifiers are not hubs.

Decision on case lists (`cases.accounts`, `cases.phones`): they link a case
only to accounts and phones that exist as lead nodes (a bank `account_no`, a
bank `holder_phone` or a SIM `msisdn`). An identifier that is in no lead has
no holder, so its fan-out cannot be judged, and a scam call number quoted in
hundreds of cases would otherwise glue unrelated groups through nodes nobody
can act on. The edge still carries the lead's holder, so cases take part in
the hub rule like any other identifier.

All current leads count (the whole loaded history, not only tonight's files);
older versions of re-issued leads in `*_history` do not.
"""
from __future__ import annotations

from duanka.link.runner import Step

INCIDENCE = "link_incidence"
EDGES = "link_edges"

# Holder node from the lead's id type: companies are their own node kind.
_HOLDER = "CASE WHEN {t}.holder_id_type = 'USCC' THEN 'company:' ELSE 'person:' END || {t}.person_key"

_BANK_CONTEXT = (
    "'bank' AS lead_kind, b.issuer, b.lead_id, b.person_key, b.open_date, "
    "'branch:' || nullif(b.open_branch, '') AS place"
)
_SIM_CONTEXT = (
    "'sim' AS lead_kind, s.issuer, s.lead_id, s.person_key, s.open_date, "
    "'outlet:' || nullif(s.open_outlet, '') AS place"
)


def _bank_incidence(bank: str = "bank_leads") -> str:
    holder = _HOLDER.format(t="b")
    account = "'account:' || b.account_no"
    return f"""
    SELECT {account} AS lead_node, {holder} AS node, 'holds' AS kind, {_BANK_CONTEXT}, NULL AS via_case
      FROM {bank} b
    UNION ALL
    SELECT {account}, 'phone:' || b.holder_phone, 'reserved_phone', {_BANK_CONTEXT}, NULL
      FROM {bank} b WHERE nullif(b.holder_phone, '') IS NOT NULL
    UNION ALL
    SELECT {account}, 'device:' || d.value, 'login_device', {_BANK_CONTEXT}, NULL
      FROM {bank} b, unnest(b.login_device) AS d(value) WHERE nullif(d.value, '') IS NOT NULL
    UNION ALL
    SELECT {account}, 'ip:' || i.value, 'login_ip', {_BANK_CONTEXT}, NULL
      FROM {bank} b, unnest(b.login_ip) AS i(value) WHERE nullif(i.value, '') IS NOT NULL
    UNION ALL
    SELECT {account}, 'case:' || c.value, 'case_link', {_BANK_CONTEXT}, NULL
      FROM {bank} b, unnest(b.case_ids) AS c(value) WHERE nullif(c.value, '') IS NOT NULL"""


def _sim_incidence(sim: str = "sim_leads") -> str:
    holder = _HOLDER.format(t="s")
    phone = "'phone:' || s.msisdn"
    return f"""
    SELECT {phone} AS lead_node, {holder} AS node, 'holds' AS kind, {_SIM_CONTEXT}, NULL AS via_case
      FROM {sim} s
    UNION ALL
    SELECT {phone}, 'device:' || s.imei, 'imei', {_SIM_CONTEXT}, NULL
      FROM {sim} s WHERE nullif(s.imei, '') IS NOT NULL
    UNION ALL
    SELECT {phone}, 'case:' || c.value, 'case_link', {_SIM_CONTEXT}, NULL
      FROM {sim} s, unnest(s.case_ids) AS c(value) WHERE nullif(c.value, '') IS NOT NULL"""


def _case_incidence(cases: str = "cases", bank: str = "bank_leads", sim: str = "sim_leads") -> str:
    """Both directions count: the case's own account and phone lists, joined to the leads they name.

    `via_case` names the case whose list made the row, so that a re-issued case's rows can be
    replaced on a later night without touching the leads'."""
    return f"""
    SELECT 'account:' || b.account_no AS lead_node, 'case:' || k.case_id AS node, 'case_link' AS kind,
           {_BANK_CONTEXT}, k.case_id AS via_case
      FROM {cases} k, unnest(k.accounts) AS a(value) JOIN {bank} b ON b.account_no = a.value
    UNION ALL
    SELECT 'phone:' || s.msisdn, 'case:' || k.case_id, 'case_link', {_SIM_CONTEXT}, k.case_id
      FROM {cases} k, unnest(k.phones) AS p(value) JOIN {sim} s ON s.msisdn = p.value
    UNION ALL
    SELECT 'phone:' || b.holder_phone, 'case:' || k.case_id, 'case_link', {_BANK_CONTEXT}, k.case_id
      FROM {cases} k, unnest(k.phones) AS p(value) JOIN {bank} b ON b.holder_phone = p.value"""


def incidence_sql(bank: str = "bank_leads", sim: str = "sim_leads", cases: str = "cases") -> str:
    """Incidence rows of the leads in `bank`/`sim` and of the cases in `cases`, in both directions.

    With the defaults: every current lead. With tonight's touched leads and cases (see
    `incremental.py`): the rows they claim, including those of an old case naming a new lead
    and of a new case naming an old lead."""
    lead_side = f"{_bank_incidence(bank)} UNION ALL {_sim_incidence(sim)}"
    if (bank, sim, cases) == ("bank_leads", "sim_leads", "cases"):
        case_side = _case_incidence()
    else:
        case_side = f"{_case_incidence(cases, 'bank_leads', 'sim_leads')} UNION ALL {_case_incidence('cases', bank, sim)}"
    return f"SELECT DISTINCT * FROM ({lead_side} UNION ALL {case_side})"


def incidence_step() -> Step:
    """Every (lead node, identifier node, edge kind) claim with the claiming lead's context, rebuilt.

    `link_incidence` is kept between nights, so that a night only replaces the rows of the
    leads and cases it touched (`incremental.py`)."""
    sql = f"""DELETE FROM {INCIDENCE};
    INSERT INTO {INCIDENCE} {incidence_sql()}"""
    return Step("incidence", sql, INCIDENCE)


def edge_rows_sql(hubs_table: str, where: str = "TRUE") -> str:
    """Connecting edges from the incidence rows matching `where` (alias `i`)."""
    return f"""SELECT DISTINCT least(i.lead_node, i.node) AS src, greatest(i.lead_node, i.node) AS dst, i.kind
      FROM {INCIDENCE} i
     WHERE ({where}) AND (i.kind = 'holds'
        OR (i.node NOT IN (SELECT node FROM {hubs_table})
            AND i.lead_node NOT IN (SELECT node FROM {hubs_table})))"""


def edges_step(hubs_table: str) -> Step:
    """Connecting edges: incidences not touching a hub, stored once per unordered pair and kind.

    A hub keeps its `holds` edge (a SIM card in a holder's name is ownership,
    not sharing), but stops connecting anything else.
    """
    sql = f"""
    DELETE FROM {EDGES};
    INSERT INTO {EDGES} {edge_rows_sql(hubs_table)} ORDER BY src, dst, kind;"""
    return Step("edges", sql, EDGES)
