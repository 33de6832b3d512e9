"""Cleaning whole rows: typed like the clean tables, every reason collected, in the issuer's format."""
from __future__ import annotations

import random
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from duanka.contract_schema import load_contract
from duanka.ingest.clean import clean
from duanka.ingest.read import RawFile
from duanka.normalize import samples
from duanka.warehouse import LEAD_TABLES, connect

AS_OF = date(2026, 11, 4)
RNG = random.Random(20261104)
RIC = samples.ric(RNG, date(1990, 5, 17))
CARD = samples.card(RNG, 19)
PHONE = samples.phone(RNG)
IMEI = samples.imei(RNG)


def raw_file(kind: str, rows: list[dict[str, str | None]]) -> RawFile:
    """A RawFile as `read_delivery` makes it: every contract column as String, `_row`, `_extra`."""
    names = load_contract().kinds[kind].names
    frame = pl.DataFrame([{n: r.get(n) for n in names} for r in rows], schema={n: pl.String for n in names})
    frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("_row"),
                               pl.lit(None, dtype=pl.String).alias("_extra"))
    return RawFile(Path(f"{kind}_t.csv"), kind, "utf-8", frame, [], {})


def bank_row(**changes: str | None) -> dict[str, str | None]:
    row = {
        "lead_id": " L001 ", "issued_at": "2026/11/3 8:05", "issuer": None, "reason": "涉案",
        "bank": "工商银行济南分行", "account_no": " ".join(CARD[i:i + 4] for i in range(0, 19, 4)),
        "account_kind": "借记卡", "holder_name": "张三", "holder_id_type": "身份证", "holder_id_no": RIC.lower(),
        "holder_phone": f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}", "open_date": "2025年3月1日",
        "open_channel": "柜面", "open_region": "３７０１０２", "status": "冻结",
        "login_device": f"{IMEI}；fp-ab12", "login_ip": "10.0.0.1|FE80::1", "inflow_30d": "12,345.6元",
        "outflow_30d": "¥300", "txn_count_30d": "1,200笔", "counterparties_30d": "35",
        "night_txn_ratio": "35%", "case_ids": " K1 、K2;K1",
    }
    row.update(changes)
    return row


def test_valid_bank_row_normalised() -> None:
    out = clean(raw_file("bank", [bank_row()]), AS_OF, load_contract())
    row = out.row(0, named=True)
    expected = {
        "lead_id": "L001", "issued_at": datetime(2026, 11, 3, 8, 5), "issuer": "", "reason": "CASE_LINKED",
        "bank": "ICBC", "account_no": CARD, "account_kind": "debit", "holder_id_type": "RIC",
        "holder_id_no": RIC, "person_key": RIC, "holder_phone": PHONE, "open_date": date(2025, 3, 1),
        "open_channel": "counter", "open_region": "370102", "status": "frozen",
        "login_device": [IMEI, "fp-ab12"], "login_ip": ["10.0.0.1", "fe80::1"], "inflow_30d": 12345.6,
        "outflow_30d": 300.0, "txn_count_30d": 1200, "counterparties_30d": 35, "night_txn_ratio": 0.35,
        "case_ids": ["K1", "K2"], "_reasons": [],
    }
    assert {key: row[key] for key in expected} == expected


SIM_ROW = {
    "lead_id": "S1", "issued_at": "20261103", "issuer": "省反诈中心", "reason": "高频呼叫", "carrier": "中国移动",
    "msisdn": "0086" + PHONE, "iccid": "898600d1234567890１２", "imsi": "460 001234567890", "card_kind": "物联网卡",
    "holder_name": "某公司", "holder_id_type": "统一社会信用代码", "holder_id_no": "91110000600037341l",
    "open_date": "2026-11-04", "status": "停机", "imei": IMEI, "abroad_days_30d": "30", "calls_out_7d": "800",
    "callees_7d": "120", "sms_out_7d": "0", "case_ids": None,
}
CASE_ROW = {"case_id": "K1", "reported_at": "2026-11-01 10:00", "region": "370102", "fraud_type": "刷单返利",
            "loss": "1.5万", "accounts": f"{CARD[:4]} {CARD[4:]}，alipay:abc@x.cn", "phones": f"+86{PHONE}|0531-88886666"}
