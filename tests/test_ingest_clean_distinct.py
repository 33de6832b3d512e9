"""Per-distinct-value cleaning gives exactly the per-row result, on seeded dirty data of every kind.

`clean` normalises a repetitive column once per distinct value and gathers the
result back (duanka.normalize.distinct). These tests hold the three modes
(forced per value, forced per row, automatic mix) to the same output, value for
value and reason for reason, on frames drawn from pools of valid, dirty and
broken cells for each contract type, and on a generated sample delivery.
"""
from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from duanka.contract_schema import ColumnSpec, file_kind, load_contract
from duanka.ingest.clean import REASONS, clean
from duanka.ingest.read import RawFile, read_delivery
from duanka.normalize import samples
from duanka.normalize.distinct import MIN_ROWS, worth_encoding
from duanka.normalize.text import halfwidth_str

AS_OF = date(2026, 11, 3)
ROWS = MIN_ROWS + 500  # large enough that the automatic mode encodes the repetitive columns
_FULL = {chr(c - 0xFEE0): chr(c) for c in range(0xFF01, 0xFF5F)}


def _fullwidth(text: str) -> str:
    return "".join(_FULL.get(ch, ch) for ch in text)


def _pool(spec: ColumnSpec, rng: random.Random) -> list[str]:
    """Valid, dirty and broken spellings of one column's values (a few dozen: the column repeats)."""
    t = spec.type
    if t in ("code", "bank"):
        words = [w for code, chinese in spec.codes for w in (code, code.lower(), *chinese)]
        if t == "bank":
            words = ["ICBC", "icbc", "工商银行", "中国工商银行济南分行", "齐鲁银行", "BOCX", "中国银行"]
        return words + ["未知", "？？", " 借 记 卡 "]
    if t in ("date", "timestamp"):
        return ["2026-11-03", "2026/11/3", "20261103", "2026年11月3日", "2026-11-03 08:30", "2026/11/3 8:05:09",
                "2026.11.3", "2026-02-30", "2027-01-01", "明天", "20261103083000", "2026-11-03 08:00:00.500"]
    if t in ("money", "count", "ratio"):
        return ["12", "1,200笔", "12.5", "-3", "35%", "1.5万", "¥300", "12,345.6元", "abc", "31", "0.2", "150%"]
    if t == "list":
        return ["K1；K2", " K1 、K2;K1", "a; ;b", ";;", "10.0.0.1|FE80::1", "+86 13800138000,13800138000", "x"]
    if t == "region":
        return ["370102", "３７０１０２", "3701", "37-01-02", "37010a"]
    return [f"V{rng.randrange(40)}", "  v  ", _fullwidth("ABC1")]


def _identifier(spec: ColumnSpec, rng: random.Random) -> str:
    """A mostly unique identifier, valid or slightly broken, as a person would type it."""
    t = spec.type
    if t == "id_no":
        value = rng.choice([samples.ric(rng), samples.ric(rng).lower(), samples.uscc(rng), "E1234567",
                            samples.ric(rng)[:6] + samples.ric(rng)[8:17], samples.ric(rng)[:17] + "0"])
    elif t == "account_no":
        value = rng.choice([samples.card(rng), samples.card(rng)[:-1] + "0", "37001234567", "pay-user@x"])
    elif t == "phone":
        value = rng.choice(["+86 ", "0086", "86", ""]) + samples.phone(rng)
    elif t == "imei":
        value = rng.choice([samples.imei(rng), samples.imei(rng)[:-1] + "0", "12345"])
    elif t in ("iccid", "imsi"):
        value = rng.choice(["8986", "460", "8944"]) + str(rng.randrange(10**15, 10**16))
    else:
        value = f"ID-{rng.randrange(10**9)}"
    return _fullwidth(value) if rng.random() < 0.1 else value


