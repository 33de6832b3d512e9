"""The delivery contract (contract §1) as data: `schemas/*.yaml`, loaded and checked once.

The YAML files are the single place that says which columns a delivery has,
their Chinese aliases, which are required, how each is typed and which code
words are accepted. Reading, cleaning, validation and the docs all follow them,
so a mistake there must stop the program at load with file, line and key named
(followthemoney-style), never surface later as a puzzling quarantine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from duanka.yamlcheck import ConfigError, load_yaml_with_lines

KINDS = ("bank", "sim", "case", "feedback")
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

# Column type -> Polars dtype of the clean value (matches duanka/warehouse.py DDL).
TYPES: dict[str, pl.DataType] = {
    "text": pl.String(), "code": pl.String(), "bank": pl.String(), "account_no": pl.String(),
    "id_no": pl.String(), "phone": pl.String(), "region": pl.String(), "iccid": pl.String(),
    "imsi": pl.String(), "imei": pl.String(), "timestamp": pl.Datetime("us"), "date": pl.Date(),
    "money": pl.Float64(), "ratio": pl.Float64(), "count": pl.Int64(), "list": pl.List(pl.String()),
}
LIST_ITEMS = ("text", "device", "ip", "case_id", "account", "phone")
COLUMN_KEYS = {"name", "zh", "aliases", "required", "required_when", "type", "item", "codes",
               "minimum", "maximum", "description"}
# Columns bank and sim leads share: their specs must agree, or one lead kind would
# accept what the other refuses.
SHARED_LEAD_COLUMNS = ("lead_id", "issued_at", "issuer", "reason", "holder_name",
                       "holder_id_type", "holder_id_no", "case_ids")
_FILE_RE = re.compile(r"^(bank|sim|case|feedback)_.*\.(csv|xlsx)$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column: canonical name, Chinese alias(es), type and accepted codes."""

    name: str
    zh: str
    type: str
    required: bool
    description: str
    aliases: tuple[str, ...] = ()
    codes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (code, Chinese words)
    item: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    required_when: tuple[str, str] | None = None  # (other column, code value)

    @property
    def label(self) -> str:
        """How messages name the column: `holder_id_no(证件号码)`."""
        return f"{self.name}({self.zh})"

    @property
    def dtype(self) -> pl.DataType:
        return TYPES[self.type]

    def code_words(self) -> dict[str, str]:
        """Every accepted spelling (code lower-cased, Chinese words) -> code."""
        words: dict[str, str] = {}
        for code, chinese in self.codes:
            words[code.lower()] = code
            for word in chinese:
                words[word.lower()] = code
        return words


@dataclass(frozen=True)
class KindSchema:
    """The columns of one delivery kind (bank, sim, case, feedback)."""

    kind: str
    title: str
    description: str
    columns: list[ColumnSpec]

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.columns]

    def header_lookup(self) -> dict[str, str]:
        """Header spelling (lower-cased) -> canonical name; canonical names and all aliases."""
        lookup: dict[str, str] = {}
        for spec in self.columns:
            for spelling in (spec.name, spec.zh, *spec.aliases):
                lookup[spelling.lower()] = spec.name
        return lookup

    def kind_of_file(self, file_name: str) -> bool:
        """True when `file_name` is a delivery of this kind."""
        return file_kind(file_name) == self.kind


@dataclass(frozen=True)
class Contract:
    """All delivery kinds plus the bank names, as loaded from one schemas folder."""

    kinds: dict[str, KindSchema]
    banks: dict[str, tuple[str, ...]]  # code -> Chinese names (full first)
    source: Path = field(default=SCHEMAS_DIR)

    def bank_words(self) -> dict[str, str]:
        """Every accepted bank spelling (upper-cased) -> bank code."""
        words = {code: code for code in self.banks}
        for code, names in self.banks.items():
            for name in names:
                words[name.upper()] = code
        return words


def file_kind(file_name: str) -> str | None:
    """The delivery kind of a file by its name (`bank_*.csv`, `SIM_x.XLSX`, ...), else None."""
    match = _FILE_RE.match(Path(file_name).name)
    return match.group(1).lower() if match else None


