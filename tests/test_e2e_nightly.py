"""End to end: generate deliveries from a seed, run the nightly flow night by night, check the contract.

One generated world (module-scoped: the flow's cost is paid once) answers several questions:
the contract outputs hold every night, the accounting adds up, unrepairable rows are quarantined,
the true gangs rank at the top, and a rerun on the same inbox loads nothing and keeps every id.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from contract_check import check

from duanka.cli import main
from duanka.sample import generate

SEED, LEADS, NIGHTS = 11, 1500, 3


@pytest.fixture(scope="module")
def world(tmp_path_factory, prefect_harness):
    root = tmp_path_factory.mktemp("world")
    generate(root / "deliveries", seed=SEED, leads=LEADS, nights=NIGHTS)
    truth = json.loads((root / "deliveries" / "truth.json").read_text(encoding="utf-8"))
    home = root / "home"
    for night in truth["nights"]:
        assert main(["run", "--inbox", str(root / "deliveries" / night), "--home", str(home),
                     "--as-of", night]) == 0
    return root, home, truth


def _index(home: Path, night: str) -> list[dict]:
    return json.loads((home / "packets" / night / "index.json").read_text(encoding="utf-8"))


def _summary(home: Path, night: str) -> dict:
    return json.loads((home / "runs" / night / "summary.json").read_text(encoding="utf-8"))


def test_every_night_follows_the_contract(world) -> None:
    _, home, truth = world
    for night in truth["nights"]:
        assert check(home, night) == []


def test_accounting_adds_up_and_loads_something(world) -> None:
    _, home, truth = world
    for night in truth["nights"]:
        s = _summary(home, night)
        assert s["rows_read"] == s["rows_loaded"] + s["rows_quarantined"] + s["rows_duplicate"]
        assert s["files_loaded"] > 0 and s["rows_loaded"] > 0


def test_unrepairable_rows_are_quarantined_with_file_and_row(world) -> None:
    _, home, truth = world
    quarantined = set()
    for night in truth["nights"]:
        text = (home / "runs" / night / "quarantine.csv").read_text(encoding="utf-8-sig")
        import csv
        import io
        for row in csv.DictReader(io.StringIO(text)):
            assert row["reasons"].strip()
            quarantined.add((night, row["file"], int(row["row"])))
    expected = {(u["night"], u["file"], int(u["row"])) for u in truth["unrepairable"]}
    assert expected, "the generator must make some unrepairable rows"
    assert expected <= quarantined


def _gang_of_packet(packet: dict, truth: dict) -> str | None:
    """The true gang most of the packet's persons belong to (None when it is mostly innocents)."""
    owner = {}
    for gid, g in truth["groups"].items():
        if g.get("gang"):
            for person in g["persons"]:
                owner[person] = gid
    votes = [owner[p] for p in packet["persons"] if p in owner]
    if len(votes) * 2 <= len(packet["persons"]):
        return None
    return max(set(votes), key=votes.count)


def test_true_gangs_are_at_the_top(world) -> None:
    _, home, truth = world
    last = truth["nights"][-1]
    index = _index(home, last)
    gangs = {gid for gid, g in truth["groups"].items() if g.get("gang")}
    top = index[: len(gangs)]
    found = {_gang_of_packet(p, truth) for p in top} - {None}
    assert len(found) >= 0.8 * len(gangs), (len(found), len(gangs))
    gang_tiers = [p["tier"] for p in top if _gang_of_packet(p, truth)]
    assert gang_tiers.count("red") + gang_tiers.count("orange") >= 0.8 * len(gang_tiers)


def test_rerun_on_the_same_inbox_loads_nothing_and_keeps_ids(world, tmp_path) -> None:
    root, home, truth = world
    last = truth["nights"][-1]
    before = {p["packet_id"] for p in _index(home, last)}
    later = date.fromisoformat(last).replace(day=date.fromisoformat(last).day + 1).isoformat()
    assert main(["run", "--inbox", str(root / "deliveries" / last), "--home", str(home), "--as-of", later]) == 0
    s = _summary(home, later)
    assert s["files_loaded"] == 0 and s["rows_loaded"] == 0 and s["files_skipped"] > 0
    after = _index(home, later)
    assert {p["packet_id"] for p in after} == before
    assert not any(p["changed"] for p in after)
    assert check(home, later) == []
