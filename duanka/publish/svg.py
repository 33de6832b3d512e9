"""The packet's network picture as inline SVG: no script, no fonts to fetch, prints as vectors.

Positions come from `group_layout` (deterministic, in [0,1]), so the picture of
an unchanged packet is byte-identical night after night. Roles are colours,
identifier kinds are shapes. Past ~40 nodes the nodes shrink and only people
with a key role keep a label; every node keeps a tooltip with its full value.
"""
from __future__ import annotations

import math
from functools import lru_cache
from html import escape

from duanka.publish import labels as L

WIDTH, HEIGHT, MARGIN, LEGEND = 760, 480, 36, 58
LABEL_LIMIT = 40

ROLE_COLOUR = {
    "organiser": "#c0392b",
    "collector": "#e67e22",
    "shell_company": "#6c3483",
    "rogue_outlet": "#1a5276",
    "card_farmer": "#d4ac0d",
    "member": "#95a5a6",
}
KIND_COLOUR = {"account": "#2e86c1", "phone": "#17a589", "device": "#7f8c8d", "ip": "#b2babb", "case": "#922b21"}


def _shape(kind: str, x: float, y: float, r: float, fill: str) -> str:
    """A person is a circle, an account a square, a phone a diamond, a device or IP a triangle, a case a ring."""
    if kind == "account":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{fill}"/>'
    if kind == "phone":
        pts = f"{x:.1f},{y - r * 1.2:.1f} {x + r * 1.2:.1f},{y:.1f} {x:.1f},{y + r * 1.2:.1f} {x - r * 1.2:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{fill}"/>'
    if kind in ("device", "ip"):
        pts = f"{x:.1f},{y - r * 1.2:.1f} {x + r * 1.1:.1f},{y + r * 0.8:.1f} {x - r * 1.1:.1f},{y + r * 0.8:.1f}"
        return f'<polygon points="{pts}" fill="{fill}"/>'
    if kind == "case":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#fff" stroke="{fill}" stroke-width="{max(1.5, r / 3):.1f}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#333" stroke-width="0.6"/>'


def _colour(node: dict) -> str:
    if node["kind"] in ("person", "company"):
        return ROLE_COLOUR.get(node["role"], ROLE_COLOUR["member"])
    return KIND_COLOUR.get(node["kind"], "#7f8c8d")


def _positions(nodes: list[dict]) -> dict[str, tuple[float, float]]:
    """Layout positions scaled to the drawing; nodes without a layout row go on a circle, in node order."""
    missing = [n["node"] for n in nodes if n["x"] is None or n["y"] is None]
    spare = {node: (0.5 + 0.45 * math.cos(2 * math.pi * i / max(1, len(missing))),
                    0.5 + 0.45 * math.sin(2 * math.pi * i / max(1, len(missing)))) for i, node in enumerate(missing)}
    out = {}
    for n in nodes:
        x, y = spare.get(n["node"], (n["x"], n["y"]))
        out[n["node"]] = (MARGIN + float(x) * (WIDTH - 2 * MARGIN), MARGIN + float(y) * (HEIGHT - 2 * MARGIN))
    return out


@lru_cache(maxsize=4)
def _legend(top: float) -> tuple[str, ...]:
    """The key under the picture: the same on every page, drawn once a process."""
    parts, x = [], 10.0
    for role in L.ROLE_ORDER:
        parts.append(_shape("person", x + 6, top + 12, 6, ROLE_COLOUR[role]))
        parts.append(f'<text x="{x + 16:.0f}" y="{top + 16:.0f}">{L.ROLE[role]}</text>')
        x += 24 + 13 * len(L.ROLE[role])
    x = 10.0
    for kind in ("account", "phone", "device", "case"):
        parts.append(_shape(kind, x + 6, top + 38, 6, KIND_COLOUR[kind]))
        parts.append(f'<text x="{x + 16:.0f}" y="{top + 42:.0f}">{L.KIND[kind]}</text>')
        x += 24 + 13 * len(L.KIND[kind])
    parts.append(f'<text x="{x + 10:.0f}" y="{top + 42:.0f}">圆形=人员/企业，颜色=角色</text>')
    return tuple(parts)


def network_svg(graph: dict) -> str:
    """SVG markup for a page model's `graph` ({nodes, edges}); labels are the full identifiers or names."""
    nodes, edges = graph["nodes"], graph["edges"]
    if not nodes:
        return '<p class="muted">无网络关系数据。</p>'
    n = len(nodes)
    radius = 9.0 if n <= LABEL_LIMIT else max(3.0, 9.0 * math.sqrt(LABEL_LIMIT / n))
    pos = _positions(nodes)
    # no xmlns: inline SVG in HTML needs none, and a page must not name any URL
    parts = [(f'<svg viewBox="0 0 {WIDTH} {HEIGHT + LEGEND}" '
             f'width="100%" role="img" aria-label="线索包关系网络图" font-size="11">'),
             f'<rect width="{WIDTH}" height="{HEIGHT + LEGEND}" fill="#fff"/>',
             f'<g stroke="#aab" stroke-width="{1.0 if n <= LABEL_LIMIT else 0.5}">']
    for src, dst, _kind in edges:
        if src in pos and dst in pos:
            (x1, y1), (x2, y2) = pos[src], pos[dst]
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    parts.append("</g>")
    for node in nodes:
        x, y = pos[node["node"]]
        tip = escape(f"{L.word(L.KIND, node['kind'])} {node['value']}（{L.word(L.ROLE, node['role'])}）")
        parts.append(f"<g><title>{tip}</title>{_shape(node['kind'], x, y, radius, _colour(node))}")
        if n <= LABEL_LIMIT or node["role"] != "member":
            # a label that would run off the right edge is written to the left of its node
            if x + radius + 2 + 7 * len(node["label"]) > WIDTH:
                parts.append(f'<text x="{x - radius - 2:.1f}" y="{y + 4:.1f}" fill="#222" text-anchor="end">'
                             f'{escape(node["label"])}</text>')
            else:
                parts.append(f'<text x="{x + radius + 2:.1f}" y="{y + 4:.1f}" fill="#222">{escape(node["label"])}</text>')
        parts.append("</g>")
    parts.append(f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#ddd"/>')
    parts.extend(_legend(HEIGHT))
    parts.append("</svg>")
    return "".join(parts)
