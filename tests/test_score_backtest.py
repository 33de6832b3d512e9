"""`rules backtest`: per-rule hits and precision from unit verdicts, and weights that rank confirmed packets higher."""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from duanka import casework
from duanka.score import backtest, cmd_rules_backtest, format_backtest
from duanka.score.backtest import average_precision
from duanka.warehouse import connect

AS_OF = date(2026, 11, 20)
CONFIRMED = [f"P{i:02d}" for i in range(8)] + ["P19"]
PARTIAL = ["P08", "P09"]
UNFOUNDED = [f"P{i:02d}" for i in range(10, 18)]
# rule -> (current weight, packets it fires on)
RULES = {
    "R-GOOD": (5, [f"P{i:02d}" for i in range(11)]),                       # confirmed/partial, one unfounded
    "R-GOOD2": (15, ["P00", "P01", "P02", "P03", "P04", "P05", "P11"]),
    "R-BAD": (40, UNFOUNDED + ["P00", "P01"]),                              # mostly unfounded, heavy
    "R-FLAT": (10, [f"P{i:02d}" for i in range(20)]),                      # everywhere: tells nothing
    "R-RARE": (20, ["P02", "P18"]),                                         # one verdict only
}


def build_home(folder: Path) -> Path:
    """Warehouse scores and hits for P00–P19, verdicts in casework (P18 none; GONE merged away since)."""
    con = connect(folder / "warehouse.duckdb")
    for i in range(20):
        con.execute("INSERT INTO packet_scores VALUES (?, 50, 'orange', 'U', 'U', 'collector', [], 'h')", [f"P{i:02d}"])
    for rule_id, (weight, packets) in RULES.items():
        for pid in packets:
            con.execute("INSERT INTO rule_hits VALUES (?, ?, 1, ?, '说明', ?, '1', '1', '[]')",
                        [pid, rule_id, f"标题{rule_id}", weight])
    con.execute("INSERT INTO ingest_files (sha256, file, status, as_of) VALUES ('x', 'f', 'loaded', ?)", [AS_OF])
    con.close()
    store = casework.connect(folder / "casework.sqlite")
    casework.record_issued(store, [(f"P{i:02d}", "U") for i in range(20)] + [("GONE", "U")], AS_OF)
    verdicts = {**{p: "confirmed" for p in CONFIRMED}, **{p: "partial" for p in PARTIAL},
                **{p: "unfounded" for p in UNFOUNDED}, "GONE": "confirmed", "P19": "unfounded"}
    for pid, outcome in verdicts.items():
        casework.apply(store, casework.Transition(pid, "verified", "民警", "2026-11-21 10:00", outcome=outcome))
    # P19 was unfounded, closed, reopened with new material, and then confirmed: the latest verdict counts.
    casework.apply(store, casework.Transition("P19", "closed", "民警", "2026-11-22 10:00"))
    casework.reopen(store, "P19", AS_OF, "新线索")
    casework.apply(store, casework.Transition("P19", "verified", "民警", "2026-11-23 10:00", outcome="confirmed"))
    store.close()
    return folder


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return backtest(build_home(tmp_path_factory.mktemp("home")))


def test_verdict_counts(result):
    """Latest verdict per packet; a packet no longer scored is counted apart, not silently dropped."""
    assert (result.verified, result.confirmed, result.partial, result.unfounded, result.unscored) == (19, 9, 2, 8, 1)
    assert result.as_of == AS_OF


def woe(p: float, n: float, pos: float = 10.0, neg: float = 9.0) -> float:
    return math.log((p + 0.5) / (pos + 1)) - math.log((n + 0.5) / (neg + 1))


# (description, rule, fired, verified, confirmed, partial, unfounded, precision, woe, suggested or None=check below)
ROWS = [
    ("good rule: mostly confirmed", "R-GOOD", 11, 11, 8, 2, 1, 9 / 11, woe(9, 2), None),
    ("heavy rule that fires on unfounded packets", "R-BAD", 10, 10, 2, 0, 8, 2 / 10, woe(2, 8), 1.0),
    ("rule that fires everywhere tells nothing", "R-FLAT", 20, 19, 9, 2, 8, 10 / 19, woe(10, 9), 1.0),
    ("one verdict is too little evidence: weight kept", "R-RARE", 2, 1, 1, 0, 0, 1.0, woe(1, 0), 20.0),
]


@pytest.mark.parametrize("description, rule_id, fired, verified, confirmed, partial, unfounded, precision, w, "
                         "suggested", ROWS, ids=[r[0] for r in ROWS])
def test_rule_rows(result, description, rule_id, fired, verified, confirmed, partial, unfounded, precision, w,
                   suggested):
    row = next(r for r in result.rules if r.rule_id == rule_id)
    assert (row.fired, row.verified, row.confirmed, row.partial, row.unfounded) == (
        fired, verified, confirmed, partial, unfounded)
    assert row.precision == pytest.approx(precision) and row.woe == pytest.approx(w)
    if suggested is not None:
        assert row.suggested == suggested
    assert row.title == f"标题{rule_id}" and row.weight == RULES[rule_id][0]


def test_suggested_weights_keep_the_scale_and_rank_confirmed_higher(result):
    """Rules with positive evidence share the current points in proportion to their woe."""
    by_id = {r.rule_id: r for r in result.rules}
    good, good2 = by_id["R-GOOD"], by_id["R-GOOD2"]
    earned = [r for r in result.rules if r.verified >= 5 and r.woe > 0]
    assert {r.rule_id for r in earned} == {"R-GOOD", "R-GOOD2", "R-FLAT"}  # R-FLAT: woe barely above 0
    assert abs(sum(r.suggested for r in earned) - sum(r.weight for r in earned)) <= len(earned)
    assert good.suggested / good2.suggested == pytest.approx(good.woe / good2.woe, rel=0.15)
    assert "停用" in by_id["R-BAD"].note and "样本不足" in by_id["R-RARE"].note
    assert result.ap_suggested > result.ap_current + 0.2


@pytest.mark.parametrize("description, points, labels, expected", [
    ("perfect order", {"a": 3, "b": 2, "c": 1}, {"a": 1, "b": 1, "c": 0}, 1.0),
    ("a tie counts the negative first", {"a": 1, "b": 1}, {"a": 1, "b": 0}, 0.5),
    ("no positives: undefined", {"a": 1}, {"a": 0}, None),
])
def test_average_precision(description, points, labels, expected):
    assert average_precision(points, labels) == expected


def test_format_and_command(result, tmp_path, capsys):
    text = format_backtest(result)
    assert "有核查结论的线索包 19 个：属实 9，部分属实 2，不属实 8；另有 1 个已合并或解散" in text
    assert "| R-BAD | 标题R-BAD | 40 | 10 | 10 | 2 | 0 | 8 | 0.20 |" in text
    assert "建议分值排序更好" in text
    assert cmd_rules_backtest(result.home) == 0
    assert "规则回测" in capsys.readouterr().out


def test_home_without_feedback(tmp_path, capsys):
    """No verdicts yet: a plain message and exit 0; no warehouse: exit 2."""
    connect(tmp_path / "warehouse.duckdb").close()
    bt = backtest(tmp_path)
    assert bt.verified == 0 and bt.rules == []
    assert "尚无可用的核查结论" in format_backtest(bt)
    assert cmd_rules_backtest(tmp_path / "nowhere") == 2
    assert "仓库不存在" in capsys.readouterr().err
