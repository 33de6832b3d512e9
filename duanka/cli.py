"""`duanka` command line: run, demo, sample, rules check.

Cheap checks first: a bad rule file or an unwritable home is refused in well
under a second, before Prefect's temporary server starts. A user never sees a
traceback: unexpected errors are written to the run log and summarised in one
Chinese line, with a non-zero exit status.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3

# Offline, always: no telemetry from Prefect or GX, and time for the ephemeral server to start.
for _key, _value in (("PREFECT_SERVER_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1"),
                     ("GX_ANALYTICS_ENABLED", "false"),
                     ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"),
                     ("PREFECT_LOGGING_SETTINGS_PATH", str(Path(__file__).with_name("logging.yml")))):
    os.environ.setdefault(_key, _value)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duanka", description="断卡线索研判流水线 (two-cards lead triage)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="处理收件目录中的新文件并发布线索包 (nightly run)")
    run.add_argument("--inbox", required=True, type=Path, help="收件目录")
    run.add_argument("--home", required=True, type=Path, help="工作目录 (状态与发布物)")
    run.add_argument("--as-of", type=_date, default=None, help="批次日期 YYYY-MM-DD (默认今天)")
    run.add_argument("--rules", type=Path, default=None,
                     help="规则目录 (默认: 工作目录的现行规则版本，否则项目 rules/)")
    run.add_argument("--task-runner", choices=["default", "dask"], default="default",
                     help="读取与规范化的并行方式: default (线程) 或 dask (Dask 工作进程)")
    demo = sub.add_parser("demo", help="在自带样例上运行每一晚, 打印优先级最高的线索包")
    demo.add_argument("--home", type=Path, default=PROJECT_ROOT / "demo-home")
    demo.add_argument("--sample", type=Path, default=SAMPLE_DIR)
    demo.add_argument("--top", type=int, default=10)
    sample = sub.add_parser("sample", help="生成合成样例投递 (synthetic deliveries + ground truth)")
    sample.add_argument("--out", required=True, type=Path)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--leads", type=int, default=2500)
    sample.add_argument("--nights", type=int, default=2)
    from duanka.feedback_cmd import add_feedback_parser

    add_feedback_parser(sub)
    from duanka.web.cli import register as register_web

    register_web(sub)
    rules = sub.add_parser("rules", help="规则管理")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="检查规则文件: 全部错误一次列出")
    check.add_argument("dir", nargs="?", type=Path, default=None,
                       help="规则目录 (默认: --home 的现行规则版本，否则项目 rules/)")
    check.add_argument("--home", type=Path, default=None, help="也在该工作目录的数据上试运行规则")
    diff = rules_sub.add_parser("diff", help="用候选规则重新评分上次运行, 列出等级变化和进出前 N 的线索包")
    diff.add_argument("dir", type=Path, help="候选规则目录")
    diff.add_argument("--home", required=True, type=Path)
    diff.add_argument("--top", type=int, default=20)
    backtest = rules_sub.add_parser("backtest", help="按反馈结论统计每条规则的命中与准确率, 并建议权重")
    backtest.add_argument("--home", required=True, type=Path)
    from duanka.rulestore_cmd import register as register_rulestore

    register_rulestore(rules_sub)
    return parser


def describe_failure(exc: BaseException) -> str:
    """One line for a person: a full disk is named as such, whatever layer raised it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return ("磁盘空间不足 (no space left on device)。本批次未发布任何内容，之前的发布保持不变；"
                    "清理空间后重新运行即可。")
        seen = seen.__cause__ or seen.__context__
    return f"{type(exc).__name__}: {exc}"


