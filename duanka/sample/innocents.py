"""Innocent groups: people flagged for ordinary reasons.

Most leads are not fraud. A model flags people with many cards, shops with big
flows, travellers, salespeople and fraud victims; the triage must rank them low
and, above all, must not glue them to each other or to a gang. Hub tickets put a
carrier NAT address or a branch tablet into some of their logins, so that those
identifiers reach many unrelated holders, as they do in reality.
"""
from __future__ import annotations

from datetime import timedelta

from duanka.sample import regions
from duanka.sample.population import Group, Lead, Person, World, money, reissue, usage

UNREPAIRABLE = ("bad_ric_check", "phone_12_digits", "missing_required", "open_date_future", "unknown_reason")
Ticket = tuple[str, str] | None


def _logins(world: World, person: Person, ticket: Ticket, home_ip: str | None = None) -> tuple[list, list]:
    devices = [person.device] if world.rng.random() < 0.8 else []
    ips = [home_ip or world.ids.ipv4()] if world.rng.random() < 0.7 else []
    if ticket and ticket[0] == "ip":
        ips.append(ticket[1])
    if ticket and ticket[0] == "tablet":
        devices.append(ticket[1])
    return devices, ips


def _personal_account(world: World, person: Person, night: int, reason: str, ticket: Ticket,
                      profile: str = "quiet", bank: str | None = None, case_ids: list[str] | None = None,
                      home_ip: str | None = None) -> Lead:
    """One debit card of an ordinary person, opened years ago at a branch near home or a busy one."""
    rng, hubs = world.rng, world.hubs
    bank = bank or world.bank()
    if ticket and ticket[0] == "tablet":
        bank = hubs.tablet_bank
    if ticket and ticket[0] == "tablet" or (bank in hubs.busy_branches and rng.random() < 0.6):
        branch = hubs.busy_branches[bank]
    else:
        branch = world.branch(bank, regions.same_city(rng, person.region))
    devices, ips = _logins(world, person, ticket, home_ip)
    credit = rng.random() < 0.12
    return world.bank_lead(person, night, reason, bank, world.ids.card(bank, credit),
                           "credit" if credit else "debit", world.long_ago(night), branch, person.phone,
                           devices, ips, money(rng, profile), rng.choice(("counter", "counter", "mobile")),
                           case_ids, via_bank=0.75)


def _personal_sim(world: World, person: Person, night: int, reason: str, profile: str) -> Lead:
    rng, hubs = world.rng, world.hubs
    carrier = world.carrier_of(person.phone)
    if carrier in hubs.busy_outlets and rng.random() < 0.5:
        outlet = hubs.busy_outlets[carrier]
    else:
        outlet = world.outlet(carrier, regions.same_city(rng, person.region), agent=rng.random() < 0.3)
    imei = person.device if len(person.device) == 15 else world.ids.imei(rng.randrange(64))
    return world.sim_lead(person, night, reason, carrier, person.phone, world.long_ago(night, (0, 12)),
                          outlet, imei if rng.random() < 0.85 else "", usage(rng, profile))


def _maybe_reissue(world: World, group: Group, p: float = 0.02) -> None:
    extra = [again for lead in group.leads if world.rng.random() < p and (again := reissue(world, lead))]
    group.leads.extend(extra)


def ordinary(world: World, gid: str, ticket: Ticket, unrepairable: str = "") -> Group:
    """A plain person flagged by a model or a tip-off: one lead."""
    rng = world.rng
    person, night = world.person(), world.pick_night()
    reason = rng.choice(("ABNORMAL_OPEN", "ABNORMAL_OPEN", "REPORTED"))
    if ticket or rng.random() < 0.7:
        lead = _personal_account(world, person, night, reason, ticket)
    else:
        lead = _personal_sim(world, person, night, reason, "normal")
    lead.unrepairable = unrepairable
    group = Group(gid, "ordinary", leads=[lead])
    if not unrepairable:
        _maybe_reissue(world, group)
    return group


