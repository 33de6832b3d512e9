"""Lifecycle transitions, allowed and refused, table-driven; status is derived from events."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from duanka import casework
from duanka.casework import Transition, TransitionRefused

# (description, path of (stage, outcome) already applied after issue, next (stage, outcome), allowed)
CASES = [
    ("analyse an issued packet", [], ("analyzed", None), True),
    ("verify straight from issued", [], ("verified", "confirmed"), True),
    ("verify after analysis", [("analyzed", None)], ("verified", "partial"), True),
    ("verification needs an outcome", [("analyzed", None)], ("verified", None), False),
    ("unknown outcome word is refused", [], ("verified", "maybe"), False),
    ("strike after confirmed verification", [("verified", "confirmed")], ("struck", None), True),
    ("strike after partial verification", [("verified", "partial")], ("struck", None), True),
    ("no strike without verification", [("analyzed", None)], ("struck", None), False),
    ("no strike on an unfounded lead", [("verified", "unfounded")], ("struck", None), False),
    ("close after strike", [("verified", "confirmed"), ("struck", None)], ("closed", None), True),
    ("unfounded may close at once", [("verified", "unfounded")], ("closed", None), True),
    ("confirmed must be struck before closing", [("verified", "confirmed")], ("closed", None), False),
    ("no closing an issued packet", [], ("closed", None), False),
    ("no going back to analysis", [("verified", "confirmed")], ("analyzed", None), False),
    ("no repeating a stage", [("analyzed", None)], ("analyzed", None), False),
    ("nothing after closed", [("verified", "unfounded"), ("closed", None)], ("verified", "confirmed"), False),
    ("issued is not a feedback stage", [], ("issued", None), False),
]


@pytest.fixture
def store(tmp_path: Path):
    con = casework.connect(tmp_path / "casework.sqlite")
    casework.record_issued(con, [("DK-1", "370100RF")], date(2026, 11, 3))
    yield con
    con.close()


def _t(stage: str, outcome: str | None) -> Transition:
    return Transition(packet_id="DK-1", stage=stage, actor="王警官", at="2026-11-04 10:00:00", outcome=outcome)


@pytest.mark.parametrize("description, path, step, allowed", CASES, ids=[c[0] for c in CASES])
def test_transition(store, description, path, step, allowed) -> None:
    for stage, outcome in path:
        casework.apply(store, _t(stage, outcome))
    before = casework.statuses(store)["DK-1"]
    if allowed:
        casework.apply(store, _t(*step))
        assert casework.statuses(store)["DK-1"] == step[0]
    else:
        with pytest.raises(TransitionRefused):
            casework.apply(store, _t(*step))
        assert casework.statuses(store)["DK-1"] == before  # a refusal leaves no event


def test_unknown_packet_is_refused(store) -> None:
    with pytest.raises(TransitionRefused, match="不存在"):
        casework.apply(store, Transition("DK-404", "analyzed", "x", "2026-11-04"))


def test_issuing_twice_records_one_event(store) -> None:
    assert casework.record_issued(store, [("DK-1", "370100RF"), ("DK-2", "370100RF")], date(2026, 11, 4)) == 1
    events = store.execute("SELECT count(*) FROM events WHERE to_status = 'issued'").fetchone()[0]
    assert events == 2


def test_figures_are_kept_with_the_event(store) -> None:
    casework.apply(store, _t("verified", "confirmed"))
    casework.apply(store, Transition("DK-1", "struck", "王警官", "2026-11-05", figures=(("arrests", 3),
                                                                                  ("recovered", 12000.5))))
    row = store.execute("SELECT arrests, recovered, from_status FROM events WHERE to_status='struck'").fetchone()
    assert row == (3, 12000.5, "verified")
