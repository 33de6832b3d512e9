"""The rule store: drafts with strict names, checked activation, immutable versions, rollback, the log."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
from pathlib import Path

import pytest

from duanka.publish.settings import RELATIVE_PATH
from duanka.rulestore import RuleStore, RuleStoreError, journal, rules_for_run
from duanka.rulestore.layout import MAX_FILE_BYTES, PROJECT_RULES, PUBLISH
from duanka.score import load_rule_set

ROOT = Path(__file__).resolve().parents[1]
PROJECT_HASH = load_rule_set(ROOT / "rules").hash


def project_text(name: str) -> str:
    return (ROOT / "rules" / name).read_text(encoding="utf-8")


def reweigh(text: str, rule_id: str, weight: int) -> str:
    """The rule file text with one rule's weight changed."""
    block = re.search(rf"^- id: {re.escape(rule_id)}\n(?:(?!- id:).*\n?)*", text, re.MULTILINE).group(0)
    return text.replace(block, re.sub(r"^  weight: .*$", f"  weight: {weight}", block, count=1, flags=re.MULTILINE))


@pytest.fixture
def store(tmp_path: Path) -> RuleStore:
    return RuleStore(tmp_path / "home")


def heavier_org_phone(store: RuleStore, weight: int = 35) -> dict[str, str]:
    return {"organiser.yaml": reweigh(store.files()["organiser.yaml"], "R-ORG-PHONE", weight)}


def test_layout_knows_where_the_publish_settings_live():
    assert PUBLISH == RELATIVE_PATH.as_posix()


def test_empty_home_uses_project_rules(store):
    assert store.versions() == [] and store.active() is None and store.history() == []
    assert store.active_dir() == PROJECT_RULES == ROOT / "rules"
    files = store.files()
    assert files["organiser.yaml"] == project_text("organiser.yaml")
    assert {"settings.yaml", "categories.yaml", "publish/publish.yaml", "README.md"} <= set(files)


def test_draft_is_active_set_plus_changes_and_leaves_the_active_set_alone(store):
    changes = heavier_org_phone(store)
    changes["README.md"] = None  # a file may be deleted
    draft = store.new_draft(changes, "张三")
    assert draft.base is None and draft.changed == ["README.md", "organiser.yaml"] and draft.created_by == "张三"
    assert store.draft(draft.id) == draft
    on_disk = store.draft_files(draft)
    assert on_disk["organiser.yaml"] == changes["organiser.yaml"] and "README.md" not in on_disk
    assert on_disk["signals.yaml"] == project_text("signals.yaml")
    assert store.files()["organiser.yaml"] == project_text("organiser.yaml"), "a draft is not live"
    assert store.active() is None


def test_a_draft_can_build_on_an_earlier_draft(store):
    store.activate(store.new_draft({}, "张三"), "张三", "")
    first = store.new_draft(heavier_org_phone(store), "张三")
    fixed = store.new_draft({"NOTES.md": "# 为什么加权\n"}, "张三", start=first)
    assert fixed.base == "v0001" and fixed.changed == ["NOTES.md", "organiser.yaml"]
    assert store.draft_files(fixed)["organiser.yaml"] == store.draft_files(first)["organiser.yaml"]
    undone = store.new_draft({"organiser.yaml": store.files()["organiser.yaml"]}, "张三", start=fixed)
    assert undone.changed == ["NOTES.md"], "changed is counted against the base version, not the earlier draft"


BAD_NAMES = [
    ("parent folder", "../escape.yaml"),
    ("parent inside", "publish/../../x.yaml"),
    ("absolute", "/etc/duanka.yaml"),
    ("home-relative", "~/x.yaml"),
    ("backslash", "..\\x.yaml"),
    ("yml is never loaded by the night", "extra.yml"),
    ("python file", "evil.py"),
    ("no suffix", "organiser"),
    ("unknown folder", "sub/rules.yaml"),
    ("other file in publish", "publish/other.yaml"),
    ("hidden", ".hidden.yaml"),
    ("dot segment", "./organiser.yaml"),
    ("empty", ""),
]


@pytest.mark.parametrize("description, name", BAD_NAMES, ids=[b[0] for b in BAD_NAMES])
def test_draft_refuses_names_outside_the_layout(store, description, name):
    with pytest.raises(RuleStoreError) as refused:
        store.new_draft({name: "- id: R-X\n"}, "张三")
    assert "\n" not in str(refused.value) and str(refused.value)
    assert not (store.root / "drafts").exists() or not any((store.root / "drafts").iterdir())
    assert not (store.home.parent / "escape.yaml").exists()


def test_draft_accepts_the_layout_and_bounds_file_size(store):
    draft = store.new_draft({"new_rules.yaml": "", "publish/publish.yaml": project_text("publish/publish.yaml"),
                             "NOTES.md": "# 说明\n"}, "张三")
    assert draft.changed == ["NOTES.md", "new_rules.yaml"]
    with pytest.raises(RuleStoreError, match="文件过大"):
        store.new_draft({"big.yaml": "#" * (MAX_FILE_BYTES + 1)}, "张三")
    with pytest.raises(RuleStoreError, match="操作人"):
        store.new_draft({}, "  ")


