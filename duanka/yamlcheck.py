"""YAML loading that remembers line numbers, so config errors can name file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A config or rule file is wrong; `problems` holds one line per problem, each with file and line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _walk(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int], source: Path) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                # PyYAML would silently keep the last one: an admin's edit would vanish without a word.
                raise ConfigError([f"{source}:{key_node.start_mark.line + 1}: 键 {key!r} 重复 (duplicate key)"])
            out[key] = _walk(value_node, path + (key,), lines, source)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (str(i),), lines, source) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse `path` safely; return the data and a map from key path to 1-based line.

    Raises ConfigError naming the file and line when the YAML itself is malformed.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{path}:{line}: YAML 语法错误: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[str, ...], int] = {}
    if node is None:
        return None, lines
    return _walk(node, (), lines, Path(path)), lines
