"""Packet pages carry the lifecycle: deadline by tier with its state, status history, category reference,
per-unit index pages; publish settings are checked at load with file, line and key."""
from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from markupsafe import escape
from test_publish_outputs import NIGHT1, QUARANTINE, SUMMARY, build

from duanka import casework
from duanka.publish import publish
from duanka.publish.lifecycle import deadline
from duanka.publish.pages import unit_file
from duanka.publish.reference import category_block, load_reference
from duanka.publish.settings import DeadlineSettings, load_publish_settings
from duanka.score.categories import load_categories
from duanka.yamlcheck import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ISSUED = "2026-11-03 00:00:00"


def _events(*stages: tuple[str, str]) -> list[dict]:
    return [{"at": at, "to_status": stage} for stage, at in (("issued", ISSUED), *stages)]


DEADLINE_CASES = [
    ("red packet on its first day is on track", "red", _events(), date(2026, 11, 3), "on_track", "2026-11-10"),
    ("red packet two days before its deadline is at risk", "red", _events(), date(2026, 11, 8), "at_risk", "2026-11-10"),
    ("red packet on its deadline day is still at risk, not overdue", "red", _events(), date(2026, 11, 10), "at_risk",
     "2026-11-10"),
    ("red packet the day after its deadline is overdue", "red", _events(), date(2026, 11, 11), "overdue", "2026-11-10"),
    ("yellow packets get 30 days", "yellow", _events(), date(2026, 11, 20), "on_track", "2026-12-03"),
    ("analysis alone does not meet a verification deadline", "red", _events(("analyzed", "2026-11-04 09:00")),
     date(2026, 11, 12), "overdue", "2026-11-10"),
    ("verified in time is met", "red", _events(("verified", "2026-11-09 09:00")), date(2026, 11, 20), "met",
     "2026-11-10"),
    ("verified after the deadline is met late", "red", _events(("verified", "2026-11-12 09:00")), date(2026, 11, 20),
     "met_late", "2026-11-10"),
    ("a reopened packet gets a new clock from its re-issue", "red",
     _events(("verified", "2026-11-04 09:00"), ("closed", "2026-11-05 09:00"), ("issued", "2026-11-20 00:00:00")),
     date(2026, 11, 22), "on_track", "2026-11-27"),
    ("no casework yet: the clock starts at the packet's first night", "orange", [], date(2026, 11, 4), "on_track",
     "2026-11-18"),
]


@pytest.mark.parametrize("tier, events, as_of, state, due", [c[1:] for c in DEADLINE_CASES],
                         ids=[c[0] for c in DEADLINE_CASES])
def test_deadline_state(tier, events, as_of, state, due) -> None:
    got = deadline(tier, events, date(2026, 11, 3), as_of, DeadlineSettings())
    assert (got["state"], got["due"]) == (state, due)


SETTINGS_ERRORS = [
    ("unknown top-level key", "deadline:\n  red: 3\n", "publish.yaml:1: deadline: 未知配置项"),
    ("days must be a positive whole number", "deadlines:\n  red: 0\n", "publish.yaml:2: deadlines.red: 应为不小于 1 的整数"),
    ("met_at must be a lifecycle stage", "deadlines:\n  orange: 5\n  met_at: done\n",
     "publish.yaml:3: deadlines.met_at: 应为"),
    ("pdf.enabled must be a boolean", "pdf:\n  enabled: yes please\n", "publish.yaml:2: pdf.enabled: 应为 true 或 false"),
    ("pdf tiers must be tier names", "pdf:\n  tiers: [red, blue]\n", "publish.yaml:2: pdf.tiers:"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in SETTINGS_ERRORS], ids=[c[0] for c in SETTINGS_ERRORS])
def test_publish_settings_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "publish.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_publish_settings(path)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_shipped_publish_settings_load_and_missing_file_means_defaults(tmp_path: Path) -> None:
    shipped = load_publish_settings(Path(__file__).resolve().parents[1] / "rules" / "publish" / "publish.yaml")
    assert shipped.deadlines.days == {"red": 7, "orange": 15, "yellow": 30} and shipped.deadlines.met_at == "verified"
    assert load_publish_settings(tmp_path / "absent.yaml").pdf.enabled is False


