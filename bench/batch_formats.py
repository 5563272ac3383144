"""Benchmark: ``gongfu batch`` from and to each file format, xlsx→xlsx, CSV→CSV, Parquet→Parquet.

Run (see bench/README.md):

    python bench/batch_formats.py                          # 100k and 1M persons, 3 reps
    python bench/batch_formats.py --sizes 100000 --reps 3  # the quick one

It prints figures only (no asserts). The synthetic Yunnan caseload of ``batch_caseload.py``
(fixed seed) is written once per size as Parquet, CSV and an Excel workbook the way a county
exports one (birth dates as date cells, ID numbers and region codes as text cells, incomes as
numbers). Each run is a fresh process, ``gongfu batch IN -o OUT --on DATE`` with every
standard (the wide layout), timed whole (start-up, reading, evaluating, writing) with its
peak RSS; the runs take turns (xlsx→xlsx, CSV→CSV, Parquet→Parquet, CSV→xlsx, then again)
for ``--reps`` repetitions, and each figure is the median with the spread (min–max) beside it.

The question it answers: does an Excel output cost memory that grows with the rows (it must
not), and how far is it from CSV's (aim: within 1.5×)? CSV→xlsx against CSV→CSV answers it
for the writer alone; xlsx→xlsx adds the Excel reader, which holds the whole sheet.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from batch_caseload import caseload, gongfu_exe, measured_run  # noqa: E402

#: (input, output) formats; CSV → xlsx isolates the Excel writer's cost from the reader's.
RUNS = ("xlsx-xlsx", "csv-csv", "parquet-parquet", "csv-xlsx")


def inputs(persons: int, seed: int, on: date, workdir: Path) -> dict[str, Path]:
    """The caseload as Parquet, CSV and .xlsx, written once per size and seed."""
    parquet = caseload(persons, seed, on, workdir)
    paths = {"parquet": parquet, "csv": parquet.with_suffix(".csv"),
             "xlsx": parquet.with_suffix(".xlsx")}
    if not paths["csv"].exists():
        pl.read_parquet(parquet).write_csv(paths["csv"])
    if not paths["xlsx"].exists():
        t0 = time.perf_counter()
        _write_roster(pl.read_parquet(parquet), paths["xlsx"])
        print(f"  {paths['xlsx'].name} written in {time.perf_counter() - t0:.0f} s "
              f"({paths['xlsx'].stat().st_size / 2**20:,.0f} MB)")
    return paths


def _write_roster(frame: pl.DataFrame, path: Path) -> None:
    """An export as a county office's would be: dates as date cells, codes as text."""
    from gongfu_rules.spreadsheet import SheetWriter
    scratch = path.with_name(path.name + ".parts")
    partial = path.with_name(path.name + ".partial")
    writer = SheetWriter(partial, scratch)
    for offset in range(0, frame.height, 100_000):
        writer.write(frame.slice(offset, 100_000))
    writer.finish()
    partial.rename(path)


WRITER = """
import sys, time
from decimal import Decimal
from pathlib import Path
import polars as pl
from gongfu_rules.spreadsheet import SheetWriter
rows, out = int(sys.argv[1]), Path(sys.argv[2])
chunk = pl.DataFrame({"row": range(50_000), "household_id": ["h00012345"] * 50_000,
                      **{f"s{i}.status": ["eligible", "not_eligible"] * 25_000 for i in range(4)},
                      **{f"s{i}.amount": [Decimal("1374.00"), None] * 25_000 for i in range(4)}},
                     schema_overrides={f"s{i}.amount": pl.Decimal(38, 2) for i in range(4)})
writer = SheetWriter(out, out.with_name(out.name + ".parts"))
for offset in range(0, rows, 50_000):
    writer.write(chunk.head(min(50_000, rows - offset)))
writer.finish()
"""


def writer_only(sizes: list[int], workdir: Path) -> None:
    """The Excel writer alone, rows of 10 cells in chunks of 50,000, one fresh process per
    size: its peak RSS must not grow with the rows."""
    print("\n| rows written (10 columns) | wall s | peak RSS MB |\n|---:|---:|---:|")
    for size in sizes:
        out = workdir / f"writer_{size}.xlsx"
        run = measured_run([sys.executable, "-c", WRITER, str(size), str(out)])
        if run["rc"]:
            sys.exit(run["stderr"][-2000:])
        out.unlink()
        print(f"| {size:,} | {run['seconds']:.1f} | {run['rss_mb']:,.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="persons, comma-separated")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--on", default="2025-08-01")
    ap.add_argument("--runs", default=",".join(RUNS), help="input-output format pairs")
    ap.add_argument("--workdir", default="/tmp/gongfu-bench")
    ap.add_argument("--writer-rows", default="",
                    help="also time the Excel writer alone at these row counts (e.g. "
                         "100000,1000000)")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    on = date.fromisoformat(args.on)
    formats = args.runs.split(",")
    exe = gongfu_exe()
    print(f"# gongfu batch by format — {platform.python_version()}, polars {pl.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    if args.writer_rows:
        writer_only([int(s) for s in args.writer_rows.split(",")], workdir)
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        paths = inputs(size, args.seed, on, workdir)
        runs: dict[str, list[dict]] = {f: [] for f in formats}
        for rep in range(args.reps):
            for fmt in formats:  # interleaved: each pair once per rep, in turn
                source, target = fmt.split("-")
                out = workdir / f"out_{size}_{source}.{target}"
                run = measured_run([*exe, "batch", str(paths[source]), "-o", str(out), "--on",
                                    args.on, "--no-progress"])
                if run["rc"] not in (0, 3):
                    sys.exit(f"{fmt} run failed ({run['rc']}):\n{run['stderr'][-2000:]}")
                run["load"] = os.getloadavg()[0]
                runs[fmt].append(run)
                print(f"  {size:>9,} {fmt:<16} rep {rep + 1}: {run['seconds']:7.1f} s "
                      f"{run['rss_mb']:8,.0f} MB  (load {run['load']:.1f})", flush=True)
        for fmt in formats:
            secs = [r["seconds"] for r in runs[fmt]]
            rss = [r["rss_mb"] for r in runs[fmt]]
            rows.append((size, fmt, secs, rss, max(r["load"] for r in runs[fmt])))
    if not rows:
        return
    print("\n| persons | in → out | wall s, median (min–max) | peak RSS MB, median "
          "(min–max) | RSS ÷ CSV → CSV's | load avg (max) |")
    print("|---:|---|---:|---:|---:|---:|")
    csv_rss = {size: statistics.median(rss) for size, fmt, _, rss, _ in rows
               if fmt == "csv-csv"}
    for size, fmt, secs, rss, load in rows:
        ratio = statistics.median(rss) / csv_rss[size] if size in csv_rss else float("nan")
        print(f"| {size:,} | {fmt.replace('-', ' → ')} | {statistics.median(secs):.1f} ({min(secs):.1f}–"
              f"{max(secs):.1f}) | {statistics.median(rss):,.0f} ({min(rss):,.0f}–"
              f"{max(rss):,.0f}) | {ratio:.2f} | {load:.1f} |")


if __name__ == "__main__":
    main()