FEEDBACK_ROW = {"packet_id": "P-1", "stage": "已核查", "outcome": "属实", "arrests": "3", "recovered": "5,000元",
                "officer": "李警官", "reported_at": "2026/11/4"}


@pytest.mark.parametrize("kind", ["bank", "sim", "case"])
def test_valid_rows_load_into_the_warehouse_tables(kind: str) -> None:
    """The clean frame's columns and types are exactly what the DuckDB clean table takes."""
    row = {"bank": bank_row(), "sim": SIM_ROW, "case": CASE_ROW}[kind]
    out = clean(raw_file(kind, [row]), AS_OF, load_contract())
    assert out["_reasons"].to_list() == [[]]
    con = connect()
    table = LEAD_TABLES[kind][0]
    staged = out.drop("_reasons").with_columns(pl.lit("t.csv").alias("_file"), pl.lit("x").alias("_sha256"),
                                               pl.lit(AS_OF).alias("_as_of"))
    con.register("staged", staged.to_arrow())
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged")
    table_columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    assert sorted(table_columns) == sorted(staged.columns)


def test_sim_and_case_values() -> None:
    sim = clean(raw_file("sim", [SIM_ROW]), AS_OF, load_contract()).row(0, named=True)
    assert (sim["msisdn"], sim["iccid"], sim["imsi"], sim["carrier"], sim["card_kind"], sim["person_key"]) == (
        PHONE, "898600D123456789012", "460001234567890", "CMCC", "iot", "91110000600037341L")
    case = clean(raw_file("case", [CASE_ROW]), AS_OF, load_contract()).row(0, named=True)
    assert case["loss"] == 15000.0
    assert case["accounts"] == [CARD, "alipay:abc@x.cn"]
    assert case["phones"] == [PHONE, "053188886666"]


def test_passport_person_key() -> None:
    out = clean(raw_file("bank", [bank_row(holder_id_type="护照", holder_id_no=" e1234567 ")]), AS_OF,
                load_contract())
    assert out.select("holder_id_no", "person_key", "_reasons").row(0) == ("E1234567", "PASSPORT:E1234567", [])


def test_payment_account_is_free_text() -> None:
    out = clean(raw_file("bank", [bank_row(account_kind="支付账户", account_no=" wx_abc-123 ")]), AS_OF,
                load_contract())
    assert out.select("account_no", "_reasons").row(0) == ("wx_abc-123", [])


def test_every_reason_of_a_row_collected_in_issuer_format() -> None:
    bad_ric = RIC[:-1] + ("0" if RIC[-1] != "0" else "1")
    row = bank_row(lead_id=None, holder_id_no=bad_ric, holder_phone="12345", open_date="2027-01-01",
                   bank="火星银行", status="睡眠", night_txn_ratio="2", txn_count_30d="1.5",
                   account_no="6222021234567890127")
    out = clean(raw_file("bank", [row]), AS_OF, load_contract())
    reasons = out["_reasons"][0].to_list()
    assert reasons == [
        'lead_id(线索编号): 必填项缺失，原值 ""',
        'account_no(账号): 卡号校验位错误（Luhn），原值 "6222021234567890127"',
        f'holder_id_no(证件号码): 身份证校验位错误，原值 "{bad_ric}"',
        'holder_phone(预留手机号): 不是有效的大陆手机号码，原值 "12345"',
        'open_date(开户日期): 日期晚于运行日期 2026-11-04，原值 "2027-01-01"',
        'status(账户状态): 未知代码，可选 normal 正常、frozen 冻结、stop_payment 止付、closed 销户，原值 "睡眠"',
        'txn_count_30d(近30日交易笔数): 应为整数，原值 "1.5"',
        'night_txn_ratio(夜间交易占比): 比例应在 0–1 之间（或 0%–100%），原值 "2"',
    ]
    failed = out.select("lead_id", "account_no", "holder_id_no", "person_key", "holder_phone",
                        "open_date", "status", "txn_count_30d", "night_txn_ratio").row(0)
    assert failed == (None,) * 9


