"""Policy staff (政策研究人员): how does the same caseload fare on two dates?

    python examples/policy.py [ROSTER.xlsx] [--before 2024-08-01] [--after 2025-08-01]

Evaluates every person of the roster on both dates with the bundled standards and prints, per
standard whose monthly total changed, the totals and the parameter values behind the change:
a dated rise in the standards is a change of policy a caseload can be costed on. A proposed
change is costed with a reform file instead: `gongfu reform compare` (docs/reforms.md).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from make_county_roster import write_roster

import polars as pl
from gongfu_rules import default_standards, evaluate_table


def totals(roster: Path, on: str) -> dict[str, tuple[Decimal, int, set[str]]]:
    """Per standard: the total amount, how many eligible results have no known amount, and
    the regions whose values applied."""
    table = evaluate_table(roster, on=on, detail="full")   # with value_region and sources
    out = {}
    for column in table.columns:
        if column.endswith(".amount"):
            sid = column.removesuffix(".amount")
            eligible = table.filter(pl.col(f"{sid}.status") == "eligible")
            out[sid] = (eligible.get_column(column).sum() or Decimal(0),
                        eligible.get_column(column).null_count(),
                        set(eligible.get_column(f"{sid}.value_region").drop_nulls()))
    return out


def shown(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {'unknown' if v is None else v}" for k, v in value.items())
    return "unknown" if value is None else str(value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("roster", nargs="?")
    ap.add_argument("--before", default="2024-08-01")
    ap.add_argument("--after", default="2025-08-01")
    args = ap.parse_args()
    roster = Path(args.roster) if args.roster else \
        write_roster(Path(tempfile.mkdtemp(prefix="gongfu-policy-")) / "county_roster.xlsx")
    before, after = totals(roster, args.before), totals(roster, args.after)
    std = default_standards()
    start, end = date.fromisoformat(args.before), date.fromisoformat(args.after)
    for sid in sorted(before):
        (old, old_unknown, _), (new, new_unknown, used) = before[sid], after[sid]
        if (old, old_unknown) == (new, new_unknown):
            continue
        s = std[sid]
        unknown = "".join(f" (+ {n} eligible with the amount unknown on {d})" for n, d in
                          ((old_unknown, args.before), (new_unknown, args.after)) if n)
        print(f"{sid} ({s.name.zh}): {old} → {new} 元 a {s.period}{unknown}")
        rule = s.rule_on(end)
        for name in rule.params if rule else ():
            for region, entries in std.parameter(s, name).timelines.items():
                for e in entries:
                    if region in used and start < e.start <= end:
                        print(f"    p.{name} [{region}] from {e.start}: {shown(e.value)} "
                              f"({e.source.document}; {e.reliability})")
    print(f"all amounts (each per its own period): {sum(t[0] for t in before.values())} → "
          f"{sum(t[0] for t in after.values())} 元")


if __name__ == "__main__":
    main()
