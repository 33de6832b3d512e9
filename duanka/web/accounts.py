"""Local user accounts: roles, units and salted scrypt password hashes.

Three roles: an investigator works one unit's packets; a unit leader sees the
same packets and the unit's metrics; an admin owns the rules, the audit log and
the dashboard of every unit, but opens no packet (nobody sees another unit's
people, and an admin belongs to no unit).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass

from duanka.web.db import stamp

ROLES = ("investigator", "leader", "admin")
ROLE_ZH = {"investigator": "侦查员", "leader": "单位负责人", "admin": "管理员"}
UNIT_ROLES = ("investigator", "leader")
USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
UNIT_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 128
# scrypt cost: ~50 ms per check on these machines; a guessing attacker also meets the login rate limit
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class AccountError(ValueError):
    """A user change that is not allowed; the message says why, in Chinese."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    unit_code: str | None
    disabled: bool = False

    @property
    def role_label(self) -> str:
        return ROLE_ZH[self.role]

    def sees_unit(self, unit_code: str | None) -> bool:
        """Whether this user may open a packet of `unit_code`: only their own unit's."""
        return self.role in UNIT_ROLES and bool(self.unit_code) and unit_code == self.unit_code


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored `scrypt$n$r$p$salt$hash` string."""
    try:
        _, n, r, p, salt, expected = stored.split("$")
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), expected)


# Checked against when the user does not exist, so a missing name costs as long as a wrong password.
_DUMMY = hash_password("duanka-no-such-user")


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"密码长度应为 {MIN_PASSWORD}–{MAX_PASSWORD} 个字符")


def _check_new(username: str, role: str, unit_code: str | None) -> None:
    if not USERNAME.match(username or ""):
        raise AccountError("用户名应为 2–32 个字母、数字、汉字或 _ . -")
    if role not in ROLES:
        raise AccountError(f"角色 {role!r} 无效，应为 investigator（侦查员）| leader（单位负责人）| admin（管理员）")
    if role in UNIT_ROLES and not (unit_code and UNIT_CODE.match(unit_code)):
        raise AccountError(f"{ROLE_ZH[role]} 必须指定所属单位 --unit（单位代码，字母数字）")
    if role == "admin" and unit_code:
        raise AccountError("管理员不属于任何单位，请不要指定 --unit")


def add_user(con: sqlite3.Connection, username: str, role: str, unit_code: str | None, password: str) -> User:
    _check_new(username, role, unit_code)
    check_password_rules(password)
    try:
        con.execute("INSERT INTO web_users VALUES (?, ?, ?, ?, 0, ?, ?)",
                    (username, role, unit_code or None, hash_password(password), stamp(), stamp()))
    except sqlite3.IntegrityError:
        raise AccountError(f"用户 {username} 已存在") from None
    return User(username, role, unit_code or None)


def get_user(con: sqlite3.Connection, username: str) -> User | None:
    row = con.execute("SELECT username, role, unit_code, disabled FROM web_users WHERE username = ?",
                      (username,)).fetchone()
    return User(row[0], row[1], row[2], bool(row[3])) if row else None


def authenticate(con: sqlite3.Connection, username: str, password: str) -> User | None:
    """The user if the name exists, is enabled and the password matches; None otherwise (same cost)."""
    row = con.execute("SELECT password FROM web_users WHERE username = ?", (username,)).fetchone()
    ok = verify_password(password, row[0] if row else _DUMMY)
    user = get_user(con, username) if row and ok else None
    return user if user and not user.disabled else None


def set_disabled(con: sqlite3.Connection, username: str, disabled: bool = True) -> None:
    """Disable (or enable) a user; a disabled user's sessions end at once."""
    changed = con.execute("UPDATE web_users SET disabled = ?, updated_at = ? WHERE username = ?",
                          (int(disabled), stamp(), username)).rowcount
    if not changed:
        raise AccountError(f"用户 {username} 不存在")
    if disabled:
        con.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


def set_password(con: sqlite3.Connection, username: str, password: str) -> None:
    """Change a password; the user's other sessions end (a leaked session stops working)."""
    check_password_rules(password)
    changed = con.execute("UPDATE web_users SET password = ?, updated_at = ? WHERE username = ?",
                          (hash_password(password), stamp(), username)).rowcount
    if not changed:
        raise AccountError(f"用户 {username} 不存在")
    con.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


def list_users(con: sqlite3.Connection) -> list[User]:
    rows = con.execute("SELECT username, role, unit_code, disabled FROM web_users ORDER BY username").fetchall()
    return [User(r[0], r[1], r[2], bool(r[3])) for r in rows]
