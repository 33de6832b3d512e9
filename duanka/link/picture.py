"""The picture of a group of two holders or more: rings around the identifiers the holders share.

Why not a spring layout any more: the seeded spring layout (50 iterations,
O(n^2) each) was about 60 % of the ~10 ms a multi-holder group cost, and a
force picture of a card gang is a hairball whose shape says little. This
picture is linear in the group and reads the way an investigator asks
"who is bound to what":

* in the middle, the nodes several holders share (a collector phone, a SIM box,
  a family's tablet, a gang's IP, a case), with the organiser and the persons
  behind collector phones: one at the centre, several on a small ring, in the
  order of the holders they bind so that their edges stay short;
* around them each holder's wedge, sized by what the holder has: their
  accounts and cards on the next ring, the holder (the card farmer) behind
  them, and their own phones, devices, IPs, branches and outlets on the outer
  ring beside the card they belong to.

Deterministic (ties by node key, no randomness), every node at a distinct
point, scaled per axis to [0, 1] as the page expects. A group with no holder
at all falls back to a radial tree around its most central node. The
one-holder groups draw the same kind of picture in SQL (`solo.py`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

CENTRE_RING, ITEM_RING, HOLDER_RING, OUTER_RING = 0.7, 1.6, 2.3, 3.0
HOLDER_KINDS = ("person", "company")


def draw(names: list[str], adj: list[list[int]], held: dict[int, int], middle: set[int],
         centrality: list[float], places: Sequence[tuple[str, str]] = ()) -> dict[str, tuple[float, float]]:
    """The group's picture: rings around the shared nodes, or a radial tree when it has no holder."""
    holders = [v for v, n in enumerate(names) if n.split(":", 1)[0] in HOLDER_KINDS]
    if holders:
        return ring_layout(names, adj, held, holders, middle, places)
    root = min(range(len(names)), key=lambda v: (-centrality[v], v))
    return radial_layout(names, adj, root, places)


def ring_layout(names: list[str], adj: list[list[int]], held: dict[int, int], holders: list[int],
                centre: set[int], places: Sequence[tuple[str, str]] = ()) -> dict[str, tuple[float, float]]:
    """Positions in [0,1]^2 of `names` and of the places in `places` ((card, place) pairs).

    `held` maps an account/card index to its holder's index, `holders` lists the holder indices and
    `centre` the indices drawn in the middle whatever they share (organiser, persons behind collectors)."""
    owners = [_owners(v, adj, held, set(holders)) for v in range(len(names))]
    shared = sorted(v for v in range(len(names)) if v not in held and v not in holders
                    and (len(owners[v]) != 1 or v in centre))
    middle = set(shared) | (centre & set(holders))
    # each holder's own nodes, item by item: an item, then what hangs off it (own identifiers, places)
    items: dict[int, list[int]] = {h: [] for h in holders}
    for item in sorted(held):
        items[held[item]].append(item)
    hanging: dict[int, list[str]] = {item: [] for item in held}
    beside = {names[item]: item for item in held}  # node -> the item it is drawn beside
    for v in range(len(names)):
        if v not in held and v not in holders and v not in middle:
            near = [w for w in adj[v] if held.get(w) in owners[v]] or items[next(iter(owners[v]))]
            if near:
                hanging[near[0]].append(names[v])
                beside[names[v]] = near[0]
            else:  # bound to a holder without accounts or cards: nothing to stand beside
                middle.add(v)
    centre_places, placed = [], set(names)
    for card, place in places:
        if place not in placed:
            placed.add(place)
            if card in beside:
                hanging[beside[card]].append(place)
            else:  # the card is drawn in the middle (an account nobody holds): so is its branch
                centre_places.append(place)
    polar: dict[str, tuple[float, float]] = {}
    total = sum(1 + len(hanging[i]) for h in holders for i in items[h]) + len(holders)
    cursor, angle_of = 0.0, {}
    for h in sorted(holders, key=lambda h: (min((s for s in shared if h in owners[s]), default=-1), h)):
        width = 2 * math.pi * (1 + sum(1 + len(hanging[i]) for i in items[h])) / total
        angle_of[h] = cursor + width / 2
        if h not in middle:
            polar[names[h]] = (HOLDER_RING, angle_of[h])
        step = width / (1 + sum(1 + len(hanging[i]) for i in items[h]))  # one unit for the holder's margin
        at = cursor + step / 2
        for item in items[h]:
            share = step * (1 + len(hanging[item]))
            polar[names[item]] = (ITEM_RING, at + share / 2)
            for k, node in enumerate(sorted(hanging[item])):
                polar[node] = (OUTER_RING, at + share * (k + 0.5) / len(hanging[item]))
            at += share
        cursor += width
    ordered = [names[v] for v in sorted(middle, key=lambda v: (
        _mean_angle([angle_of[h] for h in owners[v] if h in angle_of]), v))] + centre_places
    for k, name in enumerate(ordered):
        polar[name] = (0.0, 0.0) if len(ordered) == 1 else (CENTRE_RING, 2 * math.pi * k / len(ordered))
    return _to_unit_square(polar)


