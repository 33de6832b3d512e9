"""The typed rule model: what a rule file may say, once it has been checked.

A rule is data, not code: an id that never changes meaning, a version that goes
up when the condition changes, Chinese text an investigator reads, the legal
basis that justifies acting on it, and a condition over named features. The
loader turns YAML into these objects or refuses the whole set.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

# The core categories (rules/categories.yaml must define at least these; it may add more).
# Their order breaks ties when a packet's category is chosen. category -> Chinese name.
CATEGORIES: dict[str, str] = {
    "card_farmer": "开卡卖卡",
    "collector": "收卡贩卡",
    "organiser": "带队组织",
    "rogue_outlet": "违规网点·内鬼",
    "shell_company": "空壳公司对公账户",
    "signal": "风险信号",
}
# A packet no rule fired on has no category: packet_scores.category is NULL.

# lead: the condition is tested on every lead of the packet, the packet fires when
# at least `threshold` leads match. entity/group/pattern: the condition is tested
# once per packet on the packet's features (the three names say what the rule looks
# at — one holder/phone/device, the whole group, a timing or place pattern).
SCOPES: dict[str, str] = {
    "lead": "单条线索",
    "entity": "单个主体/标识",
    "group": "整个团伙",
    "pattern": "时间地点模式",
}

REQUIRED_FIELDS = ("id", "version", "title", "explanation", "category", "scope", "weight",
                   "legal_basis", "evidence")
OPTIONAL_FIELDS = ("title_en", "when", "observed", "threshold", "note")
ALL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS


@dataclass(frozen=True)
class Rule:
    """One checked rule. `when` is a DuckDB SQL boolean expression over features."""

    id: str
    version: int
    title: str
    explanation: str
    category: str
    scope: str
    weight: float
    legal_basis: str
    evidence: str
    when: str
    observed: str | None
    threshold: float
    title_en: str | None = None
    note: str | None = None
    file: str = ""
    line: int = 0

    @property
    def per_lead(self) -> bool:
        return self.scope == "lead"

    def canonical(self) -> dict:
        """The content that decides what the rule does and says (no file or line)."""
        content = asdict(self)
        content.pop("file")
        content.pop("line")
        return content


@dataclass(frozen=True)
class RuleSet:
    """The active rules, sorted by id, and the hash stamped on every packet they score.

    `categories` (code -> duanka.score.categories.Category) carries the checklist and
    penalty text the packet page shows; it is not part of the hash, which covers
    what decides and explains a score, not the casework text beside it.
    """

    rules: tuple[Rule, ...]
    hash: str
    categories: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, rules: list[Rule], categories: dict[str, Any] | None = None) -> RuleSet:
        ordered = tuple(sorted(rules, key=lambda rule: rule.id))
        return cls(rules=ordered, hash=rule_set_hash(ordered), categories=dict(categories or {}))

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def rule_set_hash(rules: tuple[Rule, ...] | list[Rule]) -> str:
    """sha256 of the canonical JSON of every rule, sorted by id: first 12 hex digits.

    Moving a rule to another file or reformatting the YAML keeps the hash; changing
    any word, weight or condition changes it.
    """
    content = [rule.canonical() for rule in sorted(rules, key=lambda rule: rule.id)]
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
