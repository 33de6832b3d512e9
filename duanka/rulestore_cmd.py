"""`duanka rules versions|activate|rollback`: the rule store from the command line.

The same store the web app's admin pages use (`duanka.rulestore`): an admin on the
server can list versions, make a checked rules folder live, or put an older
version back, and each step is logged with who did it and why. Refusals print
every problem and exit 2, like `duanka rules check`.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from duanka.rulestore import RuleStore, RuleStoreError

EXIT_OK, EXIT_REFUSED = 0, 2
ACTION_ZH = {"activate": "激活", "rollback": "回退"}


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(rules_subparsers: argparse._SubParsersAction) -> None:
    """Add `versions`, `activate` and `rollback` to the `duanka rules` sub-commands."""
    versions = rules_subparsers.add_parser("versions", help="列出工作目录的规则版本和激活/回退记录")
    versions.add_argument("--home", required=True, type=Path)
    activate = rules_subparsers.add_parser("activate", help="检查规则目录, 通过后存为新版本并设为现行 (下次夜间运行使用)")
    activate.add_argument("dir", type=Path, help="完整的规则目录")
    rollback = rules_subparsers.add_parser("rollback", help="把较早的规则版本重新设为现行")
    rollback.add_argument("version", help="规则版本, 如 v0002")
    for sub in (activate, rollback):
        sub.add_argument("--home", required=True, type=Path)
        sub.add_argument("--by", default=None, help="操作人 (默认当前系统用户)")
        sub.add_argument("--note", default="", help="说明: 为什么改")


def dispatch(args: argparse.Namespace) -> int | None:
    """Run the command when it is one of ours; None lets the caller handle the others."""
    command = getattr(args, "rules_command", None)
    if command not in ("versions", "activate", "rollback"):
        return None
    store = RuleStore(args.home)
    try:
        if command == "versions":
            return cmd_versions(store)
        actor = args.by if args.by is not None else _default_actor()
        if command == "activate":
            return cmd_activate(store, args.dir, actor, args.note)
        return cmd_rollback(store, args.version, actor, args.note)
    except RuleStoreError as exc:
        print(f"已拒绝 (refused): {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"无法读写 {args.home}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_REFUSED


def cmd_versions(store: RuleStore) -> int:
    versions = store.versions()
    if not versions:
        print(f"{store.home} 尚无规则版本：夜间运行使用 {store.active_dir()}")
        return EXIT_OK
    print("| 版本 | 现行 | 规则集哈希 | 创建时间 | 创建人 | 说明 |")
    print("|---|---|---|---|---|---|")
    for v in versions:
        print(f"| {v.name} | {'现行' if v.active else ''} | {v.digest} | {v.created_at} | {v.created_by} | "
              f"{v.note or '-'} |")
    history = store.history()
    if history:
        print("激活与回退记录（最新在前）：")
        for entry in history:
            print(f"  {entry.get('at', '?')} {entry.get('actor', '?')} {ACTION_ZH.get(entry.get('action'), '?')} "
                  f"{entry['version']}（原 {entry.get('previous') or '项目 rules/'}，哈希 {entry.get('digest', '?')}）"
                  f"{'：' + entry['note'] if entry.get('note') else ''}")
    return EXIT_OK


def cmd_activate(store: RuleStore, folder: Path, actor: str, note: str) -> int:
    draft = store.draft_from_dir(folder, actor)
    problems = store.check(draft, label=str(folder))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} 个问题，未激活 (not activated)", file=sys.stderr)
        return EXIT_REFUSED
    version = store.activate(draft, actor, note)
    changed = "、".join(draft.changed) or "无文件改动"
    print(f"已激活规则版本 {version.name}（规则集哈希 {version.digest}；改动：{changed}）。下一次夜间运行将使用它。")
    return EXIT_OK


def cmd_rollback(store: RuleStore, version: str, actor: str, note: str) -> int:
    target = store.rollback(version, actor, note)
    print(f"已回退：现行规则版本为 {target.name}（规则集哈希 {target.digest}）。下一次夜间运行将使用它。")
    return EXIT_OK
