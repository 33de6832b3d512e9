"""Which police unit receives a packet: longest GB/T 2260 prefix match (contract §2).

`370403` (枣庄市薛城区) goes to a `370403` unit if one exists, else `3704`
(枣庄市), else `37` (山东省); a region no prefix covers is UNASSIGNED, which
publish shows so that somebody routes it by hand rather than losing it.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from duanka.yamlcheck import ConfigError

UNASSIGNED = ("UNASSIGNED", "未匹配单位")
_PREFIX = re.compile(r"^\d{2,6}$")
COLUMNS = ("region_prefix", "unit_code", "unit_name")


@dataclass(frozen=True)
class Units:
    """region prefix -> (unit_code, unit_name)."""

    by_prefix: dict[str, tuple[str, str]]

    def match(self, region: str | None) -> tuple[str, str]:
        """(unit_code, unit_name) of the longest prefix of `region`; UNASSIGNED when none."""
        if not region:
            return UNASSIGNED
        region = str(region).strip()
        for length in range(min(6, len(region)), 1, -1):
            unit = self.by_prefix.get(region[:length])
            if unit is not None:
                return unit
        return UNASSIGNED


def load_units(path: Path) -> Units:
    """Read units.csv (UTF-8, BOM allowed); raises ConfigError naming file, row and column."""
    problems: list[str] = []
    by_prefix: dict[str, tuple[str, str]] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise ConfigError([f"{path}:1: 缺少列 missing column {', '.join(missing)}"])
        for number, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            prefix, code, name = row["region_prefix"], row["unit_code"], row["unit_name"]
            if not _PREFIX.match(prefix):
                problems.append(f"{path}:{number}: region_prefix 应为 2–6 位数字 (got {prefix!r})")
            elif not code or not name:
                problems.append(f"{path}:{number}: unit_code/unit_name 不能为空")
            elif prefix in by_prefix:
                problems.append(f"{path}:{number}: region_prefix {prefix} 重复 duplicate")
            else:
                by_prefix[prefix] = (code, name)
    if problems:
        raise ConfigError(problems)
    return Units(by_prefix)
