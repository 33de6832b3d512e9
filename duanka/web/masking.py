"""The packet page model with every personal identifier masked: what the web app shows by default.

The published page carries full identifiers (it goes to the responsible unit
only). On screen, where a page is easily shown to the wrong person, the web app
masks them until an investigator asks, with a reason, to see them in full
(an audited action). Known identifiers of the packet are replaced wherever they
occur, with the same masks as the index page; free-text masking
(duanka.publish.mask.mask_text) catches any other long digit run.
"""
from __future__ import annotations

from typing import Any

from duanka.publish.mask import mask_account, mask_id, mask_phone, mask_text

# ids and hashes name no person, and graph node keys tie the edges together: left as they are
UNTOUCHED = {"packet_id", "rule_set_hash", "unit_code", "rules", "rule_id", "node", "edges", "digest", "version"}


def identifiers(page: dict, entry: dict | None = None) -> dict[str, str]:
    """Every identifier the page or its index entry names, with its mask."""
    found: dict[str, str] = {}
    for person in page.get("persons", []):
        found[person["id_no"]] = mask_id(person["id_no"])
    for account in page.get("accounts", []):
        found[account["account_no"]] = mask_account(account["account_no"])
    for phone in page.get("phones", []):
        found[phone["msisdn"]] = mask_phone(phone["msisdn"])
    for node in page.get("graph", {}).get("nodes", []):
        value, kind = node.get("value") or "", node.get("kind")
        if kind in ("person", "company"):
            found[value] = mask_id(value)
        elif kind == "account":
            found[value] = mask_account(value)
        elif kind == "phone":
            found[value] = mask_phone(value)
    if entry:
        found.update({v: mask_id(v) for v in entry.get("persons", [])})
        found.update({v: mask_account(v) for v in entry.get("accounts", [])})
        found.update({v: mask_phone(v) for v in entry.get("phones", [])})
    # an identifier shorter than 6 characters is not one worth hiding and would mangle ordinary text
    return {k: v for k, v in found.items() if k and len(k) >= 6 and k != v}


def _mask_string(text: str, known: list[tuple[str, str]]) -> str:
    for value, masked in known:
        if value in text:
            text = text.replace(value, masked)
    return mask_text(text)


def _walk(value: Any, known: list[tuple[str, str]], key: str | None = None) -> Any:
    if key in UNTOUCHED:
        return value
    if isinstance(value, str):
        return _mask_string(value, known)
    if isinstance(value, list):
        return [_walk(v, known) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, known, k) for k, v in value.items()}
    return value


def mask_page(page: dict, entry: dict | None = None) -> dict:
    """A copy of the page model with identifiers masked everywhere they are shown."""
    known = sorted(identifiers(page, entry).items(), key=lambda kv: -len(kv[0]))  # longest first
    return _walk(page, known)
