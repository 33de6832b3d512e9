"""Versioned rule sets per home: see, draft, check, diff, activate, roll back (issue 7, admin rules).

Public API (the web app and `duanka rules versions|activate|rollback` use it):
RuleStore, RuleVersion, Draft, DiffOutcome, RuleStoreError, rules_for_run.
The layout on disk and why it is crash-safe: `store.py` and `journal.py`.
"""
from __future__ import annotations

from duanka.rulestore.checks import DiffOutcome
from duanka.rulestore.store import Draft, RuleStore, RuleStoreError, RuleVersion, rules_for_run

__all__ = ["DiffOutcome", "Draft", "RuleStore", "RuleStoreError", "RuleVersion", "rules_for_run"]