@pytest.mark.parametrize("draft_id", ["../../etc", "ABCDEF0123456789", "0123", "0123456789abcdef/..", ""])
def test_draft_ids_are_validated(store, draft_id):
    with pytest.raises(RuleStoreError, match="草稿编号无效"):
        store.draft(draft_id)


def test_unknown_draft_is_named(store):
    with pytest.raises(RuleStoreError, match="不存在"):
        store.draft("0123456789abcdef")


CHECK_CASES = [
    ("unknown feature in a condition", "organiser.yaml",
     lambda t: t.replace('observed: holders_per_phone_max\n  threshold: 3\n',
                         'observed: holders_per_phone_max\n  threshold: 3\n  when: "holders_per_phone_max >= n_cats"\n', 1),
     r"^rules/organiser\.yaml:\d+: E010 rule R-ORG-PHONE: "),
    ("weight out of range", "organiser.yaml", lambda t: reweigh(t, "R-ORG-PHONE", 500),
     r"^rules/organiser\.yaml:9: E008 rule R-ORG-PHONE: "),
    ("YAML syntax", "signals.yaml", lambda t: t + "\n- id: [unclosed\n", r"^rules/signals\.yaml:\d+: E001 rule -: "),
    ("settings key", "settings.yaml", lambda t: t.replace("scoring:", "scoring:\n  bogus_key: 1", 1),
     r"^rules/settings\.yaml:\d+: .*bogus_key"),
    ("publish settings", "publish/publish.yaml", lambda t: t.replace("red: 7", "red: -1", 1),
     r"^rules/publish/publish\.yaml:\d+: .*red"),
]


@pytest.mark.parametrize("description, name, edit, wanted", CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_check_names_file_line_and_rule_and_refuses_activation(store, description, name, edit, wanted):
    draft = store.new_draft({name: edit(project_text(name))}, "张三")
    problems = store.check(draft)
    assert problems and any(re.search(wanted, p) for p in problems), problems
    assert all(str(store.root) not in p for p in problems), "the draft's folder means nothing to an admin"
    with pytest.raises(RuleStoreError, match="规则检查未通过"):
        store.activate(draft, "张三", "试试")
    assert store.versions() == [] and store.active() is None and not store.log_path.exists()
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".tmp")] == []


def test_check_passes_the_project_rules_and_a_sound_edit(store):
    assert store.check(store.new_draft({}, "张三")) == []
    assert store.check(store.new_draft(heavier_org_phone(store), "张三")) == []


def test_activate_and_rollback_are_versioned_and_logged(store):
    first = store.activate(store.new_draft({}, "张三"), "张三", "基线")
    assert (first.name, first.digest, first.active, first.created_by, first.note) == \
        ("v0001", PROJECT_HASH, True, "张三", "基线")
    draft = store.new_draft(heavier_org_phone(store), "李四")
    assert draft.base == "v0001"
    second = store.activate(draft, "李四", "手机号规则加权")
    assert second.name == "v0002" and second.digest != PROJECT_HASH and second.active
    assert second.digest == load_rule_set(store.root / "v0002").hash
    assert store.active_dir() == store.root / "v0002"
    assert "weight: 35" in store.files()["organiser.yaml"]
    assert "weight: 35" not in store.files("v0001")["organiser.yaml"]
    back = store.rollback("v0001", "王五", "误报太多")
    assert back.name == "v0001" and back.active and store.active().name == "v0001"
    assert [(v.name, v.active) for v in store.versions()] == [("v0002", False), ("v0001", True)]
    log = [json.loads(line) for line in store.log_path.read_text(encoding="utf-8").splitlines()]
    assert [(e["action"], e["version"], e["actor"], e["note"], e["previous"], e["digest"]) for e in log] == [
        ("activate", "v0001", "张三", "基线", None, PROJECT_HASH),
        ("activate", "v0002", "李四", "手机号规则加权", "v0001", second.digest),
        ("rollback", "v0001", "王五", "误报太多", "v0002", PROJECT_HASH)]
    assert log[1]["changed"] == ["organiser.yaml"] and all(e["at"].endswith("+08:00") for e in log)
    assert store.history()[0]["action"] == "rollback"
    assert (store.root / "ACTIVE").read_text(encoding="utf-8").strip() == "v0001"


def test_refusals_leave_everything_as_it_was(store):
    store.activate(store.new_draft({}, "张三"), "张三", "")
    with pytest.raises(RuleStoreError, match="完全相同"):
        store.activate(store.new_draft({}, "张三"), "张三", "")
    with pytest.raises(RuleStoreError, match="已是现行版本"):
        store.rollback("v0001", "张三", "")
    for bad in ("v9", "../v0001", "v0007"):
        with pytest.raises(RuleStoreError):
            store.rollback(bad, "张三", "")
    stale = store.new_draft(heavier_org_phone(store, 30), "张三")
    store.activate(store.new_draft(heavier_org_phone(store, 40), "李四"), "李四", "")
    with pytest.raises(RuleStoreError, match="草稿基于 v0001.*v0002"):
        store.activate(stale, "张三", "会覆盖李四的改动")
    assert [v.name for v in store.versions()] == ["v0002", "v0001"] and len(store.history()) == 2