def cmd_run(inbox: Path, home: Path, as_of: date, rules: Path | None, task_runner: str = "default") -> int:
    from duanka.home import HomeError
    from duanka.nightly.context import PreflightError, preflight

    try:
        cfg = preflight(inbox, home, as_of, rules)
    except PreflightError as exc:
        print("无法开始运行 (run refused):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    from duanka.progress import Progress
    from flows.nightly import nightly_with

    log_file = cfg.home.runs_day(as_of.isoformat()) / "run.log"
    try:
        result = nightly_with(task_runner)(inbox=str(inbox), home=str(home), as_of=as_of,
                                           rules_dir=str(rules) if rules else None)
    except HomeError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_LOCKED
    except Exception as exc:  # noqa: BLE001 - the user gets one line, the log gets the traceback
        try:
            Progress(log_file=log_file, quiet=True)._emit("运行失败:\n" + traceback.format_exc())
        except OSError:
            pass  # a full disk cannot take the log either; the message below still says why
        print(f"运行失败 (run failed): {describe_failure(exc)}\n详见 {log_file}", file=sys.stderr)
        return EXIT_FAILED
    print(f"完成: {result['packets']} 个线索包。索引页: {result['index']}")
    return EXIT_OK


def cmd_demo(home: Path, sample: Path, top: int) -> int:
    nights = sorted(p for p in sample.iterdir() if p.is_dir()) if sample.is_dir() else []
    if not nights:
        print(f"没有样例投递: {sample} (先运行 duanka sample --out {sample})", file=sys.stderr)
        return EXIT_CONFIG
    for night in nights:
        print(f"== 批次 {night.name} ==")
        status = cmd_run(night, home, _date(night.name), None)
        if status != EXIT_OK:
            return status
    from duanka.demo import print_top_packets

    print_top_packets(home, nights[-1].name, top)
    return EXIT_OK


def cmd_sample(out: Path, seed: int, leads: int, nights: int) -> int:
    from duanka.sample import generate

    summary = generate(out, seed=seed, leads=leads, nights=nights)
    print(f"已生成样例: {out} ({summary})")
    return EXIT_OK


def cmd_rules_check(directory: Path, home: Path | None) -> int:
    from duanka.score.check import check_rule_set
    from duanka.score.homeread import HomeUnavailable, open_warehouse

    con = None
    if home is not None and (home / "warehouse.duckdb").exists():
        try:
            con = open_warehouse(home)
        except HomeUnavailable as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_CONFIG
    elif home is not None:
        print(f"{home}: 还没有运行过 duanka run，只检查规则文件本身 (no warehouse: files checked only)")
    try:
        problems = check_rule_set(directory, con)
    finally:
        if con is not None:
            con.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} 个问题 (problems)", file=sys.stderr)
        return EXIT_CONFIG
    print(f"规则检查通过: {directory}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from duanka.web.cli import dispatch as dispatch_web

    code = dispatch_web(args)
    if code is not None:
        return code
    if args.command == "run":
        return cmd_run(args.inbox, args.home, args.as_of or datetime.now(ZoneInfo("Asia/Shanghai")).date(),
                       args.rules, args.task_runner)
    if args.command == "demo":
        return cmd_demo(args.home, args.sample, args.top)
    if args.command == "feedback":
        from duanka.feedback_cmd import run_feedback_args

        return run_feedback_args(args)
    if args.command == "sample":
        return cmd_sample(args.out, args.seed, args.leads, args.nights)
    from duanka.rulestore_cmd import dispatch as dispatch_rulestore

    status = dispatch_rulestore(args)
    if status is not None:
        return status
    if args.rules_command == "diff":
        from duanka.score.diff import cmd_rules_diff

        return cmd_rules_diff(args.dir, args.home, args.top)
    if args.rules_command == "backtest":
        from duanka.score.backtest import cmd_rules_backtest

        return cmd_rules_backtest(args.home)
    directory = args.dir
    if directory is None:
        from duanka.rulestore import rules_for_run

        directory = rules_for_run(args.home, None) if args.home else PROJECT_ROOT / "rules"
    return cmd_rules_check(directory, args.home)


if __name__ == "__main__":
    sys.exit(main())