def multi_card(world: World, gid: str, ticket: Ticket) -> Group:
    """Someone with several cards opened over the years, all with the same phone and handset."""
    rng = world.rng
    person, night = world.person(ages=(30, 66)), world.pick_night()
    home_ip = world.ids.ipv4()
    banks = rng.sample(("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "PSBC"), rng.randint(3, 6))
    leads = [_personal_account(world, person, night, "MULTI_CARD", ticket if i == 0 else None, bank=bank,
                               home_ip=home_ip) for i, bank in enumerate(banks)]
    for lead in leads[1:]:  # the same person logs in from the same handset
        lead.fields["login_device"] = [person.device]
    group = Group(gid, "multi_card", leads=leads)
    _maybe_reissue(world, group)
    return group


def family(world: World, gid: str, ticket: Ticket) -> Group:
    """2–5 relatives registered in one county, logging in from the home tablet."""
    rng = world.rng
    region = regions.household(rng)
    surname = world.person(region).name[0] if rng.random() < 0.75 else None
    home_device, home_ip = world.ids.fingerprint(), world.ids.ipv4()
    ages = [(40, 58), (38, 56), (18, 28), (18, 26), (66, 82)]
    night = world.pick_night()
    group = Group(gid, "family")
    for i in range(rng.randint(2, 5)):
        member = world.person(region, ages[i], male=(i % 2 == 0), family_name=surname if i != 1 else None)
        for _ in range(rng.choice((1, 1, 2))):
            lead = _personal_account(world, member, night, rng.choice(("ABNORMAL_OPEN", "REPORTED",
                                                                        "MULTI_CARD")), ticket if i == 0 else None)
            lead.fields["login_device"] = sorted({member.device, home_device} | set(lead.fields["login_device"]))
            lead.fields["login_ip"] = [ip for ip in lead.fields["login_ip"] if ip in world.hubs.nat_ips]
            lead.fields["login_ip"].append(home_ip)
            group.leads.append(lead)
    _maybe_reissue(world, group)
    return group


def shop(world: World, gid: str, ticket: Ticket) -> Group:
    """A busy shop: corporate accounts of a real company and the owner's card, big honest flows."""
    rng = world.rng
    owner = world.person(ages=(30, 60))
    company = world.company(owner.region, shop=True)
    night, pc, ip = world.pick_night(), world.ids.fingerprint(), world.ids.ipv4()
    bank = world.bank()
    branch = world.branch(bank, owner.region)
    group = Group(gid, "shop")
    for _ in range(rng.randint(1, 2)):
        group.leads.append(world.bank_lead(
            company, night, "SUSPICIOUS_TXN", bank, world.ids.corporate_account(owner.region), "corporate",
            world.long_ago(night, (2, 12)), branch, owner.phone, [pc], [ip], money(rng, "shop"), "counter"))
    group.leads.append(_personal_account(world, owner, night, "SUSPICIOUS_TXN", ticket, profile="shop",
                                         home_ip=ip))
    _maybe_reissue(world, group)
    return group


def traveller(world: World, gid: str, ticket: Ticket) -> Group:
    """Someone abroad for weeks: the phone roams, a card may be used in another country."""
    person, night = world.person(ages=(22, 65)), world.pick_night()
    group = Group(gid, "traveller", leads=[_personal_sim(world, person, night, "ABROAD", "traveller")])
    if ticket or world.rng.random() < 0.35:
        group.leads.append(_personal_account(world, person, night, "ABROAD", ticket))
    return group


def salesperson(world: World, gid: str, ticket: Ticket) -> Group:
    """A salesperson who calls hundreds of customers a week, in daytime, from one handset."""
    rng = world.rng
    person, night = world.person(ages=(22, 50)), world.pick_night()
    group = Group(gid, "salesperson", leads=[_personal_sim(world, person, night, "HIGH_FREQ_CALL", "sales")])
    if rng.random() < 0.4:  # a second card in the same handset
        second = _personal_sim(world, person, night, "HIGH_FREQ_CALL", "sales")
        second.fields["msisdn"] = world.phone()
        second.fields["carrier"] = world.carrier_of(second.fields["msisdn"])
        second.fields["imei"] = group.leads[0].fields["imei"]
        group.leads.append(second)
    if ticket:
        group.leads.append(_personal_account(world, person, night, "REPORTED", ticket))
    return group


def victim(world: World, gid: str, ticket: Ticket) -> Group:
    """A fraud victim whose own account is named in the case; the receiving account is no lead of ours."""
    rng = world.rng
    person, night = world.person(ages=(20, 75)), world.pick_night()
    receiving = world.ids.card(world.bank())  # a mule account somewhere else, never delivered as a lead
    lead = _personal_account(world, person, night, "CASE_LINKED", ticket)
    case = world.case(night, person.region, [lead.fields["account_no"], receiving],
                      [person.phone] if rng.random() < 0.5 else [], world.nights[night] - timedelta(days=20))
    if rng.random() < 0.8:
        lead.fields["case_ids"] = [case.fields["case_id"]]
    return Group(gid, "victim", leads=[lead], cases=[case])


BUILDERS = {"multi_card": multi_card, "family": family, "shop": shop, "traveller": traveller,
            "salesperson": salesperson, "victim": victim}
