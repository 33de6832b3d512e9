"""The issue stage after scoring, without a Python object per packet: new packets issued, changed
closed ones reopened, and only the statuses past `issued` handed to publishing."""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from test_score_world import AS_OF, World

from duanka import casework
from duanka.casework import Transition
from duanka.nightly import stages

NIGHT2 = AS_OF + timedelta(days=1)


def night(path, as_of: date) -> SimpleNamespace:
    """The part of a NightConfig the issue stage reads."""
    return SimpleNamespace(home=SimpleNamespace(casework=path), as_of=as_of)


def walk(store, packet_id: str, *steps: tuple[str, str | None]) -> None:
    for stage, outcome in steps:
        casework.apply(store, Transition(packet_id, stage, "民警甲", f"{AS_OF} 10:00", outcome=outcome))


def test_issue_streams_new_packets_reopens_changed_closed_ones_and_returns_only_statuses_past_issued(tmp_path) -> None:
    world = World(3)
    for i in range(9):
        world.bank(f"P{i}", world.person())
    world.con.execute("INSERT INTO packet_scores (packet_id, priority, tier, unit_code, unit_name, category, rules, "
                      "rule_set_hash) VALUES ('P1', 50, 'orange', '370403RF', '单位', 'x', [], 'h')")
    path = tmp_path / "casework.sqlite"
    assert stages.issue(night(path, AS_OF), world.con) == {}, "every packet is just issued"
    store = casework.connect(path)
    assert casework.statuses(store) == {f"P{i}": "issued" for i in range(9)}
    units = dict(store.execute("SELECT packet_id, unit_code FROM packets").fetchall())
    assert units["P1"] == "370403RF" and units["P2"] == "UNASSIGNED"
    walk(store, "P3", ("verified", "unfounded"), ("closed", None))   # closed, grows tonight: reopened
    walk(store, "P4", ("verified", "unfounded"), ("closed", None))   # closed, unchanged: stays closed
    walk(store, "P5", ("analyzed", None))
    world.con.execute("UPDATE packet_registry SET state = 'merged' WHERE packet_id = 'P6'")
    world.bank("P9", world.person())                                 # new tonight
    world.con.execute("INSERT INTO packet_changes VALUES (?, 'P3', 'grown', ''), (?, 'P9', 'new', '')", [NIGHT2, NIGHT2])
    got = stages.issue(night(path, NIGHT2), world.con)
    assert got == {"P4": "closed", "P5": "analyzed"}
    everything = casework.statuses(store)
    assert everything["P3"] == "issued" and everything["P9"] == "issued" and len(everything) == 10
    assert store.execute("SELECT count(*) FROM events WHERE packet_id = 'P9'").fetchall() == [(1,)]
    assert stages.issue(night(path, NIGHT2), world.con) == got, "a rerun issues and reopens nothing twice"
    assert store.execute("SELECT count(*) FROM events").fetchall() == [(10 + 5 + 1,)]
    temp = world.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temp == []
    store.close()


def test_known_packets_come_in_chunks(tmp_path) -> None:
    store = casework.connect(tmp_path / "casework.sqlite")
    casework.record_issued(store, [(f"K{i:02d}", "U") for i in range(7)], AS_OF)
    walk(store, "K03", ("analyzed", None))
    chunks = list(casework.known_packets(store, size=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert sorted(p for c in chunks for p in c) == [f"K{i:02d}" for i in range(7)]
    assert casework.statuses(store, past_issued=True) == {"K03": "analyzed"}
    store.close()
