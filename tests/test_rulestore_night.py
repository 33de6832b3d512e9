"""The night uses the active rule version; drafts are diffed against the last run; the CLI commands."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_rulestore import reweigh
from test_score_ranking import build_busy_shop, build_dormant_gang, build_gang
from test_score_world import AS_OF, World

from duanka.nightly import stages
from duanka.nightly.context import PreflightError, preflight
from duanka.progress import Progress
from duanka.rulestore import RuleStore
from duanka.rulestore_cmd import dispatch, register
from duanka.score import load_rule_set

ROOT = Path(__file__).resolve().parents[1]
PROJECT_HASH = load_rule_set(ROOT / "rules").hash


def project_text(name: str) -> str:
    return (ROOT / "rules" / name).read_text(encoding="utf-8")


def heavier(weight: int = 35) -> dict[str, str]:
    return {"organiser.yaml": reweigh(project_text("organiser.yaml"), "R-ORG-PHONE", weight)}


def world() -> World:
    w = World(seed=11)
    for build in (build_gang, build_dormant_gang, build_busy_shop):
        build(w)
    return w


@pytest.fixture(scope="module")
def scored_home(tmp_path_factory) -> Path:
    """A home whose last run scored three packets with the project's rules."""
    w = world()
    return w.save_scored_home(tmp_path_factory.mktemp("home"))


def test_preflight_follows_the_active_version_and_explicit_rules_win(tmp_path):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    assert preflight(inbox, home, AS_OF).rule_set.hash == PROJECT_HASH, "nothing activated: project rules/"
    store = RuleStore(home)
    settings = project_text("settings.yaml").replace("red: 70", "red: 66", 1)
    assert settings != project_text("settings.yaml")
    version = store.activate(store.new_draft({**heavier(), "settings.yaml": settings}, "张三"), "张三", "")
    cfg = preflight(inbox, home, AS_OF, None)
    assert cfg.rules_dir == store.root / version.name
    assert cfg.rule_set.hash == version.digest != PROJECT_HASH
    assert cfg.rule_set.by_id("R-ORG-PHONE").weight == 35 and cfg.settings.scoring.tier_red == 66
    explicit = preflight(inbox, home, AS_OF, ROOT / "rules")
    assert explicit.rules_dir == ROOT / "rules" and explicit.rule_set.hash == PROJECT_HASH
    assert preflight(inbox, home, AS_OF, str(ROOT / "rules")).rule_set.hash == PROJECT_HASH


def test_the_nights_score_stage_stamps_the_active_digest(tmp_path):
    """What the flow's score task does with the NightConfig: packets carry the active version's hash."""
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    store = RuleStore(home)
    store.activate(store.new_draft({}, "张三"), "张三", "基线")
    heavy = store.activate(store.new_draft(heavier(35), "张三"), "张三", "加权")

    def night_scores() -> tuple[set[str], list[tuple]]:
        w = world()
        stages.score(preflight(inbox, home, AS_OF), w.con, Progress(quiet=True))
        digests = {h for (h,) in w.con.execute("SELECT DISTINCT rule_set_hash FROM packet_scores").fetchall()}
        return digests, w.con.execute("SELECT DISTINCT points FROM rule_hits WHERE rule_id = 'R-ORG-PHONE'").fetchall()

    assert night_scores() == ({heavy.digest}, [(35.0,)])
    store.rollback("v0001", "李四", "回退")
    assert night_scores() == ({PROJECT_HASH}, [(20.0,)])


def test_a_pointer_to_a_missing_version_refuses_the_night(tmp_path):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    (home / "rulesets").mkdir(parents=True)
    (home / "rulesets" / "log.jsonl").write_text('{"action": "activate", "version": "v0004"}\n', encoding="utf-8")
    with pytest.raises(PreflightError) as refused:
        preflight(inbox, home, AS_OF)
    assert any("v0004" in p for p in refused.value.problems)


def test_diff_of_a_draft_lists_what_would_move(scored_home):
    store = RuleStore(scored_home)
    same = store.diff(store.new_draft({}, "张三"), top=2)
    assert same.message is None and any("没有线索包改变等级" in line for line in same.lines)
    shop = reweigh(project_text("signals.yaml"), "R-SIG-PASS", 70)
    outcome = store.diff(store.new_draft({"signals.yaml": shop}, "张三"), top=2)
    assert outcome.message is None
    assert outcome.lines[0].startswith("规则试算") and "分值变化的规则：R-SIG-PASS 10 → 70" in outcome.lines
    assert any(line.startswith("| SHOP |") for line in outcome.lines)


