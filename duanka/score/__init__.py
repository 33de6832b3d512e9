"""Scoring: rule files -> rule hits, priority, tier, unit and category per active packet.

Public API (see docs/architecture.md and rules/README.md):
load_rule_set, load_categories, check_rule_set, load_units, score_packets,
rules_diff / format_rules_diff / cmd_rules_diff (duanka rules diff),
backtest / format_backtest / cmd_rules_backtest (duanka rules backtest).
"""
from __future__ import annotations

from duanka.score.backtest import Backtest, backtest, cmd_rules_backtest, format_backtest
from duanka.score.categories import Category, load_categories
from duanka.score.check import check_rule_set
from duanka.score.diff import RulesDiff, cmd_rules_diff, format_rules_diff, rules_diff
from duanka.score.engine import ScoreReport, score_packets
from duanka.score.loader import load_rule_set
from duanka.score.model import CATEGORIES, SCOPES, Rule, RuleSet
from duanka.score.priority import priority, tier
from duanka.score.units import UNASSIGNED, Units, load_units

__all__ = ["CATEGORIES", "SCOPES", "UNASSIGNED", "Backtest", "Category", "Rule", "RuleSet", "RulesDiff",
           "ScoreReport", "Units", "backtest", "check_rule_set", "cmd_rules_backtest", "cmd_rules_diff",
           "format_backtest", "format_rules_diff", "load_categories", "load_rule_set", "load_units", "priority",
           "rules_diff", "score_packets", "tier"]
