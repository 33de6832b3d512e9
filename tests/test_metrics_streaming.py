"""Metrics computed a range of packets at a time equal, byte for byte, the all-in-memory computation.

The world is built from a seed: many packets over several units, every lifecycle state, reopened
packets, figures with cents, events after the night, packets without scores or without a unit,
rule hits on packets never issued, ids whose order differs by byte. The reference is the code as it
was before it streamed (tests/metrics_reference.py).
"""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from metrics_reference import compute_metrics_reference

from duanka import casework, warehouse
from duanka.casework import STAGES
from duanka.metrics import compute, write_metrics
from duanka.metrics.compute import compute_metrics
from duanka.metrics.dashboard import render_dashboard
from duanka.publish import lifecycle
from duanka.publish.settings import DeadlineSettings, PublishSettings

NIGHT = date(2026, 11, 20)
UNITS = [(f"37{u:02d}00RF", f"第{u}市反诈中心") for u in range(9)]
RULES = [(f"R-T-{r:02d}", f"测试规则{r}") for r in range(12)]
EVENT = """INSERT INTO events (packet_id, at, actor, from_status, to_status, outcome, arrests, penalties,
           cards_cancelled, accounts_frozen, recovered, note, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"""


def _id(rng: random.Random, i: int) -> str:
    """Mostly published-style ids; a few with lower-case or Chinese characters, whose byte order matters."""
    kind = rng.random()
    tail = f"{i * 2654435761 % 2**32:08X}"
    if kind < 0.03:
        return f"DK-测试-{tail}"
    if kind < 0.06:
        return f"dk-{tail.lower()}"
    return f"DK-2026{10 + i % 2:02d}{1 + i % 28:02d}-{tail}"


def _history(rng: random.Random, pid: str, issued: date) -> list[tuple]:
    """Forward-only events after issue, figures on some; sometimes closed and issued again."""
    rows, status, day = [(pid, f"{issued} 00:00:00", "duanka", None, "issued", None, None, None, None, None, None,
                          None, "nightly")], "issued", issued
    for _ in range(rng.choice([1, 1, 2])):
        roll = rng.random()
        steps = ([] if roll < 0.35 else [("analyzed", None)] if roll < 0.5 else
                 [("verified", "unfounded"), ("closed", None)] if roll < 0.6 else
                 [("verified", rng.choice(["confirmed", "partial", "unfounded"]))] if roll < 0.75 else
                 [("analyzed", None), ("verified", rng.choice(["confirmed", "partial"])), ("struck", None)] +
                 ([("closed", None)] if rng.random() < 0.6 else []))
        for stage, outcome in steps:
            day += timedelta(days=rng.randint(0, 15))
            figures = [rng.randint(1, 4) if rng.random() < 0.3 else None for _ in range(4)]
            recovered = rng.randint(1, 9_999_999) / 100 if rng.random() < 0.4 else None
            rows.append((pid, f"{day} {rng.randint(8, 20):02d}:15:00", "李警官", status, stage, outcome, *figures,
                         recovered, "反馈", "feedback"))
            status = stage
        if status != "closed":
            break
        day += timedelta(days=rng.randint(1, 20))
        rows.append((pid, f"{day} 00:00:00", "duanka", "closed", "issued", None, None, None, None, None, None,
                     "新增线索", "nightly"))
        status = "issued"
    return rows


