"""What `make demo` prints at the end: the top packets as a table, and where the index page is.

The terminal is a shared screen: identifiers are masked here as on the index page.
"""
from __future__ import annotations

import json
from pathlib import Path

from duanka.publish.labels import TIER_SHORT as TIER_ZH
from duanka.publish.mask import mask_id


def top_packets_table(index: list[dict], top: int) -> str:
    header = f"{'线索包':<24}{'优先级':>7}  {'等级':<3}{'单位':<12}{'人':>4}{'账户':>5}{'电话':>5}  规则 / 关键人"
    lines = [header, "-" * 100]
    for p in index[:top]:
        key = mask_id(p["persons"][0]) if p["persons"] else "-"
        rules = ",".join(p["rules"][:4]) + ("…" if len(p["rules"]) > 4 else "")
        lines.append(f"{p['packet_id']:<24}{p['priority']:>7.1f}  {TIER_ZH.get(p['tier'], p['tier']):<3}"
                     f"{p['unit_code']:<12}{len(p['persons']):>4}{len(p['accounts']):>5}{len(p['phones']):>5}"
                     f"  {rules} / {key}")
    return "\n".join(lines)


def print_top_packets(home: Path, as_of: str, top: int = 10) -> None:
    day = home / "packets" / as_of
    index = json.loads((day / "index.json").read_text(encoding="utf-8"))
    print()
    print(f"优先级最高的 {min(top, len(index))} 个线索包 (共 {len(index)} 个), 批次 {as_of}:")
    print(top_packets_table(index, top))
    print()
    print(f"索引页 (index page): {(day / 'index.html').resolve()}")
    print(f"运行摘要 (summary):  {(home / 'runs' / as_of / 'summary.json').resolve()}")
    print("网页工作台 (web app): .venv/bin/duanka users add NAME --role investigator --unit UNIT "
          f"--home {home} ; .venv/bin/duanka serve --home {home}")
