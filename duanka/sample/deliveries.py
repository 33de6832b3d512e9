"""Turning the population into nightly deliveries: lead ids, issuers, files, truth.

Groups are generated one at a time and their rows streamed into the files of
the nights they belong to, so the work is linear in the number of leads. The
nights' folders are written side by side; a re-issue, a growing gang or a case
about earlier cards lands in a later night's files.
"""
from __future__ import annotations

import random
import shutil
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from duanka.sample import dirt, gangs, innocents
from duanka.sample.identifiers import IdFactory
from duanka.sample.population import Group, Hubs, Lead, World
from duanka.sample.truth import TruthWriter
from duanka.sample.writer import Sink

# issuer key -> (name as written in the issuer column, file-name slug)
ISSUERS = {
    "ICBC": ("中国工商银行山东省分行", "icbc"), "CCB": ("中国建设银行山东省分行", "ccb"),
    "ABC": ("中国农业银行山东省分行", "abc"), "BOC": ("中国银行山东省分行", "boc"),
    "BOCOM": ("交通银行山东省分行", "bocom"), "CMB": ("招商银行济南分行", "cmb"),
    "PSBC": ("中国邮政储蓄银行山东省分行", "psbc"), "CMCC": ("中国移动山东公司", "cmcc"),
    "CUCC": ("中国联通山东省分公司", "cucc"), "CTCC": ("中国电信山东分公司", "ctcc"),
    "FZZX": ("山东省反诈中心", "fzzx"),
}
XLSX_ISSUERS = {"PSBC", "CTCC"}   # smaller issuers that send spreadsheets
# Group kinds by how often a group of that kind is drawn (not by lead share).
KIND_WEIGHTS = {"ordinary": 255, "victim": 80, "traveller": 44, "salesperson": 43, "shop": 28,
                "multi_card": 26, "family": 21, "gang": 10}
TICKET_KINDS = {"ordinary", "multi_card", "traveller", "salesperson", "victim", "shop"}
UNREPAIRABLE_RATE = 0.02          # of ordinary groups: about 0.5 % of all rows
XLSX_MAX_ROWS = 20_000            # openpyxl costs ~1 ms a row: a big spreadsheet export continues as CSV


