"""Turn the view rows of one packet into what its page and its index entry show.

The page model is plain JSON data (strings, numbers, lists): its hash is the
page's digest, so the same packet with the same facts always maps to the same
file, and a page is rendered again exactly when something it shows changed.
Nothing here may depend on the night the run happens, only on the packet and its
casework: the deadline shows its date and state (on track, at risk, overdue),
never "days left", so a page is rendered again when the state flips, not nightly.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from duanka.publish import labels as L
from duanka.publish.views import NightViews

MOBILE = re.compile(r"^1\d{10}$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _node_value(node: str) -> tuple[str, str]:
    kind, _, value = node.partition(":")
    return kind, value


def _evidence(raw: str | None) -> list[dict]:
    """Evidence rows as (file, row, detail); the score stage writes a JSON list of objects."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [{"file": "", "row": "", "detail": raw}]
    rows = data if isinstance(data, list) else [data]
    out = []
    for item in rows:
        if not isinstance(item, dict):
            out.append({"file": "", "row": "", "detail": _text(item)})
            continue
        item = dict(item)
        file = item.pop("file", None) or item.pop("_file", None) or item.pop("source_file", "")
        row = item.pop("row", None) or item.pop("_row", None) or ""
        detail = "；".join(f"{k}={_text(v)}" for k, v in item.items())
        out.append({"file": _text(file), "row": _text(row), "detail": detail})
    return out


def _persons(bank: list[dict], sim: list[dict], roles: dict[str, dict]) -> list[dict]:
    people: dict[str, dict] = {}
    for lead in bank + sim:
        p = people.setdefault(lead["holder_node"], {
            "node": lead["holder_node"], "name": lead["holder_name"], "id_type": L.word(L.ID_TYPE, lead["holder_id_type"]),
            "id_no": lead["person_key"], "accounts": 0, "phones": 0, "reasons": set()})
        p["accounts" if "account_no" in lead else "phones"] += 1
        p["reasons"].add(L.word(L.REASON, lead["reason"]))
    for p in people.values():
        role = roles.get(p["node"], {})
        p["role"] = role.get("role", "member")
        p["role_label"] = L.word(L.ROLE, p["role"])
        p["role_score"] = round(float(role.get("role_score") or 0), 3)
        p["reasons"] = "、".join(sorted(p["reasons"]))
    return sorted(people.values(), key=lambda p: (L.ROLE_ORDER.index(p["role"]) if p["role"] in L.ROLE_ORDER
                                                  else len(L.ROLE_ORDER), -p["role_score"], p["node"]))


def _accounts(bank: list[dict]) -> list[dict]:
    return [{
        "account_no": b["account_no"], "bank": b["bank"], "kind": L.word(L.ACCOUNT_KIND, b["account_kind"]),
        "holder": b["holder_name"], "open_date": _text(b["open_date"]), "branch": b["open_branch"] or "",
        "channel": L.word(L.CHANNEL, b["open_channel"]), "region": b["open_region"] or "",
        "status": L.word(L.LEAD_STATUS, b["status"]), "inflow": _text(b["inflow_30d"]),
        "outflow": _text(b["outflow_30d"]), "txn_count": _text(b["txn_count_30d"]),
        "reason": L.word(L.REASON, b["reason"]), "lead_id": b["lead_id"], "source": f"{b['_file']} 第{b['_row']}行",
    } for b in bank]


def _phones(sim: list[dict]) -> list[dict]:
    return [{
        "msisdn": s["msisdn"], "carrier": L.word(L.CARRIER, s["carrier"]), "kind": L.word(L.CARD_KIND, s["card_kind"]),
        "holder": s["holder_name"], "open_date": _text(s["open_date"]), "outlet": s["open_outlet"] or "",
        "region": s["open_region"] or "", "status": L.word(L.LEAD_STATUS, s["status"]), "imei": s["imei"] or "",
        "abroad_days": _text(s["abroad_days_30d"]), "calls_out": _text(s["calls_out_7d"]),
        "reason": L.word(L.REASON, s["reason"]), "lead_id": s["lead_id"], "source": f"{s['_file']} 第{s['_row']}行",
    } for s in sim]


