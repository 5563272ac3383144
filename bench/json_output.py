"""Size and serialization time of one household's evaluation JSON: compact vs full, and
the results' kept texts vs writing every result.

    .venv/bin/python bench/json_output.py [--profile examples/kunming_family.json] [--rounds 5]

For each of a date and a year, prints the bytes and the median time over ``--rounds`` rounds
(the formats interleaved within a round) of: ``to_json()`` (compact, one line) and
``to_json(detail="full")``, each as a portal sees them once the results are shared with
earlier evaluations ("texts kept": the evaluation's results written before) and for results
never written ("first time": the kept texts emptied first); the full JSON as the HTTP
service sends it (``json_bytes``: UTF-8, no ``str`` made), and gzipped at levels 1 and 6
(``gongfu serve --gzip-level``); the same JSON from
``json.dumps(to_dict(...))``, what ``to_json()`` did before it kept texts; and the format
``to_json()`` wrote before compact output existed (full, ``indent=2``). Explanations are
written before timing (they are written once per result, on first read, whatever the
format), so the figures are serialization alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path

from gongfu_rules import evaluate
from gongfu_rules import results as results_module


def _nothing(ev) -> None:
    pass


def _kept(detail: str):
    """(untimed: the texts written once, as an earlier evaluation would; timed: to_json)"""
    def write(ev):
        return ev.to_json(detail=detail)
    return write, write


def _first_time(detail: str):
    return (lambda ev: results_module._texts.clear()), (lambda ev: ev.to_json(detail=detail))


def _from_dict(detail: str):
    return _nothing, lambda ev: json.dumps(ev.to_dict(detail), ensure_ascii=False,
                                           separators=(",", ":"))


def _gzipped(level: int):
    """The full JSON as ``gongfu serve --gzip-level`` sends it to a client that accepts gzip."""
    return (lambda ev: ev.json_bytes("full"),
            lambda ev: gzip.compress(ev.json_bytes("full"), compresslevel=level))


#: name: (untimed preparation, timed writing)
FORMATS = {
    "compact, texts kept": _kept("compact"),
    "compact, first time": _first_time("compact"),
    "compact, from to_dict (before)": _from_dict("compact"),
    "full, texts kept": _kept("full"),
    "full, texts kept, as HTTP sends": (lambda ev: ev.json_bytes("full"),
                                        lambda ev: ev.json_bytes("full")),
    "full, texts kept, gzip level 1": _gzipped(1),
    "full, texts kept, gzip level 6": _gzipped(6),
    "full, first time": _first_time("full"),
    "full, from to_dict (before)": _from_dict("full"),
    "full, indent=2 (earlier)": (_nothing, lambda ev: json.dumps(
        ev.to_dict("full"), ensure_ascii=False, indent=2)),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="examples/kunming_family.json")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    profile = json.loads(Path(args.profile).read_text(encoding="utf-8"))
    for label, when in (("on 2025-08-01", {"on": "2025-08-01"}), ("period 2025", {"period": "2025"})):
        ev = evaluate(profile, **when)
        for _, fmt in FORMATS.values():  # write explanations, warm caches
            fmt(ev)
        times: dict[str, list[float]] = {name: [] for name in FORMATS}
        sizes = {}
        for _ in range(args.rounds):
            for name, (prepare, fmt) in FORMATS.items():
                prepare(ev)
                t = time.perf_counter()
                text = fmt(ev)
                times[name].append(time.perf_counter() - t)
                sizes[name] = len(text if isinstance(text, bytes) else text.encode())
        print(f"{args.profile}, {label}, {len(ev.persons)} persons:")
        for name in FORMATS:
            print(f"  {name:31s} {sizes[name] / 1000:8.1f} kB  "
                  f"{statistics.median(times[name]) * 1000:7.2f} ms (median of {args.rounds})")


if __name__ == "__main__":
    main()
