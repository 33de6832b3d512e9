"""The sample delivery: deterministic, dirty as promised, and its truth matches what was delivered.

The files are read back here with a deliberately small normaliser (full-width,
phone prefixes, 15-digit RICs, list separators), independent of duanka.ingest,
to check that every group is linkable from contract fields alone and that
different groups touch only through the hubs the truth lists.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from stdnum import imei, luhn
from stdnum.cn import ric, uscc

from duanka.sample import generate
from duanka.sample.columns import COLUMNS
from duanka.sample.identifiers import ric_check

SEED, LEADS = 7, 2500
_HALF = {chr(c + 0xFEE0): chr(c) for c in range(0x21, 0x7F)}
_SPLIT = re.compile(r"[;；,，、|]")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sample")
    began = time.perf_counter()
    summary = generate(out, SEED, LEADS)
    seconds = time.perf_counter() - began
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return {"out": out, "summary": summary, "seconds": seconds, "truth": truth, "files": read_all(out)}


# --- a small reader, independent of duanka.ingest --------------------------------
def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", data[3:].decode("utf-8")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "gbk", data.decode("gbk")


def read_file(path: Path) -> tuple[str, list[list[str]]]:
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        return "xlsx", rows
    encoding, text = decode(path.read_bytes())
    return encoding, list(csv.reader(io.StringIO(text)))


def read_all(out: Path) -> list[dict]:
    files = []
    for path in sorted(out.glob("*/*_*.*")):
        kind = path.name.split("_")[0]
        alias = {zh: en for en, zh in COLUMNS[kind]} | {en: en for en, _ in COLUMNS[kind]}
        encoding, rows = read_file(path)
        header = [alias[h.strip()] for h in rows[0]]
        files.append({"path": path, "night": path.parent.name, "kind": kind, "encoding": encoding,
                      "raw_header": rows[0], "rows": [dict(zip(header, r)) for r in rows[1:]]})
    return files


def half(value: str) -> str:
    return "".join(_HALF.get(c, c) for c in value).strip()


def phone(value: str) -> str:
    digits = re.sub(r"\D", "", half(value))
    return digits[-11:] if len(digits) > 11 and digits.startswith(("86", "0086")) else digits


def person(value: str) -> str:
    value = half(value).upper()
    if len(value) == 15:
        body = value[:6] + "19" + value[6:]
        return body + ric_check(body)
    return value


def items(value: str) -> list[str]:
    return [half(v) for v in _SPLIT.split(value) if half(v)]


def nodes(kind: str, row: dict) -> list[str]:
    """The connecting identifiers of a row (contract fields only)."""
    if kind == "case":
        return (["case:" + half(row["case_id"])] + ["account:" + a for a in items(row["accounts"])]
                + ["phone:" + phone(p) for p in _SPLIT.split(row["phones"]) if phone(p)])
    out = ["person:" + person(row["holder_id_no"])] + ["case:" + c for c in items(row["case_ids"])]
    if kind == "bank":
        out += ["account:" + half(row["account_no"]), "phone:" + phone(row["holder_phone"])]
        out += ["device:" + d for d in items(row["login_device"])] + ["ip:" + i for i in items(row["login_ip"])]
    else:
        out += ["phone:" + phone(row["msisdn"]), "device:" + half(row["imei"])]
    return [n for n in out if not n.endswith(":")]


def lead_rows(files: list[dict], skip_resent: bool = True):
    for f in files:
        if f["kind"] in ("bank", "sim") and not (skip_resent and "_resend_" in f["path"].name):
            for number, row in enumerate(f["rows"], 1):
                yield f, number, row


# --- tests ------------------------------------------------------------------------
def test_generation_is_fast_and_about_the_size_asked(sample) -> None:
    assert sample["seconds"] < 10
    assert LEADS <= sample["summary"]["leads"] < LEADS * 1.15
    assert sum(1 for _ in lead_rows(sample["files"])) >= LEADS  # plus duplicate rows


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path) -> None:
    def digest(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, seed, 400, nights=2, start=date(2026, 11, 3))
    first, again, other = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert first == again
    assert any(name.endswith(".xlsx") for name in first)  # XLSX bytes are stable too
    assert first["truth.json"] != other["truth.json"]


def test_truth_covers_every_delivered_lead(sample) -> None:
    leads = sample["truth"]["leads"]
    seen = set()
    for _, _, row in lead_rows(sample["files"]):
        key = f"{half(row['issuer'])}|{half(row['lead_id'])}"
        assert key in leads, key
        seen.add(key)
    assert seen == set(leads)
    assert set(leads.values()) <= set(sample["truth"]["groups"])


def test_truth_identifiers_validate(sample) -> None:
    for gid, group in sample["truth"]["groups"].items():
        for p in group["persons"]:
            assert ric.is_valid(p) or uscc.is_valid(p), (gid, p)
        for a in group["accounts"]:
            assert luhn.is_valid(a) or (a.isdigit() and 8 <= len(a) <= 32 and len(a) != 19), (gid, a)
        for p in group["phones"]:
            assert re.fullmatch(r"1[3-9]\d{9}", p), (gid, p)
        for d in group["devices"]:
            assert imei.is_valid(d) if len(d) == 15 else re.fullmatch(r"[0-9A-F]{20}", d), (gid, d)


def test_groups_are_linked_by_contract_fields_and_only_through_hubs(sample) -> None:
    """Union the identifiers of every delivered row, leaving hubs out: components are the true groups."""
    truth = sample["truth"]
    hubs = {f"{'ip' if h['kind'] == 'ip' else 'device'}:{h['value']}" for h in truth["hubs"]
            if h["kind"] in ("ip", "device")}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    lead_node = {}
    unrepairable = {(u["night"], u["file"], u["row"]) for u in truth["unrepairable"]}
    for f, number, row in lead_rows(sample["files"]):
        if (f["night"], f["path"].name, number) in unrepairable:
            continue
        key = f"{half(row['issuer'])}|{half(row['lead_id'])}"
        lead_node[key] = "lead:" + key
        for n in nodes(f["kind"], row):
            if n not in hubs:
                parent[find("lead:" + key)] = find(n)
    for f in sample["files"]:
        if f["kind"] == "case":
            for row in f["rows"]:
                ids = nodes("case", row)
                for n in ids[1:]:
                    parent[find(ids[0])] = find(n)
    components = defaultdict(set)
    for key, node in lead_node.items():
        components[find(node)].add(truth["leads"][key])
    mixed = [groups for groups in components.values() if len(groups) > 1]
    assert not mixed, f"groups glued together: {mixed[:3]}"
    per_group = defaultdict(set)
    for key, node in lead_node.items():
        per_group[truth["leads"][key]].add(find(node))
    split = {g: len(c) for g, c in per_group.items() if len(c) > 1}
    assert not split, f"groups not linkable: {list(split.items())[:5]}"
    gangs = [g for g, rec in truth["groups"].items() if rec["gang"]]
    assert len(gangs) >= 10 and all(g in per_group for g in gangs)


def test_hubs_reach_many_unrelated_holders(sample) -> None:
    holders = defaultdict(set)
    for f, _, row in lead_rows(sample["files"]):
        for n in nodes(f["kind"], row):
            if n.startswith(("ip:", "device:")):
                holders[n].add(person(row["holder_id_no"]))
        if f["kind"] == "bank":
            holders["branch:" + half(row["open_branch"])].add(person(row["holder_id_no"]))
    for hub in sample["truth"]["hubs"]:
        kind = {"ip": "ip", "device": "device", "branch": "branch"}.get(hub["kind"])
        if kind:
            minimum = {"ip": 60, "device": 40, "branch": 100}[kind]
            assert len(holders[f"{kind}:{hub['value']}"]) >= minimum, hub


def test_gbk_file_decodes_only_as_gbk(sample) -> None:
    gbk = [f for f in sample["files"] if f["encoding"] == "gbk"]
    assert gbk
    data = gbk[0]["path"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gb18030") == data.decode("gbk")


def _values(sample, column: str) -> list[str]:
    return [row.get(column, "") for f in sample["files"] for row in f["rows"]]


DIRT = [
    ("GBK, UTF-8 with BOM, plain UTF-8 CSV and XLSX files",
     lambda s: {f["encoding"] for f in s["files"]} >= {"gbk", "utf-8-sig", "utf-8", "xlsx"}),
    ("Chinese headers on some files, canonical on others",
     lambda s: {f["raw_header"][0].strip().isascii() for f in s["files"]} == {True, False}),
    ("columns in shuffled order", lambda s: any(f["raw_header"][0].strip() not in ("lead_id", "线索编号", "case_id",
                                                                                      "案件编号") for f in s["files"])),
    ("blanks around headers", lambda s: any(h != h.strip() for f in s["files"] for h in f["raw_header"])),
    ("blanks around values", lambda s: any(v != v.strip() for v in _values(s, "reason") + _values(s, "bank"))),
    ("full-width digits", lambda s: any(re.search("[０-９]", v) for v in _values(s, "holder_id_no"))),
    ("lower-case x in RIC", lambda s: any(v.strip().endswith("x") for v in _values(s, "holder_id_no"))),
    ("legacy 15-digit RIC", lambda s: any(len(half(v)) == 15 for v in _values(s, "holder_id_no"))),
    ("+86 phone with dashes", lambda s: any(v.startswith("+86 ") and "-" in v for v in _values(s, "holder_phone"))),
    ("0086 prefix", lambda s: any(half(v).startswith("0086") for v in _values(s, "msisdn") + _values(s, "holder_phone"))),
    ("86 prefix", lambda s: any(re.fullmatch(r"86\d{11}", half(v)) for v in _values(s, "holder_phone"))),
    ("dates as YYYY/M/D", lambda s: any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", v.strip()) for v in _values(s, "open_date"))),
    ("dates as YYYYMMDD", lambda s: any(re.fullmatch(r"\d{8}", v.strip()) for v in _values(s, "open_date"))),
    ("datetimes with HH:MM", lambda s: any(re.search(r" \d\d:\d\d$", v.strip()) for v in _values(s, "issued_at"))),
    ("datetimes with HH:MM:SS", lambda s: any(re.search(r"\d\d:\d\d:\d\d$", v) for v in _values(s, "issued_at"))),
    ("Chinese reason word 涉案", lambda s: "涉案" in {v.strip() for v in _values(s, "reason")}),
    ("Chinese kind word 借记卡", lambda s: "借记卡" in {v.strip() for v in _values(s, "account_kind")}),
    ("carrier as 中国移动", lambda s: "中国移动" in {v.strip() for v in _values(s, "carrier")}),
    ("id type as 居民身份证", lambda s: "居民身份证" in {v.strip() for v in _values(s, "holder_id_type")}),
    ("status as 正常", lambda s: "正常" in {v.strip() for v in _values(s, "status")}),
    ("bank full and short Chinese names",
     lambda s: {"中国工商银行", "工商银行"} <= {v.strip() for v in _values(s, "bank")}),
    ("every list separator", lambda s: all(any(sep in v for v in _values(s, "login_device") + _values(s, "accounts")
                                               + _values(s, "login_ip")) for sep in ";；,，、|")),
    ("exact duplicate rows within a file",
     lambda s: any(len({tuple(r.items()) for r in f["rows"]}) < len(f["rows"]) for f in s["files"])),
    ("a file delivered again under another name on a later night",
     lambda s: any(f["path"].read_bytes() == g["path"].read_bytes() and f["night"] < g["night"]
                   for f in s["files"] for g in s["files"] if "_resend_" in g["path"].name)),
    ("a re-issued lead: same issuer and lead id on a later night, newer issue time",
     lambda s: _reissued(s)),
    ("all five kinds of unrepairable row",
     lambda s: {u["why"] for u in s["truth"]["unrepairable"]} == {"bad_ric_check", "phone_12_digits",
                                                                  "missing_required", "open_date_future",
                                                                  "unknown_reason"}),
]


def _reissued(sample) -> bool:
    nights = defaultdict(set)
    for f, _, row in lead_rows(sample["files"]):
        nights[(half(row["issuer"]), half(row["lead_id"]))].add(f["night"])
    return any(len(n) > 1 for n in nights.values())


@pytest.mark.parametrize("what,present", DIRT, ids=[d[0] for d in DIRT])
def test_dirt_kind_appears(sample, what: str, present) -> None:
    assert present(sample), what


def test_unrepairable_rows_are_where_the_truth_says(sample) -> None:
    unrepairable = sample["truth"]["unrepairable"]
    assert 0.002 * LEADS <= len(unrepairable) <= 0.012 * LEADS
    by_file = {(f["night"], f["path"].name): f for f in sample["files"]}
    for u in unrepairable:
        row = by_file[(u["night"], u["file"])]["rows"][u["row"] - 1]
        assert half(row["lead_id"]) == u["lead_id"]
        if u["why"] == "bad_ric_check":
            assert not ric.is_valid(person(row["holder_id_no"]))
        if u["why"] == "missing_required":
            assert not half(row.get("account_no", "x") or "") or not half(row.get("msisdn", "x") or "")


GROUP_KINDS = ["gang", "family", "multi_card", "shop", "traveller", "salesperson", "victim", "ordinary"]


@pytest.mark.parametrize("kind", GROUP_KINDS)
def test_every_group_kind_is_present(sample, kind: str) -> None:
    assert any(g["kind"] == kind for g in sample["truth"]["groups"].values())


def test_gang_variants_and_growth(sample) -> None:
    truth = sample["truth"]
    gangs = {gid: g for gid, g in truth["groups"].items() if g["gang"]}
    variants = {v for g in gangs.values() for v in g["variant"].split("+")}
    assert {"simbox", "shell", "iot", "growing"} <= variants
    assert any(g["dormant"] and not g["cases"] for g in gangs.values())
    nights_of = defaultdict(set)
    for f, _, row in lead_rows(sample["files"]):
        nights_of[truth["leads"][f"{half(row['issuer'])}|{half(row['lead_id'])}"]].add(f["night"])
    growing = [gid for gid, g in gangs.items() if "growing" in g["variant"]]
    assert any(len(nights_of[gid]) == 2 for gid in growing)
    simbox = next(g for g in gangs.values() if g["variant"] == "simbox")
    assert 25 <= len(simbox["persons"]) <= 40 and len(simbox["devices"]) == 1


def test_victim_cases_name_no_lead_account_as_receiver(sample) -> None:
    truth = sample["truth"]
    lead_accounts = {a for g in truth["groups"].values() for a in g["accounts"]}
    for g in truth["groups"].values():
        if g["kind"] == "victim":
            assert g["case_accounts"] and not set(g["case_accounts"]) & lead_accounts


def test_big_spreadsheet_export_continues_as_csv(tmp_path, monkeypatch) -> None:
    """openpyxl is slow, so an XLSX delivery holds a bounded number of rows; the rest follow as part 2 CSV."""
    from duanka.sample import deliveries

    monkeypatch.setattr(deliveries, "XLSX_MAX_ROWS", 10)
    generate(tmp_path, 5, 600, nights=1)
    night = tmp_path / "2026-11-03"
    assert (night / "bank_psbc_1.xlsx").exists() and (night / "bank_psbc_2.csv").exists()
    assert 10 <= len(read_file(night / "bank_psbc_1.xlsx")[1]) - 1 <= 11  # 10 rows, perhaps one twice
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    keys = {f"{half(r['issuer'])}|{half(r['lead_id'])}" for _, _, r in lead_rows(read_all(tmp_path))}
    assert keys == set(truth["leads"])