def _devices(bank: list[dict], sim: list[dict], member_nodes: set[str], hubs: set[str]) -> list[dict]:
    used: dict[tuple[str, str], set[str]] = {}
    for b in bank:
        for d in b["login_device"] or []:
            used.setdefault(("设备", d), set()).add(f"账户 {b['account_no']}")
        for ip in b["login_ip"] or []:
            used.setdefault(("IP", ip), set()).add(f"账户 {b['account_no']}")
    for s in sim:
        if s["imei"]:
            used.setdefault(("设备", s["imei"]), set()).add(f"号码 {s['msisdn']}")
    out = []
    for (kind, value), users in sorted(used.items()):
        node = ("device:" if kind == "设备" else "ip:") + value
        out.append({"kind": kind, "value": value, "used_by": "、".join(sorted(users)), "count": len(users),
                    "connects": "是" if node in member_nodes else "否（共用过多，不作关联）" if node in hubs else "否"})
    return out


def _cases(cases: list[dict]) -> list[dict]:
    return [{"case_id": c["case_id"], "reported_at": _text(c["reported_at"]), "region": c["region"],
             "fraud_type": c["fraud_type"], "loss": _text(float(c["loss"] or 0)),
             "accounts": "、".join(c["accounts"]), "phones": "、".join(c["phones"]),
             "source": f"{c['_file']} 第{c['_row']}行"} for c in cases]


def timeline_rows(bank: list[dict], sim: list[dict], cases: list[dict], history: list[dict]) -> list[dict]:
    """Openings, cases and status events in date order: a burst of openings just before the cases is
    the typical story, and what the unit did about it follows."""
    events = []
    for h in history:
        told = "，".join(x for x in (h["outcome"], h["figures"]) if x)
        events.append((h["at"], "处置", f"{h['from']} → {h['to']}（{h['actor']}）" + (f"：{told}" if told else "")))
    for b in bank:
        where = f"（网点 {b['open_branch']}）" if b["open_branch"] else ""
        kind = L.word(L.ACCOUNT_KIND, b["account_kind"])
        events.append((_text(b["open_date"]), "开户", f"{b['holder_name']} 在 {b['bank']} 开立{kind} {b['account_no']}{where}"))
    for s in sim:
        where = f"（网点 {s['open_outlet']}）" if s["open_outlet"] else ""
        carrier = L.word(L.CARRIER, s["carrier"])
        events.append((_text(s["open_date"]), "入网", f"{s['holder_name']} 在 {carrier} 办理 {s['msisdn']}{where}"))
    for c in cases:
        loss = float(c["loss"] or 0)
        events.append((_text(c["reported_at"]), "报案", f"案件 {c['case_id']}（{c['fraud_type']}，损失 {loss:,.2f} 元）"))
    # by date only: the sort is stable, so status events of one day keep the order they happened in
    return [{"date": d, "event": e, "text": t} for d, e, t in sorted(events, key=lambda ev: ev[0])]


def _graph(members: list[dict], edges: list[dict], names: dict[str, str]) -> dict:
    nodes = []
    for m in members:
        kind, value = _node_value(m["node"])
        label = names.get(m["node"]) or (f"尾号{value[-4:]}" if kind == "account" else value)
        nodes.append({"node": m["node"], "kind": kind, "value": value, "label": label, "role": m["role"],
                      "x": None if m["x"] is None else round(float(m["x"]), 4),
                      "y": None if m["y"] is None else round(float(m["y"]), 4)})
    return {"nodes": nodes, "edges": [[e["src"], e["dst"], e["kind"]] for e in edges]}


