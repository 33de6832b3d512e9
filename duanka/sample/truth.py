"""Ground truth: which group every delivered lead belongs to, and what was spoiled on purpose.

The linker and the rules are judged against this file. Identifiers in it are
normalised (RIC 18 upper-case, 11-digit phones), hubs are listed once and left
out of the groups' identifier lists, so that two groups share nothing else.
Groups and leads are streamed to scratch files and stitched together at the end,
so a million leads do not have to sit in memory.
"""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from duanka.sample.population import Group, Hubs


def group_record(group: Group, hub_values: set[str]) -> dict[str, Any]:
    """The identifiers of a group, gathered from its own lead and case rows."""
    persons, accounts, phones, devices, ips, cases = (set() for _ in range(6))
    for lead in group.leads:
        f = lead.fields
        persons.add(f["holder_id_no"])
        cases.update(f["case_ids"])
        if lead.kind == "bank":
            accounts.add(f["account_no"])
            phones.add(f["holder_phone"])
            devices.update(f["login_device"])
            ips.update(f["login_ip"])
        else:
            phones.add(f["msisdn"])
            devices.add(f["imei"])
    case_accounts = set()
    for case in group.cases:
        cases.add(case.fields["case_id"])
        phones.update(case.fields["phones"])
        case_accounts.update(a for a in case.fields["accounts"] if a not in accounts)

    def clean(values: set[str]) -> list[str]:
        return sorted(v for v in values if v and v not in hub_values)

    return {"kind": group.kind, "gang": group.gang, "dormant": group.dormant, "variant": group.variant,
            "persons": clean(persons), "accounts": clean(accounts), "phones": clean(phones),
            "devices": clean(devices), "ips": clean(ips), "cases": clean(cases),
            "case_accounts": clean(case_accounts), "roles": dict(sorted(group.roles.items()))}


class TruthWriter:
    def __init__(self, out_dir: Path, seed: int, nights: list[date], hubs: Hubs) -> None:
        self.out_dir, self.seed, self.nights, self.hubs = out_dir, seed, nights, hubs
        self.hub_values = set(hubs.nat_ips) | set(hubs.tablets)
        self.groups_path = out_dir / ".truth-groups.part"
        self.leads_path = out_dir / ".truth-leads.part"
        # Kept open while groups stream in; closed by finish().
        self.groups = open(self.groups_path, "w", encoding="utf-8")  # noqa: SIM115
        self.leads = open(self.leads_path, "w", encoding="utf-8")  # noqa: SIM115
        self.unrepairable: list[dict[str, Any]] = []
        self._first_group = self._first_lead = True

    def add_group(self, group: Group) -> None:
        text = json.dumps(group.gid) + ": " + json.dumps(group_record(group, self.hub_values), ensure_ascii=False)
        self.groups.write(("" if self._first_group else ",\n") + text)
        self._first_group = False

    def add_lead(self, key: str, gid: str) -> None:
        self.leads.write(("" if self._first_lead else ",\n") + json.dumps(key, ensure_ascii=False) + ": "
                         + json.dumps(gid))
        self._first_lead = False

    def add_unrepairable(self, night: date, file: str, row: int, lead_id: str, why: str) -> None:
        self.unrepairable.append({"night": f"{night}", "file": file, "row": row, "lead_id": lead_id, "why": why})

    def finish(self, duplicate_rows: int, duplicate_files: list[str]) -> Path:
        self.groups.close()
        self.leads.close()
        hubs = ([{"kind": "ip", "value": v} for v in self.hubs.nat_ips]
                + [{"kind": "device", "value": v} for v in self.hubs.tablets]
                + [{"kind": "branch", "value": v} for v in self.hubs.busy_branches.values()]
                + [{"kind": "outlet", "value": v} for v in self.hubs.busy_outlets.values()])
        head = {"seed": self.seed, "start": f"{self.nights[0]}", "nights": [f"{n}" for n in self.nights]}
        tail = {"unrepairable": sorted(self.unrepairable, key=lambda u: (u["night"], u["file"], u["row"])),
                "duplicates": {"rows": duplicate_rows, "files": duplicate_files}, "hubs": hubs}
        path = self.out_dir / "truth.json"
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps(head, ensure_ascii=False)[:-1] + ',\n"groups": {\n')
            with open(self.groups_path, encoding="utf-8") as part:
                shutil.copyfileobj(part, out)
            out.write('},\n"leads": {\n')
            with open(self.leads_path, encoding="utf-8") as part:
                shutil.copyfileobj(part, out)
            out.write("},\n" + json.dumps(tail, ensure_ascii=False, indent=1)[1:])
        self.groups_path.unlink()
        self.leads_path.unlink()
        return path
