"""`rules diff`: candidate rules re-score the last run read-only; tier and top-N changes are listed."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_score_ranking import build_busy_shop, build_dormant_gang, build_gang, build_traveller
from test_score_world import AS_OF, World

from duanka.score import (
    cmd_rules_diff,
    format_rules_diff,
    rules_diff,
)
from duanka.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]


def edit_rule(folder: Path, rule_id: str, field: str | None = None, value: str | None = None) -> None:
    """Set one field of a rule in a copied rules folder, or (field None) retire the rule."""
    for path in folder.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        block = re.search(rf"^- id: {re.escape(rule_id)}\n(?:(?!- id:).*\n?)*", text, re.MULTILINE)
        if block:
            new, found = ("", 1) if field is None else re.subn(rf"^  {field}: .*$", f"  {field}: {value}",
                                                                block.group(0), count=1, flags=re.MULTILINE)
            if not found:
                new = block.group(0).rstrip("\n") + f"\n  {field}: {value}\n\n"
            path.write_text(text.replace(block.group(0), new), encoding="utf-8")
            return
    raise KeyError(rule_id)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home whose last run scored a gang, a dormant gang, a busy shop, a traveller and 20 strangers."""
    w = World(seed=11)
    for build in (build_gang, build_dormant_gang, build_busy_shop, build_traveller):
        build(w)
    return w.save_scored_home(tmp_path_factory.mktemp("home"))


def published(home: Path) -> list[tuple]:
    con = connect(home / "warehouse.duckdb", read_only=True)
    try:
        return con.execute("SELECT * FROM packet_scores ORDER BY packet_id").fetchall()
    finally:
        con.close()


def retire_org_pattern(folder: Path) -> None:
    edit_rule(folder, "R-ORG-PHONE")
    edit_rule(folder, "R-ORG-BURST")


def shop_pass_weight_70(folder: Path) -> None:
    edit_rule(folder, "R-SIG-PASS", "weight", "70")


# (description, candidate edit, top, expected {packet: changes}, expected rules added/removed per packet)
CASES = [
    ("same rules: nothing moves", lambda folder: None, 2, {}, {}),
    ("retiring the opening-pattern rules drops the dormant gang to yellow", retire_org_pattern, 2,
     {"DORMANT": ("tier",)}, {"DORMANT": ((), ("R-ORG-BURST", "R-ORG-PHONE"))}),
    ("a heavy pass-through rule lifts the shop into the top 2 and pushes the dormant gang out", shop_pass_weight_70,
     2, {"SHOP": ("tier", "enter_top"), "DORMANT": ("leave_top",)}, {"SHOP": ((), ())}),
]


@pytest.mark.parametrize("description, edit, top, expected, rules", CASES, ids=[c[0] for c in CASES])
def test_diff_lists_tier_and_top_changes(home, tmp_path, description, edit, top, expected, rules):
    before = published(home)
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "rules", candidate)
    edit(candidate)
    diff = rules_diff(candidate, home, top)
    assert diff.as_of == AS_OF and diff.packets == 24
    assert {d.packet_id: d.changes for d in diff.changes} == expected
    for d in diff.changes:
        assert ("enter_top" in d.changes) == (d.old_rank > top >= d.new_rank)
        assert ("tier" in d.changes) == (d.old_tier != d.new_tier)
        if d.packet_id in rules:
            assert (d.rules_added, d.rules_removed) == rules[d.packet_id]
    assert (diff.old_hash == diff.new_hash) == (not expected)
    assert published(home) == before, "the diff must never change the published scores"


def test_format_names_packets_priorities_and_tiers(home, tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "rules", candidate)
    shop_pass_weight_70(candidate)
    text = format_rules_diff(rules_diff(candidate, home, 2))
    assert "分值变化的规则：R-SIG-PASS 10 → 70" in text
    row = next(line for line in text.splitlines() if line.startswith("| SHOP |"))
    assert row.startswith("| SHOP | 15.4 | 68.9 | 黄 | 橙 | 3 | 2 | 等级变化、进入前列 |")
    assert "进入前 2 名 1，离开前 2 名 1" in text


BROKEN = [
    ("a typo in a condition", lambda f: edit_rule(f, "R-ORG-PHONE", "when", '"holders_per_phone_max >=> 3"'),
     "E009 rule R-ORG-PHONE:"),
    ("a condition that only fails on this home's data",
     lambda f: edit_rule(f, "R-ORG-PHONE", "when",
                         '"holders_per_phone_max >= 3 OR CAST(n_leads + 254 AS UTINYINT) > 0"'),
     "E013 rule R-ORG-PHONE:"),
    ("an undefined category", lambda f: edit_rule(f, "R-ORG-PHONE", "category", "boss"), "E007 rule R-ORG-PHONE:"),
]


@pytest.mark.parametrize("description, edit, wanted", BROKEN, ids=[b[0] for b in BROKEN])
def test_invalid_candidate_exits_2_naming_file_line_and_rule(home, tmp_path, capsys, description, edit, wanted):
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "rules", candidate)
    edit(candidate)
    assert cmd_rules_diff(candidate, home, 20) == 2
    err = capsys.readouterr().err
    assert re.search(rf"^{re.escape(str(candidate / 'organiser.yaml'))}:\d+: {wanted}", err, re.MULTILINE), err
    assert "候选规则无效" in err


def test_valid_candidate_prints_and_exits_0(home, capsys):
    assert cmd_rules_diff(ROOT / "rules", home, 20) == 0
    assert "没有线索包改变等级" in capsys.readouterr().out


def test_busy_warehouse_is_named_and_exits_3(home, tmp_path, capsys):
    """While another process (the nightly run) holds the warehouse, the admin is told so plainly."""
    busy = tmp_path / "busy"
    busy.mkdir()
    shutil.copy(home / "warehouse.duckdb", busy / "warehouse.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"),
        str(busy / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        assert cmd_rules_diff(ROOT / "rules", busy, 20) == 3
        assert time.perf_counter() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert "夜间运行正在使用仓库" in capsys.readouterr().err


def test_home_without_warehouse_exits_2(tmp_path, capsys):
    assert cmd_rules_diff(ROOT / "rules", tmp_path, 20) == 2
    assert "仓库不存在" in capsys.readouterr().err
