"""Making clean rows dirty, the way real bank and carrier exports are.

Each file gets a style (encoding, header language, column order, how often it
writes Chinese words instead of codes); each value may then get full-width
characters, blanks, a phone prefix, another date format or list separator. All
of it is repairable by the rules of contract §1, except the few rows `spoil`
breaks on purpose, which the truth records as unrepairable.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from duanka.sample.columns import COLUMNS, LIST_COLUMNS, PHONE_COLUMNS, WORDS
from duanka.sample.identifiers import ric_check

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
_HALFWIDTH = str.maketrans({v: k for k, v in _FULLWIDTH.items()})
SEPARATORS = (";", "；", ",", "，", "、", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk")


@dataclass
class FileStyle:
    fmt: str                 # csv | xlsx
    encoding: str            # utf-8 | utf-8-sig | gbk (csv only)
    chinese_headers: bool
    columns: list[str]       # canonical names in the order written
    padded_headers: bool
    words: float             # share of code values written as Chinese words
    separator: str           # this issuer's usual list separator


def file_style(kind: str, rng: random.Random, fmt: str, encoding: str, chinese_headers: bool) -> FileStyle:
    columns = [name for name, _ in COLUMNS[kind]]
    if rng.random() < 0.5:
        rng.shuffle(columns)
    return FileStyle(fmt, encoding, chinese_headers, columns, rng.random() < 0.35,
                     rng.choice((0.0, 0.3, 1.0)), rng.choice(SEPARATORS))


def headers(kind: str, style: FileStyle) -> list[str]:
    alias = dict(COLUMNS[kind])
    names = [alias[c] if style.chinese_headers else c for c in style.columns]
    return [f" {name}  " if style.padded_headers and i % 3 == 0 else name for i, name in enumerate(names)]


def fullwidth(text: str) -> str:
    return "".join(_FULLWIDTH.get(c, c) for c in text)


def phone(rng: random.Random, number: str) -> str:
    """A mobile number as people type it: +86, 0086, 86 prefixes, dashes and spaces."""
    r = rng.random()
    if r < 0.70:
        return number
    if r < 0.76:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if r < 0.82:
        return "0086" + number
    if r < 0.88:
        return "86" + number
    if r < 0.94:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return f"{number[:3]}-{number[3:7]}-{number[7:]}"


def when(rng: random.Random, value: date | datetime) -> str:
    """A date or datetime in one of the formats issuers use."""
    form = rng.randrange(3)
    text = (f"{value:%Y-%m-%d}", f"{value.year}/{value.month}/{value.day}", f"{value:%Y%m%d}")[form]
    if isinstance(value, datetime) and rng.random() < 0.8:
        text += f" {value:%H:%M:%S}" if rng.random() < 0.6 else f" {value:%H:%M}"
    elif rng.random() < 0.08:
        text += " 00:00:00"
    return text


def ric(rng: random.Random, number: str) -> str:
    """Lower-case x, and now and then the legacy 15-digit number of someone born in the 1900s."""
    if len(number) == 18 and number[6:8] == "19" and rng.random() < 0.03:
        return number[:6] + number[8:17]
    return number.lower() if number.endswith("X") and rng.random() < 0.5 else number


def dirty_row(kind: str, fields: dict[str, Any], style: FileStyle, rng: random.Random) -> dict[str, str]:
    """Render one clean row as the strings this file's issuer would write."""
    out: dict[str, str] = {}
    for column in style.columns:
        value = fields.get(column)
        if value is None or value == "" or value == []:
            out[column] = ""
            continue
        if column in LIST_COLUMNS:
            items = [phone(rng, v) if column == "phones" else v for v in value]
            sep = style.separator if rng.random() < 0.8 else rng.choice(SEPARATORS)
            text = sep.join(items)
        elif isinstance(value, (date, datetime)):
            text = when(rng, value)
        elif column in PHONE_COLUMNS:
            text = phone(rng, value)
        elif column == "holder_id_no" and fields.get("holder_id_type") == "RIC":
            text = ric(rng, value)
        elif column in WORDS and rng.random() < style.words:
            text = rng.choice(WORDS[column][value])
        else:
            text = str(value)
        if column in ("holder_id_no", "account_no", "msisdn", "holder_phone", "imei") and rng.random() < 0.03:
            text = fullwidth(text)
        if rng.random() < 0.02:
            text = f" {text} " if rng.random() < 0.5 else f"{text}  "
        out[column] = text
    return out


def spoil(kind: str, row: dict[str, str], why: str, night: date, rng: random.Random) -> None:
    """Break a rendered row beyond repair, in the one way `why` names."""
    if why == "bad_ric_check":
        number = row["holder_id_no"].strip().upper().translate(_HALFWIDTH)
        body = number[:6] + "19" + number[6:15] if len(number) == 15 else number[:17]
        good = ric_check(body)
        row["holder_id_no"] = body + next(c for c in "0123456789X" if c != good)
    elif why == "phone_12_digits":
        column = "holder_phone" if kind == "bank" else "msisdn"
        digits = "".join(c for c in row[column].translate(_HALFWIDTH) if c.isdigit())[-11:] or "13800138000"
        row[column] = digits + str(rng.randint(0, 9))
    elif why == "missing_required":
        row["account_no" if kind == "bank" else "msisdn"] = ""
    elif why == "open_date_future":
        row["open_date"] = f"{night + timedelta(days=rng.randint(30, 200)):%Y-%m-%d}"
    elif why == "unknown_reason":
        row["reason"] = rng.choice(("其他", "UNKNOWN", "待定"))
    else:
        raise ValueError(why)
