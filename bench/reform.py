"""Reform cost against a plain baseline run, on one synthetic population.

    python bench/reform.py [--size 1000000] [--rounds 2] [--on 2026-08-01]

Times, interleaved round by round on the same population (``gongfu population synth``):

- *baseline*: ``evaluate_table`` of every bundled standard under the baseline (what a
  caseworker's ``gongfu batch`` evaluates);
- *one-standard reform*: the whole ``compare`` of ``examples/reform_orphan_2100.yaml`` (baseline
  and reform of the standards it can change, and every figure of the report);
- *all-standards reform*: the same for a reform that switches every standard off from a date, so
  every standard is evaluated under both sets.

It prints seconds per run and each reform's ratio to the baseline (the issue's aims: one
standard ≤ 1.5×, every standard ≤ 2.5×).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gongfu_rules.batch import evaluate_table
from gongfu_rules.evaluate import default_standards
from gongfu_rules.reform import apply_reform, parse_reform, read_reform
from gongfu_rules.reform.impact import compare, read_population
from gongfu_rules.reform.population import synthesize, write_population

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="persons")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--on", default="2026-08-01")
    args = ap.parse_args()

    baseline = default_standards()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "population.parquet"
        write_population(synthesize(args.size, seed=1), path)
        population = read_population(path)
    one = apply_reform(baseline, read_reform(ROOT / "examples" / "reform_orphan_2100.yaml"))
    every = apply_reform(baseline, parse_reform({
        "name": "bench: every standard off", "description": "bench", "author": "bench",
        "sources": {"bench": {"document": "bench", "quote": "bench", "reliability": "unverified"}},
        "changes": [{"standard": s.id, "enabled": False, "from": "2026-07-01"}
                    for s in baseline if s.rules]}))
    print(f"{population.frame.height:,} persons; standards: all {len(baseline)}, one-standard "
          f"reform evaluates {len(one.affected)}, all-standards reform {len(every.affected)}")

    runs = {
        "baseline": lambda: evaluate_table(population.frame, args.on, standards=baseline,
                                           ignore_extra_columns=True),
        "one-standard reform": lambda: compare(population, baseline, one, on=args.on),
        "all-standards reform": lambda: compare(population, baseline, every, on=args.on),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, run in runs.items():  # interleaved: each round runs all three in turn
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
            print(f"  round {r + 1} {name:<22} {seconds[name][-1]:8.2f} s", flush=True)
    base = statistics.median(seconds["baseline"])
    print(f"\n{'run':<22} {'median s':>9} {'x baseline':>11}")
    for name, values in seconds.items():
        m = statistics.median(values)
        print(f"{name:<22} {m:9.2f} {m / base:11.2f}")


if __name__ == "__main__":
    main()
