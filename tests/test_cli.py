"""The command line refuses what it cannot run, at once and without a traceback."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

RULES = Path(__file__).resolve().parents[1] / "rules"


def _duanka(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "duanka.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _broken_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    target = min(p for p in rules.glob("*.yaml") if p.name != "settings.yaml")
    target.write_text(target.read_text(encoding="utf-8") + "\n  - id: [unclosed\n", encoding="utf-8")
    return rules


def test_run_with_a_broken_rule_file_is_refused_before_prefect_starts(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    started = time.monotonic()
    result = _duanka("run", "--inbox", str(inbox), "--home", str(tmp_path / "home"), "--as-of", "2026-11-03",
                     "--rules", str(_broken_rules(tmp_path)))
    assert result.returncode == 2
    assert ".yaml:" in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert time.monotonic() - started < 30  # no Prefect server was started
    assert not (tmp_path / "home" / "packets").exists()


def test_rules_check_lists_problems_and_fails(tmp_path: Path) -> None:
    result = _duanka("rules", "check", str(_broken_rules(tmp_path)))
    assert result.returncode == 2 and ".yaml:" in result.stderr and "Traceback" not in result.stderr


def test_rules_check_refuses_what_a_night_would_refuse_in_publish_settings(tmp_path: Path) -> None:
    """`rules check` and the night agree on a bad publish/publish.yaml (it used to pass the check)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    publish = rules / "publish" / "publish.yaml"
    publish.write_text(publish.read_text(encoding="utf-8").replace("red: 7", "red: -1", 1), encoding="utf-8")
    result = _duanka("rules", "check", str(rules))
    assert result.returncode == 2, result.stdout
    assert "publish.yaml:" in result.stderr and "red" in result.stderr and "Traceback" not in result.stderr
    assert _duanka("rules", "check", str(RULES)).returncode == 0


def test_missing_inbox_is_refused(tmp_path: Path) -> None:
    result = _duanka("run", "--inbox", str(tmp_path / "nope"), "--home", str(tmp_path / "home"),
                     "--as-of", "2026-11-03")
    assert result.returncode == 2 and "收件目录不存在" in result.stderr


def test_bad_date_is_refused(tmp_path: Path) -> None:
    result = _duanka("run", "--inbox", str(tmp_path), "--home", str(tmp_path), "--as-of", "2026-13-01")
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def test_a_failure_midway_is_one_line_for_the_user_and_a_traceback_in_the_log(tmp_path: Path) -> None:
    from duanka.sample import generate

    generate(tmp_path / "d", seed=1, leads=300, nights=1)
    home = tmp_path / "home"
    home.mkdir()
    (home / "packets").write_text("not a folder")  # publishing cannot succeed
    result = _duanka("run", "--inbox", str(tmp_path / "d" / "2026-11-03"), "--home", str(home),
                     "--as-of", "2026-11-03")
    assert result.returncode == 1
    assert "运行失败" in result.stderr and "run.log" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Traceback" in (home / "runs" / "2026-11-03" / "run.log").read_text(encoding="utf-8")


def test_rules_diff_and_backtest_are_wired_and_refuse_a_missing_home(tmp_path: Path) -> None:
    for args in (("rules", "diff", str(RULES), "--home", str(tmp_path / "nohome")),
                 ("rules", "backtest", "--home", str(tmp_path / "nohome"))):
        result = _duanka(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr + result.stdout and result.stderr.strip()


def test_rule_versions_activate_rollback_through_the_real_command_line(tmp_path: Path) -> None:
    """Activate a changed rules folder, see it listed and checked by default, roll back, refuse a broken one."""
    home = tmp_path / "home"
    changed = tmp_path / "changed"
    shutil.copytree(RULES, changed)
    readme = changed / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\n本地说明\n", encoding="utf-8")
    first = _duanka("rules", "activate", str(RULES), "--home", str(home), "--by", "admin1", "--note", "初始")
    second = _duanka("rules", "activate", str(changed), "--home", str(home), "--by", "admin1", "--note", "改说明")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    listed = _duanka("rules", "versions", "--home", str(home))
    assert listed.returncode == 0 and "v0001" in listed.stdout and "v0002" in listed.stdout
    checked = _duanka("rules", "check", "--home", str(home))
    assert checked.returncode == 0 and "v0002" in checked.stdout, checked.stdout + checked.stderr
    back = _duanka("rules", "rollback", "v0001", "--home", str(home), "--by", "admin1", "--note", "回退")
    assert back.returncode == 0, back.stderr
    assert "v0001" in _duanka("rules", "check", "--home", str(home)).stdout
    refused = _duanka("rules", "activate", str(_broken_rules(tmp_path)), "--home", str(home), "--by", "admin1")
    assert refused.returncode == 2 and ".yaml:" in refused.stderr and "Traceback" not in refused.stderr
