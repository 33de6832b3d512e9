"""Metrics and dashboard: feedback accounting adds up, per unit and per rule; nothing published for many
readers (index pages, dashboard, metrics.json, run.log) shows an unmasked identifier or an external URL."""
from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
from test_publish_outputs import NIGHT1, QUARANTINE, SUMMARY, UNMASKED, build

from duanka import casework
from duanka.casework import FIGURES, STAGES
from duanka.cli import main
from duanka.metrics import write_metrics
from duanka.publish import publish
from duanka.sample import generate

URL = re.compile(r"(?i)(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}|<link|@import|@font-face|\ssrc=)")

# (packet, unit as issued, steps after issue: (stage, outcome, figures))
FEEDBACK = [
    ("PK-A", [("verified", "confirmed", {"arrests": 2, "accounts_frozen": 3}),
              ("struck", None, {"arrests": 1, "recovered": 1500.5})]),
    ("PK-B", [("verified", "unfounded", {}), ("closed", None, {})]),
    ("PK-C", [("analyzed", None, {})]),
    ("PK-D", []),
]


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> tuple[dict, Path]:
    home = tmp_path_factory.mktemp("home")
    fx = build()
    fx.con.execute("UPDATE packet_scores SET unit_code = '370100RF', unit_name = '济南市反诈中心' "
                   "WHERE packet_id = 'PK-D'")
    fx.con.execute("INSERT INTO rule_hits VALUES ('PK-B', 'R-ONLY-B', 1, '只命中B', '', 5, '1', '1', '[]')")
    store = casework.connect(home / "casework.sqlite")
    casework.record_issued(store, [(pid, "370403RF") for pid, _ in FEEDBACK], date(2026, 10, 1))
    for pid, steps in FEEDBACK:
        for stage, outcome, figures in steps:
            casework.apply(store, casework.Transition(pid, stage, "李警官", "2026-10-05 10:00", outcome, None,
                                                      tuple(figures.items())))
    statuses = casework.statuses(store)
    store.close()
    publish(fx.con, home, NIGHT1, statuses=statuses, summary=SUMMARY, quarantine=QUARANTINE)
    again = write_metrics(fx.con, home / "casework.sqlite", home, NIGHT1)
    return again, home


def test_metrics_json_is_what_write_metrics_returns(metrics) -> None:
    m, home = metrics
    assert json.loads((home / "runs" / NIGHT1.isoformat() / "metrics.json").read_text(encoding="utf-8")) == m


TOTALS = [
    ("every issued packet counted once", "issued", 4),
    ("packets with any report back", "fed_back", 3),
    ("feedback rate is fed back over issued", "feedback_rate", 0.75),
    ("verified counts packets with an outcome", "verified", 2),
    ("confirmed rate counts confirmed and partial over verified", "confirmed_rate", 0.5),
    ("overdue: open, issued 2026-10-01, not verified by the red/orange/yellow deadline", "overdue", 2),
]


@pytest.mark.parametrize("key, value", [c[1:] for c in TOTALS], ids=[c[0] for c in TOTALS])
def test_totals(metrics, key: str, value) -> None:
    assert metrics[0]["totals"][key] == value


def test_results_sum_every_event_of_every_packet(metrics) -> None:
    results = metrics[0]["totals"]["results"]
    assert results == {"arrests": 3, "penalties": 0, "cards_cancelled": 0, "accounts_frozen": 3, "recovered": 1500.5}


def test_accounting_adds_up_across_units_and_statuses(metrics) -> None:
    m, _ = metrics
    t, units = m["totals"], m["units"]
    assert [u["unit_code"] for u in units] == ["370403RF", "370100RF"], "unit of tonight's score wins"
    for key in ("issued", "fed_back", "verified", "confirmed", "partial", "unfounded", "overdue"):
        assert sum(u[key] for u in units) == t[key], key
    for figure in FIGURES:
        assert sum(u["results"][figure] for u in units) == pytest.approx(t["results"][figure])
    for block in (t, *units):
        assert block["issued"] == block["fed_back"] + block["not_fed_back"] == sum(block["by_status"].values())
        assert block["verified"] == block["confirmed"] + block["partial"] + block["unfounded"]
    assert {s: t["by_status"][s] for s in STAGES} == {"issued": 1, "analyzed": 1, "verified": 0, "struck": 1,
                                                      "closed": 1}
    assert units[1]["overdue_packets"] == ["PK-D"]


