"""Real GB/T 2260 county codes: where people are registered and where cards are opened.

Units are matched on the region prefix, and the rules look at "opened far from
home", so the codes must be real ones: Shandong districts and counties, and a
few elsewhere for sellers recruited from (or brought to) other provinces.
"""
from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path

# City districts: where most people live and where busy branches are.
SHANDONG_URBAN = {
    "370102": "济南市历下区", "370103": "济南市市中区", "370104": "济南市槐荫区", "370105": "济南市天桥区",
    "370112": "济南市历城区", "370202": "青岛市市南区", "370203": "青岛市市北区", "370211": "青岛市黄岛区",
    "370212": "青岛市崂山区", "370214": "青岛市城阳区", "370303": "淄博市张店区", "370305": "淄博市临淄区",
    "370402": "枣庄市市中区", "370502": "东营市东营区", "370602": "烟台市芝罘区", "370612": "烟台市牟平区",
    "370702": "潍坊市潍城区", "370705": "潍坊市奎文区", "370811": "济宁市任城区", "370902": "泰安市泰山区",
    "371002": "威海市环翠区", "371102": "日照市东港区", "371302": "临沂市兰山区", "371311": "临沂市罗庄区",
    "371402": "德州市德城区", "371502": "聊城市东昌府区", "371602": "滨州市滨城区", "371702": "菏泽市牡丹区",
}
# Rural counties: villagers recruited as card sellers mostly come from these.
SHANDONG_RURAL = {
    "370830": "济宁市汶上县", "370831": "济宁市泗水县", "371121": "日照市五莲县", "371122": "日照市莒县",
    "371321": "临沂市沂南县", "371322": "临沂市郯城县", "371323": "临沂市沂水县", "371324": "临沂市兰陵县",
    "371326": "临沂市平邑县", "371327": "临沂市莒南县", "371424": "德州市临邑县", "371425": "德州市齐河县",
    "371521": "聊城市阳谷县", "371522": "聊城市莘县", "371621": "滨州市惠民县", "371721": "菏泽市曹县",
    "371722": "菏泽市单县", "371724": "菏泽市巨野县", "371725": "菏泽市郓城县", "371728": "菏泽市东明县",
}
# Outside Shandong: "far from home" openings and recruited students.
ELSEWHERE = {
    "410105": "郑州市金水区", "340104": "合肥市蜀山区", "130102": "石家庄市长安区", "450102": "南宁市兴宁区",
    "350582": "泉州市晋江市", "440106": "广州市天河区", "230102": "哈尔滨市道里区", "360502": "新余市渝水区",
}
SHANDONG = {**SHANDONG_URBAN, **SHANDONG_RURAL}
ALL_REGIONS = {**SHANDONG, **ELSEWHERE}
_URBAN = sorted(SHANDONG_URBAN)
_RURAL = sorted(SHANDONG_RURAL)
_ELSEWHERE = sorted(ELSEWHERE)


def city_of(region: str) -> str:
    """The prefecture-level city (first 4 digits) a county belongs to."""
    return region[:4]


def urban(rng: random.Random) -> str:
    return rng.choice(_URBAN)


def rural(rng: random.Random) -> str:
    return rng.choice(_RURAL)


def elsewhere(rng: random.Random) -> str:
    return rng.choice(_ELSEWHERE)


def household(rng: random.Random) -> str:
    """Household region of an ordinary resident: mostly Shandong cities, some counties, a few outsiders."""
    r = rng.random()
    if r < 0.65:
        return urban(rng)
    if r < 0.93:
        return rural(rng)
    return elsewhere(rng)


def same_city(rng: random.Random, region: str) -> str:
    """Another county of the same city if there is one we know (else the region itself)."""
    peers = [code for code in ALL_REGIONS if code[:4] == region[:4]]
    return rng.choice(peers) if peers else region


# --- codes as they were when a person was born ------------------------------------
# A RIC keeps the region code of first registration. python-stdnum (which the
# validators use) accepts a code only if it existed in the birth year, so an
# 80-year-old from 曹县 holds 372922 (菏泽地区曹县, until 2000), not 371721.
_HISTORY: dict[str, list[tuple[str, int, int, str]]] = {}   # province -> [(code, start, end, name)]


def _load_history() -> None:
    import stdnum.cn

    path = Path(stdnum.cn.__file__).parent / "loc.dat"
    province = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r'^(\d\d) province=', line):
            province = match.group(1)
        elif match := re.match(r'^  (\d{4}) county="(.*)"', line):
            for part in match.group(2).split(","):
                span = re.match(r"\[(\d*)-(\d*)\](.*)", part)
                start, end, name = (span.group(1), span.group(2), span.group(3)) if span else ("", "", part)
                _HISTORY.setdefault(province, []).append(
                    (province + match.group(1), int(start or 0), int(end or 9999), name))


def _valid(code: str, year: int) -> tuple[bool, str]:
    for known, start, end, name in _HISTORY.get(code[:2], []):
        if known == code:
            return start <= year <= end, name
    return False, ""


@cache
def code_at_birth(region: str, year: int) -> str:
    """The region code a person born in `year` in `region` holds: the same county's code of that time."""
    if not _HISTORY:
        _load_history()
    ok, name = _valid(region, year)
    if ok:
        return region
    entries = _HISTORY.get(region[:2], [])
    same_name = [c for c, s, e, n in entries if n == name and s <= year <= e and not c.endswith("00")]
    if same_name:
        return same_name[0]
    counties = [c for c, s, e, n in entries if s <= year <= e and c[4:] not in ("00", "01") and n.endswith("县")]
    same_city = [c for c in counties if c[:4] == region[:4]]
    return (same_city or counties)[0]
