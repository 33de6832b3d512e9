"""`duanka serve` and `duanka users add|disable|passwd`: the web app's commands.

The lead wires them into duanka.cli: `register(sub)` in build_parser and, first
thing in main, `code = dispatch(args); if code is not None: return code`.
Passwords are prompted for (getpass, twice) or read from standard input with
`--password-stdin` (for scripts), never taken from the command line, where
other users of the machine could read them in the process list.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and `users` to the CLI's subparsers (dest `command`)."""
    serve = sub.add_parser("serve", help="启动侦查员与管理员网页工作台 (web app)")
    serve.add_argument("--home", required=True, type=Path, help="工作目录")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
    serve.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    serve.add_argument("--session-minutes", type=float, default=30.0, help="会话空闲超时（分钟，默认 30）")
    serve.add_argument("--secure-cookies", action="store_true", help="Cookie 加 Secure 标志（经 HTTPS 反向代理时使用）")
    users = sub.add_parser("users", help="网页工作台用户管理")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="新增用户")
    add.add_argument("name", help="用户名")
    add.add_argument("--role", required=True, choices=["investigator", "leader", "admin"],
                     help="角色: investigator 侦查员 | leader 单位负责人 | admin 管理员")
    add.add_argument("--unit", default=None, help="所属单位代码（侦查员、单位负责人必填）")
    for name, text in (("disable", "停用用户（立即结束其会话）"), ("enable", "重新启用用户"), ("passwd", "修改密码")):
        p = users_sub.add_parser(name, help=text)
        p.add_argument("name", help="用户名")
    for p in (add, users_sub.choices["disable"], users_sub.choices["enable"], users_sub.choices["passwd"]):
        p.add_argument("--home", required=True, type=Path, help="工作目录")
    for p in (add, users_sub.choices["passwd"]):
        p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    users_sub.add_parser("list", help="列出用户").add_argument("--home", required=True, type=Path, help="工作目录")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码: ")
    if first != getpass.getpass("再次输入密码: "):
        raise ValueError("两次输入的密码不一致")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from duanka.web import accounts, audit, db

    home: Path = args.home
    if not home.is_dir():
        print(f"工作目录不存在: {home}", file=sys.stderr)
        return EXIT_REFUSED
    con = db.connect(home)
    operator = f"cli:{getpass.getuser()}"
    try:
        if args.users_command == "list":
            for u in accounts.list_users(con):
                state = "（已停用）" if u.disabled else ""
                print(f"{u.username}\t{accounts.ROLE_ZH[u.role]}\t{u.unit_code or '—'}{state}")
            return EXIT_OK
        if args.users_command == "add":
            user = accounts.add_user(con, args.name, args.role, args.unit, _password(args.password_stdin))
            audit.record(con, operator, "user_add", detail=f"{user.username} {user.role} {user.unit_code or ''}")
            print(f"已新增用户 {user.username}（{user.role_label}{'，' + user.unit_code if user.unit_code else ''}）")
        elif args.users_command in ("disable", "enable"):
            accounts.set_disabled(con, args.name, args.users_command == "disable")
            audit.record(con, operator, f"user_{args.users_command}", detail=args.name)
            print(f"已{'停用' if args.users_command == 'disable' else '启用'}用户 {args.name}")
        elif args.users_command == "passwd":
            if accounts.get_user(con, args.name) is None:
                raise accounts.AccountError(f"用户 {args.name} 不存在")
            accounts.set_password(con, args.name, _password(args.password_stdin))
            audit.record(con, operator, "user_passwd", detail=args.name)
            print(f"已修改用户 {args.name} 的密码")
    except (accounts.AccountError, ValueError) as exc:
        print(f"未完成: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        con.close()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from duanka.web.app import create_app

    if not args.home.is_dir():
        print(f"工作目录不存在: {args.home}", file=sys.stderr)
        return EXIT_REFUSED
    if not 0 < args.port < 65536 or args.session_minutes <= 0:
        print("端口应为 1–65535，会话超时应为正数", file=sys.stderr)
        return EXIT_REFUSED
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.home, session_minutes=args.session_minutes, secure_cookies=args.secure_cookies)
    print(f"断卡网页工作台: http://{args.host}:{args.port}/  (Ctrl+C 停止)")
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False, proxy_headers=False)
    except OSError as exc:
        print(f"无法启动: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def dispatch(args: argparse.Namespace) -> int | None:
    """Run `serve` or `users`; None for any other command (duanka.cli handles it)."""
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "users":
        return cmd_users(args)
    return None
