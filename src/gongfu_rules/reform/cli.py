"""``gongfu reform compare`` and ``gongfu population synth`` (registered by :mod:`gongfu_rules.cli`).

    gongfu reform compare --population FILE --reform REFORM.yaml (--on DATE | --period P)
        [--report report.html] [--lang zh|en] [--format json|csv|markdown]
        [--target-cost AMOUNT --vary PARAM]
    gongfu population synth --size N [--region 53] --seed S -o caseload.csv

The Polars-based parts are imported when a command runs, so ``gongfu`` works without the
``batch`` extra until one of these is asked for.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import InputError


def add_commands(sub: argparse._SubParsersAction) -> None:
    re_ = sub.add_parser("reform", help="cost a reform on a population (baseline vs reform)")
    re_sub = re_.add_subparsers(required=True, metavar="ACTION")
    cmp_ = re_sub.add_parser("compare", help="baseline and reform on one population")
    cmp_.add_argument("--population", required=True, help="a caseload file (CSV, Excel, Parquet, "
                      "JSONL), optionally with a weight column")
    cmp_.add_argument("--reform", required=True, help="a reform file (YAML; docs/reforms.md)")
    when = cmp_.add_mutually_exclusive_group(required=True)
    when.add_argument("--on", help="a date: the cost is that day's amounts as a year")
    when.add_argument("--period", help="a year (2026) or month: the cost is what is paid in it")
    cmp_.add_argument("--report", help="write the offline HTML report here (and .md, .csv beside it)")
    cmp_.add_argument("--lang", choices=("zh", "en"), default="zh")
    cmp_.add_argument("--format", choices=("json", "csv", "markdown"), default="markdown",
                      help="what is printed on standard output")
    cmp_.add_argument("--target-cost", help="find the value of --vary whose cost meets this "
                      "amount (yuan, the change against the baseline)")
    cmp_.add_argument("--vary", help="PARAM or PARAM[key]: a parameter the reform sets")
    cmp_.add_argument("--examples", type=int, default=5, help="example households shown")
    cmp_.add_argument("--standards", help="a standards directory (default: the bundled one)")
    cmp_.set_defaults(run=_cmd_compare)

    po = sub.add_parser("population", help="synthetic populations")
    po_sub = po.add_subparsers(required=True, metavar="ACTION")
    syn = po_sub.add_parser("synth", help="a weighted synthetic caseload of Yunnan's counties")
    syn.add_argument("--size", type=int, required=True, help="persons (rows) to write")
    syn.add_argument("--region", default="53", help="a province, prefecture or county code")
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("-o", "--output", required=True, help="CSV, Parquet or JSONL file")
    syn.set_defaults(run=_cmd_synth)


def _need_batch() -> None:
    try:
        import polars  # noqa: F401
    except ImportError:
        raise InputError.one("extra_missing", "this command needs the batch extra: "
                             "pip install 'gongfu-rules[batch]'", loc=("command",)) from None


def _cmd_compare(args: argparse.Namespace) -> int:
    _need_batch()
    from ..evaluate import default_standards
    from ..load.loader import load_standards
    from . import impact as im
    from . import report
    from .apply import apply_reform, read_reform
    from .target import find_value

    if (args.target_cost is None) != (args.vary is None):
        raise InputError.one("target_invalid", "--target-cost and --vary go together",
                             loc=("target_cost",))
    baseline = load_standards(args.standards) if args.standards else default_standards()
    reform = read_reform(args.reform)
    population = im.read_population(args.population)
    target = None
    if args.target_cost is not None:
        found = find_value(population, baseline, reform, args.vary, _amount(args.target_cost),
                           on=args.on, period=args.period)
        applied, target = found.applied, found.to_dict()
    else:
        applied = apply_reform(baseline, reform)
    for w in applied.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if population.ignored:
        print(f"columns not read (not profile fields): {', '.join(population.ignored)}",
              file=sys.stderr)
    result = im.compare(population, baseline, applied, on=args.on, period=args.period,
                        examples=args.examples)
    result.target = target
    if args.report:
        path = Path(args.report)
        path.write_text(report.to_html(result, args.lang), encoding="utf-8")
        path.with_suffix(".md").write_text(report.to_markdown(result, args.lang), encoding="utf-8")
        path.with_suffix(".csv").write_text(report.to_csv(result), encoding="utf-8-sig")
    out = {"json": report.to_json, "csv": report.to_csv}.get(args.format)
    print(out(result) if out else report.to_markdown(result, args.lang), end="")
    return 0


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InputError.one("target_invalid", f"--target-cost takes an amount in yuan, not "
                             f"'{text}'", loc=("target_cost",)) from None


def _cmd_synth(args: argparse.Namespace) -> int:
    _need_batch()
    from .population import synthesize, write_population

    frame = synthesize(args.size, region=args.region, seed=args.seed)
    write_population(frame, Path(args.output))
    print(f"{frame.height} persons, {frame['household_id'].n_unique()} households, "
          f"weight total {frame['weight'].cast(float).sum():,.0f} -> {args.output}",
          file=sys.stderr)
    return 0
