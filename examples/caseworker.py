"""A caseworker (经办人员): evaluate a county roster with Chinese headers and read the totals.

    python examples/caseworker.py [OUTPUT_DIR] [--on YYYY-MM-DD]

Writes the example roster (make_county_roster.py) into OUTPUT_DIR, runs the same batch as
`gongfu batch county_roster.xlsx -o results.xlsx --on DATE --headers zh`, and prints what the
summary file says for every standard someone is eligible for.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from make_county_roster import write_roster

from gongfu_rules.batch import run_batch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", help="output folder (default: a temporary one)")
    ap.add_argument("--on", default="2025-08-01")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="gongfu-roster-"))
    out.mkdir(parents=True, exist_ok=True)
    roster = write_roster(out / "county_roster.xlsx")
    report = run_batch(roster, out / "results.xlsx", on=args.on, headers="zh", progress=False)
    print(f"{report.rows} rows read, {report.evaluated} evaluated, {report.failed_rows} set aside")
    with open(report.summary, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            # The summary of a --headers zh run has Chinese headers too.
            if int(row["符合（人或户）"]):
                # empty: no amount is known (set locally, or a free service)
                total = row["金额合计（元）"]
                amount = f"{total} 元 per period" if total else "no amount known"
                print(f"{row['标准编号']}: {row['符合（人或户）']} eligible, {amount} "
                      f"({row['标准']})")
    print(f"results: {report.output}")


if __name__ == "__main__":
    main()