class Deliveries:
    """The open files of every night, and what went into them."""

    def __init__(self, out_dir: Path, seed: int, nights: list[date], truth: TruthWriter) -> None:
        self.out_dir, self.seed, self.nights, self.truth = out_dir, seed, nights, truth
        self.sinks: dict[tuple[int, str, str, int], Sink] = {}
        self.parts: Counter[tuple[int, str, str]] = Counter()
        self.serials: Counter[tuple[str, str, int]] = Counter()
        self.rows: Counter[tuple[int, str]] = Counter()
        self.dirt_rng = random.Random(f"{seed}/dirt")
        for night in nights:
            (out_dir / f"{night}").mkdir(parents=True, exist_ok=True)

    def sink(self, night: int, kind: str, issuer: str) -> Sink:
        key = (night, kind, issuer)
        part = self.parts[key] = self.parts[key] or 1
        current = self.sinks.get((*key, part))
        if current is not None and current.style.fmt == "xlsx" and current.pending() >= XLSX_MAX_ROWS:
            part = self.parts[key] = part + 1
            current = None
        if current is None:
            current = self.sinks[(*key, part)] = self._open(night, kind, issuer, part)
        return current

    def _open(self, night: int, kind: str, issuer: str, part: int) -> Sink:
        order = list(ISSUERS).index(issuer)
        rng = random.Random(f"{self.seed}/{night}/{kind}/{issuer}/{part}")
        xlsx = part == 1 and (issuer in XLSX_ISSUERS or (kind == "case" and night % 2 == 1))
        style = dirt.file_style(kind, rng, "xlsx" if xlsx else "csv", dirt.ENCODINGS[(order + night) % 3],
                                chinese_headers=(order + night) % 2 == 0)
        name = f"{kind}_{ISSUERS[issuer][1]}_{part}.{style.fmt}"

        def on_write(row_no: int, row: dict[str, str], marks: dict) -> None:
            if marks.get("why"):
                self.truth.add_unrepairable(self.nights[night], name, row_no, row["lead_id"], marks["why"])

        return Sink(self.out_dir / f"{self.nights[night]}" / name, kind, style, rng, on_write)

    def issue(self, lead: Lead) -> None:
        """Give a lead its id and issue time, and queue its dirty row in the right file."""
        rng = self.dirt_rng
        night = self.nights[lead.night]
        if lead.reissue_of is not None:
            lead.lead_id = lead.reissue_of.lead_id
        else:
            serial = self.serials[(lead.issuer, lead.kind, lead.night)] = \
                self.serials[(lead.issuer, lead.kind, lead.night)] + 1
            lead.lead_id = f"{'BK' if lead.kind == 'bank' else 'SM'}{night:%Y%m%d}{serial:06d}"
        issued = datetime.combine(night - timedelta(days=1), time(18)) + timedelta(minutes=rng.randint(0, 420))
        fields: dict[str, Any] = {**lead.fields, "lead_id": lead.lead_id, "issued_at": issued,
                                  "issuer": ISSUERS[lead.issuer][0]}
        sink = self.sink(lead.night, lead.kind, lead.issuer)
        row = dirt.dirty_row(lead.kind, fields, sink.style, rng)
        if lead.unrepairable:
            dirt.spoil(lead.kind, row, lead.unrepairable, night, rng)
        sink.add(row, {"why": lead.unrepairable})
        self.rows[(lead.night, lead.kind)] += 1

    def add_group(self, group: Group) -> None:
        for lead in group.leads:
            self.issue(lead)
            if lead.reissue_of is None:
                self.truth.add_lead(f"{ISSUERS[lead.issuer][0]}|{lead.lead_id}", group.gid)
        for case in group.cases:
            sink = self.sink(case.night, "case", "FZZX")
            sink.add(dirt.dirty_row("case", case.fields, sink.style, self.dirt_rng), {})
            self.rows[(case.night, "case")] += 1

    def close(self) -> tuple[int, list[str]]:
        """Finish every file; then deliver one file of each earlier night again under another name."""
        for sink in self.sinks.values():
            sink.close()
        resent = []
        for night in range(1, len(self.nights)):
            candidates = sorted((s.path.stat().st_size, s.path.name, s.path) for (n, kind, _, _), s in
                                self.sinks.items() if n == night - 1 and kind in ("bank", "sim"))
            if candidates:
                source = candidates[0][2]
                stem, _, part = source.stem.rpartition("_")
                target = self.out_dir / f"{self.nights[night]}" / f"{stem}_resend_{part}{source.suffix}"
                shutil.copyfile(source, target)
                resent.append(f"{self.nights[night]}/{target.name}")
        return sum(s.duplicates for s in self.sinks.values()), resent


def make_hubs(world_rng: random.Random, ids: IdFactory, leads: int) -> tuple[Hubs, list[tuple[str, str]]]:
    """Carrier NAT addresses and branch tablets, and one ticket per unrelated holder that will use them."""
    nat_ips = [f"112.224.{world_rng.randint(1, 250)}.{world_rng.randint(2, 250)}" for _ in range(max(1, leads // 12000))]
    nat_ips = sorted(set(nat_ips))
    tablets = [ids.fingerprint() for _ in range(max(1, leads // 25000))]
    hubs = Hubs(nat_ips, tablets, {"ICBC": "102370102001", "CCB": "105370202001"},
                {"CMCC": "YYTCMCC370102001", "CUCC": "YYTCUCC370203001"})
    tickets = [("ip", ip) for ip in nat_ips for _ in range(world_rng.randint(65, 95))]
    tickets += [("tablet", tablet) for tablet in tablets for _ in range(world_rng.randint(45, 60))]
    world_rng.shuffle(tickets)
    return hubs, tickets


def build_group(world: World, gid: str, kind: str, ticket: innocents.Ticket, n_gangs: int) -> Group:
    rng = world.rng
    if kind == "gang":
        preset: dict[int, dict[str, bool]] = {1: {"grow": True, "shell": True, "iot": True}, 3: {"dormant": True},
                                              4: {"shell": True}}
        if n_gangs == 2:
            return gangs.simbox(world, gid)
        if n_gangs in preset:
            return gangs.gang(world, gid, **preset[n_gangs])
        return gangs.random_gang(world, gid, rng)
    if kind == "ordinary":
        why = ""
        if not ticket and rng.random() < UNREPAIRABLE_RATE:
            # cycle through the kinds so that even a small sample has every one of them
            why = innocents.UNREPAIRABLE[world.ids.serial("spoiled") % len(innocents.UNREPAIRABLE)]
        return innocents.ordinary(world, gid, ticket, why)
    return innocents.BUILDERS[kind](world, gid, ticket)
