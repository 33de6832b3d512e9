"""What a group analysis takes and gives, and the role rules both analysis paths share.

Kept apart from the graph code so that the NetworkX reference (`roles.py`) and
the integer-adjacency fast path (`fastroles.py`) read the same thresholds and
the same precedence, and cannot drift apart. The roles follow how card gangs
work:

* collector (卡头): a phone or device binding the accounts/cards of at least
  `COLLECTOR_MIN_HOLDERS` different holders, and the person behind a collector
  phone (the holder of that msisdn);
* card_farmer (卡农): a holder whose account/card is bound to a phone or device
  that also binds other holders (someone else controls it);
* organiser: when a group has two or more collector identifiers, the most
  central person (betweenness) among those within two hops of two collectors;
* rogue_outlet: a branch/outlet (attribute node `branch:`/`outlet:`) where at
  least `ROGUE_MIN_CARDS` of the group's cards were opened within
  `ROGUE_WINDOW_DAYS` days;
* shell_company: a company holding accounts in the group;
* member: every other node.

One role per node, in that order of precedence: organiser, collector,
rogue_outlet, shell_company, card_farmer, member. `score` is the node's
betweenness centrality in the group (key persons rank by it); for a
branch/outlet it is the share of the group's cards opened there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

COLLECTOR_MIN_HOLDERS = 3
ROGUE_MIN_CARDS = 3
ROGUE_WINDOW_DAYS = 7
LAYOUT_SEED = 20261103
EXACT_BETWEENNESS_MAX = 300  # beyond: NetworkX with a seeded sample of sources
HOLDER_KINDS = ("person", "company")


@dataclass(frozen=True)
class Card:
    """One lead as the role analysis sees it: the account/phone, its holder, when and where opened."""

    node: str
    holder: str
    open_date: date
    place: str | None


@dataclass
class GroupAnalysis:
    roles: dict[str, tuple[str, float]] = field(default_factory=dict)
    layout: dict[str, tuple[float, float]] = field(default_factory=dict)
    bridges: list[tuple[str, str]] = field(default_factory=list)


def kind_of(node: str) -> str:
    return node.split(":", 1)[0]


def rogue_outlets(cards: list[Card]) -> dict[str, float]:
    """Branch/outlet -> share of the group's cards opened there, for those with a burst of openings."""
    by_place: dict[str, list[date]] = {}
    for card in cards:
        if card.place:
            by_place.setdefault(card.place, []).append(card.open_date)
    rogue = {}
    for place, dates in by_place.items():
        dates.sort()
        burst = max(
            sum(1 for d in dates[i:] if (d - start).days < ROGUE_WINDOW_DAYS) for i, start in enumerate(dates)
        )
        if burst >= ROGUE_MIN_CARDS:
            rogue[place] = len(dates) / len(cards)
    return rogue


def role_of(node: str, organiser: str | None, collectors: set[str], behind: set[str], farmers: set[str]) -> str:
    """The one role of a connecting node, by the precedence above (rogue outlets are set apart)."""
    if node == organiser:
        return "organiser"
    if node in collectors or node in behind:
        return "collector"
    if kind_of(node) == "company":
        return "shell_company"
    if node in farmers:
        return "card_farmer"
    return "member"


def add_places(analysis: GroupAnalysis, cards: list[Card], in_group: set[str] | dict) -> list[tuple[str, str]]:
    """Give each branch/outlet a role (member, or rogue_outlet with its share) and return the
    (card, place) pairs to draw: branches and outlets sit beside their cards, never as connections."""
    drawn = []
    for card in sorted(cards, key=lambda c: (c.node, c.place or "")):
        if card.place and card.node in in_group:
            drawn.append((card.node, card.place))
            if card.place not in analysis.roles:
                analysis.roles[card.place] = ("member", 0.0)
    for place, share in rogue_outlets(cards).items():
        analysis.roles[place] = ("rogue_outlet", round(share, 6))
    return drawn
