"""Versioned rule sets in a home: drafts, checked activation, rollback, and what the night uses.

HOME/rulesets/
    v0001/ v0002/ …     one immutable folder per version: the whole rules folder + version.json
    drafts/<id>/        an admin's working copy (the active set plus their changes) + draft.json
    log.jsonl ACTIVE    the history and the pointer (`journal.py`)

A version is written to a temporary folder and renamed into place, so a killed
activation leaves no half-written version; it only becomes active through the log
and ACTIVE. Until anything is activated, the night keeps using the project's
`rules/` folder, as it always did.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from duanka.rulestore import journal, layout
from duanka.rulestore.checks import DiffOutcome, diff_outcome, problems
from duanka.rulestore.errors import RuleStoreError
from duanka.rulestore.layout import PROJECT_RULES

DRAFT_ID = re.compile(r"^[0-9a-f]{16}$")
META = "version.json"
DRAFT_META = "draft.json"
DRAFT_DAYS = 14
MAX_ACTOR, MAX_NOTE = 64, 1000
LABEL = "rules"


@dataclass(frozen=True)
class RuleVersion:
    name: str
    created_at: str
    created_by: str
    note: str
    digest: str
    active: bool
    files: dict[str, str] = field(default_factory=dict, compare=False)  # name -> sha256 of its text


@dataclass(frozen=True)
class Draft:
    id: str
    path: Path
    base: str | None
    changed: list[str]
    created_by: str = ""
    created_at: str = ""


def _now() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _person(actor: str, what: str, limit: int, required: bool = True) -> str:
    text = (actor or "").strip()
    if required and not text:
        raise RuleStoreError(f"{what}不能为空")
    if len(text) > limit or any(ch in text for ch in "\r\n\x00"):
        raise RuleStoreError(f"{what}过长或含换行（上限 {limit} 字）")
    return text


class RuleStore:
    """The rule sets of one home. Safe for several web workers and the CLI at once (flock + atomic renames)."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.root = self.home / "rulesets"
        self.log_path = self.root / "log.jsonl"
        self.active_path = self.root / "ACTIVE"

    # -- reading ---------------------------------------------------------------------------------
    def _version(self, name: str, active: str | None) -> RuleVersion:
        meta = json.loads((self.root / name / META).read_text(encoding="utf-8"))
        return RuleVersion(name=name, created_at=meta["created_at"], created_by=meta["created_by"],
                           note=meta.get("note", ""), digest=meta["digest"], active=name == active,
                           files=dict(meta.get("files", {})))

    def _active_name(self) -> str | None:
        """The last logged activation or rollback (the commit point); ACTIVE mirrors it for people and tools."""
        return journal.active_name(self.log_path, self.active_path)

    def versions(self) -> list[RuleVersion]:
        """Every version, newest first."""
        if not self.root.is_dir():
            return []
        names = [p.name for p in self.root.iterdir() if journal.VERSION_NAME.match(p.name) and (p / META).is_file()]
        active = self._active_name()
        return [self._version(n, active) for n in sorted(names, key=lambda n: int(n[1:]), reverse=True)]

    def version(self, name: str) -> RuleVersion:
        if not isinstance(name, str) or not journal.VERSION_NAME.match(name):
            raise RuleStoreError(f"规则版本名应形如 v0001（got {str(name)[:40]!r}）")
        if not (self.root / name / META).is_file():
            raise RuleStoreError(f"规则版本 {name} 不存在")
        return self._version(name, self._active_name())

    def active(self) -> RuleVersion | None:
        """The version in force; None until something was activated."""
        name = self._active_name()
        if name is None:
            return None
        if not (self.root / name / META).is_file():
            raise RuleStoreError(f"{self.log_path}: 现行规则版本 {name} 的目录不存在或不完整")
        return self._version(name, name)

    def active_dir(self) -> Path:
        """The active version's folder, else the project's rules/."""
        active = self.active()
        return self.root / active.name if active else PROJECT_RULES

    def files(self, version: str | None = None) -> dict[str, str]:
        """Relative path -> text of the active set, or of the named version."""
        folder = self.active_dir() if version is None else self.root / self.version(version).name
        return layout.read_files(folder)

    def history(self) -> list[dict]:
        """Every activation and rollback, newest first (at, actor, action, version, digest, note, previous)."""
        return list(reversed(journal.read_log(self.log_path)))

    # -- drafts ----------------------------------------------------------------------------------
    def new_draft(self, changes: dict[str, str | None], actor: str, start: Draft | None = None) -> Draft:
        """A copy of the active set with `changes` applied (text None deletes a file); nothing goes live.

        `start`: build on an earlier draft instead (an admin fixing what check() found); the new
        draft keeps that draft's base version, and `changed` is counted against that version.
        """
        actor = _person(actor, "操作人", MAX_ACTOR)
        if start is None:
            base, files = self._active_name(), layout.read_files(self.active_dir())
            return self._write_draft(base, files, files, changes, actor)
        start = self.draft(start.id)
        base_files = layout.read_files(self.root / start.base if start.base else PROJECT_RULES)
        return self._write_draft(start.base, base_files, layout.read_files(start.path), changes, actor)

    def draft_from_dir(self, folder: Path, actor: str) -> Draft:
        """A draft holding exactly the rule set in `folder` (for `duanka rules activate DIR`)."""
        actor = _person(actor, "操作人", MAX_ACTOR)
        folder = Path(folder)
        if not folder.is_dir():
            raise RuleStoreError(f"规则目录不存在或不是目录: {folder}")
        stray = layout.stray_files(folder)
        if stray:
            raise RuleStoreError(f"{folder}: {stray[0]} 扩展名应为 .yaml（.yml 不会被夜间运行加载）")
        wanted = layout.read_files(folder)
        base = self._active_name()
        current = layout.read_files(self.active_dir())
        changes: dict[str, str | None] = {n: None for n in current if n not in wanted}
        changes.update(wanted)
        return self._write_draft(base, current, current, changes, actor)

    def _write_draft(self, base: str | None, base_files: dict[str, str], files: dict[str, str],
                     changes: dict[str, str | None], actor: str) -> Draft:
        if not isinstance(changes, dict):
            raise RuleStoreError("改动应为 文件名 -> 文本")
        merged = dict(files)
        for name, text in changes.items():
            name = layout.check_relative_path(name)
            if text is None:
                merged.pop(name, None)
            else:
                merged[name] = layout.check_text(name, text)
        if len(merged) > layout.MAX_FILES:
            raise RuleStoreError(f"文件过多（{len(merged)} 个，上限 {layout.MAX_FILES}）")
        changed = sorted(n for n in set(base_files) | set(merged) if base_files.get(n) != merged.get(n))
        drafts, draft_id = self.root / "drafts", secrets.token_hex(8)
        meta = {"id": draft_id, "base": base, "changed": changed, "created_by": actor, "created_at": _now()}
        temp = drafts / f".tmp-{draft_id}"
        try:
            drafts.mkdir(parents=True, exist_ok=True)
            self._prune_drafts(drafts)
            temp.mkdir()
            layout.write_files(temp, {**merged, DRAFT_META: json.dumps(meta, ensure_ascii=False, indent=1)})
            temp.rename(drafts / draft_id)
        except OSError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            raise RuleStoreError(f"无法写入草稿目录 {drafts}: {exc.strerror or exc}") from None
        return self.draft(draft_id)

    def _prune_drafts(self, drafts: Path) -> None:
        """Drafts are scratch: those untouched for DRAFT_DAYS go (and leftovers of killed writes)."""
        cutoff = time.time() - DRAFT_DAYS * 86400
        for path in drafts.iterdir():
            try:
                if path.is_dir() and path.stat().st_mtime < cutoff:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                continue

    def draft(self, draft_id: str) -> Draft:
        if not isinstance(draft_id, str) or not DRAFT_ID.match(draft_id):
            raise RuleStoreError("草稿编号无效")
        path = self.root / "drafts" / draft_id
        try:
            meta = json.loads((path / DRAFT_META).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise RuleStoreError(f"草稿 {draft_id} 不存在或已过期") from None
        return Draft(id=draft_id, path=path, base=meta["base"], changed=list(meta["changed"]),
                     created_by=meta.get("created_by", ""), created_at=meta.get("created_at", ""))

    def draft_files(self, draft: Draft) -> dict[str, str]:
        return layout.read_files(self.draft(draft.id).path)

    # -- checking --------------------------------------------------------------------------------
    def check(self, draft: Draft, label: str = LABEL) -> list[str]:
        """Every problem a nightly run would refuse the draft for, one line each (file, line, rule id).

        Paths are shown under `label` (`rules/organiser.yaml:12: …`), not the draft's folder.
        """
        return problems(self.draft(draft.id).path, label)[0]

    def diff(self, draft: Draft, top: int = 20) -> DiffOutcome:
        """What `duanka rules diff` prints for the draft against the home's last run, as lines."""
        return diff_outcome(self.draft(draft.id).path, self.home, top, LABEL)

    # -- going live ------------------------------------------------------------------------------
    def activate(self, draft: Draft, actor: str, note: str) -> RuleVersion:
        """The draft becomes a new version and the active one; refused unless check() finds nothing."""
        actor, note = _person(actor, "操作人", MAX_ACTOR), _person(note, "说明", MAX_NOTE, required=False)
        draft = self.draft(draft.id)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with journal.StoreLock(self.root):
                journal.repair(self.log_path, self.active_path)
                active = self._active_name()
                if draft.base != active:
                    raise RuleStoreError(f"草稿基于 {draft.base or '项目 rules/'}，但现行版本已变为 "
                                         f"{active or '项目 rules/'}：请在现行版本上重新编辑")
                files = layout.read_files(draft.path)
                if files == layout.read_files(self.active_dir()) and active is not None:
                    raise RuleStoreError(f"草稿与现行版本 {active} 完全相同，无需激活")
                version = self._write_version(files, actor, note)
                self._commit("activate", version, actor, note, previous=active, draft=draft)
        except OSError as exc:
            raise RuleStoreError(f"无法写入规则版本目录 {self.root}: {exc.strerror or exc}") from None
        return self.version(version.name)

    def _write_version(self, files: dict[str, str], actor: str, note: str) -> RuleVersion:
        """Write, check and rename one version into place (under the lock)."""
        temp = self.root / f".tmp-{secrets.token_hex(8)}"
        temp.mkdir()
        try:
            layout.write_files(temp, files)
            found, rule_set = problems(temp, LABEL)
            if found or rule_set is None:
                raise RuleStoreError(f"规则检查未通过，{len(found)} 个问题，未激活：{found[0] if found else ''}")
            numbers = [int(p.name[1:]) for p in self.root.iterdir() if journal.VERSION_NAME.match(p.name)]
            name = f"v{max(numbers, default=0) + 1:04d}"
            meta = {"name": name, "created_at": _now(), "created_by": actor, "note": note,
                    "digest": rule_set.hash, "files": {n: _sha(t) for n, t in sorted(files.items())}}
            layout.write_files(temp, {META: json.dumps(meta, ensure_ascii=False, indent=1)})
            layout.make_read_only(temp)
            temp.rename(self.root / name)
            layout.fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return self._version(name, None)

    def rollback(self, version: str, actor: str, note: str) -> RuleVersion:
        """An older version becomes active again (checked again first: the code may have moved on)."""
        actor, note = _person(actor, "操作人", MAX_ACTOR), _person(note, "说明", MAX_NOTE, required=False)
        target = self.version(version)
        found, _ = problems(self.root / target.name, f"{LABEL}@{target.name}")
        if found:
            raise RuleStoreError(f"规则版本 {target.name} 已不能通过检查，{len(found)} 个问题，未回退：{found[0]}")
        try:
            with journal.StoreLock(self.root):
                journal.repair(self.log_path, self.active_path)
                active = self._active_name()
                if active == target.name:
                    raise RuleStoreError(f"规则版本 {target.name} 已是现行版本")
                self._commit("rollback", target, actor, note, previous=active)
        except OSError as exc:
            raise RuleStoreError(f"无法写入规则版本目录 {self.root}: {exc.strerror or exc}") from None
        return self.version(target.name)

    def _commit(self, action: str, version: RuleVersion, actor: str, note: str, previous: str | None,
                draft: Draft | None = None) -> None:
        entry = {"at": _now(), "actor": actor, "action": action, "version": version.name,
                 "digest": version.digest, "note": note, "previous": previous}
        if draft is not None:
            entry["changed"] = draft.changed
        journal.append_log(self.log_path, entry)
        journal.write_active(self.active_path, version.name)


def rules_for_run(home: Path, explicit: Path | None) -> Path:
    """The rules folder a run uses: an explicit --rules wins, else the home's active version, else rules/."""
    if explicit is not None:
        return Path(explicit)
    return RuleStore(Path(home)).active_dir()
