"""Scoring: rule files -> rule hits, priority, tier, unit and category per active packet.

Public API (see docs/architecture.md and rules/README.md):
load_rule_set, check_rule_set, load_units, score_packets.
"""
from __future__ import annotations

from duanka.score.check import check_rule_set
from duanka.score.engine import ScoreReport, score_packets
from duanka.score.loader import load_rule_set
from duanka.score.model import CATEGORIES, SCOPES, Rule, RuleSet
from duanka.score.priority import priority, tier
from duanka.score.units import UNASSIGNED, Units, load_units

__all__ = ["CATEGORIES", "SCOPES", "UNASSIGNED", "Rule", "RuleSet", "ScoreReport", "Units", "check_rule_set",
           "load_rule_set", "load_units", "priority", "score_packets", "tier"]
