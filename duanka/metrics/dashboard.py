"""`runs/<as-of>/dashboard.html`: the night's metrics as a page a unit leader reads (工作成效统计).

Rendered from metrics.json's dict with the packet pages' Jinja environment and
stylesheet, so it is just as self-contained (inline CSS and SVG, no URL).
Only packet ids and unit names appear: no person, phone or card.
"""
from __future__ import annotations

from markupsafe import Markup

from duanka.metrics.charts import bar_chart, percent
from duanka.publish.lifecycle import FIGURE_UNIT, FIGURE_ZH
from duanka.publish.pages import environment

CHART_UNITS = 30  # the units with most packets; the table below lists all


def _label(unit: dict) -> str:
    return unit["unit_name"] or unit["unit_code"]


def charts(metrics: dict) -> dict[str, Markup]:
    """The dashboard's SVG charts, by name."""
    units = metrics["units"][:CHART_UNITS]
    rules = [r for r in metrics["rules"] if r["packets_hit"]]
    return {
        "issued": Markup(bar_chart("各单位下发与反馈", [
            (_label(u), [u["issued"], u["fed_back"]], f"{u['fed_back']}/{u['issued']}") for u in units],
            ["已下发", "已反馈"])),
        "feedback_rate": Markup(bar_chart("反馈率", [
            (_label(u), [u["feedback_rate"]], percent(u["feedback_rate"])) for u in units], ["反馈率"], 1.0)),
        "confirmed_rate": Markup(bar_chart("查实率", [
            (_label(u), [u["confirmed_rate"]], f"{percent(u['confirmed_rate'])}（{u['verified']} 已核查）")
            for u in units if u["verified"]], ["查实率"], 1.0)),
        "overdue": Markup(bar_chart("逾期未反馈", [
            (_label(u), [u["overdue"], u["at_risk"]], f"逾期 {u['overdue']}，临期 {u['at_risk']}")
            for u in units if u["overdue"] or u["at_risk"]], ["逾期", "临期"])),
        "precision": Markup(bar_chart("规则准确率", [
            (f"{r['rule_id']} {r['title']}"[:28], [r["precision"]],
             f"{percent(r['precision'])}（{r['confirmed'] + r['partial']}/{r['verified']}，命中 {r['packets_hit']}）")
            for r in rules], ["准确率"], 1.0)),
    }


def render_dashboard(metrics: dict) -> str:
    """The dashboard page for one night's metrics dict."""
    return environment().get_template("dashboard.html.j2").render(
        m=metrics, charts=charts(metrics), percent=percent, figure_zh=FIGURE_ZH, figure_unit=FIGURE_UNIT)
