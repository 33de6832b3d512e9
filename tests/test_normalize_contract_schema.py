"""schemas/*.yaml: complete, documented, in step with the warehouse, and checked at load."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from duanka.contract_schema import KINDS, SCHEMAS_DIR, file_kind, load_contract
from duanka.warehouse import LEAD_TABLES
from duanka.yamlcheck import ConfigError

CONTRACT_MD = Path(__file__).resolve().parents[2] / "shared" / "contract.md"


def test_every_kind_and_column_is_documented() -> None:
    contract = load_contract()
    assert sorted(contract.kinds) == sorted(KINDS)
    for schema in contract.kinds.values():
        assert schema.title and schema.description
        for spec in schema.columns:
            assert spec.description.strip(), f"{schema.kind}.{spec.name} has no description"
            assert spec.zh.strip()


@pytest.mark.parametrize("kind", ["bank", "sim", "case"])
def test_schema_columns_match_warehouse_ddl(kind: str) -> None:
    """The clean tables and the contract name the same columns, so `clean` output loads by name."""
    _, ddl, _ = LEAD_TABLES[kind]
    ddl_columns = {line.split()[0] for line in ddl.strip().splitlines()}
    schema_columns = set(load_contract().kinds[kind].names)
    assert ddl_columns - {"person_key"} == schema_columns


def test_schema_columns_match_contract_md() -> None:
    """Every column and Chinese alias in the contract's §1 tables is in the schema files."""
    text = CONTRACT_MD.read_text(encoding="utf-8")
    contract = load_contract()
    shared_rows = {"lead_id", "issued_at", "issuer", "reason", "holder_name", "holder_id_type", "holder_id_no"}
    for kind, schema in contract.kinds.items():
        for spec in schema.columns:
            if kind == "sim" and spec.name in shared_rows:
                continue  # "as above" rows in the contract
            assert re.search(rf"\| {spec.name} \| {re.escape(spec.zh)} \|", text), f"{kind}.{spec.name}"


FILES = [
    ("bank csv", "bank_20261103.csv", "bank"),
    ("upper-case prefix and suffix", "SIM_0001.XLSX", "sim"),
    ("path with folders", "inbox/case_a.csv", "case"),
    ("feedback", "feedback_unit3.xlsx", "feedback"),
    ("prefix without underscore", "banks.csv", None),
    ("wrong suffix", "bank_1.txt", None),
    ("unknown prefix", "other_1.csv", None),
]


@pytest.mark.parametrize(("desc", "name", "kind"), FILES, ids=[c[0] for c in FILES])
def test_file_kind(desc: str, name: str, kind: str | None) -> None:
    assert file_kind(name) == kind


def test_load_is_cached() -> None:
    assert load_contract() is load_contract(SCHEMAS_DIR)


def _broken(tmp_path: Path, file: str, old: str, new: str) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


BROKEN = [
    ("unknown type", "bank.yaml", "type: phone", "type: mobile", "bank.yaml:", "columns.10.type"),
    ("unknown key", "sim.yaml", "    type: imsi", "    type: imsi\n    requird: true", "sim.yaml:",
     "columns.7.requird"),
    ("required_when names a code that does not exist", "feedback.yaml", "      verified: [已核查]\n", "", "feedback.yaml:",
     "required_when"),
    ("duplicate header spelling", "case.yaml", "zh: 涉案电话", "zh: 涉案账号", "case.yaml:", "重复"),
    ("bank name owned twice", "banks.yaml", "short: [中行]", "short: [工行]", "banks.yaml:", "已属于"),
    ("shared column disagrees", "sim.yaml", "zh: 证件号码", "zh: 证件号", "sim.yaml", "不一致"),
]


@pytest.mark.parametrize(("desc", "file", "old", "new", "where", "what"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_schema_names_file_line_and_key(tmp_path, desc, file, old, new, where, what) -> None:
    with pytest.raises(ConfigError) as info:
        load_contract(_broken(tmp_path, file, old, new))
    message = str(info.value)
    assert where in message and what in message
    assert re.search(r"\.yaml:\d+:", message)
