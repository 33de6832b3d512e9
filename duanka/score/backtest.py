"""`duanka rules backtest --home HOME`: how each rule did against what units found on the ground.

Units report a verdict for each packet they verify (confirmed 属实, partial 部分属实,
unfounded 不属实; casework `events` rows with to_status = 'verified'). Joined with
the rules that fired on those packets (warehouse `rule_hits`, read-only), that
gives each rule's hit count and precision, and a weight it has earned:

    y = 1 confirmed, 0.5 partial, 0 unfounded         (partial counts half each way)
    p_r = Σ y, n_r = Σ (1 − y) over verified packets the rule fired on; P, N over all verified
    woe_r = ln((p_r + 0.5) / (P + 1)) − ln((n_r + 0.5) / (N + 1))

woe_r (weight of evidence, the naive-Bayes log-likelihood ratio with +0.5
smoothing) says how much more often the rule fires on confirmed packets than on
unfounded ones. Suggested weight = woe_r scaled so that the suggested weights of
the rules with enough evidence and woe_r > 0 add up to their current weights
(priorities stay on the same scale), rounded, clipped to 1–100. A rule with woe_r ≤ 0 fires at
least as often on unfounded packets: it gets 1 and a note to tighten or retire
it. A rule with fewer than MIN_SUPPORT verified hits keeps its weight. The check:
average precision of the verified packets ranked by current points and by
suggested points (ties ranked pessimistically), so an admin sees whether the
suggestion would have put the confirmed packets higher.
"""
from __future__ import annotations

import math
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from duanka.home import Home
from duanka.score.homeread import HomeUnavailable, last_as_of, open_warehouse

MIN_SUPPORT = 5
LABEL = {"confirmed": 1.0, "partial": 0.5, "unfounded": 0.0}
EXIT_OK, EXIT_UNREADABLE, EXIT_BUSY = 0, 2, 3


@dataclass(frozen=True)
class RuleBacktest:
    rule_id: str
    title: str
    weight: float
    fired: int            # packets it fires on now (all active packets)
    verified: int         # ... of which units reported a verdict
    confirmed: int
    partial: int
    unfounded: int
    precision: float | None
    woe: float | None
    suggested: float
    note: str


@dataclass
class Backtest:
    home: Path
    as_of: date
    verified: int = 0
    confirmed: int = 0
    partial: int = 0
    unfounded: int = 0
    unscored: int = 0     # verified packets no longer scored (merged or dissolved since)
    rules: list[RuleBacktest] = field(default_factory=list)
    ap_current: float | None = None
    ap_suggested: float | None = None


