"""SQL for the groups of one holder: roles, centrality, bridges and layout without NetworkX.

Most groups are one person (or company) with their own accounts and cards
(about 87 % of the generator's groups). Their roles need no graph search:
no phone or device there binds other holders, so there is no collector, card
farmer or organiser; the holder is a shell company when it is a company,
every other node a member, and a branch/outlet is rogue on the same burst
test as in `roles.py`. Every node of such a group is at most two hops from
the holder (holder - account/card - identifier), so

* when the group is a tree (edges = nodes - 1), betweenness has a closed
  form from degrees: the holder's is the sum over pairs of its branches
  (sizes = the items' degrees), an item's is the pairs it separates (its leaves
  from the rest), an identifier's is 0; normalised as NetworkX does,
  2 * B / ((n - 1)(n - 2)); every edge is a bridge;
* otherwise (a holder whose own phone is both a SIM card and the reserved
  phone of an account: a cycle) `smallgraph.py` computes betweenness and
  bridges, but roles and layout still come from here;
* the picture is radial: the holder in the middle, its accounts and cards on
  a ring, each other node beside its first neighbour on the outer ring.

These produce the same roles and centrality as `roles.analyse_group` (tested
against it); only the layout differs (a radial picture instead of a spring).
"""
from __future__ import annotations

from duanka.link.roles import ROGUE_MIN_CARDS, ROGUE_WINDOW_DAYS

REFRESH = "_link_refresh"
SHAPE = "_link_shape"
PEDGES = "_link_pedges"
CARDS = "_link_cards"
CENTRALITY = "_link_centrality"

_IS_HOLDER = "regexp_matches({c}, '^(person|company):')"


def shape_sql() -> str:
    """Per refreshed packet: holders, nodes and distinct undirected edges (NetworkX's simple graph)."""
    return f"""CREATE OR REPLACE TEMP TABLE {SHAPE} AS
    SELECT m.packet_id, count(*) FILTER (WHERE {_IS_HOLDER.format(c='m.node')}) AS holders,
           count(*) AS nodes, coalesce(any_value(e.edges), 0) AS edges
      FROM packet_members m SEMI JOIN {REFRESH} USING (packet_id)
      LEFT JOIN (SELECT packet_id, count(*) AS edges FROM {PEDGES} GROUP BY packet_id) e USING (packet_id)
     GROUP BY m.packet_id"""


def pedges_sql() -> str:
    """Distinct connecting edges (src < dst) of every refreshed packet."""
    return f"""CREATE OR REPLACE TEMP TABLE {PEDGES} AS
    SELECT DISTINCT m.packet_id, e.src, e.dst
      FROM link_edges e
      JOIN (SELECT * FROM packet_members SEMI JOIN {REFRESH} USING (packet_id)) m ON m.node = e.src"""


def tree_centrality_sql() -> str:
    """Closed-form betweenness of one-holder trees, appended to `_link_centrality`."""
    return f"""INSERT INTO {CENTRALITY}
    WITH tree AS (
        SELECT packet_id, nodes AS n FROM {SHAPE} WHERE holders = 1 AND edges = nodes - 1
    ), ends AS (
        SELECT e.packet_id, e.src AS node, e.dst AS other FROM {PEDGES} e SEMI JOIN tree USING (packet_id)
        UNION ALL
        SELECT e.packet_id, e.dst, e.src FROM {PEDGES} e SEMI JOIN tree USING (packet_id)
    ), deg AS (
        SELECT packet_id, node, count(*) AS d, bool_or({_IS_HOLDER.format(c='other')}) AS item,
               {_IS_HOLDER.format(c='node')} AS holder
          FROM ends GROUP BY packet_id, node
    ), items AS (
        SELECT packet_id, sum(d * d) AS s2 FROM deg WHERE item GROUP BY packet_id
    ), raw AS (
        SELECT d.packet_id, d.node, t.n,
               CASE WHEN d.holder THEN ((t.n - 1) * (t.n - 1) - i.s2) / 2.0
                    WHEN d.item THEN ((t.n - 1) * (t.n - 1) - (d.d - 1) - (t.n - d.d) * (t.n - d.d)) / 2.0
                    ELSE 0.0 END AS b
          FROM deg d JOIN tree t USING (packet_id) JOIN items i USING (packet_id)
    )
    SELECT packet_id, node,
           CASE WHEN n > 2 THEN round(2.0 * b / ((n - 1) * (n - 2)), 6) ELSE 0.0 END AS score
      FROM raw"""


def tree_bridges_sql() -> str:
    """In a tree every edge is a bridge."""
    return f"""INSERT INTO group_bridges
    SELECT e.packet_id, e.src, e.dst FROM {PEDGES} e
     SEMI JOIN (SELECT packet_id FROM {SHAPE} WHERE holders = 1 AND edges = nodes - 1) USING (packet_id)
     ORDER BY e.packet_id, e.src, e.dst"""


