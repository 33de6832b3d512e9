"""Validation of every form the web app accepts; each problem is a Chinese sentence shown on the form.

Nothing a user typed reaches casework, the audit log or the rule store
unchecked: stages and outcomes from fixed sets, counts as whole numbers ≥ 0,
money ≥ 0 with at most two decimals, notes of bounded length without control
characters, rule files as UTF-8 YAML of bounded size under a safe relative path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from duanka.casework import FIGURES, OUTCOMES
from duanka.feedback_cmd import FIGURE_HELP

STAGES = ("analyzed", "verified", "struck", "closed")
STAGE_ACTION = {"analyzed": "研判", "verified": "核查", "struck": "打击", "closed": "办结"}
OUTCOME_ZH = {"confirmed": "属实", "partial": "部分属实", "unfounded": "不属实"}
NOTE_MAX, REASON_MAX, LOGIN_MAX = 500, 200, 128
COUNT_MAX, MONEY_MAX = 1_000_000, Decimal(1_000_000_000_000)
RULE_FILE_MAX = 256 * 1024
RULE_PATH = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.(?:yaml|md)|publish/publish\.yaml)$")
VERSION = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FormError(ValueError):
    """One or more problems with a submitted form; `problems` are shown on the form."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("；".join(problems))


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def note(value: str, label: str = "备注", maximum: int = NOTE_MAX, required: bool = True) -> list[str]:
    if required and len(value) < 2:
        return [f"请填写{label}（至少 2 个字）"]
    if len(value) > maximum:
        return [f"{label}不能超过 {maximum} 个字（现有 {len(value)} 个）"]
    if CONTROL.search(value):
        return [f"{label}含有不可见的控制字符"]
    return []


def _figure(name: str, raw: str, problems: list[str]) -> float | int | None:
    if raw == "":
        return None
    label = FIGURE_HELP[name]
    try:
        number = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        problems.append(f"{label} 应为数字（填写的是 {raw[:20]!r}）")
        return None
    if not number.is_finite() or number < 0:
        problems.append(f"{label} 应为不小于 0 的数")
        return None
    if name == "recovered":
        if number > MONEY_MAX or number.as_tuple().exponent < -2:  # type: ignore[operator]
            problems.append(f"{label} 应为不超过一万亿、最多两位小数的金额")
            return None
        return float(number)
    if number != number.to_integral_value() or number > COUNT_MAX:
        problems.append(f"{label} 应为不超过 {COUNT_MAX:,} 的整数")
        return None
    return int(number)


@dataclass(frozen=True)
class TransitionForm:
    stage: str
    outcome: str | None
    figures: tuple[tuple[str, float | int | None], ...]
    note: str


def transition(form: dict) -> TransitionForm:
    """研判 / 核查 (with outcome) / 打击 (with figures) / 办结, each with a note."""
    problems: list[str] = []
    stage, outcome = _text(form, "stage"), _text(form, "outcome") or None
    if stage not in STAGES:
        problems.append("处置环节无效，应为 研判、核查、打击 或 办结")
    if stage == "verified" and outcome not in OUTCOMES:
        problems.append("核查须选择结论：属实、部分属实 或 不属实")
    elif stage != "verified" and outcome is not None:
        problems.append("只有核查环节填写核查结论")
    figures = []
    for name in FIGURES:
        raw = _text(form, name)
        if raw and stage != "struck":
            problems.append(f"{FIGURE_HELP[name]} 只在登记打击时填写")
            continue
        value = _figure(name, raw, problems)
        if value is not None:
            figures.append((name, value))
    text = _text(form, "note")
    problems += note(text)
    if problems:
        raise FormError(problems)
    return TransitionForm(stage=stage, outcome=outcome, figures=tuple(figures), note=text)


def reveal_reason(form: dict) -> str:
    reason = _text(form, "reason")
    problems = note(reason, "查看完整信息的事由", REASON_MAX)
    if problems:
        raise FormError(problems)
    return reason


def login(form: dict) -> tuple[str, str]:
    username = _text(form, "username")
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    if not username or not password:
        raise FormError(["请输入用户名和密码"])
    if len(username) > 64 or len(password) > LOGIN_MAX or CONTROL.search(username):
        raise FormError(["用户名或密码格式不正确"])
    return username, str(password)


def rule_path(path: str) -> str:
    """A file of the rule set layout (duanka.rulestore.layout): `name.yaml`, `name.md` or publish/publish.yaml."""
    if ".." in (path or "") or not RULE_PATH.match(path or ""):
        raise FormError([f"规则文件名 {path[:80]!r} 无效：应为 名称.yaml（字母、数字、_ . -）或 publish/publish.yaml"])
    return path


def rule_text(raw: bytes | str, label: str) -> str:
    """UTF-8 text of at most 256 KB, without control characters."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if not data.strip():
        raise FormError([f"{label} 是空的"])
    if len(data) > RULE_FILE_MAX:
        raise FormError([f"{label} 太大（{len(data) // 1024} KB），规则文件不能超过 {RULE_FILE_MAX // 1024} KB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormError([f"{label} 不是 UTF-8 文本（第 {exc.start} 字节）"]) from None
    if CONTROL.search(text.replace("\t", " ")):
        raise FormError([f"{label} 含有不可见的控制字符"])
    return text.replace("\r\n", "\n")


def version(value: str) -> str:
    if not VERSION.match(value or ""):
        raise FormError(["规则版本号无效"])
    return value


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    packet_id: str | None = None
    day: str | None = None


def audit_filter(params: dict, actions: dict[str, str]) -> AuditFilter:
    problems = []
    actor, action = _text(params, "actor"), _text(params, "action")
    packet_id, day = _text(params, "packet_id"), _text(params, "day")
    if len(actor) > 64 or CONTROL.search(actor):
        problems.append("用户名过长或含控制字符")
    if action and action not in actions:
        problems.append("操作类型无效")
    if packet_id and not re.match(r"^[A-Za-z0-9_.\-]{1,64}$", packet_id):
        problems.append("线索包编号格式不正确")
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            problems.append("日期应为 YYYY-MM-DD")
    if problems:
        raise FormError(problems)
    return AuditFilter(actor or None, action or None, packet_id or None, day or None)


QUEUE_FILTERS = {"tier": ("red", "orange", "yellow"), "status": ("issued", "analyzed", "verified", "struck", "closed"),
                 "overdue": ("1",), "changed": ("1",)}


def queue_filter(params: dict) -> dict[str, str]:
    chosen, problems = {}, []
    for name, allowed in QUEUE_FILTERS.items():
        value = _text(params, name)
        if value and value not in allowed:
            problems.append(f"筛选条件 {name} 的取值无效")
        elif value:
            chosen[name] = value
    if problems:
        raise FormError(problems)
    return chosen
