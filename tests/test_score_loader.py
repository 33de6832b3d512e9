"""Rule files are refused at load with every problem, each naming file, line, code and rule id."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from test_score_world import AS_OF, World

from duanka.score import check_rule_set, load_rule_set
from duanka.score.loader import check_expression
from duanka.warehouse import connect
from duanka.yamlcheck import ConfigError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
- id: R-T-GOOD
  version: 1
  title: 好规则
  explanation: 说明
  category: organiser
  scope: entity
  weight: 10
  legal_basis: 《反电信网络诈骗法》第三十一条
  evidence: 线索行
  observed: holders_per_phone_max
  threshold: 3
"""


def rule(rule_id: str, **overrides) -> str:
    """GOOD with another id and some fields replaced (None removes a field)."""
    lines = [ln for ln in GOOD.splitlines() if ln.split(":")[0].strip(" -") not in overrides]
    text = "\n".join(lines).replace("R-T-GOOD", rule_id) + "\n"
    extra = "".join(f"  {k}: {v}\n" for k, v in overrides.items() if v is not None)
    return text + extra


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    if name != "categories.yaml" and not (folder / "categories.yaml").exists():
        shutil.copy(ROOT / "rules" / "categories.yaml", folder / "categories.yaml")  # rules need their categories


# (file, rule text, expected code, rule id in the message, line of the problem within the file)
BROKEN = [
    ("a_bad_yaml.yaml", "- id: R-X\n  title: [unclosed\n", "E001", "-", 3),
    ("b_unknown_field.yaml", rule("R-B-UNKNOWN", colour="红"), "E003", "R-B-UNKNOWN", 12),
    ("c_missing_field.yaml", rule("R-C-MISSING", legal_basis=None), "E004", "R-C-MISSING", 1),
    ("d_duplicate.yaml", rule("R-T-GOOD"), "E005", "R-T-GOOD", 1),
    ("e_bad_expression.yaml", rule("R-E-EXPR", when='"holders_per_phone_max >=>= 3"'), "E009", "R-E-EXPR", 12),
    ("f_unknown_feature.yaml", rule("R-F-FEATURE", when='"holders_per_phone_max >= 3 AND n_cats > 1"'),
     "E010", "R-F-FEATURE", 12),
    ("g_bad_weight.yaml", rule("R-G-WEIGHT", weight="-5"), "E008", "R-G-WEIGHT", 11),
    ("h_bad_category.yaml", rule("R-H-CAT", category="fraudster"), "E007", "R-H-CAT", 11),
    ("i_bad_id.yaml", rule("rule-1"), "E006", "rule-1", 1),
    ("j_not_boolean.yaml", rule("R-J-BOOL", when='"holders_per_phone_max + 1"'), "E009", "R-J-BOOL", 12),
    ("k_second_statement.yaml", rule("R-K-SQL", when='"holders_per_phone_max >= 3); DROP TABLE cases; --"'),
     "E009", "R-K-SQL", 12),
    ("l_subquery.yaml", rule("R-L-SUB", when='"holders_per_phone_max >= (SELECT count(*) FROM cases)"'),
     "E009", "R-L-SUB", 12),
    ("m_lead_observed.yaml", rule("R-M-LEAD", scope="lead", when='"calls_out_7d >= 500"'), "E011", "R-M-LEAD", 9),
    ("n_unknown_observed.yaml", rule("R-N-OBS", observed="n_cats", threshold=None, when=None), "E010", "R-N-OBS",
     10),
    ("o_when_ignores_observed.yaml", rule("R-O-OBS", when='"n_cases >= 1"'), "E011", "R-O-OBS", 10),
    ("p_bad_threshold.yaml", rule("R-P-THR", threshold='"many"'), "E012", "R-P-THR", 11),
    ("q_not_a_list.yaml", "id: R-Q\n", "E002", "-", 1),
    ("r_lead_feature_on_packet.yaml", rule("R-R-SCOPE", when='"holders_per_phone_max >= 3 AND calls_out_7d > 1"'),
     "E010", "R-R-SCOPE", 12),
]


@pytest.fixture()
def broken_dir(tmp_path: Path) -> Path:
    write(tmp_path, "0_good.yaml", GOOD)
    write(tmp_path, "settings.yaml", "not: [a rule file\n")  # admin-owned, never read as rules
    for name, text, *_ in BROKEN:
        write(tmp_path, name, text)
    return tmp_path


