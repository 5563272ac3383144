"""Benchmark: the phases of ``gongfu batch``, per 50,000-row chunk.

Run (see bench/README.md):

    python bench/batch_phases.py CASELOAD.parquet            # e.g. the 1M file batch_caseload.py writes
    python bench/batch_phases.py CASELOAD.parquet --reps 7
    python bench/batch_phases.py CASELOAD.parquet --only ID,ID,... --detail full
    python bench/batch_phases.py CASELOAD.parquet --against /tmp/before   # two trees in turn
    python bench/batch_phases.py CASELOAD.parquet --headers zh   # the caseworker's layout

It prints figures only. On the file's first chunk, each phase is timed alone (best of
``--reps``, wall and CPU seconds) and scaled to the whole file: reading and gathering the
chunks (the whole file), typing and checking the cells (``columns.typed_frame``), the rule
evaluation (``evaluate_frame``, of every standard or those of ``--only``, for ``--detail``),
amounts to Decimal 元 (``table.money_columns``), the summary (``batch._Summary.add``), with
``--headers zh`` the caseworker's layout (``layout.wide_zh``; the evaluation then gives the
fields it reads, as that tree's ``gongfu batch --headers zh`` evaluates them) and the
Parquet writer (``batch._Writer.write``). In a run the first two are on a reading thread,
the evaluation on the main thread and the rest on a writing thread.

``--against SRC`` (another source tree of gongfu, e.g. a ``git worktree`` of an earlier
commit) loads that tree's modules too, in this one process, and times every phase of the two
trees in turn, A B B A …, so that the machine's drift and the order touch both alike; it
prints each tree's best and the median of the rep-by-rep ratio of wall times. The phases call
internal functions, so the two trees must share them.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import polars as pl

CHUNK = 50_000
ON = date(2025, 8, 1)
HERE = Path(__file__).resolve().parent


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``work``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def load(src: Path | None) -> SimpleNamespace:
    """gongfu's modules from the tree ``src`` (None: as installed), as a fresh import: the
    modules of a tree loaded before stay alive in the namespace that holds them."""
    for name in [n for n in sys.modules if n == "gongfu_rules" or n.startswith("gongfu_rules.")]:
        del sys.modules[name]
    if src is not None:
        sys.path.insert(0, str(src / "src"))
    try:
        modules = {m: importlib.import_module(f"gongfu_rules.{m}")
                   for m in ("batch", "columns", "evaluate", "households", "layout", "table")}
    finally:
        if src is not None:
            sys.path.remove(str(src / "src"))
    return SimpleNamespace(**modules)


def phases(g: SimpleNamespace, args: argparse.Namespace, folder: Path
           ) -> dict[str, tuple[Callable[[], object], int]]:
    """Each phase of one tree (``load``) on the file's first chunk, with the number of times
    it runs in the whole file."""
    std = g.evaluate.default_standards()
    only = args.only.split(",") if args.only else None
    rows = pl.scan_parquet(args.caseload).select(pl.len()).collect().item()
    chunks = -(-rows // CHUNK)
    chunk = next(g.households.numbered([pl.read_parquet(args.caseload, n_rows=CHUNK)]))
    mapping, _ = g.columns.map_headers(chunk.columns)
    typed, _ = g.columns.typed_frame(chunk, mapping, last_day=ON)
    zh = args.headers == "zh"
    # as that tree's gongfu batch evaluates for the zh layout on a date: the narrow fields
    # with the reasons and missing facts (table.CASEWORKER) where it has that, else every one
    detail = args.detail if not zh else getattr(g.table, "CASEWORKER", "full") \
        if args.detail == "narrow" else "full"
    raw = g.batch._evaluate(typed, (ON,), std, False, only, detail) \
        .with_columns(typed.get_column("row")).drop(g.table.OVERFLOW_COLUMN)
    wide = g.table.money_columns(raw)
    given = frozenset(mapping.values())
    written = g.layout.wide_zh(wide, std, full=args.detail == "full", given=given) if zh else wide
    summary = g.batch._Summary(std)

    def read_all() -> None:
        report = g.batch.BatchReport()
        for _ in g.batch._chunks(args.caseload, CHUNK, False, report,
                                 g.batch.needed_fields(std), []):
            pass

    def write_all() -> None:  # the first chunk as many times as the file has
        writer = g.batch._Writer(folder / "results.parquet")
        for _ in range(chunks):
            writer.write(written)
        writer.finish()
        writer.abort()

    print(f"{args.caseload.name}: {rows:,} rows, {chunks} chunks of {CHUNK:,}")
    return {
        "_chunks (read, gather)": (read_all, 1),
        "typed_frame": (lambda: g.columns.typed_frame(chunk, mapping, last_day=ON), chunks),
        "evaluate_frame": (lambda: g.batch._evaluate(typed, (ON,), std, False, only,
                                                     detail), chunks),
        "money_columns": (lambda: g.table.money_columns(raw), chunks),
        "_Summary.add": (lambda: summary.add(wide, typed), chunks),
        **({"wide_zh (caseworker's layout)": (lambda: g.layout.wide_zh(
            wide, std, full=args.detail == "full", given=given), chunks)} if zh else {}),
        "_Writer.write (Parquet)": (write_all, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("caseload", type=Path)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default=None,
                        help="comma-separated standard ids, as gongfu batch --only")
    parser.add_argument("--detail", default="narrow", choices=("narrow", "full"))
    parser.add_argument("--headers", default="en", choices=("en", "zh"),
                        help="zh: time the caseworker's layout too, as gongfu batch --headers zh")
    parser.add_argument("--against", type=Path, default=None, metavar="SRC",
                        help="another source tree of gongfu, timed in turn in this process")
    args = parser.parse_args()
    trees = {"this tree": HERE.parent} if args.against is None else \
        {"this tree": HERE.parent, args.against.resolve().name: args.against.resolve()}
    with tempfile.TemporaryDirectory(prefix="gongfu-bench-") as folder:
        work = {name: phases(load(src), args, Path(folder)) for name, src in trees.items()}
        names = list(work["this tree"])
        # per tree and phase, the (wall, CPU) of each rep; a whole-file phase runs fewer reps
        times = {t: {p: [] for p in names} for t in trees}
        for rep in range(args.reps):
            for phase in names:
                if work["this tree"][phase][1] == 1 and rep >= max(1, args.reps // 2):
                    continue
                # in turn, phase by phase, the first tree of a turn alternating (A B, B A ...)
                for tree in list(trees)[::1 if rep % 2 == 0 else -1]:
                    times[tree][phase].append(timed(work[tree][phase][0]))
    print(f"best of {args.reps} (whole-file phases: of {max(1, args.reps // 2)}), "
          "scaled to the file" + ("" if args.against is None else "; trees in turn"))
    for phase in names:
        scale = work["this tree"][phase][1]
        for tree in trees:
            wall = min(w for w, _ in times[tree][phase]) * scale
            cpu = min(c for _, c in times[tree][phase]) * scale
            label = phase if len(trees) == 1 else f"{phase} [{tree}]"
            print(f"  {label:40s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
        if len(trees) == 2:
            mine, theirs = (times[t][phase] for t in trees)
            ratios = [t[0] / m[0] for m, t in zip(mine, theirs)]
            print(f"    {list(trees)[1]} ÷ this tree, wall, rep by rep: median "
                  f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})")


if __name__ == "__main__":
    main()
