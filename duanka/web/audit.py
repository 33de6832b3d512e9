"""The audit log: every view, reveal, action, login, user change and rule change, with who and when.

Rows are written in the same request that does the thing, and never updated
or deleted. Details never carry a full identifier: a reveal records its reason,
not what was revealed; notes are stored masked (duanka.publish.mask.mask_text).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from duanka.publish.mask import mask_text
from duanka.web.accounts import User
from duanka.web.db import stamp

ACTION_ZH = {
    "login": "登录", "login_failed": "登录失败", "login_throttled": "登录被限制", "logout": "退出",
    "view_queue": "查看队列", "view_packet": "查看线索包", "reveal": "显示完整信息", "transition": "登记处置",
    "transition_refused": "处置被拒绝", "view_dashboard": "查看统计", "view_audit": "查看审计日志",
    "rules_draft": "规则草稿", "rules_activate": "启用规则版本", "rules_rollback": "回滚规则版本",
    "user_add": "新增用户", "user_disable": "停用用户", "user_enable": "启用用户", "user_passwd": "修改密码",
    "denied": "越权访问",
}
PAGE_SIZE = 200


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    role: str | None
    actor_unit: str | None
    action: str
    packet_id: str | None
    packet_unit: str | None
    detail: str | None
    client: str | None

    @property
    def action_label(self) -> str:
        return ACTION_ZH.get(self.action, self.action)


def record(con: sqlite3.Connection, actor: User | str, action: str, *, packet_id: str | None = None,
           packet_unit: str | None = None, detail: str | None = None, client: str | None = None) -> None:
    """Append one row; `actor` is a user, or a name (a CLI operator, a failed login's name)."""
    if isinstance(actor, User):
        name, role, unit = actor.username, actor.role, actor.unit_code
    else:
        name, role, unit = str(actor)[:64], None, None
    con.execute("INSERT INTO web_audit (at, actor, role, actor_unit, action, packet_id, packet_unit, detail, client)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (stamp(), name, role, unit, action, packet_id, packet_unit, mask_text(detail)[:1000] if detail else None,
                 client))


def search_sql(actor: str | None, action: str | None, packet_id: str | None, day: str | None) -> tuple[str, list]:
    """The newest rows matching the filters (each optional), newest first."""
    where, params = [], []
    for column, value in (("actor", actor), ("action", action), ("packet_id", packet_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if day:
        where.append("substr(at, 1, 10) = ?")
        params.append(day)
    sql = ("SELECT seq, at, actor, role, actor_unit, action, packet_id, packet_unit, detail, client FROM web_audit"
           + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY seq DESC LIMIT {PAGE_SIZE}")
    return sql, params


def search(con: sqlite3.Connection, *, actor: str | None = None, action: str | None = None,
           packet_id: str | None = None, day: str | None = None) -> list[Entry]:
    sql, params = search_sql(actor, action, packet_id, day)
    return [Entry(*row) for row in con.execute(sql, params).fetchall()]
