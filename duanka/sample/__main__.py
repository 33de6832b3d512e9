"""`python -m duanka.sample OUT_DIR --seed 7 --leads 2500 --nights 2`: write a sample delivery."""
from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from duanka.sample import generate


def main() -> None:
    parser = argparse.ArgumentParser(description="生成模拟下发数据（含真值 truth.json）")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--leads", type=int, default=2500)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 3))
    args = parser.parse_args()
    began = time.perf_counter()
    summary = generate(args.out_dir, args.seed, args.leads, args.nights, args.start)
    summary["seconds"] = round(time.perf_counter() - began, 2)
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