def load_contract(schemas_dir: Path | None = None) -> Contract:
    """Load and check `schemas/*.yaml`; raise ConfigError with every problem at once."""
    return _load_cached(Path(schemas_dir or SCHEMAS_DIR).resolve())


@lru_cache(maxsize=8)
def _load_cached(schemas_dir: Path) -> Contract:
    problems: list[str] = []
    kinds: dict[str, KindSchema] = {}
    for kind in KINDS:
        path = schemas_dir / f"{kind}.yaml"
        if not path.exists():
            problems.append(f"{path}:1: 缺少合同文件 (missing schema file)")
            continue
        data, lines = load_yaml_with_lines(path)
        schema = _check_kind_file(path, kind, data, lines, problems)
        if schema is not None:
            kinds[kind] = schema
    banks_path = schemas_dir / "banks.yaml"
    banks: dict[str, tuple[str, ...]] = {}
    if banks_path.exists():
        data, lines = load_yaml_with_lines(banks_path)
        banks = _check_banks(banks_path, data, lines, problems)
    else:
        problems.append(f"{banks_path}:1: 缺少银行名称文件 (missing banks.yaml)")
    _cross_check(schemas_dir, kinds, problems)
    if problems:
        raise ConfigError(problems)
    return Contract(kinds=kinds, banks=banks, source=schemas_dir)