def test_category_block_without_reference_shows_the_chinese_name_only() -> None:
    block = category_block("collector", {})
    assert block == {"code": "collector", "name": "收卡贩卡", "checklist": [], "penalties": []}
    ref = {"collector": {"name": "收卡贩卡", "checklist": ["卡从何处收来？"], "penalties": ["刑法第二百八十七条之二"]}}
    assert category_block("collector", ref)["checklist"] == ["卡从何处收来？"]


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    """Four packets; PK-A verified and struck by its unit, PK-D issued long ago (overdue)."""
    home = tmp_path_factory.mktemp("home")
    fx = build()
    store = casework.connect(home / "casework.sqlite")
    casework.record_issued(store, [("PK-A", "370403RF"), ("PK-B", "370403RF"), ("PK-C", "370403RF")], NIGHT1)
    casework.record_issued(store, [("PK-D", "370403RF")], date(2026, 9, 1))
    for stage, outcome, figures in (("verified", "confirmed", ()), ("struck", None, (("arrests", 2),))):
        casework.apply(store, casework.Transition("PK-A", stage, "李警官", "2026-11-03 15:00", outcome,
                                                  "已到现场核实", figures, "test"))
    statuses = casework.statuses(store)
    store.close()
    rules = tmp_path_factory.mktemp("rules")  # the project's category reference; no publish.yaml: defaults
    shutil.copy(ROOT / "rules" / "categories.yaml", rules / "categories.yaml")
    fx.con.execute("UPDATE packet_scores SET category = 'collector' WHERE packet_id = 'PK-C'")
    publish(fx.con, home, NIGHT1, statuses=statuses, summary=SUMMARY, quarantine=QUARANTINE, rules_dir=rules)
    return home


def _page(home: Path, pid: str) -> str:
    return next((home / "packets" / "pages").glob(f"{pid}-*.html")).read_text(encoding="utf-8")


PAGE_CASES = [
    ("struck packet shows its history with officer, outcome and figures", "PK-A",
     ["处置状态记录", "李警官", "属实", "抓获 2 人", "已到现场核实", "已核查 → 已打击", "已按时反馈"]),
    ("packet issued in September is overdue in its header", "PK-D", ["反馈时限", "2026-10-01", "逾期"]),
    ("fresh orange packet is on track, its history is the issue alone", "PK-B", ["2026-11-18", "正常", "— → 下发"]),
    ("a category the reference does not know still has the section", "PK-B", ["询问提纲与处罚依据", "该类别暂无询问提纲"]),
]


@pytest.mark.parametrize("pid, shown", [c[1:] for c in PAGE_CASES], ids=[c[0] for c in PAGE_CASES])
def test_packet_page_lifecycle_sections(night: Path, pid: str, shown: list[str]) -> None:
    text = _page(night, pid)
    for needle in shown:
        assert needle in text, f"{pid} page lacks {needle}"


def test_collector_packet_prints_the_category_checklist_and_penalties(night: Path) -> None:
    collector = load_categories(ROOT / "rules")["collector"]
    text = _page(night, "PK-C")
    assert "询问提纲与处罚依据（收卡贩卡）" in text and "主要类别：收卡贩卡" in text
    for line in (*collector.checklist, *collector.penalties):
        assert escape(line) in text


def test_missing_category_file_means_no_reference(tmp_path: Path) -> None:
    assert load_reference(tmp_path) == {} and load_reference(None) == {}


def test_unit_index_pages_link_packets_and_overall_index_links_units(night: Path) -> None:
    day = night / "packets" / NIGHT1.isoformat()
    unit = (day / "units" / unit_file("370403RF")).read_text(encoding="utf-8")
    assert "泰山区反诈中心 断卡线索包清单" in unit and 'href="../../../packets/pages/PK-' in unit
    assert unit.index(">PK-A<") < unit.index(">PK-B<") < unit.index(">PK-D<"), "sorted by priority"
    assert 'id="f-deadline"' in unit and "逾期未反馈 1 个" in unit
    overall = (day / "index.html").read_text(encoding="utf-8")
    assert 'href="units/370403RF.html"' in overall and "../../runs/2026-11-03/dashboard.html" in overall
    for href in ("../../../packets/pages/", "../index.html"):
        assert href in unit
    target = unit.split('href="../../../')[1].split('"')[0]
    assert (night / target).is_file(), "unit index links resolve to packet pages"


def test_publish_reads_casework_without_writing_it(night: Path) -> None:
    con = sqlite3.connect(night / "casework.sqlite")
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 6
    con.close()
