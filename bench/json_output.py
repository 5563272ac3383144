"""Size and serialization time of one household's evaluation JSON: compact vs full.

    .venv/bin/python bench/json_output.py [--profile examples/kunming_family.json] [--rounds 5]

For each of a date and a year, prints the bytes of ``to_json()`` (compact, one line), of
``to_json(detail="full")`` and of the format ``to_json()`` wrote before compact output existed
(full, ``indent=2``), and the median time of each over ``--rounds`` rounds, the three
interleaved within a round. Explanations are written before timing (they are written once per
result, on first read, whatever the format), so the figures are serialization alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from gongfu_rules import evaluate

FORMATS = {
    "compact (default)": lambda ev: ev.to_json(),
    "full": lambda ev: ev.to_json(detail="full"),
    "full, indent=2 (before)": lambda ev: json.dumps(ev.to_dict("full"), ensure_ascii=False,
                                                      indent=2),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="examples/kunming_family.json")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    profile = json.loads(Path(args.profile).read_text(encoding="utf-8"))
    for label, when in (("on 2025-08-01", {"on": "2025-08-01"}), ("period 2025", {"period": "2025"})):
        ev = evaluate(profile, **when)
        for fmt in FORMATS.values():  # write explanations, warm caches
            fmt(ev)
        times: dict[str, list[float]] = {name: [] for name in FORMATS}
        sizes = {}
        for _ in range(args.rounds):
            for name, fmt in FORMATS.items():
                t = time.perf_counter()
                text = fmt(ev)
                times[name].append(time.perf_counter() - t)
                sizes[name] = len(text.encode())
        print(f"{args.profile}, {label}, {len(ev.persons)} persons:")
        for name in FORMATS:
            print(f"  {name:26s} {sizes[name] / 1000:8.1f} kB  "
                  f"{statistics.median(times[name]) * 1000:7.2f} ms (median of {args.rounds})")


if __name__ == "__main__":
    main()