def test_broken_dir_reports_every_problem_with_file_line_and_rule(broken_dir: Path):
    with pytest.raises(ConfigError) as caught:
        load_rule_set(broken_dir)
    problems = caught.value.problems
    for name, _, code, rule_id, line in BROKEN:
        wanted = f"{broken_dir / name}:{line}: {code} rule {rule_id}:"
        assert any(p.startswith(wanted) for p in problems), f"{name}: no '{wanted}' in\n" + "\n".join(problems)
    assert not any("settings.yaml" in p for p in problems)
    assert len(problems) == len(BROKEN), "\n".join(problems)


def test_duplicate_message_names_the_first_place(broken_dir: Path):
    with pytest.raises(ConfigError) as caught:
        load_rule_set(broken_dir)
    dup = next(p for p in caught.value.problems if " E005 " in p)
    assert f"{broken_dir / '0_good.yaml'}:1" in dup


def test_starter_rules_load_and_every_rule_is_documented():
    """Every starter rule carries Chinese title, explanation, legal basis and evidence text."""
    rule_set = load_rule_set(ROOT / "rules")
    assert len(rule_set.rules) >= 20 and len(rule_set.hash) == 12
    for r in rule_set.rules:
        assert r.legal_basis and r.evidence and r.explanation
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.title), r.id


def test_hash_ignores_layout_but_not_content(tmp_path: Path):
    one, two, three = (tmp_path / n for n in ("one", "two", "three"))
    for folder in (one, two, three):
        folder.mkdir()
    write(one, "a.yaml", GOOD + rule("R-T-OTHER"))
    write(two, "z.yaml", rule("R-T-OTHER"))  # same rules, other files, other order
    write(two, "b.yaml", "# comment\n" + GOOD)
    write(three, "a.yaml", GOOD.replace("weight: 10", "weight: 11") + rule("R-T-OTHER"))
    assert load_rule_set(one).hash == load_rule_set(two).hash
    assert load_rule_set(one).hash != load_rule_set(three).hash


def test_default_condition_is_observed_at_least_threshold(tmp_path: Path):
    write(tmp_path, "a.yaml", GOOD)
    only = load_rule_set(tmp_path).rules[0]
    assert only.when == "holders_per_phone_max >= 3" and only.threshold == 3.0


@pytest.mark.parametrize("expr, per_lead, code", [
    ("calls_out_7d >= 500", True, None),
    ("lead_kind = 'sim' AND kind = 'iot'", True, None),
    ("n_cases >= 1", True, "E010"),
    ("n_cases >= 1", False, None),
    ("n_cases >= 'x'", False, "E009"),
    ("nosuchfunction(n_cases)", False, "E009"),
    ("n_cases >= 1 FROM cases", False, "E009"),
])
def test_check_expression_scopes(expr, per_lead, code):
    """Lead and packet conditions see only their own features; anything else is refused."""
    con = connect()
    from duanka.score.features import create_empty_feature_tables

    create_empty_feature_tables(con)
    result = check_expression(con, expr, per_lead)
    assert (result[0] if result else None) == code


def test_check_rule_set_clean_on_starter_rules_and_readonly_warehouse(tmp_path: Path):
    """`duanka rules check`: starter rules pass on empty tables and on a read-only warehouse with data."""
    world = World()
    p = world.person(age=20)
    world.bank("P1", p, holder_phone="13800000000", inflow_30d=1e5, outflow_30d=1e5)
    path = tmp_path / "warehouse.duckdb"
    world.save(path)
    assert check_rule_set(ROOT / "rules") == []
    readonly = connect(path, read_only=True)
    assert check_rule_set(ROOT / "rules", readonly, AS_OF) == []
    assert readonly.execute("SELECT count(*) FROM bank_leads").fetchone()[0] == 1


def test_check_rule_set_catches_a_rule_that_only_fails_on_data(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    write(rules, "zz.yaml", rule("R-Z-CAST", when='"holders_per_phone_max >= 3 OR CAST(n_leads + 254 AS UTINYINT) > 0"'))
    world = World()
    world.bank("P1", world.person())
    world.bank("P1", world.person())
    assert check_rule_set(rules) == []  # 0 + 254 fits a UTINYINT; 2 leads + 254 does not
    problems = check_rule_set(rules, world.con, AS_OF)
    assert len(problems) == 1 and problems[0].startswith(f"{rules / 'zz.yaml'}:1: E013 rule R-Z-CAST:")


def test_check_rule_set_returns_load_problems(broken_dir: Path):
    """Every broken rule, plus the broken settings.yaml that the rule loader skips but a night refuses."""
    problems = check_rule_set(broken_dir)
    assert len(problems) == len(BROKEN) + 1
    assert sum(f"{broken_dir / 'settings.yaml'}:" in p for p in problems) == 1
