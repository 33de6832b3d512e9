"""publish(): contract §4 outputs, masking on the index, page reuse across nights, atomic replacement.

The warehouse is built in code from a fixed seed: a handful of packets with
persons (RIC, USCC, passport), accounts, phones, devices and cases, their
roles, layout, edges, scores, rule hits and changes.
"""
from __future__ import annotations

import json
import random
import re
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from stdnum import luhn
from stdnum.cn import ric

from duanka.publish import publish
from duanka.publish.mask import mask_account, mask_id, mask_phone
from duanka.warehouse import connect

# contract_check.py lives beside contract.md, in the folder shared with the issuing platform
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from contract_check import check

NIGHT1, NIGHT2 = date(2026, 11, 3), date(2026, 11, 4)
SUMMARY = {"files_loaded": 3, "files_skipped": 0, "files_rejected": 1, "rows_read": 10, "rows_loaded": 8,
           "rows_quarantined": 2, "rows_duplicate": 0, "备注": "测试运行"}
QUARANTINE = pl.DataFrame({
    "file": ["bank_20261103.csv", "sim_20261103.xlsx"], "row": [4, 9], "lead_id": ["B-0004", None],
    "reasons": ["证件号码校验位错误 (holder_id_no)", "缺少线索编号; 手机号码位数不对 (msisdn)"],
    "raw": [json.dumps({"线索编号": "B-0004", "证件号码": "37040319990101123Y"}, ensure_ascii=False),
            json.dumps({"手机号码": "1380013", "lead_id": ""}, ensure_ascii=False)],
})