def outcomes(casework_path: Path) -> dict[str, str]:
    """packet_id -> the outcome of its latest verification; read-only, {} when there is no casework yet."""
    if not Path(casework_path).exists():
        return {}
    con = sqlite3.connect(f"file:{casework_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("""SELECT packet_id, outcome FROM events e WHERE to_status = 'verified'
                              AND outcome IS NOT NULL AND seq = (SELECT max(seq) FROM events
                              WHERE packet_id = e.packet_id AND to_status = 'verified')""").fetchall()
    except sqlite3.Error as exc:
        raise HomeUnavailable(f"{casework_path}: 无法读取办案记录: {exc}") from None
    finally:
        con.close()
    return {pid: outcome for pid, outcome in rows if outcome in LABEL}


def average_precision(points: dict[str, float], labels: dict[str, float]) -> float | None:
    """AP of packets with label > 0 among `labels`, ranked by points; ties put the negatives first."""
    ranked = sorted(labels, key=lambda pid: (-points.get(pid, 0.0), labels[pid] > 0, pid))
    hits, total = 0, 0.0
    for i, pid in enumerate(ranked, start=1):
        if labels[pid] > 0:
            hits += 1
            total += hits / i
    return total / hits if hits else None


def _suggest(stats: dict[str, dict], pos: float, neg: float) -> dict[str, tuple[float | None, float, str]]:
    """rule -> (woe, suggested weight, note)."""
    woe = {rid: math.log((s["p"] + 0.5) / (pos + 1)) - math.log((s["n"] + 0.5) / (neg + 1))
           for rid, s in stats.items()}
    supported = [rid for rid, s in stats.items() if s["verified"] >= MIN_SUPPORT]
    positive = [rid for rid in supported if woe[rid] > 0]
    scale = (sum(stats[r]["weight"] for r in positive) / sum(woe[r] for r in positive)) if positive else 0.0
    out = {}
    for rid, s in stats.items():
        if s["verified"] < MIN_SUPPORT:
            out[rid] = (woe[rid], s["weight"], f"样本不足（核查 < {MIN_SUPPORT}），保持原分值")
        elif woe[rid] <= 0:
            out[rid] = (woe[rid], 1.0, "命中的线索包不属实不少于属实：建议收紧条件或停用")
        else:
            out[rid] = (woe[rid], float(min(100, max(1, round(scale * woe[rid])))), "")
    return out


def backtest(home: Path) -> Backtest:
    """Per-rule hits, precision and suggested weights from the home's feedback; reads, never writes."""
    home = Path(home)
    verdicts = outcomes(Home(home).casework)
    con = open_warehouse(home)
    try:
        result = Backtest(home=home, as_of=last_as_of(con))
        hits = con.execute("""SELECT h.packet_id, h.rule_id, any_value(h.title), max(h.points) FROM rule_hits h
                              JOIN packet_scores s USING (packet_id) GROUP BY ALL""").fetchall()
        scored = {pid for (pid,) in con.execute("SELECT packet_id FROM packet_scores").fetchall()}
    finally:
        con.close()
    labels = {pid: LABEL[o] for pid, o in verdicts.items() if pid in scored}
    result.unscored = len(verdicts) - len(labels)
    result.verified = len(labels)
    for o in ("confirmed", "partial", "unfounded"):
        setattr(result, o, sum(1 for pid, v in verdicts.items() if v == o and pid in scored))
    stats: dict[str, dict] = {}
    for pid, rid, title, points in hits:
        s = stats.setdefault(rid, {"title": title, "weight": points, "fired": 0, "verified": 0, "p": 0.0, "n": 0.0,
                                   "confirmed": 0, "partial": 0, "unfounded": 0})
        s["fired"] += 1
        if pid in labels:
            s["verified"] += 1
            s["p"] += labels[pid]
            s["n"] += 1 - labels[pid]
            s[verdicts[pid]] += 1
    pos, neg = sum(labels.values()), sum(1 - y for y in labels.values())
    suggested = _suggest(stats, pos, neg)
    for rid in sorted(stats):
        s = stats[rid]
        woe, weight, note = suggested[rid]
        result.rules.append(RuleBacktest(
            rid, s["title"], s["weight"], s["fired"], s["verified"], s["confirmed"], s["partial"], s["unfounded"],
            (s["p"] / s["verified"]) if s["verified"] else None, woe if s["verified"] else None, weight, note))
    current = {pid: 0.0 for pid in labels}
    proposed = {pid: 0.0 for pid in labels}
    for pid, rid, _, points in hits:
        if pid in labels:
            current[pid] += points
            proposed[pid] += suggested[rid][1]
    result.ap_current = average_precision(current, labels)
    result.ap_suggested = average_precision(proposed, labels)
    return result


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_backtest(bt: Backtest) -> str:
    """The backtest as Chinese text: verdict counts, one table row per rule, the ranking check."""
    lines = [f"规则回测 rules backtest：{bt.home}（截至 {bt.as_of}）",
             f"有核查结论的线索包 {bt.verified} 个：属实 {bt.confirmed}，部分属实 {bt.partial}，不属实 {bt.unfounded}"
             + (f"；另有 {bt.unscored} 个已合并或解散，不计入" if bt.unscored else "")]
    if not bt.verified:
        lines.append("尚无可用的核查结论（反馈文件中 stage=verified 的记录），无法回测。")
        return "\n".join(lines) + "\n"
    lines += [("精确率 = (属实 + 0.5 × 部分属实) / 核查数；证据权重 woe = ln((p+0.5)/(P+1)) − ln((n+0.5)/(N+1))；"
               f"建议分值按 woe 等比缩放，使样本充足（核查 ≥ {MIN_SUPPORT}）且 woe > 0 的规则分值总和不变。"),
              "| 规则 | 标题 | 现分值 | 命中包数 | 核查 | 属实 | 部分 | 不属实 | 精确率 | woe | 建议分值 | 说明 |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in bt.rules:
        lines.append(f"| {r.rule_id} | {r.title} | {r.weight:g} | {r.fired} | {r.verified} | {r.confirmed} | "
                     f"{r.partial} | {r.unfounded} | {_num(r.precision)} | {_num(r.woe)} | {r.suggested:g} | "
                     f"{r.note or '-'} |")
    lines.append(f"已核查线索包按现分值排序的平均精度 {_num(bt.ap_current, 3)}，按建议分值 {_num(bt.ap_suggested, 3)}"
                 + ("（建议分值排序更好）" if (bt.ap_suggested or 0) > (bt.ap_current or 0) else
                    "（建议分值没有改善排序，维持现分值）"))
    lines.append("建议分值只用于排序；改分值后红/橙/黄等级的门槛可能也要调整，先用 duanka rules diff 试算。")
    return "\n".join(lines) + "\n"


def cmd_rules_backtest(home: Path) -> int:
    """Print the backtest and return 0; 2 when the home cannot be read, 3 while the nightly run holds it."""
    try:
        bt = backtest(home)
    except HomeUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BUSY if exc.busy else EXIT_UNREADABLE
    print(format_backtest(bt), end="")
    return EXIT_OK
