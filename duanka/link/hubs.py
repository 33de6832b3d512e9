"""Which shared identifiers stop connecting (hubs), judged by fan-out *and* context.

Fan-out is the number of distinct holders (`person_key`) whose leads claim an
identifier. Over the per-kind limit (`LinkingSettings.hub_fan_out`) it is a
hub, unless the holders' cards look like one batch:

* tight burst: at least `share` (80 %) of the holders' cards were opened
  within `burst_days` (3) days of each other. A SIM box (GOIP) holds 25–40
  cards in unrelated people's names, opened within a day or two;
* outlet burst: at least `share` of the holders' cards were opened at one
  branch/outlet *and* within `outlet_days` (14) days: a gang walking its card
  farmers through one agent over a fortnight.

A branch tablet or a carrier NAT address sees customers whose accounts were
opened over years (and, for the NAT address, at many branches): no burst,
so it stays a hub. Above `cap_factor` (4) times the limit an identifier is a
hub whatever its context: no batch of cards that size is one group one can
act on, and a very busy NAT address can have a busy week.

Under the limit the same context works the other way round: from
`spread_from` holders on (per kind, by default devices and IPs only), an
identifier whose holders' cards were opened far apart (fewer than `share` of
them within `spread_days`, 90, days of each other) is a hub. Measured on
generator worlds: a NAT address or branch tablet reaches 20-30 holders on its
first night, under the limit, and glued up to 26 innocent groups into one
packet (pairwise precision 0.16); a gang's sellers open their cards within
weeks of each other, so its shared devices and addresses keep connecting.
Phones and cases are left out by default: a collector phone may be the
reserved phone of old accounts bought from sellers over years.

Each holder counts once, with the opening date and place of their earliest
card that claims the identifier. Branches and outlets themselves never
connect (see `edges.py`); they only give context here and roles later.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from duanka.link.edges import INCIDENCE
from duanka.link.runner import Step
from duanka.settings import LinkingSettings

HUBS = "link_hubs"
HUB_HOLDERS = "_link_hub_holders"


@dataclass(frozen=True)
class HubRule:
    """Context thresholds of the hub rule (`linking.hub_context` in the admin settings)."""

    # Defaults are the admin settings' defaults: one place to change them.
    burst_days: int = LinkingSettings.burst_days
    outlet_days: int = LinkingSettings.outlet_days
    share: float = LinkingSettings.share
    cap_factor: int = LinkingSettings.cap_factor
    spread_days: int = LinkingSettings.spread_days
    spread_from: dict[str, int] = field(default_factory=lambda: dict(LinkingSettings().spread_from))

    @classmethod
    def from_settings(cls, settings: LinkingSettings) -> HubRule:
        return cls(settings.burst_days, settings.outlet_days, settings.share, settings.cap_factor,
                   settings.spread_days, dict(settings.spread_from))


def _limits_values(limits: dict[str, int], spread_from: dict[str, int]) -> str:
    """Per kind: the fan-out limit, and the fan-out from which spread-out holders make a hub (NULL: never)."""
    rows = ", ".join(
        f"('{kind}', {int(limit)}, {int(spread_from[kind]) if kind in spread_from else 'NULL'})"
        for kind, limit in sorted(limits.items())
    )
    return f"(VALUES {rows}) AS lim(node_kind, fan_limit, spread_from)"


def holders_step(limits: dict[str, int], scope: str | None = None) -> Step:
    """One row per (identifier of a hub kind, distinct holder) with the holder's earliest card.

    `scope` (a table with a `node` column) limits it to those identifiers: a night judges again
    only the identifiers whose incidence rows it changed."""
    kinds = ", ".join(f"'{kind}'" for kind in sorted(limits))
    node_in = f"AND node IN (SELECT node FROM {scope})" if scope else ""
    lead_in = f"WHERE lead_node IN (SELECT node FROM {scope})" if scope else ""
    sql = f"""CREATE OR REPLACE TEMP TABLE {HUB_HOLDERS} AS
    WITH claims AS (
        SELECT node AS ident, person_key, open_date, place FROM {INCIDENCE} WHERE kind <> 'holds' {node_in}
        UNION ALL
        SELECT lead_node, person_key, open_date, place FROM {INCIDENCE} {lead_in}
    )
    SELECT ident, split_part(ident, ':', 1) AS node_kind, person_key,
           min(open_date) AS open_date, arg_min(place, open_date) AS place
      FROM claims
     WHERE split_part(ident, ':', 1) IN ({kinds})
     GROUP BY ident, person_key"""
    return Step("hub_holders", sql, HUB_HOLDERS)


def _window_max(days: int, partition: str) -> str:
    """Most holders whose cards were opened within `days` days of one another (densest window)."""
    return (
        f"count(*) OVER (PARTITION BY {partition} ORDER BY open_date "
        f"RANGE BETWEEN CURRENT ROW AND INTERVAL {max(days - 1, 0)} DAY FOLLOWING)"
    )


def hubs_step(limits: dict[str, int], rule: HubRule = HubRule(), scope: str | None = None) -> Step:
    """Rewrite `link_hubs` (of the `scope` identifiers only, when given: `holders_step` had the same
    scope): over-limit identifiers without batch context, spread-out ones under it."""
    share = float(rule.share)
    where = f" WHERE node IN (SELECT node FROM {scope})" if scope else ""
    sql = f"""
    DELETE FROM {HUBS}{where};
    INSERT INTO {HUBS}
    WITH fan AS (
        SELECT h.ident, h.node_kind, count(*) AS fan_out, any_value(lim.fan_limit) AS fan_limit
          FROM {HUB_HOLDERS} h JOIN {_limits_values(limits, rule.spread_from)} USING (node_kind)
         GROUP BY h.ident, h.node_kind
        HAVING count(*) > any_value(lim.fan_limit) OR count(*) >= any_value(lim.spread_from)
    ), over AS (
        SELECT h.* FROM {HUB_HOLDERS} h SEMI JOIN fan USING (ident)
    ), burst AS (
        SELECT ident, max(n) AS burst FROM (
            SELECT ident, {_window_max(rule.burst_days, 'ident')} AS n FROM over) GROUP BY ident
    ), campaign AS (
        SELECT ident, max(n) AS campaign FROM (
            SELECT ident, {_window_max(rule.spread_days, 'ident')} AS n FROM over) GROUP BY ident
    ), outlet AS (
        SELECT ident, max(n) AS outlet_burst FROM (
            SELECT ident, {_window_max(rule.outlet_days, 'ident, place')} AS n
              FROM over WHERE place IS NOT NULL) GROUP BY ident
    )
    SELECT f.ident AS node, f.node_kind, f.fan_out
      FROM fan f JOIN burst b USING (ident) JOIN campaign c USING (ident) LEFT JOIN outlet o USING (ident)
     WHERE (f.fan_out > f.fan_limit
            AND (f.fan_out > {int(rule.cap_factor)} * f.fan_limit
                 OR NOT (b.burst >= {share} * f.fan_out OR coalesce(o.outlet_burst, 0) >= {share} * f.fan_out)))
        OR (f.fan_out <= f.fan_limit AND c.campaign < {share} * f.fan_out)
     ORDER BY node;"""
    return Step("hubs", sql, HUBS)
