"""The web app over HTTP (TestClient): roles and units, CSRF, bad input on every form, rate limit,
session expiry, audit rows, rules admin, and no stack trace ever shown.

The home is built in code from a seed (tests/test_publish_outputs.py's warehouse
fixture, published for real): unit 370403RF holds PK-A (red) and PK-B (orange),
unit 370100RF holds PK-C (orange) and PK-D (yellow). The night is ten days ago,
so PK-A's 7-day deadline has passed and the others have not.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_publish_outputs import QUARANTINE, SUMMARY, build

from duanka import casework
from duanka.publish import publish
from duanka.rulestore import RuleStore
from duanka.web import accounts, create_app, db
from duanka.web import cli as web_cli

UNIT_A, UNIT_B = "370403RF", "370100RF"
PASSWORD = "correct-horse-42"
USERS = [("inv_a", "investigator", UNIT_A), ("inv_b", "investigator", UNIT_B), ("lead_a", "leader", UNIT_A),
         ("admin", "admin", None)]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_home(home: Path) -> dict:
    """Publish the fixture warehouse as a night ten days ago, issue its packets, add one user per role."""
    night = db.now().date() - timedelta(days=10)
    fx = build()
    fx.con.execute("UPDATE packet_scores SET unit_code = ?, unit_name = '济南市反诈中心' "
                   "WHERE packet_id IN ('PK-C', 'PK-D')", [UNIT_B])
    fx.con.execute("INSERT INTO packet_changes VALUES (?, 'PK-A', 'grown', '新增账户 1 个')", [night])
    units = dict(fx.con.execute("SELECT packet_id, unit_code FROM packet_scores").fetchall())
    store = casework.connect(home / "casework.sqlite")
    casework.record_issued(store, [(p, u) for p, u in units.items() if p != "PK-Z"], night)
    statuses = casework.statuses(store)
    store.close()
    publish(fx.con, home, night, statuses=statuses, summary=SUMMARY, quarantine=QUARANTINE)
    fx.con.close()
    con = db.connect(home)
    for name, role, unit in USERS:
        accounts.add_user(con, name, role, unit, PASSWORD)
    con.close()
    return {"night": night.isoformat()}


@pytest.fixture(scope="module")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("web-template")
    build_home(home)
    return home


@pytest.fixture()
def home(template_home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(template_home, target)
    return target


@pytest.fixture()
def client(home: Path) -> TestClient:
    return TestClient(create_app(home), raise_server_exceptions=False, follow_redirects=False)


def login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def csrf_of(client: TestClient, url: str = "/") -> str:
    page = client.get(url, follow_redirects=True)
    return CSRF.search(page.text).group(1)


def events(home: Path, packet_id: str) -> list[tuple]:
    con = sqlite3.connect(home / "casework.sqlite")
    try:
        return con.execute("SELECT to_status, outcome, actor, source, note, arrests, recovered FROM events "
                           "WHERE packet_id = ? ORDER BY seq", (packet_id,)).fetchall()
    finally:
        con.close()


def audit_rows(home: Path, action: str) -> list[tuple]:
    con = sqlite3.connect(home / "casework.sqlite")
    try:
        return con.execute("SELECT actor, packet_id, packet_unit, detail FROM web_audit WHERE action = ? ORDER BY seq",
                           (action,)).fetchall()
    finally:
        con.close()


# -- login, cookies, sessions ------------------------------------------------------------------------------


def test_login_sets_an_httponly_strict_session_cookie_and_goes_to_the_role_start_page(client: TestClient) -> None:
    response = login(client, "inv_a")
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("duanka_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert client.get("/queue").status_code == 200
    admin = TestClient(create_app(client.app.state.web.home), follow_redirects=False)
    assert login(admin, "admin").headers["location"] == "/admin/audit"


def test_secure_cookies_when_configured(home: Path) -> None:
    client = TestClient(create_app(home, secure_cookies=True), base_url="https://testserver", follow_redirects=False)
    cookie = next(c for c in login(client, "inv_a").headers.get_list("set-cookie") if c.startswith("duanka_session="))
    assert "Secure" in cookie


def test_wrong_password_is_refused_in_chinese_and_audited(client: TestClient, home: Path) -> None:
    response = login(client, "inv_a", "wrong-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text
    assert client.get("/queue").status_code == 303
    assert [r[0] for r in audit_rows(home, "login_failed")] == ["inv_a"]


def test_pages_and_actions_need_a_session(client: TestClient, home: Path) -> None:
    for path in ("/queue", "/packets/PK-A", "/dashboard", "/admin/audit", "/admin/rules"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    response = client.post("/packets/PK-A/transition", data={"stage": "analyzed", "note": "看过"})
    assert response.status_code == 303 and [e[0] for e in events(home, "PK-A")] == ["issued"]


def test_login_is_rate_limited_per_name_and_per_address(client: TestClient, home: Path) -> None:
    for _ in range(5):
        assert login(client, "inv_a", "wrong-password").status_code == 401
    locked = login(client, "inv_a")  # the right password no longer helps
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    assert client.get("/queue").status_code == 303
    assert len(audit_rows(home, "login_throttled")) == 1
    # the same address, other names: the address limit applies too
    assert login(client, "lead_a").status_code == 429
    other = TestClient(create_app(home), follow_redirects=False, client=("10.1.2.3", 5000))
    assert login(other, "lead_a").status_code == 303, "another address and name is not affected"


def test_expired_session_goes_back_to_login(client: TestClient, home: Path) -> None:
    login(client, "inv_a")
    assert client.get("/queue").status_code == 200
    con = db.connect(home)
    con.execute("UPDATE web_sessions SET expires_at = ?", (db.ago(1),))
    con.close()
    assert client.get("/queue").headers["location"] == "/login"
    assert db.connect(home).execute("SELECT count(*) FROM web_sessions").fetchone() == (0,), "expired row removed"


def test_idle_timeout_is_the_configured_session_minutes(home: Path) -> None:
    client = TestClient(create_app(home, session_minutes=0.02), follow_redirects=False)  # 1.2 s
    login(client, "inv_a")
    con = db.connect(home)
    (expires, created) = con.execute("SELECT expires_at, created_at FROM web_sessions").fetchone()
    assert 0 <= (datetime.fromisoformat(expires) - datetime.fromisoformat(created)).total_seconds() <= 2


def test_logout_and_disabling_end_the_session(client: TestClient, home: Path) -> None:
    login(client, "inv_a")
    token = csrf_of(client, "/queue")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/queue").status_code == 303
    login(client, "inv_b")
    assert client.get("/queue").status_code == 200
    con = db.connect(home)
    accounts.set_disabled(con, "inv_b")
    con.close()
    assert client.get("/queue").status_code == 303
    assert login(client, "inv_b").status_code == 401, "a disabled user cannot log in"


# -- roles and units ---------------------------------------------------------------------------------------

ROLE_MATRIX = [
    # (user, path, status): an investigator works packets; a leader also sees metrics; an admin no packets
    ("inv_a", "/queue", 200), ("inv_a", "/packets/PK-A", 200), ("inv_a", "/packets/PK-C", 404),
    ("inv_a", "/dashboard", 404), ("inv_a", "/admin/audit", 404), ("inv_a", "/admin/rules", 404),
    ("inv_b", "/packets/PK-C", 200), ("inv_b", "/packets/PK-A", 404),
    ("lead_a", "/queue", 200), ("lead_a", "/packets/PK-B", 200), ("lead_a", "/packets/PK-D", 404),
    ("lead_a", "/dashboard", 200), ("lead_a", "/admin/audit", 404), ("lead_a", "/admin/rules", 404),
    ("admin", "/queue", 404), ("admin", "/packets/PK-A", 404), ("admin", "/dashboard", 200),
    ("admin", "/admin/audit", 200), ("admin", "/admin/rules", 200),
    ("inv_a", "/packets/NO-SUCH", 404), ("inv_a", "/packets/..%2F..%2Fetc", 404),
]


def test_role_matrix(home: Path) -> None:
    clients: dict[str, TestClient] = {}
    for user, path, status in ROLE_MATRIX:
        if user not in clients:
            clients[user] = TestClient(create_app(home), raise_server_exceptions=False, follow_redirects=False)
            login(clients[user], user)
        assert clients[user].get(path).status_code == status, (user, path)


def test_queue_lists_only_the_users_unit(client: TestClient) -> None:
    login(client, "inv_a")
    text = client.get("/queue").text
    assert "PK-A" in text and "PK-B" in text and "PK-C" not in text and "PK-D" not in text
    other = TestClient(create_app(client.app.state.web.home), follow_redirects=False)
    login(other, "inv_b")
    text = other.get("/queue").text
    assert "PK-C" in text and "PK-D" in text and "PK-A" not in text


def test_another_units_packet_looks_exactly_like_an_unknown_one(client: TestClient, home: Path) -> None:
    login(client, "inv_a")
    other, unknown = client.get("/packets/PK-C"), client.get("/packets/PK-NONE")
    assert other.status_code == unknown.status_code == 404 and other.text == unknown.text
    token = csrf_of(client, "/queue")
    assert client.post("/packets/PK-C/transition", data={"csrf_token": token, "stage": "analyzed",
                                                         "note": "越权登记"}).status_code == 404
    assert client.post("/packets/PK-C/reveal", data={"csrf_token": token, "reason": "越权查看"}).status_code == 404
    assert [e[0] for e in events(home, "PK-C")] == ["issued"]
    assert [(r[0], r[1], r[2]) for r in audit_rows(home, "denied")] == [("inv_a", "PK-C", UNIT_B)] * 3
    assert not audit_rows(home, "reveal")


def test_queue_filters_and_order(client: TestClient) -> None:
    login(client, "inv_a")
    rows = re.findall(r'data-packet="([^"]+)"', client.get("/queue").text)
    assert rows == ["PK-A", "PK-B"], "priority first"
    assert re.findall(r'data-packet="([^"]+)"', client.get("/queue?tier=orange").text) == ["PK-B"]
    assert re.findall(r'data-packet="([^"]+)"', client.get("/queue?overdue=1").text) == ["PK-A"]
    assert re.findall(r'data-packet="([^"]+)"', client.get("/queue?changed=1").text) == ["PK-A"]
    assert re.findall(r'data-packet="([^"]+)"', client.get("/queue?status=verified").text) == []
    bad = client.get("/queue?tier=purple")
    assert bad.status_code == 400 and "取值无效" in bad.text


# -- the packet: masking, reveal, actions ------------------------------------------------------------------


def test_packet_is_masked_until_revealed_with_a_reason(client: TestClient, home: Path) -> None:
    import json

    entry = next(e for e in json.loads((home / "packets" / build_night(home) / "index.json").read_text())
                 if e["packet_id"] == "PK-A")
    login(client, "inv_a")
    page = client.get("/packets/PK-A").text
    secrets = [*entry["persons"], *entry["accounts"], *entry["phones"]]
    for value in secrets:
        assert value not in page, f"{value} shown unmasked"
    assert "研判依据" in page and "一人多卡" in page and "<svg" in page and "显示完整信息" in page
    token = CSRF.search(page).group(1)
    refused = client.post("/packets/PK-A/reveal", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 400 and "事由" in refused.text and not audit_rows(home, "reveal")
    shown = client.post("/packets/PK-A/reveal", data={"csrf_token": token, "reason": "制作询问笔录"})
    assert shown.status_code == 200
    for value in secrets:
        assert value in shown.text, f"{value} not revealed"
    assert audit_rows(home, "reveal") == [("inv_a", "PK-A", UNIT_A, "事由：制作询问笔录")]
    assert entry["persons"][0] not in client.get("/packets/PK-A").text, "the next view is masked again"


def build_night(home: Path) -> str:
    return max(p.name for p in (home / "packets").iterdir() if re.match(r"\d{4}-", p.name))


def test_verification_goes_through_the_casework_lifecycle(client: TestClient, home: Path) -> None:
    login(client, "inv_a")
    token = csrf_of(client, "/packets/PK-A")
    response = client.post("/packets/PK-A/transition", data={
        "csrf_token": token, "stage": "verified", "outcome": "confirmed", "note": "走访核实，13800138000 属实"})
    assert response.status_code == 303 and response.headers["location"] == "/packets/PK-A?done=recorded"
    last = events(home, "PK-A")[-1]
    assert last[:4] == ("verified", "confirmed", "inv_a", "web") and last[4] == "走访核实，13800138000 属实"
    page = client.get("/packets/PK-A?done=recorded").text
    assert "已登记" in page and '<span id="status">已核查</span>' in page and "走访核实" in page
    assert "13800138000" not in page, "notes are masked on the page like everything else"
    assert "已核查" in client.get("/queue?status=verified").text
    (row,) = audit_rows(home, "transition")
    assert row[:3] == ("inv_a", "PK-A", UNIT_A) and "核查（属实）" in row[3] and "13800138000" not in row[3]
    strike = client.post("/packets/PK-A/transition", data={
        "csrf_token": token, "stage": "struck", "arrests": "2", "recovered": "1500.50", "note": "抓获两人"})
    assert strike.status_code == 303
    assert events(home, "PK-A")[-1][0] == "struck" and events(home, "PK-A")[-1][5:] == (2, 1500.5)


def test_a_step_the_lifecycle_refuses_is_shown_on_the_form(client: TestClient, home: Path) -> None:
    login(client, "inv_a")
    token = csrf_of(client, "/packets/PK-B")
    response = client.post("/packets/PK-B/transition", data={"csrf_token": token, "stage": "struck",
                                                             "arrests": "1", "note": "直接打击"})
    assert response.status_code == 409 and "须先核查属实才能登记打击" in response.text
    assert [e[0] for e in events(home, "PK-B")] == ["issued"]
    assert len(audit_rows(home, "transition_refused")) == 1


BAD_TRANSITIONS = [
    ("unknown stage", {"stage": "deleted", "note": "备注内容"}, "处置环节无效"),
    ("verification without outcome", {"stage": "verified", "note": "备注内容"}, "核查须选择结论"),
    ("unknown outcome", {"stage": "verified", "outcome": "maybe", "note": "备注内容"}, "核查须选择结论"),
    ("outcome on another stage", {"stage": "analyzed", "outcome": "confirmed", "note": "备注内容"}, "只有核查环节"),
    ("figures outside a strike", {"stage": "analyzed", "arrests": "1", "note": "备注内容"}, "只在登记打击时填写"),
    ("negative count", {"stage": "struck", "arrests": "-1", "note": "备注内容"}, "不小于 0"),
    ("fractional count", {"stage": "struck", "penalties": "1.5", "note": "备注内容"}, "整数"),
    ("text for a count", {"stage": "struck", "cards_cancelled": "三张", "note": "备注内容"}, "应为数字"),
    ("money with three decimals", {"stage": "struck", "recovered": "10.005", "note": "备注内容"}, "两位小数"),
    ("infinite money", {"stage": "struck", "recovered": "Infinity", "note": "备注内容"}, "不小于 0"),
    ("empty note", {"stage": "analyzed", "note": " "}, "请填写备注"),
    ("long note", {"stage": "analyzed", "note": "长" * 501}, "不能超过 500"),
    ("control character", {"stage": "analyzed", "note": "备注\x07内容"}, "控制字符"),
]


@pytest.mark.parametrize(("what", "data", "message"), BAD_TRANSITIONS, ids=[b[0] for b in BAD_TRANSITIONS])
def test_bad_input_on_the_action_form(client: TestClient, home: Path, what: str, data: dict, message: str) -> None:
    login(client, "inv_a")
    token = csrf_of(client, "/packets/PK-A")
    response = client.post("/packets/PK-A/transition", data={"csrf_token": token, **data})
    assert response.status_code == 400 and message in response.text, what
    assert "Traceback" not in response.text
    assert [e[0] for e in events(home, "PK-A")] == ["issued"], "nothing recorded"


# -- CSRF on every form ------------------------------------------------------------------------------------

POSTS = [
    ("inv_a", "/logout", {}),
    ("inv_a", "/packets/PK-A/reveal", {"reason": "制作笔录"}),
    ("inv_a", "/packets/PK-A/transition", {"stage": "analyzed", "note": "已研判"}),
    ("admin", "/admin/rules/drafts", {"path": "extra.yaml", "text": "[]\n"}),
    ("admin", "/admin/rules/drafts/0123456789abcdef/activate", {"note": "启用"}),
    ("admin", "/admin/rules/rollback", {"version": "v0001", "note": "回滚"}),
]


@pytest.mark.parametrize(("user", "path", "data"), POSTS, ids=[p[1] for p in POSTS])
@pytest.mark.parametrize("token", ["", "forged-token"], ids=["missing", "forged"])
def test_csrf_is_refused_on_every_form(home: Path, user: str, path: str, data: dict, token: str) -> None:
    client = TestClient(create_app(home), raise_server_exceptions=False, follow_redirects=False)
    login(client, user)
    form = {**data, **({"csrf_token": token} if token else {})}
    response = client.post(path, data=form)
    assert response.status_code == 403 and "安全校验未通过" in response.text
    assert [e[0] for e in events(home, "PK-A")] == ["issued"]
    assert not audit_rows(home, "reveal") and not audit_rows(home, "logout")
    assert not (home / "rulesets" / "drafts").exists() or not any((home / "rulesets" / "drafts").iterdir())
    assert client.get("/", follow_redirects=False).headers["location"] != "/login", "still logged in"


def test_login_form_has_its_own_csrf_check(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"csrf_token": "forged", "username": "inv_a", "password": PASSWORD})
    assert response.status_code == 403
    fresh = TestClient(client.app, follow_redirects=False)  # no login cookie at all
    assert fresh.post("/login", data={"username": "inv_a", "password": PASSWORD}).status_code == 403


BAD_LOGINS = [({"username": "", "password": "x"}, 400), ({"username": "a" * 65, "password": "x"}, 400),
              ({"username": "inv_a", "password": "p" * 129}, 400), ({"username": "inv_a"}, 400)]


@pytest.mark.parametrize(("data", "status"), BAD_LOGINS)
def test_bad_input_on_the_login_form(client: TestClient, data: dict, status: int) -> None:
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf_token": token, **data})
    assert response.status_code == status
    assert re.search("请输入用户名和密码|用户名或密码格式不正确", response.text)
    assert client.get("/queue").status_code == 303


# -- dashboard and audit -----------------------------------------------------------------------------------


def test_leader_sees_only_the_own_units_metrics_admin_sees_all(home: Path) -> None:
    leader = TestClient(create_app(home), follow_redirects=False)
    login(leader, "lead_a")
    text = leader.get("/dashboard").text
    assert "泰山区反诈中心" in text and "济南市反诈中心" not in text and "仅显示本单位" in text
    assert "规则准确率" in text and "R-MULTI-001" not in text, "rule figures span units: not for a leader"
    admin = TestClient(create_app(home), follow_redirects=False)
    login(admin, "admin")
    text = admin.get("/dashboard").text
    assert "泰山区反诈中心" in text and "济南市反诈中心" in text and "R-MULTI-001" in text
    assert "../../packets" not in text, "links between published files are left out"


def test_audit_log_lists_views_actions_and_logins_with_filters(home: Path) -> None:
    inv = TestClient(create_app(home), follow_redirects=False)
    login(inv, "inv_a")
    inv.get("/queue")
    token = csrf_of(inv, "/packets/PK-B")
    inv.post("/packets/PK-B/transition", data={"csrf_token": token, "stage": "analyzed", "note": "研判完毕"})
    admin = TestClient(create_app(home), raise_server_exceptions=False, follow_redirects=False)
    login(admin, "admin")
    text = admin.get("/admin/audit").text
    for word in ("登录", "查看队列", "查看线索包", "登记处置", "inv_a", "PK-B", "研判完毕"):
        assert word in text
    only = admin.get("/admin/audit?action=transition&actor=inv_a&packet_id=PK-B").text
    assert re.findall(r'data-action="([^"]+)"', only) == ["transition"]
    day = db.now().date().isoformat()
    assert "transition" in re.findall(r'data-action="([^"]+)"', admin.get(f"/admin/audit?day={day}").text)
    for bad in ("action=drop", "day=2026-13-45", "packet_id=%3Cscript%3E", "actor=" + "x" * 65):
        response = admin.get(f"/admin/audit?{bad}")
        assert response.status_code == 400, bad


# -- errors never show a stack trace -----------------------------------------------------------------------


def test_an_unexpected_error_shows_a_chinese_page_and_logs_the_trace(client: TestClient, monkeypatch,
                                                                     caplog) -> None:
    from duanka.web import routes_packets

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(routes_packets, "queue", broken)
    login(client, "inv_a")
    response = client.get("/queue")
    assert response.status_code == 500 and "系统内部错误" in response.text
    assert "Traceback" not in response.text and "secret internal detail" not in response.text
    assert "RuntimeError" not in response.text
    assert "secret internal detail" in caplog.text and "Traceback" in caplog.text, "the trace goes to the log"


def test_unknown_pages_and_methods_answer_in_chinese(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "页面不存在" in missing.text and "detail" not in missing.text
    wrong = client.put("/login")
    assert wrong.status_code == 405 and "操作无效" in wrong.text
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code == 404


def test_every_page_is_offline_and_sends_security_headers(client: TestClient) -> None:
    login(client, "inv_a")
    for path in ("/login", "/queue", "/packets/PK-A", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not re.search(r"https?://|//cdn|@import|@font-face", response.text), path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/queue").headers["cache-control"] == "no-store"


def test_an_oversized_body_is_refused(client: TestClient) -> None:
    login(client, "inv_a")
    response = client.post("/packets/PK-A/transition", content=b"x" * (3 * 1024 * 1024),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413 and "内容太大" in response.text


# -- rules admin -------------------------------------------------------------------------------------------


def _admin(home: Path) -> tuple[TestClient, str]:
    admin = TestClient(create_app(home), raise_server_exceptions=False, follow_redirects=False)
    login(admin, "admin")
    return admin, csrf_of(admin, "/admin/rules")


def test_rules_edit_check_diff_activate_and_roll_back(home: Path) -> None:
    admin, token = _admin(home)
    page = admin.get("/admin/rules").text
    assert "organiser.yaml" in page and "尚未启用任何版本" in page
    original = admin.get("/admin/rules/edit?path=organiser.yaml").text
    assert "R-ORG-PHONE" in original
    text = RuleStore(home).files()["organiser.yaml"]
    broken = admin.post("/admin/rules/drafts", data={"csrf_token": token, "path": "organiser.yaml",
                                                     "text": text.replace("weight: 20", "weight: lots", 1)})
    assert broken.status_code == 303
    draft_page = admin.get(broken.headers["location"]).text
    assert "修正后才能启用" in draft_page and "organiser.yaml" in draft_page and "启用为新版本" not in draft_page
    draft_id = broken.headers["location"].rsplit("/", 1)[1]
    refused = admin.post(f"/admin/rules/drafts/{draft_id}/activate", data={"csrf_token": token, "note": "试试"})
    assert refused.status_code == 409 and RuleStore(home).active() is None
    good = admin.post("/admin/rules/drafts", data={"csrf_token": token, "path": "organiser.yaml",
                                                   "text": text.replace("weight: 20", "weight: 25", 1)})
    draft_page = admin.get(good.headers["location"]).text
    assert "检查通过" in draft_page and "试算" in draft_page and "启用为新版本" in draft_page
    draft_id = good.headers["location"].rsplit("/", 1)[1]
    assert admin.post(f"/admin/rules/drafts/{draft_id}/activate",
                      data={"csrf_token": token, "note": ""}).status_code == 400
    done = admin.post(f"/admin/rules/drafts/{draft_id}/activate", data={"csrf_token": token, "note": "提高权重"})
    assert done.status_code == 303 and RuleStore(home).active().name == "v0001"
    assert "weight: 25" in RuleStore(home).files()["organiser.yaml"]
    second = admin.post("/admin/rules/drafts", data={"csrf_token": token, "path": "organiser.yaml",
                                                     "text": text.replace("weight: 20", "weight: 30", 1)})
    draft_id = second.headers["location"].rsplit("/", 1)[1]
    admin.post(f"/admin/rules/drafts/{draft_id}/activate", data={"csrf_token": token, "note": "再提高"})
    assert RuleStore(home).active().name == "v0002"
    back = admin.post("/admin/rules/rollback", data={"csrf_token": token, "version": "v0001", "note": "回到上一版"})
    assert back.status_code == 303 and RuleStore(home).active().name == "v0001"
    assert "v0001" in admin.get("/admin/rules?done=rolledback").text
    assert [r[3].split("（")[0] for r in audit_rows(home, "rules_activate")] == ["v0001", "v0002"]
    assert audit_rows(home, "rules_rollback")[0][3].startswith("v0001") and len(audit_rows(home, "rules_draft")) == 3


BAD_RULE_FORMS = [
    ("path outside the rule set", {"path": "../secrets.yaml", "text": "[]\n"}, None, "无效"),
    ("absolute path", {"path": "/etc/passwd.yaml", "text": "[]\n"}, None, "无效"),
    ("yml suffix", {"path": "x.yml", "text": "[]\n"}, None, "无效"),
    ("empty text", {"path": "x.yaml", "text": "  "}, None, "是空的"),
    ("no text, no file", {"path": "x.yaml"}, None, "请选择要上传的规则文件"),
    ("upload of a picture", {}, ("x.yaml", b"\x89PNG....", "image/png"), "不是文本规则文件"),
    ("upload too big", {}, ("big.yaml", b"a: 1\n" * 60000, "application/x-yaml"), "太大"),
    ("upload not UTF-8", {}, ("gbk.yaml", "规则: 1\n".encode("gbk"), "text/yaml"), "不是 UTF-8"),
    ("upload under a bad name", {"target": "a/b/c.yaml"}, ("x.yaml", b"[]\n", "text/yaml"), "无效"),
]


@pytest.mark.parametrize(("what", "data", "upload", "message"), BAD_RULE_FORMS, ids=[b[0] for b in BAD_RULE_FORMS])
def test_bad_input_on_the_rule_forms(home: Path, what: str, data: dict, upload: tuple | None, message: str) -> None:
    admin, token = _admin(home)
    files = {"file": upload} if upload else None
    response = admin.post("/admin/rules/drafts", data={"csrf_token": token, **data}, files=files)
    assert response.status_code == 400 and message in response.text, what
    assert not (home / "rulesets" / "drafts").exists() or not any((home / "rulesets" / "drafts").iterdir())


def test_rule_upload_makes_a_draft_and_bad_version_or_note_is_refused(home: Path) -> None:
    admin, token = _admin(home)
    text = RuleStore(home).files()["organiser.yaml"].replace("weight: 20", "weight: 21", 1)
    response = admin.post("/admin/rules/drafts", data={"csrf_token": token},
                          files={"file": ("organiser.yaml", text.encode("utf-8"), "application/x-yaml")})
    assert response.status_code == 303 and "检查通过" in admin.get(response.headers["location"]).text
    assert admin.get("/admin/rules/drafts/not-a-draft").status_code == 404
    assert admin.get("/admin/rules/edit?path=../x.yaml").status_code == 400
    for data, status in (({"version": "v9999", "note": "回滚"}, 409), ({"version": "v 1;", "note": "回滚"}, 400),
                         ({"version": "v0001", "note": ""}, 400)):
        assert admin.post("/admin/rules/rollback", data={"csrf_token": token, **data}).status_code == status, data
    assert RuleStore(home).active() is None


# -- users command -----------------------------------------------------------------------------------------


def _users(argv: list[str], stdin: str = "", monkeypatch=None) -> int:  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser(prog="duanka")
    web_cli.register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return web_cli.dispatch(parser.parse_args(argv))  # type: ignore[return-value]


def test_users_command(home: Path, monkeypatch, capsys) -> None:
    base = ["--home", str(home)]
    assert _users(["users", "add", "zhang", "--role", "investigator", "--unit", UNIT_B, "--password-stdin", *base],
                  "a-long-password\n", monkeypatch) == 0
    assert "已新增用户 zhang" in capsys.readouterr().out
    assert _users(["users", "add", "li", "--role", "leader", "--password-stdin", *base], "a-long-password\n",
                  monkeypatch) == 2
    assert "必须指定所属单位" in capsys.readouterr().err
    assert _users(["users", "add", "zhang", "--role", "admin", "--password-stdin", *base], "a-long-password\n",
                  monkeypatch) == 2
    assert "已存在" in capsys.readouterr().err
    assert _users(["users", "add", "wang", "--role", "admin", "--password-stdin", *base], "short\n", monkeypatch) == 2
    assert "密码长度" in capsys.readouterr().err
    client = TestClient(create_app(home), follow_redirects=False)
    assert login(client, "zhang", "a-long-password").headers["location"] == "/queue"
    assert _users(["users", "passwd", "zhang", "--password-stdin", *base], "another-password\n", monkeypatch) == 0
    assert client.get("/queue").status_code == 303, "a new password ends the old sessions"
    assert login(client, "zhang", "another-password").status_code == 303
    assert _users(["users", "disable", "zhang", *base], "", monkeypatch) == 0
    assert login(client, "zhang", "another-password").status_code == 401
    assert _users(["users", "disable", "nobody", *base], "", monkeypatch) == 2
    assert _users(["users", "list", *base], "", monkeypatch) == 0
    assert "zhang\t侦查员\t370100RF（已停用）" in capsys.readouterr().out
    assert [r[0] for r in audit_rows(home, "user_add")] == [f"cli:{__import__('getpass').getuser()}"]
    assert len(audit_rows(home, "user_passwd")) == 1 and len(audit_rows(home, "user_disable")) == 1
    con = db.connect(home)
    stored = con.execute("SELECT password FROM web_users WHERE username = 'zhang'").fetchone()[0]
    assert stored.startswith("scrypt$") and "another-password" not in stored
    assert accounts.verify_password("another-password", stored) and not accounts.verify_password("x", stored)


def test_revealed_packet_shows_the_same_content_as_the_published_page(client: TestClient, home: Path) -> None:
    """PK-B's deadline state is the same today as on its night, and nothing happened to it since:
    the web page then carries the published page's body unchanged (same template, same model)."""
    import json

    entry = next(e for e in json.loads((home / "packets" / build_night(home) / "index.json").read_text())
                 if e["packet_id"] == "PK-B")
    published = (home / entry["html"]).read_text(encoding="utf-8")
    body = re.search(r"<body>(.*)</body>", published, re.DOTALL).group(1)
    login(client, "inv_a")
    token = csrf_of(client, "/packets/PK-B")
    shown = client.post("/packets/PK-B/reveal", data={"csrf_token": token, "reason": "核对原始页面"}).text
    article = re.search(r'<article class="packet">\n(.*)\n</article>', shown, re.DOTALL).group(1)
    assert article == body
    masked = client.get("/packets/PK-B").text
    assert re.search(r'<article class="packet">\n(.*)\n</article>', masked, re.DOTALL).group(1) != body