def test_a_bank_missing_from_the_list_keeps_its_name() -> None:
    """Village and city banks are too many to list: an unlisted name must not cost the lead."""
    out = clean(raw_file("bank", [bank_row(bank=" 莒县农商银行 ")]), AS_OF, load_contract())
    assert out.select("bank", "_reasons").row(0) == ("莒县农商银行", [])


def test_reason_quotes_the_raw_value_as_delivered() -> None:
    out = clean(raw_file("bank", [bank_row(holder_phone=" １２３ ")]), AS_OF, load_contract())
    assert out["_reasons"][0].to_list() == ['holder_phone(预留手机号): 不是有效的大陆手机号码，原值 " １２３ "']


def test_unknown_kind_or_type_skips_dependent_check_but_reports_it() -> None:
    out = clean(raw_file("bank", [bank_row(account_kind="存折", holder_id_type="军官证")]), AS_OF, load_contract())
    reasons = out["_reasons"][0].to_list()
    assert [r.split(":")[0] for r in reasons] == ["account_kind(账户类型)", "holder_id_type(证件类型)"]
    assert out["person_key"][0] is None


FEEDBACK = [
    ("verified with outcome", {}, []),
    ("verified without outcome", {"outcome": None}, ['outcome(核查结论): stage 为 verified 时必填，原值 ""']),
    ("analyzed needs no outcome", {"stage": "已研判", "outcome": None}, []),
    ("officer required", {"officer": " "}, ['officer(反馈人): 必填项缺失，原值 " "']),
    ("negative arrests", {"arrests": "-1"}, ['arrests(抓获人数): 应在 不小于 0 范围内，原值 "-1"']),
]


@pytest.mark.parametrize(("desc", "changes", "reasons"), FEEDBACK, ids=[c[0] for c in FEEDBACK])
def test_feedback_rows(desc: str, changes: dict, reasons: list[str]) -> None:
    out = clean(raw_file("feedback", [FEEDBACK_ROW | changes]), AS_OF, load_contract())
    assert out["_reasons"][0].to_list() == reasons
    assert out.schema["reported_at"] == pl.Datetime("us") and out.schema["arrests"] == pl.Int64


def test_one_output_row_per_input_row_in_order() -> None:
    rows = [bank_row(lead_id=f"L{i}", holder_phone="bad" if i % 3 == 0 else None) for i in range(50)]
    out = clean(raw_file("bank", rows), AS_OF, load_contract())
    assert out["lead_id"].to_list() == [f"L{i}" for i in range(50)]
    assert out["_row"].to_list() == list(range(1, 51))
    assert (out["_reasons"].list.len() > 0).to_list() == [i % 3 == 0 for i in range(50)]


def test_empty_frame_keeps_schema() -> None:
    out = clean(raw_file("case", []), AS_OF, load_contract())
    assert out.height == 0 and out.schema["accounts"] == pl.List(pl.String)


def test_throughput_is_vectorised() -> None:
    """20k generated rows cost well under a second of CPU (per-row Python would cost several).

    CPU time rather than wall time: the test must not fail because other work shares the machine.
    """
    raw = raw_file("bank", samples.bank_rows(20_000, seed=3))
    start = time.process_time()
    out = clean(raw, AS_OF, load_contract())
    cpu = time.process_time() - start
    assert out.height == 20_000
    assert (out["_reasons"].list.len() == 0).all()
    assert cpu < 2.0
