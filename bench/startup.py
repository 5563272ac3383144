"""Benchmark: start-up, a small command run whole, this checkout against another one.

Run (see bench/README.md):

    python bench/startup.py --other /tmp/base                 # a checkout of main, say
    python bench/startup.py --other /tmp/base --runs 9 --rows 10

It prints figures only (no asserts). Each run is a fresh process, timed whole (interpreter,
imports, loading the standards, the work, writing), and the trees take turns, A B A B …, so
that a busy machine slows both alike. Two commands, each on both trees:

* ``gongfu batch`` of a ``--rows``-row Parquet file (the first rows of ``--caseload``), every
  standard, Parquet out;
* ``gongfu evaluate`` of ``examples/kunming_family.json``.

For each: the median and the spread (lowest–highest) of the wall time and of the CPU time
(user + system, less disturbed by other work on the machine than the wall time), and the
ratio of the medians. Both trees run with the Python running this script; a tree's ``src``
goes first on ``PYTHONPATH``, and its standards are its own. Before timing, one untimed run
of each command per tree fills the standards cache (``~/.cache/gongfu-rules``) and lets
Python write the bytecode of each tree, as on a user's machine after the first run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASELOAD = "/tmp/gongfu-bench/caseload_1000000_20250801_2025-08-01.parquet"
ON = "2025-08-01"
LAUNCH = "import sys; from gongfu_rules.cli import main; sys.argv[0] = 'gongfu'; sys.exit(main())"


def commands(small: Path, out: Path) -> dict[str, list[str]]:
    return {
        "batch": ["batch", str(small), "-o", str(out), "--on", ON, "--no-progress"],
        "evaluate": ["evaluate", str(REPO / "examples" / "kunming_family.json"), "--on", ON],
    }


def run(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole ``gongfu`` process on ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps bytecode
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCH, *args], env=env, cwd=tree,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3):
        sys.exit(f"{tree}: gongfu {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def small_file(caseload: str, rows: int, folder: Path) -> Path:
    import polars as pl
    path = folder / f"c{rows}.parquet"
    pl.read_parquet(caseload, n_rows=rows).write_parquet(path)
    return path


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--other", type=Path, required=True, help="the other checkout (its src/)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per tree and command")
    ap.add_argument("--rows", type=int, default=10, help="rows of the batch file")
    ap.add_argument("--caseload", default=CASELOAD, help="the Parquet file the rows come from")
    args = ap.parse_args()
    trees = {"this": REPO, "other": args.other.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cmds = commands(small_file(args.caseload, args.rows, folder), folder / "out.parquet")
        for tree in trees.values():  # untimed: cache and bytecode, as after a first run
            for cmd in cmds.values():
                run(tree, cmd)
        times = {(t, c): [] for t in trees for c in cmds}
        for _ in range(args.runs):
            for c, cmd in cmds.items():
                for t, tree in trees.items():
                    times[t, c].append(run(tree, cmd))
    print(f"start-up: whole process, {args.runs} runs each, trees interleaved; "
          f"this = {trees['this']}, other = {trees['other']}; Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<10} {'tree':<6} {'wall: median (range)':<28} {'CPU: median (range)':<28}")
    for c in cmds:
        for t in trees:
            walls, cpus = zip(*times[t, c])
            print(f"{c:<10} {t:<6} {describe(list(walls)):<28} {describe(list(cpus)):<28}")
        ratio = [statistics.median(x[i] for x in times["this", c]) /
                 statistics.median(x[i] for x in times["other", c]) for i in (0, 1)]
        print(f"{c:<10} this/other: wall {ratio[0]:.2f}, CPU {ratio[1]:.2f}")
    print(f"batch: {args.rows} rows of {args.caseload}, every standard, Parquet out; "
          "evaluate: examples/kunming_family.json")


if __name__ == "__main__":
    main()