def build_world(folder: Path, seed: int, packets: int = 1500):
    """(warehouse connection, casework path) of a world of about `packets` packets."""
    rng = random.Random(seed)
    store = casework.connect(folder / "casework.sqlite")
    con = warehouse.connect()
    ids = sorted({_id(rng, i) for i in range(packets)})
    for i, pid in enumerate(ids):
        unit = rng.choice(UNITS)
        issued = NIGHT - timedelta(days=rng.randint(-3, 60))  # a few issued after the night: not counted
        if rng.random() < 0.97:  # the rest: events without a packets row, which metrics ignore
            store.execute("INSERT INTO packets VALUES (?,?,?)", (pid, None if rng.random() < 0.03 else unit[0],
                                                                   str(issued)))
        store.executemany(EVENT, _history(rng, pid, issued))
        if rng.random() < 0.9:  # unscored packets fall back to the unit they were issued to
            tier = rng.choice(["red", "orange", "yellow", None])
            code = unit[0] if rng.random() < 0.9 else rng.choice(UNITS)[0]
            name = rng.choice([unit[1], unit[1], "", None])
            rules = sorted(rng.sample([r for r, _ in RULES], rng.randint(1, 4)))
            con.execute("INSERT INTO packet_scores VALUES (?, ?, ?, ?, ?, 'bank', ?, 'h')",
                        [pid, rng.uniform(0, 100), tier, code, name, rules])
    for r in range(40):  # scored, never issued: their hits count nowhere
        con.execute("INSERT INTO packet_scores VALUES (?, 50, 'red', ?, '', 'bank', ['R-T-00'], 'h')",
                    [f"DK-NEVER-{r:04d}", UNITS[0][0]])
    titles = ", ".join(f"('{r}', '{t}')" for r, t in RULES)
    con.execute(f"""INSERT INTO rule_hits SELECT packet_id, rule_id, 2, title, '', 5, '1', '1', '[]'
                    FROM (SELECT packet_id, unnest(rules) AS rule_id FROM packet_scores)
                    JOIN (VALUES {titles}) t(rule_id, title) USING (rule_id)""")
    con.execute("INSERT INTO rule_hits SELECT * FROM rule_hits WHERE hash(packet_id) % 5 = 0")  # duplicate rows
    con.execute("""INSERT INTO ingest_files (sha256, file, kind, status, rows_read, rows_loaded, rows_quarantined,
                   as_of) VALUES ('a', 'feedback_1.csv', 'feedback', 'loaded', 9, 7, 2, ?),
                                 ('b', 'feedback_2.csv', 'feedback', 'rejected', 0, 0, 0, ?)""", [NIGHT, NIGHT])
    store.close()
    return con, folder / "casework.sqlite"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con, db = build_world(tmp_path_factory.mktemp("world"), seed=20261120)
    yield con, db
    con.close()


def _bytes(metrics: dict) -> tuple[bytes, bytes]:
    return (json.dumps(metrics, ensure_ascii=False, indent=2).encode("utf-8"),
            render_dashboard(metrics).encode("utf-8"))


def test_the_world_has_every_case_the_comparison_needs(world) -> None:
    con, db = world
    m = compute_metrics_reference(con, db, NIGHT, DeadlineSettings())
    totals = m["totals"]
    assert totals["issued"] > 1000 and len(m["units"]) >= 9 and len(m["rules"]) == len(RULES)
    assert all(totals["by_status"][s] > 0 for s in STAGES), totals["by_status"]
    assert totals["overdue"] > 0 and totals["at_risk"] > 0
    assert all(totals[k] > 0 for k in ("confirmed", "partial", "unfounded"))
    assert "UNASSIGNED" in {u["unit_code"] for u in m["units"]}
    assert m["totals"]["results"]["recovered"] != int(m["totals"]["results"]["recovered"])
    store = casework.connect(db)
    reopened = store.execute("SELECT count(*) FROM events WHERE from_status = 'closed'").fetchone()[0]
    late = store.execute("SELECT count(*) FROM events WHERE at > ?", (f"{NIGHT} 23:59",)).fetchone()[0]
    store.close()
    assert reopened > 10 and late > 10


CASES = [
    ("the night, default deadlines, 1 000 packets a chunk", NIGHT, 1000, DeadlineSettings()),
    ("one packet a chunk", NIGHT, 1, DeadlineSettings()),
    ("chunks of 7: many boundaries", NIGHT, 7, DeadlineSettings()),
    ("everything in one chunk", NIGHT, 1_000_000, DeadlineSettings()),
    ("an earlier night: later events and packets not yet issued", NIGHT - timedelta(days=25), 97,
     DeadlineSettings()),
    ("a later night: everything issued, more overdue", NIGHT + timedelta(days=40), 250, DeadlineSettings()),
    ("met at analysed, short deadlines, wide at-risk window", NIGHT, 64,
     DeadlineSettings(days={"red": 2, "orange": 5, "yellow": 9}, at_risk_days=4, met_at="analyzed")),
    ("met at closed", NIGHT, 300, DeadlineSettings(met_at="closed")),
]


