"""rules/README.md documents every rule field, feature, error code, category and starter rule."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from duanka.score import load_rule_set
from duanka.score import loader as loader_module
from duanka.score.features import LEAD_FEATURES, PACKET_FEATURES
from duanka.score.model import ALL_FIELDS, CATEGORIES, SCOPES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "rules" / "README.md").read_text(encoding="utf-8")
CODES = sorted(set(re.findall(r"E0\d\d", loader_module.__doc__ or "")))

ITEMS = (
    [("field", f" {name}:") for name in ALL_FIELDS]
    + [("packet feature", f"`{f.name}`") for f in PACKET_FEATURES]
    + [("lead feature", f"`{name}`") for name in LEAD_FEATURES]
    + [("scope", f"`{name}`") for name in SCOPES]
    + [("category", f"`{name}`") for name in CATEGORIES]
    + [("error code", f"| {code} |") for code in CODES]
    + [("starter rule", f"| {r.id} |") for r in load_rule_set(ROOT / "rules").rules]
)


@pytest.mark.parametrize("kind, needle", ITEMS, ids=[f"{k}:{n.strip(' `|:')}" for k, n in ITEMS])
def test_readme_documents(kind, needle):
    assert needle in README, f"rules/README.md does not document {kind} {needle.strip()}"


def test_codes_in_loader_docstring():
    assert CODES == [f"E{n:03d}" for n in range(1, 15)]


def test_readme_states_the_priority_formula():
    assert "100 × (1 − exp(−points / saturation))" in README