def _summary(category: str, persons: list[dict], accounts: list, phones: list, cases: list[dict]) -> str:
    loss = sum(float(c["loss"] or 0) for c in cases)
    text = (f"本线索包涉及持有人 {len(persons)} 名、银行账户 {len(accounts)} 个、电话卡 {len(phones)} 张、"
            f"关联案件 {len(cases)} 起（涉案损失合计 {loss:,.2f} 元）。")
    if category:
        text += f"主要类别：{category}。"
    if persons:
        key = persons[0]
        text += f"关键人物：{key['name']}（{key['id_no']}，{key['role_label']}）。"
    return text


def build_page(head: dict, views: NightViews, status: str, casework: dict | None = None) -> dict:
    """Everything the packet's page shows, as JSON data; `head` is a row of `views.packets_sql`.

    `casework` carries what the lifecycle adds: `deadline`, `history` (status
    events) and `category` (name, checklist, penalty reference), see publisher.
    """
    pid = head["packet_id"]
    extra = casework or {}
    category = extra.get("category") or {"code": head["category"], "name": head["category"],
                                         "checklist": [], "penalties": []}
    bank, sim, cases, members = (views.rows(s, pid) for s in ("bank", "sim", "cases", "members"))
    roles = {m["node"]: m for m in members}
    persons = _persons(bank, sim, roles)
    names = {p["node"]: p["name"] for p in persons}
    changes = views.rows("changes", pid)
    latest = changes[0]["as_of"] if changes else None
    return {
        "packet_id": pid, "priority": float(head["priority"]), "tier": head["tier"],
        "tier_label": L.word(L.TIER, head["tier"]), "unit_code": head["unit_code"], "unit_name": head["unit_name"],
        "status": status, "status_label": L.word(L.STATUS, status), "category": category["name"],
        "category_ref": category, "deadline": extra.get("deadline"), "history": extra.get("history", []),
        "rules": sorted(head["rules"] or []), "rule_set_hash": head["rule_set_hash"],
        "first_as_of": _text(head["first_as_of"]), "last_changed_as_of": _text(head["last_changed_as_of"]),
        "summary": _summary(category["name"], persons, bank, sim, cases),
        "hits": [{"rule_id": h["rule_id"], "version": h["rule_version"], "title": h["title"] or "",
                  "explanation": h["explanation"] or "", "points": round(float(h["points"] or 0), 2),
                  "observed": h["observed"] or "", "threshold": h["threshold"] or "",
                  "evidence": _evidence(h["evidence"])} for h in views.rows("hits", pid)],
        "changes": [{"as_of": _text(c["as_of"]), "change": L.word(L.CHANGE, c["change"]), "detail": c["detail"] or "",
                     "latest": c["as_of"] == latest} for c in changes],
        "persons": persons, "accounts": _accounts(bank), "phones": _phones(sim),
        "devices": _devices(bank, sim, set(roles), views.hubs), "cases": _cases(cases),
        "timeline": timeline_rows(bank, sim, cases, extra.get("history", [])),
        "graph": _graph(members, views.rows("edges", pid), names),
    }


def index_entry(page: dict, views: NightViews, changed: bool, html: str) -> dict:
    """The packet's index.json object, fields exactly as contract §4."""
    pid = page["packet_id"]
    bank, sim = views.rows("bank", pid), views.rows("sim", pid)
    nodes = [_node_value(m["node"]) for m in views.rows("members", pid)]
    accounts = {b["account_no"] for b in bank} | {v for k, v in nodes if k == "account"}
    phones = {b["holder_phone"] for b in bank if b["holder_phone"]} | {s["msisdn"] for s in sim}
    phones |= {v for k, v in nodes if k == "phone"}
    return {
        "packet_id": pid, "priority": page["priority"], "tier": page["tier"], "unit_code": page["unit_code"],
        "status": page["status"], "changed": bool(changed),
        "persons": sorted({lead["person_key"] for lead in bank + sim}),
        "accounts": sorted(a for a in accounts if a and " " not in a),
        "phones": sorted(p for p in phones if MOBILE.match(p)),
        "rules": page["rules"], "html": html,
    }
