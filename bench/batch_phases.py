"""Benchmark: the phases of ``gongfu batch``, per 50,000-row chunk.

Run (see bench/README.md):

    python bench/batch_phases.py CASELOAD.parquet            # e.g. the 1M file batch_caseload.py writes
    python bench/batch_phases.py CASELOAD.parquet --reps 7
    python bench/batch_phases.py CASELOAD.parquet --only ID,ID,... --detail full

It prints figures only. On the file's first chunk, each phase is timed alone (best of
``--reps``, wall and CPU seconds) and scaled to the whole file: reading and gathering the
chunks (the whole file), typing and checking the cells (``columns.typed_frame``), the rule
evaluation (``evaluate_frame``, of every standard or those of ``--only``, for ``--detail``),
amounts to Decimal 元 (``table.money_columns``), the summary (``batch._Summary.add``) and the
Parquet writer (``batch._Writer.write``). In a run the first two are on a reading thread, the
evaluation on the main thread and the last three on a writing thread; run it from two
checkouts in turn to compare them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from gongfu_rules import batch
from gongfu_rules.columns import map_headers, typed_frame
from gongfu_rules.evaluate import default_standards
from gongfu_rules.households import numbered
from gongfu_rules.table import OVERFLOW_COLUMN, money_columns

CHUNK = 50_000
ON = date(2025, 8, 1)


def best(work: Callable[[], object], reps: int) -> tuple[float, float]:
    """The least wall and CPU seconds of ``reps`` runs."""
    walls, cpus = [], []
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("caseload", type=Path)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default=None,
                        help="comma-separated standard ids, as gongfu batch --only")
    parser.add_argument("--detail", default="narrow", choices=("narrow", "full"))
    args = parser.parse_args()
    std = default_standards()
    only = args.only.split(",") if args.only else None
    rows = pl.scan_parquet(args.caseload).select(pl.len()).collect().item()
    chunks = -(-rows // CHUNK)
    chunk = next(numbered([pl.read_parquet(args.caseload, n_rows=CHUNK)]))
    mapping, _ = map_headers(chunk.columns)
    typed, _ = typed_frame(chunk, mapping, last_day=ON)
    raw = batch._evaluate(typed, (ON,), std, False, only, args.detail) \
        .with_columns(typed.get_column("row")).drop(OVERFLOW_COLUMN)
    wide = money_columns(raw)
    summary = batch._Summary(std)

    def read_all() -> None:
        report = batch.BatchReport()
        for _ in batch._chunks(args.caseload, CHUNK, False, report,
                               batch.needed_fields(std), []):
            pass

    def write_all(folder: Path) -> None:  # the first chunk as many times as the file has
        writer = batch._Writer(folder / "results.parquet")
        for _ in range(chunks):
            writer.write(wide)
        writer.finish()
        writer.abort()
    print(f"{args.caseload.name}: {rows:,} rows, {chunks} chunks of {CHUNK:,}; "
          f"best of {args.reps}, scaled to the file")
    with tempfile.TemporaryDirectory(prefix="gongfu-bench-") as folder:
        phases = {
            "_chunks (read, gather)": (read_all, 1),
            "typed_frame": (lambda: typed_frame(chunk, mapping, last_day=ON), chunks),
            "evaluate_frame": (lambda: batch._evaluate(typed, (ON,), std, False, only,
                                                       args.detail), chunks),
            "money_columns": (lambda: money_columns(raw), chunks),
            "_Summary.add": (lambda: summary.add(wide, typed), chunks),
            "_Writer.write (Parquet)": (lambda: write_all(Path(folder)), 1),
        }
        for name, (work, times) in phases.items():
            wall, cpu = best(work, args.reps if times > 1 else max(1, args.reps // 2))
            print(f"  {name:26s} wall {wall * times:6.2f} s   cpu {cpu * times:6.2f} s")


if __name__ == "__main__":
    main()
