"""`duanka rules diff DIR --home HOME`: what a candidate rule set would do to tonight's queue.

A rule change that silently reorders the units' work is the thing admins fear
most; so before candidate rules go live they re-score the packets of the last
run (read-only: TEMP tables only, the published scores stay as they are) and
see every packet that would change tier, or enter or leave the top N, with its
old and new priority and the rules that start or stop firing on it.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from duanka.publish.labels import TIER_SHORT as TIER_ZH
from duanka.score.check import try_rules
from duanka.score.engine import compute_scores
from duanka.score.homeread import HomeUnavailable, last_as_of, open_warehouse, units_path
from duanka.score.loader import load_rule_set
from duanka.score.units import load_units
from duanka.settings import load_settings
from duanka.yamlcheck import ConfigError

CHANGE_ZH = {"tier": "等级变化", "enter_top": "进入前列", "leave_top": "离开前列"}
EXIT_OK, EXIT_INVALID, EXIT_BUSY = 0, 2, 3


@dataclass(frozen=True)
class PacketDiff:
    """One packet whose tier or top-N membership changes (ranks are 1-based, by priority then id)."""

    packet_id: str
    old_priority: float
    new_priority: float
    old_tier: str
    new_tier: str
    old_rank: int
    new_rank: int
    changes: tuple[str, ...]
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]


@dataclass
class RulesDiff:
    home: Path
    as_of: date
    top: int
    old_hash: str
    new_hash: str
    packets: int
    old_tiers: dict[str, int] = field(default_factory=dict)
    new_tiers: dict[str, int] = field(default_factory=dict)
    old_fired: dict[str, int] = field(default_factory=dict)
    new_fired: dict[str, int] = field(default_factory=dict)
    weights: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # changed: old, new
    changes: list[PacketDiff] = field(default_factory=list)


def _ranks(scores: dict[str, tuple[float, str, list[str]]]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda pid: (-scores[pid][0], pid))
    return {pid: i for i, pid in enumerate(ordered, start=1)}


def _old_scores(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, tuple[float, str, list[str]]], str]:
    rows = con.execute("""SELECT s.packet_id, s.priority, s.tier, s.rules, s.rule_set_hash FROM packet_scores s
                          JOIN packet_registry r ON r.packet_id = s.packet_id AND r.state = 'active'""").fetchall()
    hashes = Counter(row[4] for row in rows)
    return {r[0]: (r[1], r[2], list(r[3] or [])) for r in rows}, (hashes.most_common(1)[0][0] if hashes else "-")


def compare(old: dict[str, tuple[float, str, list[str]]], new: dict[str, tuple[float, str, list[str]]],
            top: int) -> list[PacketDiff]:
    """Packets that change tier or cross the top-N line, in order of their best rank (pure)."""
    old_rank, new_rank = _ranks(old), _ranks(new)
    missing = (0.0, "yellow", [])
    out = []
    for pid in sorted(set(old) | set(new)):
        (op, ot, orules), (np_, nt, nrules) = old.get(pid, missing), new.get(pid, missing)
        o_rank, n_rank = old_rank.get(pid, len(old) + 1), new_rank.get(pid, len(new) + 1)
        changes = tuple(code for code, hit in (("tier", ot != nt), ("enter_top", o_rank > top >= n_rank),
                                               ("leave_top", n_rank > top >= o_rank)) if hit)
        if changes:
            out.append(PacketDiff(pid, op, np_, ot, nt, o_rank, n_rank, changes,
                                  tuple(sorted(set(nrules) - set(orules))), tuple(sorted(set(orules) - set(nrules)))))
    return sorted(out, key=lambda d: (min(d.old_rank, d.new_rank), d.packet_id))


def rules_diff(candidate_dir: Path, home: Path, top: int = 20) -> RulesDiff:
    """Re-score the last run's active packets with the rules in `candidate_dir`; nothing is written.

    Raises ConfigError (candidate rules or settings invalid, or a rule fails on the
    home's data) and HomeUnavailable (no warehouse, or the nightly run holds it).
    """
    candidate_dir, home = Path(candidate_dir), Path(home)
    rule_set = load_rule_set(candidate_dir)
    settings = load_settings(candidate_dir / "settings.yaml")
    units = load_units(units_path(home))
    con = open_warehouse(home)
    try:
        as_of = last_as_of(con)
        old, old_hash = _old_scores(con)
        old_weights = dict(con.execute("SELECT rule_id, max(points) FROM rule_hits GROUP BY 1").fetchall())
        try:
            table, report = compute_scores(con, rule_set, settings.scoring, units, as_of)
        except duckdb.Error as exc:
            problems = try_rules(con, rule_set, as_of, "仓库数据 warehouse data")
            raise ConfigError(problems or [f"{candidate_dir}:1: E013 rule -: {str(exc).splitlines()[0]}"]) from None
    finally:
        con.close()
    new_weights = {rule.id: rule.weight for rule in rule_set.rules}
    weights = {rid: (old_weights.get(rid), new_weights.get(rid)) for rid in sorted(set(old_weights) | set(new_weights))
               if rid in old_weights and old_weights.get(rid) != new_weights.get(rid)}
    rows = table.to_pylist()
    new = {r["packet_id"]: (r["priority"], r["tier"], list(r["rules"])) for r in rows}
    old_fired = Counter(rule for (_, _, rules) in old.values() for rule in rules)
    return RulesDiff(
        home=home, as_of=as_of, top=top, old_hash=old_hash, new_hash=rule_set.hash, packets=len(new),
        old_tiers=dict(Counter(t for (_, t, _) in old.values())), new_tiers=dict(report.tiers),
        old_fired=dict(old_fired), new_fired={k: v for k, v in report.fired.items() if v}, weights=weights,
        changes=compare(old, new, top))


def _tier_line(diff: RulesDiff) -> str:
    return "，".join(f"{TIER_ZH[t]} {diff.old_tiers.get(t, 0)} → {diff.new_tiers.get(t, 0)}" for t in TIER_ZH)


def format_rules_diff(diff: RulesDiff) -> str:
    """The diff as Chinese text: header, tier counts, rules whose fire count changed, a table of packets."""
    lines = [f"规则试算 rules diff：{diff.home}，按 {diff.as_of} 运行的 {diff.packets} 个线索包重新评分（只读）",
             f"现行规则集 {diff.old_hash} → 候选规则集 {diff.new_hash}",
             f"等级分布：{_tier_line(diff)}"]
    moved = sorted(rid for rid in set(diff.old_fired) | set(diff.new_fired)
                   if diff.old_fired.get(rid, 0) != diff.new_fired.get(rid, 0))
    if moved:
        lines.append("命中数变化的规则：" + "；".join(
            f"{rid} {diff.old_fired.get(rid, 0)} → {diff.new_fired.get(rid, 0)} 个线索包" for rid in moved))
    if diff.weights:
        lines.append("分值变化的规则：" + "；".join(
            f"{rid} {old:g} → {'删除' if new is None else f'{new:g}'}" for rid, (old, new) in diff.weights.items()))
    if not diff.changes:
        lines.append(f"没有线索包改变等级，也没有线索包进入或离开前 {diff.top} 名。")
        return "\n".join(lines) + "\n"
    counts = Counter(code for d in diff.changes for code in d.changes)
    lines.append(f"变化的线索包 {len(diff.changes)} 个（等级变化 {counts['tier']}，进入前 {diff.top} 名 "
                 f"{counts['enter_top']}，离开前 {diff.top} 名 {counts['leave_top']}）：")
    lines.append("| 线索包 | 原优先级 | 新优先级 | 原等级 | 新等级 | 原名次 | 新名次 | 变化 | 新增命中 | 不再命中 |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for d in diff.changes:
        lines.append(f"| {d.packet_id} | {d.old_priority:.1f} | {d.new_priority:.1f} | {TIER_ZH.get(d.old_tier, d.old_tier)}"
                     f" | {TIER_ZH.get(d.new_tier, d.new_tier)} | {d.old_rank} | {d.new_rank} | "
                     f"{'、'.join(CHANGE_ZH[c] for c in d.changes)} | {'、'.join(d.rules_added) or '-'} | "
                     f"{'、'.join(d.rules_removed) or '-'} |")
    return "\n".join(lines) + "\n"


def cmd_rules_diff(candidate_dir: Path, home: Path, top: int = 20) -> int:
    """Print the diff and return 0; 2 when the candidate rules are invalid (every problem listed), 3 when busy."""
    try:
        diff = rules_diff(candidate_dir, home, top)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"候选规则无效，{len(exc.problems)} 个问题 (invalid candidate rules)", file=sys.stderr)
        return EXIT_INVALID
    except HomeUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BUSY if exc.busy else EXIT_INVALID
    print(format_rules_diff(diff), end="")
    return EXIT_OK
