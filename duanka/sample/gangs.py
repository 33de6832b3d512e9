"""Card-buying gangs: a collector (卡头), the sellers (卡农) he recruits, and their cards.

What makes a gang visible is what it shares: the few phones it controls are the
reserved phone of many sellers' accounts (and are often SIM leads in a seller's
name), its logins come from a few devices and addresses, its accounts turn up in
fraud cases. Sellers open several cards within days at the same branches, often
far from home. Some gangs are dormant (cards bought, nothing moved yet), some
hide behind a shell company with IoT cards, some grow from one night to the next.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from duanka.sample import regions
from duanka.sample.population import BANKS, Group, Lead, Person, World, money, reissue, usage


@dataclass
class _Kit:
    """What the gang controls and reuses across sellers."""
    home: str
    open_region: str
    phones: list[str]
    devices: list[str]        # devices[0] is a handset IMEI (IoT cards sit in it)
    ips: list[str]
    outlet: str
    branches: dict[str, str]
    accounts: list[str] = field(default_factory=list)
    sellers: list[Person] = field(default_factory=list)


def _seller(world: World, kit: _Kit) -> Person:
    """卡农: a student, an elderly person or a villager, paid a few hundred yuan per card."""
    rng = world.rng
    kind = rng.choice(("student", "elderly", "villager"))
    if kind == "student":
        region = regions.elsewhere(rng) if rng.random() < 0.3 else regions.household(rng)
        return world.person(region, (18, 22))
    if kind == "elderly":
        return world.person(regions.rural(rng) if rng.random() < 0.6 else kit.home, (60, 78))
    return world.person(regions.rural(rng), (25, 55))


def _kit(world: World) -> _Kit:
    rng = world.rng
    home = regions.urban(rng) if rng.random() < 0.7 else regions.rural(rng)
    r = rng.random()
    open_region = home if r < 0.6 else regions.urban(rng) if r < 0.85 else regions.elsewhere(rng)
    devices = [world.ids.imei(rng.randrange(64))] + [world.ids.fingerprint() for _ in range(rng.randint(0, 2))]
    branches = {bank: (world.hubs.busy_branches[bank] if bank in world.hubs.busy_branches and rng.random() < 0.2
                       else world.branch(bank, open_region)) for bank in BANKS}
    carrier = world.carrier()
    return _Kit(home, open_region, [], devices, [world.ids.ipv4() for _ in range(rng.randint(1, 2))],
                world.outlet(carrier, open_region, agent=rng.random() < 0.6), branches)


def _seller_cards(world: World, kit: _Kit, seller: Person, night: int, start, dormant: bool) -> list[Lead]:
    """A seller opens 2–4 cards at different banks within a few days; the gang keeps phone and logins."""
    rng = world.rng
    leads = []
    for bank in rng.sample(BANKS, rng.randint(2, 4)):
        opened = min(start + timedelta(days=rng.randint(0, 3)), world.nights[night] - timedelta(days=1))
        gang_phone = rng.random() < 0.85
        devices = rng.sample(kit.devices, rng.randint(1, min(2, len(kit.devices)))) if rng.random() < 0.9 else []
        if not gang_phone and not devices:
            devices = [kit.devices[-1]]
        ips = [rng.choice(kit.ips)] if rng.random() < 0.7 else []
        if rng.random() < 0.08:
            ips.append(rng.choice(world.hubs.nat_ips))
        account = world.ids.card(bank)
        kit.accounts.append(account)
        leads.append(world.bank_lead(
            seller, night, "", bank, account, "debit", opened, kit.branches[bank],
            rng.choice(kit.phones) if gang_phone else seller.phone, devices, ips,
            money(rng, "dormant" if dormant else "mule"), rng.choice(("counter", "counter", "agent")),
            status="frozen" if not dormant and rng.random() < 0.2 else "normal"))
    return leads


def _phase(world: World, group: Group, kit: _Kit, night: int, n_sellers: int, first: bool) -> None:
    """One night's worth of a gang: new sellers with their cards, and the cases their cards turned up in."""
    rng = world.rng
    start = world.nights[night] - timedelta(days=rng.randint(8, 45) if first else rng.randint(2, 7))
    leads: list[Lead] = []
    for _ in range(n_sellers):
        seller = _seller(world, kit)
        kit.sellers.append(seller)
        group.roles[seller.key] = "card_farmer"
        leads += _seller_cards(world, kit, seller, night, start, group.dormant)
        if rng.random() < 0.3:  # a seller's own new SIM card, opened at the gang's outlet
            leads.append(world.sim_lead(seller, night, "ABNORMAL_OPEN", world.carrier_of(seller.phone),
                                        seller.phone, start, kit.outlet, rng.choice((kit.devices[0], "")),
                                        usage(rng, "normal")))
    if first:
        for phone in kit.phones:  # the phones the gang controls, registered in a seller's name
            if rng.random() < 0.75:
                leads.append(world.sim_lead(rng.choice(kit.sellers), night, "", world.carrier_of(phone), phone,
                                            start, kit.outlet, kit.devices[0],
                                            usage(rng, "dormant" if group.dormant else "gang")))
    if not group.dormant:
        _cases(world, group, kit, night, leads, start)
    for lead in leads:
        if not lead.fields["reason"]:
            lead.fields["reason"] = rng.choice(("ABNORMAL_OPEN", "MULTI_CARD", "REPORTED") if group.dormant else
                                               ("ABNORMAL_OPEN", "MULTI_CARD", "SUSPICIOUS_TXN", "REPORTED"))
    group.leads += leads + [again for lead in leads if rng.random() < 0.03 and (again := reissue(world, lead))]