def test_versions_are_immutable(store):
    v1 = store.activate(store.new_draft({}, "张三"), "张三", "")
    before = dict(store.files("v0001"))
    store.activate(store.new_draft(heavier_org_phone(store), "张三"), "张三", "")
    store.rollback("v0001", "张三", "")
    assert store.files("v0001") == before, "activating and rolling back never rewrite a version"
    folder = store.root / "v0001"
    assert all(not (p.stat().st_mode & 0o222) for p in [folder, *folder.rglob("*")]), "read-only on disk"
    assert v1.files == {n: hashlib.sha256(t.encode()).hexdigest() for n, t in before.items()}


def test_a_version_that_no_longer_checks_is_not_rolled_back_to(store):
    store.activate(store.new_draft({}, "张三"), "张三", "")
    store.activate(store.new_draft(heavier_org_phone(store), "张三"), "张三", "")
    target = store.root / "v0001" / "organiser.yaml"
    os.chmod(target, 0o644)  # simulate a rule the current code would refuse (e.g. a feature since renamed)
    target.write_text(reweigh(target.read_text(encoding="utf-8"), "R-ORG-PHONE", 500), encoding="utf-8")
    with pytest.raises(RuleStoreError, match=r"v0001 已不能通过检查.*rules@v0001/organiser\.yaml:9: E008"):
        store.rollback("v0001", "张三", "")
    assert store.active().name == "v0002"


def test_a_kill_after_the_log_line_counts_and_the_mirror_is_repaired(store):
    store.activate(store.new_draft({}, "张三"), "张三", "")
    store.activate(store.new_draft(heavier_org_phone(store), "张三"), "张三", "")
    journal.write_active(store.active_path, "v0001")  # as if killed between the log line and ACTIVE
    with open(store.log_path, "ab") as handle:
        handle.write(b'{"action": "rollback", "version": "v00')  # and a torn line from a later kill
    assert store.active().name == "v0002" and rules_for_run(store.home, None) == store.root / "v0002"
    store.activate(store.new_draft(heavier_org_phone(store, 45), "张三"), "张三", "")
    assert store.active().name == "v0003" and store.active_path.read_text(encoding="utf-8") == "v0003\n"
    assert [e["version"] for e in store.history()] == ["v0003", "v0002", "v0001"]
    assert all(line.startswith("{") for line in store.log_path.read_text(encoding="utf-8").splitlines()[-1:])


def test_a_damaged_pointer_is_reported_not_ignored(store):
    store.activate(store.new_draft({}, "张三"), "张三", "")
    store.active_path.write_text("../../etc\n", encoding="utf-8")
    assert store.active().name == "v0001", "the log decides; ACTIVE is its mirror"
    store.log_path.unlink()
    with pytest.raises(RuleStoreError, match="ACTIVE"):
        store.active()
    store.log_path.write_text(json.dumps({"action": "activate", "version": "v0009"}) + "\n", encoding="utf-8")
    with pytest.raises(RuleStoreError, match="v0009"):
        rules_for_run(store.home, None)


def _activate_in_process(home: str, draft_id: str, start, queue) -> None:
    store = RuleStore(Path(home))
    start.wait(30)
    try:
        queue.put(("ok", store.activate(store.draft(draft_id), draft_id, "").name))
    except RuleStoreError as exc:
        queue.put(("refused", str(exc)))


def test_two_admins_at_once_one_wins_the_other_is_told(store):
    """Two drafts of v0001 activated at the same moment: one becomes v0002, the other is refused, not merged."""
    store.activate(store.new_draft({}, "张三"), "张三", "")
    drafts = [store.new_draft(heavier_org_phone(store, w), "admin") for w in (30, 40)]
    ctx = multiprocessing.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_activate_in_process, args=(str(store.home), d.id, start, queue)) for d in drafts]
    for p in procs:
        p.start()
    start.set()
    results = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert results[0] == ("ok", "v0002") and results[1][0] == "refused", results
    assert results[1][1].startswith("草稿基于 v0001，但现行版本已变为 v0002")
    assert [v.name for v in store.versions()] == ["v0002", "v0001"] and len(store.history()) == 2
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".tmp")] == []


def test_rules_for_run_precedence(store, tmp_path):
    explicit = tmp_path / "mine"
    assert rules_for_run(store.home, explicit) == explicit
    assert rules_for_run(store.home, None) == PROJECT_RULES
    store.activate(store.new_draft({}, "张三"), "张三", "")
    assert rules_for_run(store.home, None) == store.root / "v0001"
    assert rules_for_run(store.home, explicit) == explicit
