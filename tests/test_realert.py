"""Re-alerting: a closed packet leaves the index; when its group gains new material it comes back."""
from __future__ import annotations

import json
from pathlib import Path

from duanka import casework
from duanka.casework import Transition
from duanka.cli import main
from duanka.sample import generate


def _index(home: Path, night: str) -> dict[str, dict]:
    return {p["packet_id"]: p for p in json.loads((home / "packets" / night / "index.json").read_text("utf-8"))}


def test_closed_packet_reopens_when_its_group_grows(tmp_path: Path, prefect_harness) -> None:
    generate(tmp_path / "d", seed=21, leads=900, nights=2)
    truth = json.loads((tmp_path / "d" / "truth.json").read_text(encoding="utf-8"))
    first, second = truth["nights"]
    home = tmp_path / "home"
    assert main(["run", "--inbox", str(tmp_path / "d" / first), "--home", str(home), "--as-of", first]) == 0
    growing = [g for g in truth["groups"].values() if g.get("gang") and "growing" in (g.get("variant") or "")]
    assert growing, "the generator makes a gang that grows"
    persons = set(growing[0]["persons"])
    packet = next(p for p in _index(home, first).values() if persons & set(p["persons"]))

    store = casework.connect(home / "casework.sqlite")
    casework.apply(store, Transition(packet["packet_id"], "verified", "李警官", f"{first} 15:00", outcome="unfounded"))
    casework.apply(store, Transition(packet["packet_id"], "closed", "李警官", f"{first} 16:00"))
    store.close()

    assert main(["run", "--inbox", str(tmp_path / "d" / second), "--home", str(home), "--as-of", second]) == 0
    again = _index(home, second)[packet["packet_id"]]
    assert again["status"] == "issued" and again["changed"] is True
    assert len(again["persons"]) > len(packet["persons"]) or len(again["accounts"]) > len(packet["accounts"])
    store = casework.connect(home / "casework.sqlite")
    last = store.execute("SELECT from_status, to_status, note FROM events WHERE packet_id = ? ORDER BY seq DESC "
                         "LIMIT 1", (packet["packet_id"],)).fetchone()
    store.close()
    assert last[0] == "closed" and last[1] == "issued" and last[2]


def test_closed_packet_without_new_material_stays_out_of_the_index(tmp_path: Path, prefect_harness) -> None:
    generate(tmp_path / "d", seed=22, leads=400, nights=1)
    night = "2026-11-03"
    home = tmp_path / "home"
    assert main(["run", "--inbox", str(tmp_path / "d" / night), "--home", str(home), "--as-of", night]) == 0
    victim = next(iter(_index(home, night)))
    store = casework.connect(home / "casework.sqlite")
    casework.apply(store, Transition(victim, "verified", "李警官", f"{night} 15:00", outcome="unfounded"))
    casework.apply(store, Transition(victim, "closed", "李警官", f"{night} 16:00"))
    store.close()
    later = "2026-11-04"
    assert main(["run", "--inbox", str(tmp_path / "d" / night), "--home", str(home), "--as-of", later]) == 0
    assert victim not in _index(home, later)
