"""The category reference a packet page prints: the interview checklist (询问提纲) and penalty references.

The reference lives in `rules/categories.yaml`, loaded by
`duanka.score.categories.load_categories` (owned by scoring). Publishing only
reads it: when the module or the file is not there, pages show the category
name and no reference, rather than failing a night over a missing appendix.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from duanka.score.model import CATEGORIES
from duanka.yamlcheck import ConfigError

log = logging.getLogger(__name__)

CATEGORY_FILE = "categories.yaml"


def _lines(value: Any) -> list[str]:
    """A checklist or penalty list as plain lines, whether the file gives strings or small mappings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return ["：".join(str(v).strip() for v in value.values() if v not in (None, ""))]
    if isinstance(value, (list, tuple)):
        return [line for item in value for line in _lines(item)]
    for attrs in (("title", "text"), ("basis", "text"), ("law", "text"), ("text",)):
        parts = [str(getattr(value, a)) for a in attrs if getattr(value, a, None)]
        if parts:
            return ["：".join(parts)]
    return [str(value)]


def load_reference(rules_dir: Path | None) -> dict[str, dict]:
    """{category code: {name, checklist, penalties}}; empty when no category file is there."""
    if rules_dir is None or not (Path(rules_dir) / CATEGORY_FILE).is_file():
        return {}
    try:
        from duanka.score.categories import load_categories  # type: ignore[import-not-found]
    except ImportError:
        return {}
    try:
        categories = load_categories(Path(rules_dir))
    except ConfigError as exc:  # preflight reports it; a page without the appendix is still a page
        log.warning("类别参考文件有误，线索包页面不含询问提纲: %s", exc.problems[:3])
        return {}
    return {code: {"name": str(getattr(c, "name_zh", "") or CATEGORIES.get(code, code)),
                   "checklist": _lines(getattr(c, "checklist", None)),
                   "penalties": _lines(getattr(c, "penalties", None))} for code, c in categories.items()}


def category_block(code: str | None, reference: dict[str, dict]) -> dict:
    """What the page shows for its category: the Chinese name, and the reference when there is one."""
    if not code:
        return {"code": "", "name": "", "checklist": [], "penalties": []}
    ref = reference.get(code, {})
    return {"code": code, "name": ref.get("name") or CATEGORIES.get(code, code),
            "checklist": list(ref.get("checklist", [])), "penalties": list(ref.get("penalties", []))}