def _spec_kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn one checked YAML column mapping into ColumnSpec keyword arguments."""
    codes = tuple((str(code), tuple(str(w) for w in (words or ()))) for code, words in
                  (raw.get("codes") or {}).items())
    when = raw.get("required_when")
    return {
        "name": raw["name"], "zh": raw["zh"], "type": raw["type"], "required": bool(raw["required"]),
        "description": raw["description"], "aliases": tuple(raw.get("aliases") or ()), "codes": codes,
        "item": raw.get("item"), "minimum": raw.get("minimum"), "maximum": raw.get("maximum"),
        "required_when": (str(when["column"]), str(when["value"])) if when else None,
    }


def _check_kind_file(path: Path, kind: str, data: Any, lines: dict, problems: list[str]) -> KindSchema | None:
    """Check one kind file; append a `file:line: key: problem` line per problem."""
    def where(*keys: str) -> str:
        return f"{path}:{lines.get(keys, 1)}: {'.'.join(keys) or '(top)'}"

    if not isinstance(data, dict):
        problems.append(f"{where()}: 顶层应为映射 (mapping)")
        return None
    if data.get("kind") != kind:
        problems.append(f"{where('kind')}: 应为 {kind!r} (got {data.get('kind')!r})")
    for key in ("title", "description"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{where(key)}: 缺少说明文字 (missing text)")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        problems.append(f"{where('columns')}: 应为非空列表 (non-empty list)")
        return None
    columns: list[ColumnSpec] = []
    spellings: dict[str, str] = {}
    before = len(problems)
    for i, raw in enumerate(raw_columns):
        _check_column(raw, lambda *k, i=i: where("columns", str(i), *k), problems)
        if len(problems) > before:
            continue
        spec = ColumnSpec(**_spec_kwargs(raw))
        for spelling in (spec.name, spec.zh, *spec.aliases):
            if spellings.get(spelling.lower(), spec.name) != spec.name:
                problems.append(f"{where('columns', str(i))}: 表头 {spelling!r} 与列 "
                                f"{spellings[spelling.lower()]} 重复 (duplicate header spelling)")
            spellings[spelling.lower()] = spec.name
        columns.append(spec)
    by_name = {spec.name: spec for spec in columns}
    for i, spec in enumerate(columns):
        if spec.required_when is None:
            continue
        other, value = spec.required_when
        if other not in by_name or value not in dict(by_name[other].codes):
            problems.append(f"{where('columns', str(i), 'required_when')}: 引用了不存在的列或代码 "
                            f"{other}={value} (unknown column or code)")
    if len(problems) > before:
        return None
    return KindSchema(kind=kind, title=data["title"], description=data["description"], columns=columns)


def _check_column(raw: Any, where: Any, problems: list[str]) -> None:
    if not isinstance(raw, dict):
        problems.append(f"{where()}: 列定义应为映射 (mapping)")
        return
    for key in raw:
        if key not in COLUMN_KEYS:
            problems.append(f"{where(str(key))}: 未知配置项 unknown key")
    for key in ("name", "zh", "description"):
        if not isinstance(raw.get(key), str) or not raw.get(key, "").strip():
            problems.append(f"{where(key)}: 缺少 {key} (missing)")
    if not isinstance(raw.get("required"), bool):
        problems.append(f"{where('required')}: 应为 true 或 false")
    kind = raw.get("type")
    if kind not in TYPES:
        problems.append(f"{where('type')}: 未知类型 {kind!r}，可选 {', '.join(TYPES)}")
    if kind == "list" and raw.get("item") not in LIST_ITEMS:
        problems.append(f"{where('item')}: 列表元素类型应为 {', '.join(LIST_ITEMS)}")
    if kind != "list" and "item" in raw:
        problems.append(f"{where('item')}: 只有 list 类型可设 item")
    codes = raw.get("codes")
    if kind == "code":
        if not isinstance(codes, dict) or not codes:
            problems.append(f"{where('codes')}: 代码列须列出代码及中文词 (codes required)")
        else:
            for code, words in codes.items():
                if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(code)):
                    problems.append(f"{where('codes', str(code))}: 代码应为字母、数字、下划线")
                if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
                    problems.append(f"{where('codes', str(code))}: 应为中文词列表")
    elif codes is not None:
        problems.append(f"{where('codes')}: 只有 code 类型可设 codes")
    if not isinstance(raw.get("aliases", []), list):
        problems.append(f"{where('aliases')}: 应为列表")
    for key in ("minimum", "maximum"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            problems.append(f"{where(key)}: 应为数字")
    when = raw.get("required_when")
    if when is not None and (not isinstance(when, dict) or set(when) != {"column", "value"}):
        problems.append(f"{where('required_when')}: 应为 {{column: ..., value: ...}}")


def _check_banks(path: Path, data: Any, lines: dict, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """Check banks.yaml: upper-case unique codes, every name belonging to one code only."""
    banks = data.get("banks") if isinstance(data, dict) else None
    if not isinstance(banks, dict) or not banks:
        problems.append(f"{path}:1: banks: 应为非空映射 (code -> names)")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for code, entry in banks.items():
        line = lines.get(("banks", str(code)), 1)
        if not re.fullmatch(r"[A-Z][A-Z0-9]*", str(code)):
            problems.append(f"{path}:{line}: banks.{code}: 代码应为大写字母和数字")
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{path}:{line}: banks.{code}: 须有 name（中文全称）")
            continue
        names = (entry["name"], *[str(s) for s in entry.get("short") or ()])
        for name in names:
            if name.upper() in owner:
                problems.append(f"{path}:{line}: banks.{code}: 名称 {name!r} 已属于 {owner[name.upper()]}")
            owner[name.upper()] = str(code)
        out[str(code)] = names
    for code in out:
        if code in owner and owner[code] != code:
            problems.append(f"{path}:1: banks.{code}: 代码与 {owner[code]} 的简称重复")
    return out


def _cross_check(schemas_dir: Path, kinds: dict[str, KindSchema], problems: list[str]) -> None:
    """Bank and sim leads must describe their shared columns the same way."""
    if "bank" not in kinds or "sim" not in kinds:
        return
    for name in SHARED_LEAD_COLUMNS:
        try:
            bank, sim = kinds["bank"].column(name), kinds["sim"].column(name)
        except KeyError:
            problems.append(f"{schemas_dir}/bank.yaml|sim.yaml:1: 共有列 {name} 缺失 (shared column missing)")
            continue
        if (bank.type, bank.required, bank.codes, bank.zh) != (sim.type, sim.required, sim.codes, sim.zh):
            problems.append(f"{schemas_dir}/sim.yaml:1: columns.{name}: 与 bank.yaml 中的定义不一致")