def _cell(spec: ColumnSpec, pool: list[str], rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice([None, "", "  ", "\u3000"])
    if spec.type in ("id_no", "account_no", "phone", "imei", "iccid", "imsi") or spec.name in ("lead_id", "case_id"):
        return _identifier(spec, rng)
    value = rng.choice(pool)
    return _fullwidth(value) if roll > 0.95 else value


def dirty_raw(kind: str, seed: int) -> RawFile:
    rng = random.Random(seed)
    specs = load_contract().kinds[kind].columns
    pools = {s.name: _pool(s, rng) for s in specs}
    data = {s.name: [_cell(s, pools[s.name], rng) for _ in range(ROWS)] for s in specs}
    frame = pl.DataFrame(data, schema={s.name: pl.String for s in specs}).with_columns(
        pl.int_range(1, ROWS + 1, dtype=pl.Int32).alias("_row"), pl.lit(None, dtype=pl.String).alias("_extra"))
    return RawFile(Path(f"{kind}_dirty.csv"), kind, "utf-8", frame, [], {})


def assert_modes_agree(raw: RawFile) -> pl.DataFrame:
    contract = load_contract()
    by_row = clean(raw, AS_OF, contract, distinct=False)
    assert_frame_equal(clean(raw, AS_OF, contract, distinct=True), by_row)
    assert_frame_equal(clean(raw, AS_OF, contract), by_row)
    return by_row


KINDS = [
    ("bank", 11, "bank leads: card checked by account kind, ID number by ID type"),
    ("sim", 12, "SIM leads: phone, ICCID, IMSI, IMEI, count with maximum"),
    ("case", 13, "cases: account and phone lists, loss required"),
    ("feedback", 14, "feedback: outcome required only when stage is verified"),
]


@pytest.mark.parametrize(("kind", "seed", "desc"), KINDS, ids=[k[0] for k in KINDS])
def test_per_value_and_per_row_cleaning_agree(kind: str, seed: int, desc: str) -> None:
    raw = dirty_raw(kind, seed)
    out = assert_modes_agree(raw)
    reasons = out[REASONS].explode().drop_nulls()
    # The data really is dirty in the encoded columns and the per-row ones alike.
    assert reasons.len() > ROWS // 10
    encoded = {s.name for s in load_contract().kinds[kind].columns if worth_encoding(raw.frame[s.name])}
    assert encoded and set(raw.frame.columns) - encoded
    assert reasons.str.extract(r"^(\w+)\(").is_in(list(encoded)).any()


def test_reason_text_unchanged_for_a_repeated_bad_code() -> None:
    """A bad code in an encoded column still quotes each row's own raw text."""
    raw = dirty_raw("bank", 21)
    frame = raw.frame.with_columns(pl.when(pl.col("_row") % 2 == 0).then(pl.lit("??")).otherwise(pl.lit("ＸＸ"))
                                   .alias("status"))
    out = assert_modes_agree(RawFile(raw.path, "bank", "utf-8", frame, [], {}))
    reasons = out[REASONS].explode().drop_nulls()
    status = reasons.filter(reasons.str.starts_with("status"))
    assert status.str.ends_with('原值 "??"').sum() == ROWS // 2
    assert status.str.ends_with('原值 "ＸＸ"').sum() == ROWS - ROWS // 2


@pytest.fixture(scope="module")
def sample_night(tmp_path_factory) -> Path:
    from duanka.sample import generate

    out = tmp_path_factory.mktemp("night")
    generate(out, seed=31, leads=2500, nights=1, start=AS_OF)
    return out / AS_OF.isoformat()


def test_generated_delivery_cleans_the_same_both_ways(sample_night: Path) -> None:
    files = [f for f in sorted(sample_night.iterdir()) if file_kind(f.name)]
    assert {file_kind(f.name) for f in files} >= {"bank", "sim", "case"}
    for f in files:
        raw = read_delivery(f, file_kind(f.name) or "", load_contract())
        out = assert_modes_agree(raw)
        assert out.height == raw.frame.height


def test_fullwidth_helper_is_inverse_of_halfwidth() -> None:
    """The test's own dirt generator produces what the normaliser undoes."""
    assert halfwidth_str(_fullwidth("AB12-x;")) == "AB12-x;"
