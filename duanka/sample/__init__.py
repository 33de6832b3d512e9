"""Synthetic sample deliveries with ground truth, for tests, demos and benchmarks.

`generate()` writes what the issuing platform would drop in the inbox over a few
nights (bank, SIM and case files, dirty as real exports are) and `truth.json`
saying which leads belong together. Same seed and arguments give the same bytes.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from duanka.sample.deliveries import KIND_WEIGHTS, TICKET_KINDS, Deliveries, build_group, make_hubs
from duanka.sample.identifiers import IdFactory
from duanka.sample.population import World
from duanka.sample.truth import TruthWriter

__all__ = ["generate"]


def generate(out_dir: Path, seed: int, leads: int, nights: int = 2, start: date = date(2026, 11, 3)) -> dict:
    """Write `nights` nightly delivery folders with about `leads` bank+SIM lead rows, and truth.json.

    Returns a summary: rows per night and kind, files per kind, groups per kind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ids = IdFactory(seed)
    night_dates = [start + timedelta(days=i) for i in range(nights)]
    hubs, tickets = make_hubs(rng, ids, leads)
    world = World(rng, ids, night_dates, hubs)
    truth = TruthWriter(out_dir, seed, night_dates, hubs)
    deliveries = Deliveries(out_dir, seed, night_dates, truth)
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    # About 40 % of groups can take a hub ticket; spend the tickets over ~80 % of the run.
    p_ticket = min(1.0, len(tickets) / max(1.0, 0.8 * 0.4 * leads / 1.9))
    groups: Counter[str] = Counter()
    variants: Counter[str] = Counter()
    total = 0
    while total < leads or tickets:
        kind = rng.choices(kinds, weights)[0] if total < leads else "ordinary"
        ticket = None
        if kind in TICKET_KINDS and tickets and (total >= leads or rng.random() < p_ticket):
            ticket = tickets.pop()
        groups[kind] += 1
        group = build_group(world, f"G{sum(groups.values()):04d}", kind, ticket, groups["gang"])
        deliveries.add_group(group)
        if group.gang:
            variants.update(group.variant.split("+") if group.variant else ["plain"])
            variants["dormant"] += group.dormant
        truth.add_group(group)
        total += sum(lead.kind in ("bank", "sim") for lead in group.leads)
    duplicate_rows, resent = deliveries.close()
    truth.finish(duplicate_rows, resent)
    files = Counter(kind for (_, kind, _, _) in deliveries.sinks)
    return {
        "leads": total,
        "nights": {f"{d}": {kind: deliveries.rows[(i, kind)] for kind in ("bank", "sim", "case")}
                   for i, d in enumerate(night_dates)},
        "files": {**{kind: files[kind] for kind in ("bank", "sim", "case")}, "resent": len(resent)},
        "groups": dict(sorted(groups.items())),
        "gang_variants": dict(sorted(variants.items())),
        "unrepairable": len(truth.unrepairable),
        "duplicate_rows": duplicate_rows,
    }
