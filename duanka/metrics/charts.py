"""Horizontal bar charts as inline SVG: no script, no font or library to fetch, prints as vectors.

Unit names are long Chinese strings and there may be dozens of units, so bars
run horizontally with the label on the left, one row per unit, and the value
written at the end of each bar.
"""
from __future__ import annotations

from html import escape

ROW, LABEL_W, BAR_W, PAD = 22, 230, 420, 8
COLOURS = ("#2e86c1", "#e67e22", "#c0392b", "#17a589")


def bar_chart(title: str, rows: list[tuple[str, list[float | None], str]], series: list[str],
              maximum: float | None = None) -> str:
    """One chart: `rows` are (label, one value per series, text at the bar's end); None draws no bar."""
    if not rows:
        return f'<p class="muted">{escape(title)}：暂无数据。</p>'
    values = [v for _, vs, _ in rows for v in vs if v is not None]
    top = maximum or max(values + [1e-9])
    band = ROW * len(series) + 6
    legend_h = 20 if len(series) > 1 else 0
    height = PAD * 2 + legend_h + band * len(rows)
    width = LABEL_W + BAR_W + 120
    parts = [(f'<svg viewBox="0 0 {width} {height}" width="{width}" style="max-width:100%;height:auto" role="img" '
              f'aria-label="{escape(title)}" '
              f'font-size="12"><rect width="{width}" height="{height}" fill="#fff"/>')]
    if len(series) > 1:
        x = LABEL_W
        for i, name in enumerate(series):
            parts.append(f'<rect x="{x}" y="{PAD}" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>'
                         f'<text x="{x + 16}" y="{PAD + 11}">{escape(name)}</text>')
            x += 30 + 13 * len(name)
    for r, (label, vs, text) in enumerate(rows):
        y0 = PAD + legend_h + r * band
        parts.append(f'<text x="{LABEL_W - 6}" y="{y0 + band / 2 + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        for i, value in enumerate(vs):
            if value is None:
                continue
            w = max(1.0, BAR_W * float(value) / top) if value else 0.0
            y = y0 + i * ROW + 3
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{ROW - 6}" '
                         f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y0 + band / 2 + 4:.1f}" fill="#333">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def percent(value: float | None) -> str:
    """`62.5%`, or `—` when there is nothing to divide by yet."""
    return "—" if value is None else f"{value * 100:.1f}%"