def test_works_while_the_nightly_run_holds_the_warehouse(client: TestClient, home: Path) -> None:
    """Another process holds warehouse.duckdb open for writing, as a night does: every page still works,
    and the rules diff preview says the warehouse is busy instead of failing."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                                "con.execute('CREATE TABLE IF NOT EXISTS t (x INT)'); print('ready', flush=True); "
                                "time.sleep(120)"),
         str(home / "warehouse.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        login(client, "inv_a")
        assert client.get("/queue").status_code == 200 and client.get("/packets/PK-A").status_code == 200
        token = csrf_of(client, "/packets/PK-A")
        assert client.post("/packets/PK-A/transition", data={"csrf_token": token, "stage": "analyzed",
                                                              "note": "夜间运行期间研判"}).status_code == 303
        admin, token = _admin(home)
        assert admin.get("/dashboard").status_code == 200 and admin.get("/admin/audit").status_code == 200
        text = RuleStore(home).files()["organiser.yaml"].replace("weight: 20", "weight: 22", 1)
        draft = admin.post("/admin/rules/drafts", data={"csrf_token": token, "path": "organiser.yaml", "text": text})
        page = admin.get(draft.headers["location"])
        assert page.status_code == 200 and "检查通过" in page.text and "夜间任务正在运行" in page.text
    finally:
        holder.kill()
        holder.wait()
    assert [e[0] for e in events(home, "PK-A")] == ["issued", "analyzed"]


def test_a_home_with_nothing_published_yet(tmp_path: Path) -> None:
    con = db.connect(tmp_path)
    accounts.add_user(con, "inv", "investigator", UNIT_A, PASSWORD)
    accounts.add_user(con, "lead", "leader", UNIT_A, PASSWORD)
    con.close()
    client = TestClient(create_app(tmp_path), raise_server_exceptions=False, follow_redirects=False)
    login(client, "inv")
    queue_page = client.get("/queue")
    assert queue_page.status_code == 200 and "尚无发布的线索包" in queue_page.text
    assert client.get("/packets/PK-A").status_code == 404
    leader = TestClient(create_app(tmp_path), raise_server_exceptions=False, follow_redirects=False)
    login(leader, "lead")
    assert "尚无统计" in leader.get("/dashboard").text
