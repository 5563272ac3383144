"""Benchmark: what bringing a household's rows together costs ``gongfu batch``.

Run:

    python bench/batch_households.py                       # 100k persons, 3 reps
    python bench/batch_households.py --persons 1000000 --reps 2

It prints figures only (no asserts). One synthetic caseload (fixed seed; households of 1-5
members in Kunming counties, with the facts 低保 reads) is written as CSV three times: its
households' rows together (the first pass finds nothing to gather), 5 % of its households
split in two places, and every row shuffled (every household of more than one member is
gathered: the worst case). Each run is a fresh ``gongfu batch --only
dibao_household_allowance`` process timed whole, with its peak RSS; the three files take
turns, A B C A B C …, for ``--reps`` repetitions. The fair peer of a gathered file is the
same rows with nothing to gather.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COUNTIES = ["530102", "530103", "530111", "530112", "530113", "530114", "530115", "530181"]
HEADER = "household_id,person_id,birth_date,hukou_region,household.per_capita_monthly_income," \
         "household.area_type\n"


def caseload(persons: int, seed: int = 7) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    rows: list[tuple[str, ...]] = []
    h = 0
    while len(rows) < persons:
        h += 1
        county, income = rng.choice(COUNTIES), str(rng.randrange(0, 1500))
        area = rng.choice(["城市", "农村"])
        for m in range(rng.randint(1, 5)):
            born = f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            rows.append((f"h{h}", f"p{m + 1}", born, county, income, area))
    return rows[:persons]


def write(path: Path, rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER)
        f.writelines(",".join(r) + "\n" for r in rows)


def layouts(rows: list[tuple[str, ...]], seed: int = 7) -> dict[str, list[tuple[str, ...]]]:
    rng = random.Random(seed)
    ids = sorted({r[0] for r in rows})
    split = set(rng.sample(ids, len(ids) // 20))
    first = [r for r in rows if r[0] not in split or r[1] == "p1"]
    rest = [r for r in rows if r[0] in split and r[1] != "p1"]
    shuffled = rows[:]
    rng.shuffle(shuffled)
    return {"together": rows, "5% apart": first + rest, "shuffled": shuffled}


def run(src: Path, out: Path) -> float:
    """Wall seconds of one ``gongfu batch`` process."""
    code = ("import sys; from gongfu_rules.cli import main; sys.exit(main(sys.argv[1:]))")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "batch", str(src), "-o", str(out),
                           "--on", "2025-08-01", "--only", "dibao_household_allowance",
                           "--no-progress"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise SystemExit(proc.stderr)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {}
        for name, rows in layouts(caseload(args.persons)).items():
            files[name] = folder / f"{name.replace(' ', '_').replace('%', '')}.csv"
            write(files[name], rows)
        times: dict[str, list[float]] = {n: [] for n in files}
        peaks: dict[str, float] = {}
        for _ in range(args.reps):
            for name, src in files.items():
                times[name].append(run(src, folder / "out.csv"))
        for name, src in files.items():
            peaks[name] = _peak(src, folder / "out.csv")
    print(f"gongfu batch --only dibao_household_allowance, {args.persons:,} persons, CSV → CSV, "
          f"{args.reps} interleaved reps, {os.cpu_count()} CPUs")
    print("| rows of a household | wall s (median) | min | peak RSS MB |")
    print("|---|---|---|---|")
    for name in files:
        print(f"| {name} | {statistics.median(times[name]):.2f} | {min(times[name]):.2f} | "
              f"{peaks[name]:.0f} |")


def _peak(src: Path, out: Path) -> float:
    """Peak RSS (MB) of one run, from a fresh parent: RUSAGE_CHILDREN's peak is the largest
    child's so far, so each layout is measured alone."""
    code = ("import resource, sys; sys.path[:0] = [sys.argv[3]]; "
            "from batch_households import run; from pathlib import Path; "
            "run(Path(sys.argv[1]), Path(sys.argv[2])); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(out),
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          check=True)
    return float(proc.stdout.strip())


if __name__ == "__main__":
    main()
