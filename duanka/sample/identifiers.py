"""Identifiers with valid check digits, unique by construction.

The linker and the validators are judged on this data, so every identifier must
pass the same checks a real one does (GB 11643 RIC, GB 32100 USCC, Luhn on bank
cards and IMEIs) and two unrelated people must never share one by accident.
Uniqueness comes from counters pushed through a bijection (an affine map modulo
a power of ten), so a million identifiers need no set of "already used" values.
"""
from __future__ import annotations

import hashlib
from datetime import date

_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Real issuer identification numbers (debit BINs) and credit-card BINs of the big banks.
DEBIT_BINS = {"ICBC": "622202", "CCB": "621700", "ABC": "622848", "BOC": "621661",
              "BOCOM": "622260", "CMB": "622588", "PSBC": "621799"}
CREDIT_BINS = {"ICBC": "625330", "CCB": "436742", "ABC": "622836", "BOC": "625907",
               "BOCOM": "622258", "CMB": "622575", "PSBC": "625919"}
# Mobile prefixes by carrier; IoT numbers get their own 14x ranges.
MOBILE_PREFIXES = {
    "CMCC": ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
             "182", "183", "187", "188", "198"),
    "CUCC": ("130", "131", "132", "155", "156", "166", "175", "176", "185", "186"),
    "CTCC": ("133", "153", "173", "177", "180", "181", "189", "199"),
    "CBN": ("192",),
    "MVNO": ("170", "171", "167"),
}
IOT_PREFIXES = {"CMCC": "148", "CUCC": "146", "CTCC": "149", "CBN": "192", "MVNO": "170"}
IMSI_MNC = {"CMCC": "00", "CUCC": "01", "CTCC": "11", "CBN": "15", "MVNO": "07"}
ICCID_ISSUER = {"CMCC": "00", "CUCC": "01", "CTCC": "03", "CBN": "15", "MVNO": "00"}
# Type allocation codes of handsets common in China (Huawei, Xiaomi, Apple, OPPO, vivo).
TACS = ("86739804", "86452105", "35391110", "86893504", "86711205", "35674108")


def ric_check(body17: str) -> str:
    """GB 11643 check character of the first 17 digits of a resident ID number."""
    return _RIC_CHECK[sum(int(c) * w for c, w in zip(body17, _RIC_WEIGHTS)) % 11]


def make_ric(region: str, birth: date, seq: int) -> str:
    """An 18-character RIC; `seq` (0–999) is the order code, odd for men."""
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + ric_check(body)


def ric_to_legacy(ric18: str) -> str:
    """The 15-digit first-generation number of a person born in the 1900s (no check digit)."""
    assert ric18[6:8] == "19", "only people born 19xx can hold a 15-digit number"
    return ric18[:6] + ric18[8:17]


def luhn_digit(body: str) -> str:
    """The Luhn check digit to append to `body`."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _multiplier(modulus: int, seed: int) -> int:
    """A multiplier coprime to 10 of about the modulus' size, so that x -> a*x mod 10^w is a bijection."""
    a = int(modulus * (0.6180339887 + seed * 1e-7)) % modulus | 1
    return a + 2 if a % 5 == 0 else a


def _scramble(counter: int, width: int, salt: int) -> str:
    """A bijection of counter onto `width` digits that does not look sequential.

    Affine map, digit reversal, affine map again: each step is a bijection of the
    width-digit numbers, so distinct counters give distinct results.
    """
    modulus = 10 ** width
    a = _multiplier(modulus, salt % 997)
    first = f"{((counter + 982_451_653 + salt * 1_000_003) * a) % modulus:0{width}d}"[::-1]
    return f"{(int(first) * a + 7 * salt + 1) % modulus:0{width}d}"


def _org_code(body8: str) -> str:
    """GB 11714 organisation code check character, embedded in a USCC."""
    value = 11 - sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


class IdFactory:
    """Hands out unique identifiers of every kind; deterministic given the call order."""

    def __init__(self, salt: int) -> None:
        self.salt = salt % 1_000_000
        self.counters: dict[str, int] = {}
        self.rics: set[int] = set()

    def serial(self, key: str) -> int:
        """0, 1, 2, … per key: for anything else that must be counted deterministically."""
        return self._next(key)

    def _next(self, key: str) -> int:
        n = self.counters.get(key, 0)
        self.counters[key] = n + 1
        return n

    def ric(self, region: str, birth: date, male: bool, seq_hint: int) -> str:
        """A RIC no other person holds: the order code moves on while the body is taken."""
        seq = seq_hint % 500 * 2 + (1 if male else 0)
        for _ in range(500):
            ric = make_ric(region, birth, seq)
            key = int(ric[:17])
            if key not in self.rics:
                self.rics.add(key)
                return ric
            seq = (seq + 2) % 1000
        raise RuntimeError(f"no free order code for {region} {birth}")

    def uscc(self, region: str) -> str:
        org8 = _scramble(self._next("uscc"), 8, self.salt)
        body = "91" + region + org8 + _org_code(org8)
        total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS))
        return body + _USCC_ALPHABET[(31 - total) % 31]

    def card(self, bank: str, credit: bool = False) -> str:
        """A debit (19 digits) or credit (16 digits) card number with a real BIN and Luhn digit."""
        bin_ = (CREDIT_BINS if credit else DEBIT_BINS)[bank]
        body = bin_ + _scramble(self._next("card" + bin_), 9 if credit else 12, self.salt + int(bin_) % 9973)
        return body + luhn_digit(body)

    def corporate_account(self, region: str) -> str:
        """A corporate settlement account: branch-ish prefix and serial, no check digit."""
        return region[:4] + "0" + _scramble(self._next("corp"), 12, self.salt)

    def msisdn(self, carrier: str, prefix_pick: int, iot: bool = False) -> str:
        prefixes = (IOT_PREFIXES[carrier],) if iot else MOBILE_PREFIXES[carrier]
        prefix = prefixes[prefix_pick % len(prefixes)]
        return prefix + _scramble(self._next("tel" + prefix), 8, self.salt + int(prefix) * 31)

    def imei(self, tac_pick: int) -> str:
        tac = TACS[tac_pick % len(TACS)]
        body = tac + _scramble(self._next("imei" + tac), 6, self.salt + int(tac) % 9973)
        return body + luhn_digit(body)

    def iccid(self, carrier: str, long: bool) -> str:
        body = "8986" + ICCID_ISSUER[carrier] + _scramble(self._next("iccid"), 13 if long else 12, self.salt)
        return body + luhn_digit(body)

    def imsi(self, carrier: str) -> str:
        return "460" + IMSI_MNC[carrier] + _scramble(self._next("imsi"), 10, self.salt)

    def fingerprint(self) -> str:
        """A device fingerprint as banks' app SDKs report it (hex digest)."""
        n = self._next("fp")
        return hashlib.sha1(f"{self.salt}:{n}".encode()).hexdigest()[:20].upper()

    def ipv4(self) -> str:
        """A public address from Shandong broadband pools, unique per call."""
        n = self._next("ip")
        block, k = divmod(n, 65024)
        first = (27, 39, 60, 112, 119, 124, 144, 150, 182, 223)[block % 10]
        second = (194 + block // 10) % 256
        k = (k * 40503 + self.salt) % 65024  # 65024 = 2^9 * 127; 40503 is coprime to it
        return f"{first}.{second}.{k // 254}.{k % 254 + 1}"

    def case_id(self, region: str, day: date) -> str:
        return f"AJ{region}{day:%Y%m%d}{self._next('case'):06d}"