def solo_roles_sql() -> str:
    """Roles of one-holder packets: shell company, member, and rogue outlets by the burst test."""
    window = f"RANGE BETWEEN CURRENT ROW AND INTERVAL {ROGUE_WINDOW_DAYS - 1} DAY FOLLOWING"
    return f"""INSERT INTO group_roles
    WITH solo AS (SELECT packet_id FROM {SHAPE} WHERE holders = 1),
    cards AS (SELECT c.* FROM {CARDS} c SEMI JOIN solo USING (packet_id)),
    bursts AS (
        SELECT packet_id, place, count(*) OVER (PARTITION BY packet_id, place ORDER BY open_date {window}) AS n
          FROM cards WHERE place IS NOT NULL
    ), places AS (
        SELECT b.packet_id, b.place, max(b.n) AS burst,
               any_value(p.cards) / any_value(t.cards) AS share
          FROM bursts b
          JOIN (SELECT packet_id, place, count(*) AS cards FROM cards GROUP BY ALL) p USING (packet_id, place)
          JOIN (SELECT packet_id, count(*) AS cards FROM cards GROUP BY ALL) t USING (packet_id)
         GROUP BY b.packet_id, b.place
    )
    SELECT c.packet_id, c.node,
           CASE WHEN c.node LIKE 'company:%' THEN 'shell_company' ELSE 'member' END, c.score
      FROM {CENTRALITY} c SEMI JOIN solo USING (packet_id)
    UNION ALL
    SELECT packet_id, place, CASE WHEN burst >= {ROGUE_MIN_CARDS} THEN 'rogue_outlet' ELSE 'member' END,
           CASE WHEN burst >= {ROGUE_MIN_CARDS} THEN round(share, 6) ELSE 0.0 END
      FROM places
    ORDER BY 1, 2"""


def solo_layout_sql(packets: str = f"SELECT packet_id FROM {SHAPE} WHERE holders = 1",
                    edges: str = PEDGES, cards: str = CARDS) -> str:
    """Radial picture: holder at the centre, its items on ring 1, the rest beside their first item.

    `packets` selects the one-holder packets to draw; the caller runs it in chunks, because the
    window functions over one night of millions of groups spilled and took 545 s at 5M leads.
    `edges` and `cards` (tables or parenthesised queries shaped like PEDGES and CARDS) may hold just
    the chunk's rows, so a chunk does not scan the whole night's."""
    return f"""INSERT INTO group_layout
    WITH solo AS ({packets}),
    picture AS MATERIALIZED (
        SELECT e.packet_id, e.src AS a, e.dst AS b FROM {edges} e SEMI JOIN solo USING (packet_id)
        UNION ALL
        SELECT e.packet_id, e.dst, e.src FROM {edges} e SEMI JOIN solo USING (packet_id)
        UNION ALL
        SELECT DISTINCT c.packet_id, c.node, c.place FROM {cards} c SEMI JOIN solo USING (packet_id)
         WHERE c.place IS NOT NULL
        UNION ALL
        SELECT DISTINCT c.packet_id, c.place, c.node FROM {cards} c SEMI JOIN solo USING (packet_id)
         WHERE c.place IS NOT NULL
    ), holder AS MATERIALIZED (
        SELECT DISTINCT packet_id, a AS node FROM picture WHERE {_IS_HOLDER.format(c='a')}
    ), ring1 AS MATERIALIZED (
        SELECT p.packet_id, p.b AS node,
               row_number() OVER (PARTITION BY p.packet_id ORDER BY p.b) - 1 AS i,
               count(*) OVER (PARTITION BY p.packet_id) AS n1
          FROM picture p JOIN holder h ON h.packet_id = p.packet_id AND h.node = p.a
    ), outer_nodes AS (
        SELECT p.packet_id, p.a AS node, min(r.node) AS parent
          FROM picture p
          LEFT JOIN ring1 r ON r.packet_id = p.packet_id AND r.node = p.b
          ANTI JOIN holder h ON h.packet_id = p.packet_id AND h.node = p.a
          ANTI JOIN ring1 r1 ON r1.packet_id = p.packet_id AND r1.node = p.a
         GROUP BY p.packet_id, p.a
    ), ring2 AS (
        SELECT o.packet_id, o.node, r.i, r.n1,
               row_number() OVER (PARTITION BY o.packet_id, o.parent ORDER BY o.node) - 1 AS j,
               count(*) OVER (PARTITION BY o.packet_id, o.parent) AS m
          FROM outer_nodes o LEFT JOIN ring1 r ON r.packet_id = o.packet_id AND r.node = o.parent
    ), polar AS (
        SELECT packet_id, node, 0.0 AS radius, 0.0 AS angle FROM holder
        UNION ALL
        SELECT packet_id, node, 1.0, 2 * pi() * i / n1 FROM ring1
        UNION ALL
        SELECT packet_id, node, 2.0,
               2 * pi() * (coalesce(i, 0) + 0.8 * ((j + 0.5) / m - 0.5)) / coalesce(n1, 1) FROM ring2
    ), xy AS (
        SELECT packet_id, node, radius * cos(angle) AS x, radius * sin(angle) AS y FROM polar
    ), box AS (
        SELECT packet_id, min(x) AS x0, max(x) AS x1, min(y) AS y0, max(y) AS y1 FROM xy GROUP BY packet_id
    )
    SELECT packet_id, node,
           CASE WHEN x1 - x0 > 1e-9 THEN round((x - x0) / (x1 - x0), 6) ELSE 0.5 END,
           CASE WHEN y1 - y0 > 1e-9 THEN round((y - y0) / (y1 - y0), 6) ELSE 0.5 END
      FROM xy JOIN box USING (packet_id)
     ORDER BY packet_id, node"""
