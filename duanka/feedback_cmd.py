"""`duanka feedback add PACKET --stage …`: one unit result entered by hand, through the lifecycle rules.

The same check as a feedback file row (duanka.casework.apply): a step backwards,
a verification without its outcome or an unknown packet is refused with a
Chinese message and exit status 2, and nothing is recorded. Casework is SQLite
in WAL mode, so this works while a nightly run holds the warehouse.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from duanka import casework
from duanka.home import Home

EXIT_OK, EXIT_REFUSED = 0, 2
# accepted on the command line: the contract's codes and the Chinese words units use
STAGE_WORDS = {"analyzed": "analyzed", "已研判": "analyzed", "研判": "analyzed",
               "verified": "verified", "已核查": "verified", "核查": "verified",
               "struck": "struck", "已打击": "struck", "打击": "struck",
               "closed": "closed", "已反馈": "closed", "反馈": "closed", "办结": "closed"}
OUTCOME_WORDS = {"confirmed": "confirmed", "属实": "confirmed", "partial": "partial", "部分属实": "partial",
                 "unfounded": "unfounded", "不属实": "unfounded"}
FIGURE_HELP = {"arrests": "抓获人数", "penalties": "行政处罚人数", "cards_cancelled": "清理卡数",
               "accounts_frozen": "冻结账户数", "recovered": "挽回损失（元）"}


def _figures(figures: dict) -> tuple[tuple[str, float | int | None], ...]:
    """Check the reported figures: known names, whole numbers ≥ 0 (money: any amount ≥ 0)."""
    out = []
    for name, value in figures.items():
        if value is None:
            continue
        if name not in casework.FIGURES:
            raise casework.TransitionRefused(f"未知的战果项 {name!r}，可用: {'、'.join(casework.FIGURES)}")
        number = float(value)
        if number < 0 or (name != "recovered" and number != int(number)):
            raise casework.TransitionRefused(f"{FIGURE_HELP[name]} 应为不小于 0 的{'数' if name == 'recovered' else '整数'}"
                                             f" (got {value!r})")
        out.append((name, number if name == "recovered" else int(number)))
    return tuple(out)


def cmd_feedback_add(home: Path, packet_id: str, stage: str, outcome: str | None, figures: dict,
                     officer: str, note: str | None) -> int:
    """Record one transition of `packet_id` in HOME's casework; 0 when recorded, 2 when refused."""
    store_path = Home(Path(home)).casework
    if not store_path.is_file():
        print(f"工作目录 {home} 中没有办案库 casework.sqlite（尚未运行过 duanka run？）", file=sys.stderr)
        return EXIT_REFUSED
    code = STAGE_WORDS.get(stage.strip())
    result = OUTCOME_WORDS.get(outcome.strip()) if outcome else None
    store = casework.connect(store_path)
    try:
        if code is None:
            raise casework.TransitionRefused(f"环节 {stage!r} 无效，应为 analyzed/verified/struck/closed")
        if outcome and result is None:
            raise casework.TransitionRefused(f"核查结论 {outcome!r} 无效，应为 confirmed/partial/unfounded")
        before, _ = casework.current_status(store, packet_id)
        at = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
        casework.apply(store, casework.Transition(
            packet_id=packet_id, stage=code, actor=officer.strip() or getpass.getuser(), at=at, outcome=result,
            note=note, figures=_figures(figures), source="cli"))
    except casework.TransitionRefused as exc:
        print(f"未登记: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
    print(f"已登记: 线索包 {packet_id}「{casework.STAGE_ZH.get(before or '', before)}」→「{casework.STAGE_ZH[code]}」")
    return EXIT_OK


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为整数: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"应为不小于 0 的整数: {text!r}")
    return value


def _money(text: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为金额（元）: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"金额不能为负: {text!r}")
    return value


def add_feedback_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`feedback add` under the CLI's subparsers; returns the `feedback` parser (dest `feedback_command`)."""
    feedback = subparsers.add_parser("feedback", help="登记单位反馈 (unit feedback)")
    sub = feedback.add_subparsers(dest="feedback_command", required=True)
    add = sub.add_parser("add", help="登记一个线索包的一个环节（研判、核查、打击、办结）")
    add.add_argument("packet", help="线索包编号")
    add.add_argument("--stage", required=True, help="环节: analyzed 已研判 | verified 已核查 | struck 已打击 | closed 已反馈")
    add.add_argument("--outcome", default=None, help="核查结论（verified 必填）: confirmed 属实 | partial 部分属实 | unfounded 不属实")
    for name in casework.FIGURES:
        add.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                         type=_money if name == "recovered" else _count, help=FIGURE_HELP[name])
    add.add_argument("--officer", default="", help="反馈人（默认当前系统用户）")
    add.add_argument("--note", default=None, help="备注")
    add.add_argument("--home", required=True, type=Path, help="工作目录")
    return feedback


def run_feedback_args(args: argparse.Namespace) -> int:
    """Dispatch parsed `feedback add` arguments to cmd_feedback_add."""
    figures = {name: getattr(args, name) for name in casework.FIGURES}
    return cmd_feedback_add(args.home, args.packet, args.stage, args.outcome, figures, args.officer, args.note)