UNMASKED = [
    ("18-character ID number", re.compile(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")),
    ("11-digit mobile number", re.compile(r"(?<!\d)1\d{10}(?!\d)")),
    ("16-19 digit card number", re.compile(r"(?<!\d)\d{16,19}(?!\d)")),
]


def _ric(rng: random.Random) -> str:
    body = f"370403{rng.randint(1960, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body)


def _card(rng: random.Random) -> str:
    body = "622202" + "".join(rng.choice("0123456789") for _ in range(12))
    return body + luhn.calc_check_digit(body)


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


class Fixture:
    """Inserts packets lead by lead; remembers what it inserted so tests can ask about it."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.con: duckdb.DuckDBPyConnection = connect()
        self.row = 0
        self.lead_no = 0

    def _provenance(self, kind: str) -> tuple:
        self.row += 1
        return (f"{kind}_20261103.csv", self.row, "sha-" + kind, NIGHT1, None)

    def bank_lead(self, pid: str, person: tuple[str, str, str], account: str, phone: str | None,
                  device: str | None = None, case_ids: list[str] | None = None) -> None:
        self.lead_no += 1
        id_type, id_no, name = person
        key = f"PASSPORT:{id_no}" if id_type == "PASSPORT" else id_no
        self.con.execute(
            "INSERT INTO bank_leads VALUES (?, ?, ?, 'MULTI_CARD', 'ICBC', ?, 'debit', ?, ?, ?, ?, ?, ?, 'B001', "
            "'agent', '370403', 'normal', ?, ['10.0.0.1'], 52000.5, 51000, 140, 37, 0.4, ?, ?, ?, ?, ?, ?)",
            ["", f"B-{self.lead_no:04d}", datetime(2026, 11, 1, 9, 30), account, name, id_type, id_no, key, phone,
             date(2026, 10, self.rng.randint(1, 28)), [device] if device else [], case_ids or [],
             *self._provenance("bank")])
        self.con.execute("INSERT INTO packet_leads VALUES (?, 'bank', '', ?)", [pid, f"B-{self.lead_no:04d}"])

    def sim_lead(self, pid: str, person: tuple[str, str, str], msisdn: str, imei: str | None = None) -> None:
        self.lead_no += 1
        id_type, id_no, name = person
        key = f"PASSPORT:{id_no}" if id_type == "PASSPORT" else id_no
        self.con.execute(
            "INSERT INTO sim_leads VALUES (?, ?, ?, 'HIGH_FREQ_CALL', 'CMCC', ?, NULL, NULL, 'personal', ?, ?, ?, ?, "
            "?, 'O-17', '370403', 'normal', ?, 0, 300, 280, 12, [], ?, ?, ?, ?, ?)",
            ["", f"S-{self.lead_no:04d}", datetime(2026, 11, 1), msisdn, name, id_type, id_no, key,
             date(2026, 10, self.rng.randint(1, 28)), imei, *self._provenance("sim")])
        self.con.execute("INSERT INTO packet_leads VALUES (?, 'sim', '', ?)", [pid, f"S-{self.lead_no:04d}"])

    def packet(self, pid: str, priority: float, tier: str, persons: list[tuple[str, str, str]],
               case_phone: str | None = None) -> None:
        """One packet: each person holds an account and a SIM; the first person is the collector."""
        nodes, edges = [], []
        for i, person in enumerate(persons):
            holder = ("company:" if person[0] == "USCC" else "person:") + (
                f"PASSPORT:{person[1]}" if person[0] == "PASSPORT" else person[1])
            account, phone = _card(self.rng), _phone(self.rng)
            device = f"IMEI{self.rng.randint(10**13, 10**14 - 1)}"
            self.bank_lead(pid, person, account, phone, device, case_ids=[f"AJ-{pid}"] if i == 0 else None)
            self.sim_lead(pid, person, phone, imei=device)
            nodes += [holder, f"account:{account}", f"phone:{phone}", f"device:{device}"]
            edges += [(holder, f"account:{account}", "holder"), (holder, f"phone:{phone}", "holder"),
                      (f"account:{account}", f"phone:{phone}", "reserved_phone"),
                      (f"phone:{phone}", f"device:{device}", "imei")]
            self.con.execute("INSERT INTO group_roles VALUES (?, ?, ?, ?)",
                             [pid, holder, "collector" if i == 0 else "card_farmer", 0.9 - i / 10])
        nodes.append(f"case:AJ-{pid}")
        edges.append((nodes[1], f"case:AJ-{pid}", "case"))
        phones = [case_phone] if case_phone else []
        if case_phone:
            nodes.append(f"phone:{case_phone}")
            edges.append((f"case:AJ-{pid}", f"phone:{case_phone}", "case"))
        self.con.execute("INSERT INTO cases VALUES (?, ?, '370403', '刷单返利', 88000, ?, ?, 'case_1.csv', 1, 'c', ?, NULL)",
                         [f"AJ-{pid}", datetime(2026, 10, 30, 21, 5), [nodes[1][8:]], phones, NIGHT1])
        for node in nodes:
            self.con.execute("INSERT INTO packet_members VALUES (?, ?)", [pid, node])
            self.con.execute("INSERT INTO group_layout VALUES (?, ?, ?, ?)",
                             [pid, node, self.rng.random(), self.rng.random()])
        self.con.executemany("INSERT INTO link_edges VALUES (?, ?, ?)", edges)
        self.con.execute("INSERT INTO packet_registry VALUES (?, ?, ?, 'active', NULL, 'd')", [pid, NIGHT1, NIGHT1])
        self.con.execute("INSERT INTO packet_scores VALUES (?, ?, ?, '370403RF', '泰山区反诈中心', '收卡团伙', "
                         "['R-MULTI-001', 'R-CASE-002'], 'rs-4f2a9c')", [pid, priority, tier])
        evidence = json.dumps([{"file": "bank_20261103.csv", "row": 3, "lead_id": "B-0001", "开户数": 4}],
                              ensure_ascii=False)
        self.con.execute("INSERT INTO rule_hits VALUES (?, 'R-MULTI-001', 2, '一人多卡', '同一持有人短期内开立多张卡', "
                         "35, '4 张', '≥ 3 张', ?)", [pid, evidence])
        self.con.execute("INSERT INTO packet_changes VALUES (?, ?, 'new', '首次成包')", [NIGHT1, pid])


def build(seed: int = 7) -> Fixture:
    """Four open packets (two with equal priority), one dissolved one, persons of every id type."""
    fx = Fixture(seed)
    rng = fx.rng
    people = [("RIC", _ric(rng), f"张{i}") for i in range(7)]
    fx.packet("PK-A", 91.25, "red", [people[0], people[1], ("PASSPORT", "E12345678", "JOHN DOE")],
              case_phone="13912345678")
    fx.packet("PK-B", 55.0, "orange", [people[2], ("USCC", "91350100M000100Y43", "某某科技有限公司")])
    fx.packet("PK-C", 55.0, "orange", [people[3], people[4]])
    fx.packet("PK-D", 30.0, "yellow", [people[5]])
    fx.packet("PK-Z", 99.0, "red", [people[6]])
    fx.con.execute("UPDATE packet_registry SET state = 'dissolved' WHERE packet_id = 'PK-Z'")
    fx.con.execute("INSERT INTO link_hubs VALUES ('ip:10.0.0.1', 'ip', 41)")
    return fx


def run(fx: Fixture, home: Path, as_of: date, statuses: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return publish(fx.con, home, as_of, statuses=statuses or {}, summary=SUMMARY, quarantine=QUARANTINE)


def index(home: Path, as_of: date) -> list[dict]:
    return json.loads((home / "packets" / as_of.isoformat() / "index.json").read_text(encoding="utf-8"))


@pytest.fixture()
def night1(tmp_path: Path) -> tuple[Fixture, Path]:
    fx = build()
    report = run(fx, tmp_path, NIGHT1, {"PK-C": "analyzed"})
    assert (report.pages_rendered, report.pages_kept, report.packets_listed) == (4, 0, 4)
    return fx, tmp_path


def test_outputs_pass_the_contract_check(night1: tuple[Fixture, Path]) -> None:
    _, home = night1
    assert check(home, NIGHT1.isoformat()) == []


def test_index_json_lists_open_packets_by_priority_then_id(night1: tuple[Fixture, Path]) -> None:
    _, home = night1
    entries = index(home, NIGHT1)
    assert [e["packet_id"] for e in entries] == ["PK-A", "PK-B", "PK-C", "PK-D"]  # PK-Z dissolved
    a = entries[0]
    assert list(a) == ["packet_id", "priority", "tier", "unit_code", "status", "changed", "persons", "accounts",
                       "phones", "rules", "html"]
    assert a["priority"] == 91.25 and a["tier"] == "red" and a["unit_code"] == "370403RF" and a["changed"] is True
    assert "PASSPORT:E12345678" in a["persons"] and len(a["persons"]) == 3
    assert "13912345678" in a["phones"], "a case's phone that is a member node is listed"
    assert len(a["accounts"]) == 3 and len(a["phones"]) == 4
    assert a["rules"] == ["R-CASE-002", "R-MULTI-001"]
    assert entries[1]["persons"][-1] == "91350100M000100Y43"
    assert entries[2]["status"] == "analyzed" and entries[3]["status"] == "issued"


def test_index_html_masks_every_identifier(night1: tuple[Fixture, Path]) -> None:
    _, home = night1
    html = (home / "packets" / NIGHT1.isoformat() / "index.html").read_text(encoding="utf-8")
    for what, pattern in UNMASKED:
        assert not pattern.search(html), f"unmasked {what} in index.html: {pattern.search(html)}"
    a = index(home, NIGHT1)[0]
    assert mask_id(a["persons"][0]) in html and mask_phone(a["phones"][0]) in html
    assert mask_account(a["accounts"][0]) in html
    assert 'href="../../packets/pages/' in html and "<script>" in html and 'id="f-tier"' in html


def test_pages_are_self_contained_chinese_and_name_no_url(night1: tuple[Fixture, Path]) -> None:
    _, home = night1
    pages = sorted((home / "packets" / "pages").glob("*.html"))
    assert len(pages) == 4
    for page in [*pages, home / "packets" / NIGHT1.isoformat() / "index.html"]:
        text = page.read_text(encoding="utf-8")
        for banned in ("http://", "https://", "//cdn", "<link", "@import", "@font-face", " src="):
            assert banned not in text, f"{page.name} contains {banned}"
    a = index(home, NIGHT1)[0]
    text = (home / a["html"]).read_text(encoding="utf-8")
    for shown in ("研判依据", "一人多卡", "4 张", "≥ 3 张", "bank_20261103.csv", "变化记录", "首次成包", "关键人物",
                  "<svg", "时间线", "共用过多", "size: A4", "@media print", "rs-4f2a9c", "收卡人", "刷单返利", "PASSPORT:E12345678",
                  a["persons"][0], a["accounts"][0]):
        assert shown in text, f"packet page lacks {shown}"


def test_unchanged_packet_keeps_its_page_and_changed_one_gets_a_new_page(night1: tuple[Fixture, Path]) -> None:
    fx, home = night1
    before = {e["packet_id"]: e["html"] for e in index(home, NIGHT1)}
    mtimes = {pid: (home / html).stat().st_mtime_ns for pid, html in before.items()}
    # PK-B grows tonight: one more card for its first holder
    person = fx.con.execute("SELECT holder_id_type, holder_id_no, holder_name FROM bank_leads "
                            "JOIN packet_leads USING (lead_id) WHERE packet_id = 'PK-B' LIMIT 1").fetchone()
    fx.sim_lead("PK-B", person, "15000000001")
    fx.con.execute("INSERT INTO packet_members VALUES ('PK-B', 'phone:15000000001')")
    fx.con.execute("INSERT INTO packet_changes VALUES (?, 'PK-B', 'grown', '新增电话卡 1 张')", [NIGHT2])
    fx.con.execute("UPDATE packet_registry SET last_changed_as_of = ? WHERE packet_id = 'PK-B'", [NIGHT2])
    report = run(fx, home, NIGHT2, {"PK-C": "analyzed"})
    after = {e["packet_id"]: e for e in index(home, NIGHT2)}
    assert (report.pages_rendered, report.pages_kept, report.packets_listed) == (1, 3, 4)
    for pid in ("PK-A", "PK-C", "PK-D"):
        assert after[pid]["html"] == before[pid] and after[pid]["changed"] is False
        assert (home / before[pid]).stat().st_mtime_ns == mtimes[pid], f"{pid} was rendered again"
    assert after["PK-B"]["html"] != before["PK-B"] and after["PK-B"]["changed"] is True
    assert "15000000001" in after["PK-B"]["phones"]
    assert (home / before["PK-B"]).is_file(), "the earlier night's page stays for its index"
    assert check(home, NIGHT2.isoformat()) == []


def test_status_change_renders_the_page_again(night1: tuple[Fixture, Path]) -> None:
    fx, home = night1
    report = run(fx, home, NIGHT2, {"PK-C": "verified"})
    assert (report.pages_rendered, report.pages_kept) == (1, 3)
    c = next(e for e in index(home, NIGHT2) if e["packet_id"] == "PK-C")
    assert c["status"] == "verified" and "已核查" in (home / c["html"]).read_text(encoding="utf-8")


def test_closed_packets_leave_the_index(night1: tuple[Fixture, Path]) -> None:
    fx, home = night1
    report = run(fx, home, NIGHT2, {"PK-A": "closed", "PK-C": "struck"})
    ids = [e["packet_id"] for e in index(home, NIGHT2)]
    assert ids == ["PK-B", "PK-C", "PK-D"] and report.packets_listed == 3
    assert "PK-A" not in (home / "packets" / NIGHT2.isoformat() / "index.html").read_text(encoding="utf-8")


def test_rerun_replaces_the_day_and_leaves_no_temporary_files(night1: tuple[Fixture, Path]) -> None:
    fx, home = night1
    day = home / "packets" / NIGHT1.isoformat()
    (day / "stray.txt").write_text("from an earlier run")
    (home / ".publish-deadbeef").mkdir()  # a killed run's staging folder
    (home / "packets" / "pages" / ".publish-0a1b-PK-A-x.html").write_text("half a page")
    (home / "runs" / NIGHT1.isoformat() / "run.log").write_text("log of another stage")
    report = run(fx, home, NIGHT1, {"PK-A": "closed"})
    assert report.index_path == day / "index.json" and report.packets_listed == 3
    assert not (day / "stray.txt").exists(), "the day's folder is replaced as a whole"
    assert sorted(p.name for p in day.iterdir()) == ["index.html", "index.json", "units"]
    assert [e["packet_id"] for e in index(home, NIGHT1)] == ["PK-B", "PK-C", "PK-D"]
    assert [p for p in home.rglob(".publish-*")] == []
    assert (home / "runs" / NIGHT1.isoformat() / "run.log").is_file(), "other stages' files are kept"
    assert check(home, NIGHT1.isoformat()) == []


def test_run_reports(night1: tuple[Fixture, Path], tmp_path: Path) -> None:
    fx, home = night1
    runs = home / "runs" / NIGHT1.isoformat()
    summary = (runs / "summary.json").read_text(encoding="utf-8")
    assert "测试运行" in summary and json.loads(summary)["rows_read"] == 10
    raw = (runs / "quarantine.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "file,row,lead_id,reasons,线索编号,证件号码,手机号码,原始_lead_id"
    assert lines[1] == "bank_20261103.csv,4,B-0004,证件号码校验位错误 (holder_id_no),B-0004,37040319990101123Y,,"
    assert lines[2].startswith("sim_20261103.xlsx,9,,缺少线索编号; 手机号码位数不对 (msisdn),,,1380013,")
    empty = pl.DataFrame(schema={"file": pl.String, "row": pl.Int64, "lead_id": pl.String, "reasons": pl.String,
                                 "raw": pl.String})
    publish(fx.con, tmp_path / "h2", NIGHT1, statuses={}, summary=SUMMARY, quarantine=empty)
    assert (tmp_path / "h2" / "runs" / NIGHT1.isoformat() / "quarantine.csv").read_bytes() == (
        b"\xef\xbb\xbffile,row,lead_id,reasons\r\n")


def test_empty_warehouse_publishes_an_empty_day(tmp_path: Path) -> None:
    con = connect()
    report = publish(con, tmp_path, NIGHT1, statuses={}, summary=SUMMARY, quarantine=QUARANTINE)
    assert report.packets_listed == 0 and index(tmp_path, NIGHT1) == []
    assert check(tmp_path, NIGHT1.isoformat()) == []


def test_an_unscored_packet_is_listed_last_rather_than_lost(tmp_path: Path) -> None:
    fx = build()
    fx.con.execute("INSERT INTO packet_registry VALUES ('PK-NEW', ?, ?, 'active', NULL, 'd')", [NIGHT1, NIGHT1])
    run(fx, tmp_path, NIGHT1)
    last = index(tmp_path, NIGHT1)[-1]
    assert (last["packet_id"], last["priority"], last["tier"], last["persons"]) == ("PK-NEW", 0.0, "yellow", [])
    assert check(tmp_path, NIGHT1.isoformat()) == []


def test_each_page_has_its_model_beside_it_with_the_same_digest(night1: tuple[Fixture, Path]) -> None:
    """The web app renders packets from these models; a page without its model would be unviewable there."""
    _, home = night1
    for entry in index(home, NIGHT1):
        page = home / entry["html"]
        model = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
        assert page.name.endswith(f"-{model['digest']}.html")
        assert model["page"]["packet_id"] == entry["packet_id"]
    # A page published before models existed gets its model on the next night, page kept as is.
    first = home / index(home, NIGHT1)[0]["html"]
    first.with_suffix(".json").unlink()
    fx = build()
    run(fx, home, NIGHT1, {"PK-C": "analyzed"})
    assert first.with_suffix(".json").is_file()