@pytest.mark.parametrize("as_of, chunk, settings", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_streaming_equals_the_reference_byte_for_byte(world, as_of: date, chunk: int,
                                                      settings: DeadlineSettings) -> None:
    con, db = world
    new = compute_metrics(con, db, as_of, settings, chunk=chunk)
    old = compute_metrics_reference(con, db, as_of, settings)
    assert new == old
    assert _bytes(new) == _bytes(old)


def test_write_metrics_files_equal_the_reference(world, tmp_path: Path) -> None:
    con, db = world
    returned = write_metrics(con, db, tmp_path, NIGHT, settings=PublishSettings())
    metrics, dashboard = _bytes(compute_metrics_reference(con, db, NIGHT, DeadlineSettings()))
    day = tmp_path / "runs" / NIGHT.isoformat()
    assert (day / "metrics.json").read_bytes() == metrics + b"\n"
    assert (day / "dashboard.html").read_bytes() == dashboard
    assert json.loads(metrics) == returned


def test_no_casework_file_reads_as_nothing_issued(world, tmp_path: Path) -> None:
    con, _ = world
    new = compute_metrics(con, tmp_path / "missing.sqlite", NIGHT, DeadlineSettings())
    assert new == compute_metrics_reference(con, tmp_path / "missing.sqlite", NIGHT, DeadlineSettings())
    assert new["totals"]["issued"] == 0 and new["units"] == [] and new["rules"] == []
    assert new["totals"]["results"]["recovered"] == 0 and isinstance(new["totals"]["results"]["recovered"], int)


def test_casework_is_read_a_chunk_of_packets_at_a_time(world, monkeypatch) -> None:
    """Never all events at once: read_casework is not used, and each read covers at most `chunk` packets."""
    con, db = world
    store = casework.connect(db)
    issued = {pid for (pid,) in store.execute("SELECT packet_id FROM packets")}
    store.close()
    spans: list[int] = []
    between = lifecycle.EventReader.between

    def spy(self, first: str, last: str) -> dict:
        events = between(self, first, last)
        spans.append(len(issued.intersection(events)))  # events without a packets row come along
        return events

    monkeypatch.setattr(lifecycle.EventReader, "between", spy)
    monkeypatch.setattr(lifecycle, "read_casework", lambda *_: pytest.fail("read all of casework at once"))
    m = compute_metrics(con, db, NIGHT, DeadlineSettings(), chunk=200)
    assert len(spans) > 5 and max(spans) <= 200
    assert sum(spans) >= m["totals"]["issued"]


def test_a_rule_is_named_by_its_newest_version_and_counted_once_per_packet(tmp_path: Path) -> None:
    """Packets scored on an earlier night keep an earlier version's hits; the title shown is the newest."""
    con = warehouse.connect()
    store = casework.connect(tmp_path / "casework.sqlite")
    casework.record_issued(store, [("DK-1", "U1"), ("DK-2", "U1")], NIGHT)
    store.close()
    con.execute("""INSERT INTO rule_hits VALUES ('DK-1', 'R-X', 1, '旧标题', '', 1, '', '', '[]'),
                   ('DK-2', 'R-X', 2, '新标题', '', 1, '', '', '[]'), ('DK-2', 'R-X', 1, '旧标题', '', 1, '', '', '[]')""")
    rules = compute_metrics(con, tmp_path / "casework.sqlite", NIGHT, DeadlineSettings(), chunk=1)["rules"]
    assert [(r["rule_id"], r["title"], r["packets_hit"]) for r in rules] == [("R-X", "新标题", 2)]


def test_chunk_size_is_a_bounded_constant() -> None:
    assert 1_000 <= compute.CHUNK <= 100_000
