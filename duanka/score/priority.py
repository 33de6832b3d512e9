"""Points to priority, tier and category: the few numbers a unit sorts its work by.

priority = 100 * (1 - exp(-points / saturation)), clipped to 0–100 and rounded to
one decimal. Saturation makes each extra rule count for less once a packet is
plainly serious, so thirty weak signals never outrank a handful of strong ones
by brute addition, and the scale never runs past 100.
"""
from __future__ import annotations

import math

from duanka.score.model import CATEGORIES
from duanka.settings import ScoringSettings

TIERS = ("red", "orange", "yellow")


def priority(points: float, saturation: float) -> float:
    """0–100, one decimal; 0 points is 0, points == saturation is 63.2."""
    if points <= 0:
        return 0.0
    value = 100.0 * (1.0 - math.exp(-points / saturation))
    return round(min(100.0, max(0.0, value)), 1)


def tier(value: float, settings: ScoringSettings) -> str:
    """red at or above tier_red, orange at or above tier_orange, else yellow."""
    if value >= settings.tier_red:
        return "red"
    if value >= settings.tier_orange:
        return "orange"
    return "yellow"


def category(points_by_category: dict[str, float]) -> str | None:
    """The category with the most points; `signal` only when nothing else fired.

    Ties go to the category listed first in CATEGORIES (card_farmer before
    collector ...), so the answer never depends on rule order. None: no hit.
    """
    order = list(CATEGORIES)
    real = {k: v for k, v in points_by_category.items() if k != "signal" and v > 0}
    pool = real or {k: v for k, v in points_by_category.items() if v > 0}
    if not pool:
        return None
    return min(pool, key=lambda k: (-pool[k], order.index(k) if k in order else len(order), k))
