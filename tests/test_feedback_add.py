"""`duanka feedback add`: one result entered by hand goes through the lifecycle rules, or is refused (exit 2)."""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from duanka import casework
from duanka.feedback_cmd import add_feedback_parser, cmd_feedback_add, run_feedback_args

NIGHT = date(2026, 11, 3)

# (description, steps before, stage, outcome, figures, exit status, status after)
CASES = [
    ("issued packet can be analysed", [], "analyzed", None, {}, 0, "analyzed"),
    ("a unit may report verification without analysis first", [], "verified", "confirmed", {}, 0, "verified"),
    ("Chinese stage and outcome words are accepted", [], "已核查", "部分属实", {}, 0, "verified"),
    ("verification needs its outcome", [], "verified", None, {}, 2, "issued"),
    ("an unknown outcome is refused", [], "verified", "maybe", {}, 2, "issued"),
    ("an unknown stage is refused", [], "done", None, {}, 2, "issued"),
    ("striking needs a verification first", [], "struck", None, {"arrests": 1}, 2, "issued"),
    ("confirmed packet can be struck with its figures", [("verified", "confirmed")], "struck", None,
     {"arrests": 3, "accounts_frozen": 2, "recovered": 12000.5}, 0, "struck"),
    ("unfounded packet cannot be struck", [("verified", "unfounded")], "struck", None, {}, 2, "verified"),
    ("unfounded packet may close at once", [("verified", "unfounded")], "closed", None, {}, 0, "closed"),
    ("confirmed packet must be struck before it closes", [("verified", "confirmed")], "closed", None, {}, 2,
     "verified"),
    ("struck packet closes", [("verified", "confirmed"), ("struck", None)], "closed", None, {}, 0, "closed"),
    ("no step backwards", [("verified", "partial")], "analyzed", None, {}, 2, "verified"),
    ("no repeating a stage", [("analyzed", None)], "analyzed", None, {}, 2, "analyzed"),
    ("a closed packet takes no more feedback", [("verified", "unfounded"), ("closed", None)], "struck", None, {}, 2,
     "closed"),
    ("a negative figure is refused", [("verified", "confirmed")], "struck", None, {"arrests": -1}, 2, "verified"),
    ("a fractional head count is refused", [("verified", "confirmed")], "struck", None, {"penalties": 1.5}, 2,
     "verified"),
]


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    store = casework.connect(tmp_path / "casework.sqlite")
    casework.record_issued(store, [("PK-1", "370403RF")], NIGHT)
    store.close()
    return tmp_path


@pytest.mark.parametrize("before, stage, outcome, figures, code, after", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_transition(home: Path, capsys, before, stage, outcome, figures, code, after) -> None:
    store = casework.connect(home / "casework.sqlite")
    for step, result in before:
        casework.apply(store, casework.Transition("PK-1", step, "张警官", "2026-11-04 09:00", result))
    events_before = store.execute("SELECT count(*) FROM events").fetchone()[0]
    assert cmd_feedback_add(home, "PK-1", stage, outcome, figures, "李警官", "现场核实") == code
    assert casework.current_status(store, "PK-1")[0] == after
    events_after = store.execute("SELECT count(*) FROM events").fetchone()[0]
    assert events_after == events_before + (1 if code == 0 else 0), "a refusal records nothing"
    err = capsys.readouterr().err
    if code:
        assert err.startswith("未登记: ") and "Traceback" not in err
    store.close()


def test_figures_and_officer_are_recorded(home: Path, capsys) -> None:
    assert cmd_feedback_add(home, "PK-1", "verified", "confirmed", {}, "王警官", None) == 0
    assert cmd_feedback_add(home, "PK-1", "struck", None, {"arrests": 2, "recovered": 5000.0, "penalties": None},
                            "王警官", "抓获 2 人") == 0
    store = casework.connect(home / "casework.sqlite")
    row = store.execute("SELECT actor, arrests, penalties, recovered, note, source FROM events "
                        "WHERE to_status = 'struck'").fetchone()
    assert row == ("王警官", 2, None, 5000.0, "抓获 2 人", "cli")
    assert "已登记: 线索包 PK-1「核查」→「打击」" in capsys.readouterr().out
    store.close()


def test_unknown_packet_and_missing_store_are_refused(home: Path, tmp_path_factory, capsys) -> None:
    assert cmd_feedback_add(home, "PK-NOPE", "analyzed", None, {}, "王警官", None) == 2
    assert "PK-NOPE 不存在" in capsys.readouterr().err
    assert cmd_feedback_add(tmp_path_factory.mktemp("empty"), "PK-1", "analyzed", None, {}, "王警官", None) == 2
    assert "没有办案库" in capsys.readouterr().err


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duanka")
    add_feedback_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_parser_spec_runs_end_to_end(home: Path) -> None:
    args = _parser().parse_args(["feedback", "add", "PK-1", "--stage", "verified", "--outcome", "confirmed",
                                 "--officer", "赵警官", "--home", str(home)])
    assert (args.command, args.feedback_command, args.packet) == ("feedback", "add", "PK-1")
    assert run_feedback_args(args) == 0
    args = _parser().parse_args(["feedback", "add", "PK-1", "--stage", "struck", "--arrests", "4",
                                 "--cards-cancelled", "6", "--recovered", "1,200.50", "--home", str(home)])
    assert (args.arrests, args.cards_cancelled, args.recovered, args.penalties) == (4, 6, 1200.5, None)
    assert run_feedback_args(args) == 0


@pytest.mark.parametrize("argv", [["--arrests", "-1"], ["--arrests", "two"], ["--recovered", "abc"]],
                         ids=["negative count", "count not a number", "money not a number"])
def test_parser_refuses_bad_figures(home: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["feedback", "add", "PK-1", "--stage", "struck", *argv, "--home", str(home)])
    assert exit_.value.code == 2