def _owners(v: int, adj: list[list[int]], held: dict[int, int], holders: set[int]) -> set[int]:
    """The holders a node belongs to: its own holder, or the holders of the items (and the holders) it touches."""
    if v in held:
        return {held[v]}
    if v in holders:
        return {v}
    return {held.get(w, w) for w in adj[v] if w in held or w in holders}


def _mean_angle(angles: list[float]) -> float:
    """Direction of the mean of unit vectors at `angles`, in [0, 2 pi); 0 when they cancel out."""
    x, y = sum(math.cos(a) for a in angles), sum(math.sin(a) for a in angles)
    return math.atan2(y, x) % (2 * math.pi) if abs(x) + abs(y) > 1e-9 else 0.0


def _to_unit_square(polar: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    if len(polar) == 1:
        return {next(iter(polar)): (0.5, 0.5)}
    xs = {n: r * math.cos(a) for n, (r, a) in polar.items()}
    ys = {n: r * math.sin(a) for n, (r, a) in polar.items()}
    lox, hix, loy, hiy = min(xs.values()), max(xs.values()), min(ys.values()), max(ys.values())
    return {n: (_scale(xs[n], lox, hix), _scale(ys[n], loy, hiy)) for n in polar}


def radial_layout(names: list[str], adj: list[list[int]], root: int,
                  places: Sequence[tuple[str, str]] = ()) -> dict[str, tuple[float, float]]:
    """Positions in [0,1]^2 of `names` (with neighbour indices `adj`) and of the places in `places`
    ((card, place) pairs; a place hangs off its first card), the tree grown from index `root`."""
    labels = list(names)
    index = {n: i for i, n in enumerate(labels)}
    children: list[list[int]] = [[] for _ in labels]
    order = _bfs_tree(adj, root, children)
    for card, place in places:
        if place not in index and card in index:
            index[place] = len(labels)
            labels.append(place)
            children.append([])
            children[index[card]].append(index[place])
            order.append(index[place])
    if len(labels) == 1:
        return {labels[0]: (0.5, 0.5)}
    weight = [1] * len(labels)
    for v in reversed(order):
        if children[v]:
            weight[v] = sum(weight[c] for c in children[v])
    depth, start, span = [0] * len(labels), [0.0] * len(labels), [0.0] * len(labels)
    span[root] = 2 * math.pi
    for v in order:
        cursor = start[v]
        for c in children[v]:
            depth[c], start[c], span[c] = depth[v] + 1, cursor, span[v] * weight[c] / weight[v]
            cursor += span[c]
    xs = [depth[v] * math.cos(start[v] + span[v] / 2) for v in range(len(labels))]
    ys = [depth[v] * math.sin(start[v] + span[v] / 2) for v in range(len(labels))]
    return {label: (_scale(x, min(xs), max(xs)), _scale(y, min(ys), max(ys))) for label, x, y in zip(labels, xs, ys)}


def _bfs_tree(adj: list[list[int]], root: int, children: list[list[int]]) -> list[int]:
    """Breadth-first tree from `root` (neighbours in index order); nodes it cannot reach hang off the
    root as further subtrees. Fills `children`, returns the nodes parents-first."""
    seen = [False] * len(adj)
    order: list[int] = []
    for start in [root] + list(range(len(adj))):
        if seen[start]:
            continue
        seen[start] = True
        if start != root:
            children[root].append(start)
        head = len(order)
        order.append(start)
        while head < len(order):
            v = order[head]
            head += 1
            for w in adj[v]:
                if not seen[w]:
                    seen[w] = True
                    children[v].append(w)
                    order.append(w)
    return order


def _scale(v: float, lo: float, hi: float) -> float:
    return round((v - lo) / (hi - lo), 6) if hi - lo > 1e-9 else 0.5
