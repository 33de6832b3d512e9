"""Delivery files: CSV in UTF-8, UTF-8 with BOM or GBK, and XLSX, written as rows stream in.

Rows of one file pass through a small shuffle buffer, so that a group's rows do
not sit next to each other (the linker must find them by identifiers, not by
position), while memory stays bounded for a million leads. XLSX bytes are made
stable by rewriting the archive with fixed timestamps and document properties.
"""
from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from duanka.sample.columns import NUMERIC_COLUMNS
from duanka.sample.dirt import FileStyle, headers

BUFFER = 2000
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_PROPS_TIME = "2026-01-01T00:00:00Z"

# Called once per written data row: (row number, canonical row, marks) -> None.
OnWrite = Callable[[int, dict[str, str], dict], None]


class Sink:
    """One delivery file being written."""

    def __init__(self, path: Path, kind: str, style: FileStyle, rng: random.Random, on_write: OnWrite) -> None:
        self.path, self.kind, self.style, self.rng, self.on_write = path, kind, style, rng, on_write
        self.buffer: list[tuple[dict[str, str], dict]] = []
        self.rows = 0
        self.duplicates = 0
        self.dup_at = rng.randint(3, 300)
        self._open()

    def _open(self) -> None:
        head = headers(self.kind, self.style)
        if self.style.fmt == "xlsx":
            self.book = Workbook(write_only=True)
            self.sheet = self.book.create_sheet("线索" if self.kind != "case" else "案件")
            self.sheet.append(head)
        else:
            # Kept open while rows stream in; closed by close().
            self.handle = open(self.path, "w", encoding=self.style.encoding, newline="")  # noqa: SIM115
            self.csv = csv.writer(self.handle)
            self.csv.writerow(head)

    def add(self, row: dict[str, str], marks: dict) -> None:
        self.buffer.append((row, marks))
        if len(self.buffer) >= BUFFER:
            self.flush()

    def pending(self) -> int:
        """Rows written or waiting in the buffer."""
        return self.rows + len(self.buffer)

    def flush(self) -> None:
        self.rng.shuffle(self.buffer)
        for row, marks in self.buffer:
            self._write(row)
            self.on_write(self.rows, row, marks)
            if not marks.get("why") and (self.rows == self.dup_at or self.rng.random() < 0.002):
                self._write(row)  # the same row twice: an exporter that paged badly
                self.duplicates += 1
        self.buffer.clear()

    def _write(self, row: dict[str, str]) -> None:
        self.rows += 1
        values = [row[c] for c in self.style.columns]
        if self.style.fmt == "xlsx":
            self.sheet.append([_cell(c, v) for c, v in zip(self.style.columns, values)])
        else:
            self.csv.writerow(values)

    def close(self) -> None:
        self.flush()
        if self.style.fmt == "xlsx":
            self.book.save(self.path)
            stabilise_xlsx(self.path)
        else:
            self.handle.close()


def _cell(column: str, value: str) -> str | float | int:
    """Amounts and counts as numbers, the way a spreadsheet export holds them; everything else as text."""
    if column in NUMERIC_COLUMNS and re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    return value


def stabilise_xlsx(path: Path) -> None:
    """Rewrite an XLSX with fixed member timestamps and document dates, so equal content gives equal bytes."""
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_PROPS_TIME.encode(),
                              data)
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    path.write_bytes(out.getvalue())