def _cases(world: World, group: Group, kit: _Kit, night: int, leads: list[Lead], start) -> None:
    """Victims report; the cases name gang accounts (and sometimes a gang phone)."""
    rng = world.rng
    by_account = {lead.fields.get("account_no"): lead for lead in leads if lead.kind == "bank"}
    by_phone = {lead.fields["msisdn"]: lead for lead in leads if lead.kind == "sim"}
    for _ in range(max(1, len(by_account) // 4)):
        accounts = rng.sample(sorted(by_account), min(len(by_account), rng.randint(1, 3)))
        phones = [rng.choice(kit.phones)] if rng.random() < 0.4 else []
        outside = [world.ids.card(world.bank())] if rng.random() < 0.3 else []  # the victim's own card
        case = world.case(night, regions.household(rng), accounts + outside, phones, start)
        group.cases.append(case)
        for named in [by_account[a] for a in accounts] + [by_phone[p] for p in phones if p in by_phone]:
            named.fields["reason"] = "CASE_LINKED"
            if rng.random() < 0.6:
                named.fields["case_ids"].append(case.fields["case_id"])


def _collector(world: World, group: Group, kit: _Kit, night: int) -> None:
    """The collector's own account: he logs in from the gang's devices to test the bought cards."""
    rng = world.rng
    collector = world.person(kit.home, (25, 45), male=rng.random() < 0.85)
    group.roles[collector.key] = "collector"
    bank = world.bank()
    group.leads.append(world.bank_lead(
        collector, night, "REPORTED" if group.dormant else "SUSPICIOUS_TXN", bank, world.ids.card(bank), "debit",
        world.long_ago(night, (1, 6)), world.branch(bank, kit.home), collector.phone, list(kit.devices),
        list(kit.ips), money(rng, "dormant" if group.dormant else "mule"), "mobile"))


def _shell_and_iot(world: World, group: Group, kit: _Kit, night: int, shell: bool, iot: bool) -> None:
    """A shell company (legal person: a seller) with corporate accounts, and IoT cards used in handsets."""
    rng = world.rng
    company = None
    if shell:
        company = world.company(kit.home, shell=True)
        group.roles[company.key] = "shell_company"
        opened = world.recent(night, (20, 90))
        for bank in rng.sample(BANKS, rng.randint(1, 3)):
            group.leads.append(world.bank_lead(
                company, night, "SUSPICIOUS_TXN" if not group.dormant else "ABNORMAL_OPEN", bank,
                world.ids.corporate_account(kit.home), "corporate", opened, kit.branches[bank],
                rng.choice(kit.phones), kit.devices[:1], kit.ips[:1],
                money(rng, "dormant" if group.dormant else "mule"), "counter"))
    if iot:
        carrier = rng.choice(("CMCC", "CUCC", "CTCC"))
        agent = world.outlet(carrier, kit.open_region, agent=True)
        for _ in range(rng.randint(2, 6)):
            holder = company or rng.choice(kit.sellers)
            group.leads.append(world.sim_lead(
                holder, night, rng.choice(("HIGH_FREQ_CALL", "ABNORMAL_OPEN")), carrier,
                world.phone(carrier, iot=True), world.recent(night, (5, 30)), agent, kit.devices[0],
                usage(rng, "dormant" if group.dormant else "gang"), card_kind="iot"))


def gang(world: World, gid: str, grow: bool = False, dormant: bool = False, shell: bool = False,
         iot: bool = False, collector: bool = True) -> Group:
    """A card-buying gang of mostly 3–15 sellers; `grow` adds sellers on a later night."""
    rng = world.rng
    nights = len(world.nights)
    first = 0 if nights == 1 or rng.random() < 0.55 else rng.randrange(nights - (1 if grow else 0))
    grow = grow and first < nights - 1
    group = Group(gid, "gang", gang=True, dormant=dormant,
                  variant="+".join(v for v, on in (("shell", shell), ("iot", iot), ("growing", grow)) if on))
    kit = _kit(world)
    n_sellers = min(15, max(3, int(rng.triangular(3, 15, 5))))
    kit.phones = [world.phone() for _ in range(1 + n_sellers // 5)]
    _phase(world, group, kit, first, n_sellers, first=True)
    if collector:
        _collector(world, group, kit, first)
    _shell_and_iot(world, group, kit, first, shell, iot)
    if grow:
        _phase(world, group, kit, rng.randint(first + 1, nights - 1), rng.randint(1, 4), first=False)
    return group


def simbox(world: World, gid: str) -> Group:
    """A SIM box (GOIP): 25–40 cards in unrelated people's names, opened in 1–2 days at one outlet, one IMEI."""
    rng = world.rng
    night = world.pick_night()
    carrier = rng.choice(("CMCC", "CUCC", "CTCC"))
    outlet = world.outlet(carrier, regions.urban(rng), agent=True)
    box, opened = world.ids.imei(rng.randrange(64)), world.recent(night, (4, 30))
    group = Group(gid, "gang", gang=True, variant="simbox")
    for _ in range(rng.randint(25, 40)):
        holder = world.person(ages=(18, 75))
        group.roles[holder.key] = "card_farmer"
        card_carrier = carrier if rng.random() < 0.85 else rng.choice(("CMCC", "CUCC", "CTCC"))
        group.leads.append(world.sim_lead(
            holder, night, "HIGH_FREQ_CALL", card_carrier, world.phone(card_carrier),
            opened + timedelta(days=rng.randint(0, 1)), outlet, box, usage(rng, "simbox")))
    phones = [lead.fields["msisdn"] for lead in group.leads]
    for _ in range(rng.randint(1, 3)):
        case = world.case(night, regions.household(rng), [], rng.sample(phones, rng.randint(2, 4)), opened)
        group.cases.append(case)
    return group


def random_gang(world: World, gid: str, rng: random.Random, force_grow: bool = False) -> Group:
    """A gang with the variant mix seen in practice."""
    if rng.random() < 0.06:
        return simbox(world, gid)
    return gang(world, gid, grow=force_grow or rng.random() < 0.35, dormant=rng.random() < 0.15,
                shell=rng.random() < 0.25, iot=rng.random() < 0.3, collector=rng.random() < 0.6)
