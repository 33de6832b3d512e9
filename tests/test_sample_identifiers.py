"""Every identifier the sample generator makes passes the checks a real one does."""
from __future__ import annotations

import random
from datetime import date

import pytest
from stdnum import imei, luhn
from stdnum.cn import ric, uscc

from duanka.sample import dirt
from duanka.sample.identifiers import CREDIT_BINS, DEBIT_BINS, IdFactory, make_ric, ric_check, ric_to_legacy
from duanka.sample.regions import ALL_REGIONS, code_at_birth

N = 3000


@pytest.fixture(scope="module")
def ids() -> IdFactory:
    return IdFactory(11)


CASES = [
    ("RIC: GB 11643 check digit, birth date as given",
     lambda f, i: f.ric(code_at_birth(sorted(ALL_REGIONS)[i % len(ALL_REGIONS)], 1940 + i % 68),
                        date(1940 + i % 68, 1 + i % 12, 1 + i % 28), i % 2 == 0, i),
     lambda v: ric.is_valid(v) and len(v) == 18),
    ("USCC: GB 32100 check character", lambda f, i: f.uscc("370211"), uscc.is_valid),
    ("debit card: 19 digits, Luhn, real BIN", lambda f, i: f.card(sorted(DEBIT_BINS)[i % 7]),
     lambda v: luhn.is_valid(v) and len(v) == 19 and v[:6] in DEBIT_BINS.values()),
    ("credit card: 16 digits, Luhn", lambda f, i: f.card(sorted(CREDIT_BINS)[i % 7], credit=True),
     lambda v: luhn.is_valid(v) and len(v) == 16),
    ("IMEI: 15 digits, Luhn", lambda f, i: f.imei(i), imei.is_valid),
    ("ICCID: 8986…, 19–20 chars", lambda f, i: f.iccid("CMCC", i % 2 == 0),
     lambda v: v.startswith("8986") and len(v) in (19, 20) and v.isdigit()),
    ("IMSI: 460…, 15 digits", lambda f, i: f.imsi("CUCC"), lambda v: v.startswith("460") and len(v) == 15),
    ("mobile: 1[3-9]x, 11 digits", lambda f, i: f.msisdn(("CMCC", "CUCC", "CTCC")[i % 3], i),
     lambda v: len(v) == 11 and v[0] == "1" and v[1] in "3456789" and v.isdigit()),
    ("corporate account: 8–32 digits", lambda f, i: f.corporate_account("370102"),
     lambda v: v.isdigit() and 8 <= len(v) <= 32),
]


@pytest.mark.parametrize("what,make,valid", CASES, ids=[c[0] for c in CASES])
def test_identifiers_valid_and_unique(ids: IdFactory, what: str, make, valid) -> None:
    values = [make(ids, i) for i in range(N)]
    bad = [v for v in values if not valid(v)]
    assert not bad, f"{what}: {bad[:3]}"
    assert len(set(values)) == N, f"{what}: duplicates"


def test_ric_matches_known_number() -> None:
    """The GB 11643 example number from the standard's annex."""
    assert make_ric("110105", date(1949, 12, 31), 2) == "11010519491231002X"


def test_legacy_ric_upgrades_to_the_same_number() -> None:
    number = make_ric("370702", date(1958, 3, 9), 123)
    legacy = ric_to_legacy(number)
    assert len(legacy) == 15
    body = legacy[:6] + "19" + legacy[6:]
    assert body + ric_check(body) == number


def test_region_code_existed_in_birth_year() -> None:
    """stdnum refuses a county code that did not exist yet: the elderly hold their county's old code."""
    assert code_at_birth("371721", 1950) == "372922"  # 曹县 was in 菏泽地区 until 2000
    assert code_at_birth("370102", 1990) == "370102"


SPOILS = [
    ("bad RIC check digit no longer validates", "bad_ric_check", lambda r: not ric.is_valid(r["holder_id_no"])),
    ("12-digit phone", "phone_12_digits", lambda r: len(r["holder_phone"]) == 12),
    ("missing account number", "missing_required", lambda r: r["account_no"] == ""),
    ("open date after the night", "open_date_future", lambda r: r["open_date"] > "2026-11-03"),
    ("reason word not in the contract", "unknown_reason", lambda r: r["reason"] in ("其他", "UNKNOWN", "待定")),
]


@pytest.mark.parametrize("what,why,broken", SPOILS, ids=[s[0] for s in SPOILS])
def test_spoil_breaks_the_row(what: str, why: str, broken) -> None:
    rng = random.Random(3)
    for holder in ("11010519491231002X", "11010519491231002x", "110105491231002"):
        row = {"holder_id_no": holder, "holder_phone": "+86 138-0013-8000", "account_no": "6222020000000000001",
               "open_date": "2020-01-01", "reason": "涉案"}
        dirt.spoil("bank", row, why, date(2026, 11, 3), rng)
        assert broken(row), what
