"""What a rule set folder may hold, and reading and writing one without surprises.

A rule set is the whole rules folder: the rule files `*.yaml`, `settings.yaml`,
`categories.yaml`, `publish/publish.yaml` and `README.md`. The web app hands us
names and texts typed or uploaded by an admin, so every name is checked against
this layout before it touches the disk: no `..`, no absolute path, no other
folder, no other suffix (a `.yml` file is refused because the rule loader reads
`*.yaml` only: the rule would silently not exist at night), and a size bound.
"""
from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from duanka.rulestore.errors import RuleStoreError

PROJECT_RULES = Path(__file__).resolve().parents[2] / "rules"
MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 200
TOP_LEVEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.(yaml|md)$")
# duanka.publish.settings.RELATIVE_PATH (not imported: the publish package pulls in Polars and Jinja,
# half a second the web app's admin pages and `rules versions` need not pay; a test keeps them equal).
PUBLISH = "publish/publish.yaml"


class LayoutError(RuleStoreError):
    """A name or text that may not enter a rule set; the message is one Chinese line."""


def check_relative_path(name: str) -> str:
    """The name, normalised to POSIX form, or LayoutError saying why it is refused."""
    if not isinstance(name, str) or not name.strip():
        raise LayoutError("文件名为空")
    if "\\" in name or "\x00" in name:
        raise LayoutError(f"{name!r}: 文件名不能含反斜杠或空字符")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("~"):
        raise LayoutError(f"{name}: 只接受规则目录内的相对路径，不接受绝对路径")
    if any(part in ("..", ".") for part in name.split("/")) or "//" in name:
        raise LayoutError(f"{name}: 路径不能含 .. 或 . (只能是规则目录内的文件)")
    if name.endswith((".yml",)):
        raise LayoutError(f"{name}: 规则文件扩展名应为 .yaml（.yml 不会被夜间运行加载）")
    if name == PUBLISH:
        return name
    if len(path.parts) == 1 and TOP_LEVEL.match(name) and not name.startswith("."):
        return name
    raise LayoutError(f"{name}: 不是规则目录中允许的文件（允许: *.yaml、*.md、{PUBLISH}）")


def check_text(name: str, text: object) -> str:
    """The text of one file, bounded in size and valid UTF-8."""
    if not isinstance(text, str):
        raise LayoutError(f"{name}: 文件内容应为文本")
    size = len(text.encode("utf-8", errors="strict"))
    if size > MAX_FILE_BYTES:
        raise LayoutError(f"{name}: 文件过大（{size} 字节，上限 {MAX_FILE_BYTES} 字节）")
    return text


def read_files(folder: Path) -> dict[str, str]:
    """Relative name -> text of every file of the layout in `folder` (other files are not part of a set)."""
    folder = Path(folder)
    names = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    if (folder / PUBLISH).is_file():
        names.append(PUBLISH)
    out: dict[str, str] = {}
    for name in sorted(names):
        try:
            check_relative_path(name)
        except LayoutError:
            continue
        data = (folder / name).read_bytes()
        if len(data) > MAX_FILE_BYTES:
            raise LayoutError(f"{folder / name}: 文件过大（{len(data)} 字节，上限 {MAX_FILE_BYTES} 字节）")
        try:
            out[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LayoutError(f"{folder / name}: 不是 UTF-8 文本") from None
    return out


def stray_files(folder: Path) -> list[str]:
    """`.yml` files in a folder handed to `rules activate`: the admin means them as rules; refuse them."""
    folder = Path(folder)
    return sorted(p.name for p in folder.glob("*.yml"))


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Write every file (names already checked) and flush them to disk before the caller renames."""
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


def make_read_only(folder: Path) -> None:
    """A version never changes once written: files 0444, folders 0555 (a guard against slips, not a lock)."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    Path(folder).chmod(0o555)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
