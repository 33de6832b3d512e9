"""Masking of personal identifiers for pages that many people read, and for logs.

The index page is read across a whole unit and logs are kept for years, so an ID
number, a phone number or a card number must never appear there in full. The
packet page itself goes only to the responsible unit and shows full values.
Masks keep enough (region prefix, last four) for an investigator to recognise a
person they already know without exposing the identifier to everyone else.
"""
from __future__ import annotations

import re

_PREFIXED = re.compile(r"^(PASSPORT|HMT):(.*)$")

# Only digits bound a match (letters may touch an identifier in a log line:
# `id370403...`). Longest forms first: an ID or card run must be masked as a whole, never left
# half-visible because a shorter pattern (a phone inside a card number) matched.
_TEXT_PATTERNS = [
    # cards written in groups of four: 6222 0212 3456 7890 123
    ("account", re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?(?!\d)")),
    # USCC: 18 characters, digits 3-8 are the region code
    ("id", re.compile(r"(?<![\dA-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![\dA-Za-z])")),
    # any run of 12 or more digits, optionally ending in the RIC check character X
    ("run", re.compile(r"(?<!\d)\d{12,}[Xx]?(?!\d)")),
    # mobile numbers, also with +86 / 0086 and - or blank separators
    ("phone", re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ -]?)?1\d{2}[ -]?\d{4}[ -]?\d{4}(?!\d)")),
]


def _middle(value: str, keep_head: int, keep_tail: int) -> str:
    """Replace the middle of `value` by stars, or all of it when it is too short to keep anything."""
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[len(value) - keep_tail:]


def mask_id(value: str | None) -> str:
    """`370403199901011234` -> `370403********1234`; `PASSPORT:E1234567` -> `PASSPORT:E1*****67`.

    RIC and USCC keep the 6-character region prefix and the last four; shorter
    documents (passports, HMT permits) keep one leading and two trailing characters.
    """
    if not value:
        return ""
    value = value.strip()
    prefixed = _PREFIXED.match(value)
    if prefixed:
        return f"{prefixed.group(1)}:{_middle(prefixed.group(2), 1, 2)}"
    if len(value) >= 15:
        return _middle(value, 6, 4)
    return _middle(value, 1, 2)


def mask_phone(value: str | None) -> str:
    """`13800138000` -> `138****8000`; other lengths keep at most the last four digits."""
    if not value:
        return ""
    value = value.strip()
    if len(value) == 11:
        return _middle(value, 3, 4)
    if len(value) > 8:
        return _middle(value, 3, 4)
    return _middle(value, 0, min(4, len(value) // 2))


def mask_account(value: str | None) -> str:
    """`6222021234567890123` -> `6222 **** **** 0123`.

    Card and corporate numbers keep the first four (issuer) and last four digits
    in the grouped form bank staff read; free-text payment accounts keep two
    characters at each end.
    """
    if not value:
        return ""
    value = value.strip()
    digits = value.replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) >= 12:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if digits.isdigit() and len(digits) >= 8:
        return _middle(digits, 2, 4)
    return _middle(value, 2, 2)


def _mask_match(kind: str, text: str) -> str:
    digits = re.sub(r"[ -]", "", text)
    if kind == "phone":
        country = ""
        if not digits.startswith("1"):
            country = digits[: len(digits) - 11]
            digits = digits[-11:]
        return country + mask_phone(digits)
    if kind == "account":
        return mask_account(digits)
    if kind == "id":
        return mask_id(digits)
    # a bare run of 12+ digits: an 18-character run (or one ending in X) or a
    # 15-digit legacy run reads as an ID number, anything else as an account
    if digits[-1] in "Xx" or len(digits) in (15, 18):
        return mask_id(digits)
    return mask_account(digits)


def mask_text(text: str | None) -> str:
    """Mask every RIC-, phone- or card-like run inside free text (notes, log lines, messages).

    Dates (`20261103`), amounts and short codes are left alone: only runs of 12
    or more digits, 18-character USCCs and mobile numbers are touched.
    """
    if not text:
        return ""
    for kind, pattern in _TEXT_PATTERNS:
        text = pattern.sub(lambda m, k=kind: _mask_match(k, m.group(0)), text)  # type: ignore[misc]
    return text
