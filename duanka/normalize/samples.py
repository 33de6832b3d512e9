"""Valid (and deliberately dirty) sample identifiers and delivery rows, from a seeded RNG.

Tests, benchmarks and rule try-outs need identifiers that pass every check;
computing check digits here in plain Python also gives the vectorised
implementations an independent reference to be tested against.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from duanka.normalize.checkdigits import RIC_CHECK, RIC_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

REGIONS = ("370102", "370203", "370403", "110105", "440300", "330110", "810000", "371002")


def ric_check(body17: str) -> str:
    return RIC_CHECK[sum(int(d) * w for d, w in zip(body17, RIC_WEIGHTS, strict=True)) % 11]


def ric(rng: random.Random, birth: date | None = None) -> str:
    """A valid 18-digit resident ID number."""
    birth = birth or date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 75))
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric_check(body)


def uscc(rng: random.Random, first: str | None = None) -> str:
    """A valid unified social credit code; `first` picks the registration authority (e.g. `N`)."""
    head = (first or rng.choice("159ANY")) + rng.choice("123")
    body = head + rng.choice(REGIONS) + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def luhn_complete(payload: str) -> str:
    """`payload` plus the Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - (9 if d >= 5 else 0)
        total += d
    return payload + str((10 - total % 10) % 10)


def card(rng: random.Random, length: int | None = None) -> str:
    """A valid bank card number (16–19 digits, Luhn)."""
    length = length or rng.choice((16, 17, 18, 19))
    return luhn_complete("62" + "".join(str(rng.randrange(10)) for _ in range(length - 3)))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(str(rng.randrange(10)) for _ in range(9))


def imei(rng: random.Random) -> str:
    return luhn_complete("86" + "".join(str(rng.randrange(10)) for _ in range(12)))


def bank_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """`n` bank lead rows keyed by canonical name, valid but dirty the way deliveries are."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({
            "lead_id": f"L{i:07d}", "issued_at": rng.choice(["2026/11/3 8:05", "20261103", "2026年11月3日"]),
            "issuer": rng.choice(["", "山东省反诈中心"]), "reason": rng.choice(["涉案", "MULTI_CARD", "可疑交易"]),
            "bank": rng.choice(["工商银行", "ICBC", "中国建设银行济南分行", "齐鲁银行"]),
            "account_no": card(rng), "account_kind": rng.choice(["借记卡", "debit", "credit"]),
            "holder_name": "张三", "holder_id_type": "身份证",
            "holder_id_no": ric(rng).lower() + rng.choice(["", " "]),
            "holder_phone": rng.choice(["+86 ", "", "0086"]) + phone(rng),
            "open_date": rng.choice(["2025-03-01", "2025/3/1"]), "open_region": rng.choice(REGIONS),
            "status": rng.choice(["正常", "frozen"]), "login_device": f"{imei(rng)};{imei(rng)}",
            "login_ip": "10.0.0.1|10.0.0.2", "inflow_30d": f"{rng.randrange(10**6):,}元",
            "outflow_30d": str(rng.randrange(10**6)), "txn_count_30d": str(rng.randrange(500)),
            "counterparties_30d": str(rng.randrange(50)), "night_txn_ratio": f"{rng.randrange(101)}%",
            "case_ids": rng.choice(["", "A1", "A1；A2"]),
        })
    return rows
