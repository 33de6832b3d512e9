"""The one exception the rule store raises: refused or impossible, in one Chinese line an admin can act on."""
from __future__ import annotations


class RuleStoreError(Exception):
    """Refused or impossible; the message is one Chinese line an admin can act on."""
