"""categories.yaml: every category carries a checklist and penalty references, checked at load."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from duanka.score import load_categories, load_rule_set
from duanka.score.model import CATEGORIES
from duanka.yamlcheck import ConfigError

ROOT = Path(__file__).resolve().parents[1]
STARTER = yaml.safe_load((ROOT / "rules" / "categories.yaml").read_text(encoding="utf-8"))


def test_starter_categories_have_casework():
    """All core categories, each with a Chinese name, several concrete questions and real law cited."""
    categories = load_categories(ROOT / "rules")
    assert set(CATEGORIES) <= set(categories)
    for code, category in categories.items():
        assert category.code == code and category.name_zh == CATEGORIES.get(code, category.name_zh)
        assert len(category.checklist) >= 4 and all(q.endswith(("？", "。")) for q in category.checklist), code
        assert category.penalties and any("《" in p and "第" in p for p in category.penalties), code
        assert category.line > 1 and category.file.endswith("categories.yaml")
    laws = " ".join(p for c in categories.values() for p in c.penalties)
    for article in ("第三十一条", "第四十四条", "第二百八十七条之二", "第二百八十条之一"):
        assert article in laws


def test_rule_set_carries_categories():
    """The nightly run's rule set hands the categories to whoever renders the packet page."""
    rule_set = load_rule_set(ROOT / "rules")
    assert set(rule_set.categories) == set(load_categories(ROOT / "rules"))
    assert {rule.category for rule in rule_set.rules} <= set(rule_set.categories)


def _lines(text: str, needle: str, after: int = 0) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if i > after and needle in line)


def _drop_key(code: str, key: str) -> dict:
    data = {k: dict(v) for k, v in STARTER.items()}
    del data[code][key]
    return data


def _with(code: str, **fields) -> dict:
    data = {k: dict(v) for k, v in STARTER.items()}
    data[code].update(fields)
    return data


# (description, categories data, expected code, category in the message, text on the problem's line)
BROKEN = [
    ("checklist missing", _drop_key("collector", "checklist"), "E004", "collector", "collector:"),
    ("penalties empty", _with("organiser", penalties=[]), "E007", "organiser", "penalties: []"),
    ("unknown field", _with("card_farmer", colour="红"), "E003", "card_farmer", "colour:"),
    ("name not Chinese", _with("signal", name_zh="signal"), "E007", "signal", "name_zh: signal"),
    ("question not text", _with("rogue_outlet", checklist=["问什么？", 3]), "E007", "rogue_outlet", "checklist:"),
    ("core category missing", {k: v for k, v in STARTER.items() if k != "shell_company"}, "E014",
     "shell_company", None),
]


@pytest.mark.parametrize("description, data, code, category, needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_categories_name_file_line_and_category(tmp_path, description, data, code, category, needle):
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (tmp_path / "categories.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_categories(tmp_path)
    line = _lines(text, needle, _lines(text, f"{category}:") - 1) if needle else 1
    wanted = f"{tmp_path / 'categories.yaml'}:{line}: {code} category {category}:"
    assert [p for p in caught.value.problems if p.startswith(wanted)], caught.value.problems


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_categories(tmp_path)
    assert caught.value.problems[0].startswith(f"{tmp_path / 'categories.yaml'}:1: E014 category -:")
    (tmp_path / "categories.yaml").write_text("card_farmer:\n  name_zh: [开卡\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_categories(tmp_path)
    assert " E001 category -: " in caught.value.problems[0]


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    return folder


def test_rule_with_undefined_category_is_refused(rules_copy):
    """A rule may only name a category that categories.yaml defines (so its packet has a checklist)."""
    path = rules_copy / "signals.yaml"
    text = path.read_text(encoding="utf-8").replace("category: signal\n  scope: lead\n  weight: 10\n  when: \"lead_kind",
                                                    "category: money_mule\n  scope: lead\n  weight: 10\n  when: \"lead_kind", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rule_set(rules_copy)
    line = _lines(text, "category: money_mule")
    assert caught.value.problems == [caught.value.problems[0]]
    assert caught.value.problems[0].startswith(f"{path}:{line}: E007 rule R-SIG-PASS: category 应为 categories.yaml")


def test_an_added_category_can_be_used(rules_copy):
    """Admins may add a category with its own checklist; rules may then use it."""
    extra = ("\nmoney_mule:\n  name_zh: 跑分洗钱\n  checklist:\n    - 账户近期流水的上游是谁？\n"
             "  penalties:\n    - 《刑法》第三百一十二条\n")
    with open(rules_copy / "categories.yaml", "a", encoding="utf-8") as handle:
        handle.write(extra)
    path = rules_copy / "signals.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: signal\n  scope: lead\n  weight: 10\n  when: \"lead_kind",
                                                             "category: money_mule\n  scope: lead\n  weight: 10\n  when: \"lead_kind", 1),
                    encoding="utf-8")
    rule_set = load_rule_set(rules_copy)
    assert rule_set.by_id("R-SIG-PASS").category == "money_mule"
    assert rule_set.categories["money_mule"].checklist == ("账户近期流水的上游是谁？",)


def test_missing_categories_file_refuses_the_rule_set(rules_copy):
    (rules_copy / "categories.yaml").unlink()
    with pytest.raises(ConfigError) as caught:
        load_rule_set(rules_copy)
    assert len(caught.value.problems) == 1 and " E014 " in caught.value.problems[0]