def test_diff_of_an_invalid_draft_names_the_problems(scored_home):
    store = RuleStore(scored_home)
    bad = reweigh(project_text("organiser.yaml"), "R-ORG-PHONE", 500)
    outcome = store.diff(store.new_draft({"organiser.yaml": bad}, "张三"))
    assert outcome.message and "问题" in outcome.message
    assert any(re.match(r"rules/organiser\.yaml:9: E008 rule R-ORG-PHONE", line) for line in outcome.lines)


def test_diff_while_the_night_holds_the_warehouse_says_so(scored_home, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "warehouse.duckdb").write_bytes((scored_home / "warehouse.duckdb").read_bytes())
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"),
        str(busy / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        store = RuleStore(busy)
        started = time.perf_counter()
        outcome = store.diff(store.new_draft({}, "张三"))
        assert time.perf_counter() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert outcome.lines == [] and outcome.message.startswith("夜间任务正在运行")


def test_diff_without_a_warehouse_says_so(tmp_path):
    store = RuleStore(tmp_path)
    outcome = store.diff(store.new_draft({}, "张三"))
    assert outcome.lines == [] and "仓库不存在" in outcome.message


# -- the commands ------------------------------------------------------------------------------------
def duanka_rules(*argv: str) -> int | None:
    """Parse like `duanka rules …` does once the lead wires register() into duanka/cli.py."""
    parser = argparse.ArgumentParser(prog="duanka")
    rules = parser.add_subparsers(dest="command", required=True).add_parser("rules")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    sub.add_parser("check")
    register(sub)
    return dispatch(parser.parse_args(["rules", *argv]))


def test_cli_activate_rollback_versions(tmp_path, capsys):
    home, candidate = tmp_path / "home", tmp_path / "candidate"
    assert duanka_rules("versions", "--home", str(home)) == 0
    assert "尚无规则版本" in capsys.readouterr().out
    assert duanka_rules("activate", str(ROOT / "rules"), "--home", str(home), "--by", "张三", "--note", "基线") == 0
    assert "已激活规则版本 v0001" in capsys.readouterr().out
    candidate.mkdir()
    for name, text in RuleStore(home).files().items():
        (candidate / name).parent.mkdir(parents=True, exist_ok=True)
        (candidate / name).write_text(text, encoding="utf-8")
    (candidate / "organiser.yaml").write_text(heavier()["organiser.yaml"], encoding="utf-8")
    (candidate / "README.md").unlink()
    assert duanka_rules("activate", str(candidate), "--home", str(home), "--by", "李四") == 0
    out = capsys.readouterr().out
    assert "v0002" in out and "README.md、organiser.yaml" in out
    assert "README.md" not in RuleStore(home).files(), "the folder is the whole set: a removed file goes"
    assert duanka_rules("rollback", "v0001", "--home", str(home), "--by", "王五", "--note", "误报") == 0
    assert "现行规则版本为 v0001" in capsys.readouterr().out
    assert duanka_rules("versions", "--home", str(home)) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\| v0001 \| 现行 \| " + PROJECT_HASH, out, re.MULTILINE)
    assert re.search(r"^\| v0002 \|  \| ", out, re.MULTILINE)
    assert "王五 回退 v0001（原 v0002" in out and "李四 激活 v0002（原 v0001" in out


def test_cli_refusals_exit_2_with_every_problem(tmp_path, capsys):
    home, candidate = tmp_path / "home", tmp_path / "candidate"
    candidate.mkdir()
    for name in ("organiser.yaml", "signals.yaml", "categories.yaml"):
        (candidate / name).write_text(project_text(name), encoding="utf-8")
    (candidate / "organiser.yaml").write_text(reweigh(project_text("organiser.yaml"), "R-ORG-PHONE", 500),
                                              encoding="utf-8")
    (candidate / "signals.yaml").write_text(project_text("signals.yaml") + "\n- id: [x\n", encoding="utf-8")
    assert duanka_rules("activate", str(candidate), "--home", str(home)) == 2
    err = capsys.readouterr().err
    assert f"{candidate}/organiser.yaml:9: E008 rule R-ORG-PHONE" in err
    assert f"{candidate}/signals.yaml:" in err and "E001" in err and "2 个问题，未激活" in err
    assert RuleStore(home).versions() == []
    (candidate / "extra.yml").write_text("[]\n", encoding="utf-8")
    assert duanka_rules("activate", str(candidate), "--home", str(home)) == 2
    assert ".yml 不会被夜间运行加载" in capsys.readouterr().err
    assert duanka_rules("activate", str(tmp_path / "missing"), "--home", str(home)) == 2
    assert "不存在" in capsys.readouterr().err
    assert duanka_rules("rollback", "v0003", "--home", str(home)) == 2
    assert "规则版本 v0003 不存在" in capsys.readouterr().err
    assert duanka_rules("check") is None, "other rules commands stay with duanka/cli.py"