def test_rule_precision(metrics) -> None:
    rules = {r["rule_id"]: r for r in metrics[0]["rules"]}
    multi = rules["R-MULTI-001"]  # fired on all four fixture packets
    assert (multi["packets_hit"], multi["verified"], multi["confirmed"], multi["unfounded"]) == (4, 2, 1, 1)
    assert multi["precision"] == 0.5
    assert rules["R-ONLY-B"]["precision"] == 0.0 and rules["R-ONLY-B"]["verified"] == 1


def test_dashboard_is_self_contained_and_chinese(metrics) -> None:
    _, home = metrics
    text = (home / "runs" / NIGHT1.isoformat() / "dashboard.html").read_text(encoding="utf-8")
    for shown in ("断卡工作成效统计", "反馈率", "查实率", "规则准确率", "逾期", "<svg", "泰山区反诈中心", "75.0%", "抓获"):
        assert shown in text, shown
    assert not URL.search(text), URL.search(text)


# --- a real run, two nights, with a feedback file: run.log, index pages, dashboard, metrics.json -----------

@pytest.fixture(scope="module")
def world(tmp_path_factory, prefect_harness) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("world")
    generate(root / "deliveries", seed=5, leads=300, nights=2)
    nights = sorted(p.name for p in (root / "deliveries").iterdir() if p.is_dir())
    home = root / "home"
    assert main(["run", "--inbox", str(root / "deliveries" / nights[0]), "--home", str(home), "--as-of",
                 nights[0]]) == 0
    packets = json.loads((home / "packets" / nights[0] / "index.json").read_text(encoding="utf-8"))
    rows = [{"线索包编号": packets[0]["packet_id"], "环节": "verified", "核查结论": "属实", "反馈人": "李警官",
             "反馈时间": nights[1], "抓获人数": "2", "备注": "联系人 13800138000 已到案"},
            {"线索包编号": packets[1]["packet_id"], "环节": "已研判", "核查结论": "", "反馈人": "李警官",
             "反馈时间": nights[1], "抓获人数": "", "备注": ""},
            {"线索包编号": packets[1]["packet_id"], "环节": "verified", "核查结论": "", "反馈人": "李警官",
             "反馈时间": nights[1], "抓获人数": "", "备注": "缺结论"},
            {"线索包编号": "DK-NOPE", "环节": "analyzed", "核查结论": "", "反馈人": "李警官",
             "反馈时间": nights[1], "抓获人数": "", "备注": ""}]
    with open(root / "deliveries" / nights[1] / "feedback_unit1.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["run", "--inbox", str(root / "deliveries" / nights[1]), "--home", str(home), "--as-of",
                 nights[1]]) == 0
    return home, nights


def test_feedback_file_rows_add_up_in_metrics(world) -> None:
    home, nights = world
    m = json.loads((home / "runs" / nights[1] / "metrics.json").read_text(encoding="utf-8"))
    rows = m["feedback_rows"]
    assert rows == {"files_rejected": 0, "rows_read": 4, "rows_applied": 2, "rows_quarantined": 2}
    assert m["totals"]["fed_back"] == 2 and m["totals"]["confirmed"] == 1 and m["totals"]["results"]["arrests"] == 2
    assert sum(u["issued"] for u in m["units"]) == m["totals"]["issued"] > 0


def _shared_outputs(home: Path, night: str) -> list[Path]:
    day = home / "packets" / night
    runs = home / "runs" / night
    return [day / "index.html", *sorted((day / "units").glob("*.html")), runs / "dashboard.html",
            runs / "metrics.json", runs / "run.log"]


def test_nothing_many_people_read_shows_a_full_identifier(world) -> None:
    home, nights = world
    for night in nights:
        files = _shared_outputs(home, night)
        assert len(files) > 5 and all(f.is_file() for f in files), [f for f in files if not f.is_file()]
        for f in files:
            text = f.read_text(encoding="utf-8")
            for what, pattern in UNMASKED:
                assert not pattern.search(text), f"unmasked {what} in {f.name}: {pattern.search(text)}"


def test_no_published_page_names_an_external_url(world) -> None:
    home, nights = world
    pages = sorted((home / "packets" / "pages").glob("*.html"))
    assert pages
    for f in [*pages, *(p for night in nights for p in _shared_outputs(home, night) if p.suffix == ".html")]:
        found = URL.search(f.read_text(encoding="utf-8"))
        assert not found, f"{f.name}: {found}"


def test_red_packets_get_a_pdf_under_the_shipped_settings(world) -> None:
    home, nights = world
    entries = json.loads((home / "packets" / nights[1] / "index.json").read_text(encoding="utf-8"))
    red = [e for e in entries if e["tier"] == "red"]
    assert red, "the world must have a red packet"
    for e in red:
        assert (home / e["html"]).with_suffix(".pdf").is_file(), e["packet_id"]
