"""``gongfu monitor ingest | tick | changes``: the monitor from the command line.

The store path comes from ``--store`` (default ``gongfu-monitor.sqlite`` in the working
directory). Output is counts (ingest, tick) or JSON lines (changes); personal data goes only
into the store and to standard output when asked for with ``changes``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..load.loader import load_standards

DEFAULT_STORE = "gongfu-monitor.sqlite"


def add_parser(sub: argparse._SubParsersAction) -> None:
    mon = sub.add_parser("monitor", help="life events in, entitlement changes out (免申即享)")
    mon_sub = mon.add_subparsers(required=True, metavar="ACTION")

    def action(name: str, help: str, run) -> argparse.ArgumentParser:
        p = mon_sub.add_parser(name, help=help)
        p.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite file (default {DEFAULT_STORE})")
        p.add_argument("--standards", help="a standards directory (default: the bundled one)")
        p.set_defaults(run=run)
        return p

    action("ingest", "apply life events from a JSONL file", _ingest).add_argument("events")
    action("tick", "re-evaluate what birthdays and new rules or figures change, up to a date",
           _tick).add_argument("--on", required=True, help="YYYY-MM-DD")
    ch = action("changes", "print the change records as JSON lines", _changes)
    ch.add_argument("--since", help="effective on or after this date, YYYY-MM-DD")
    ch.add_argument("--after", type=int, help="recorded after this sequence number (seq)")


@contextmanager
def _monitor(args: argparse.Namespace) -> Iterator[Any]:
    from .core import Monitor
    m = Monitor(args.store, load_standards(args.standards) if args.standards else None)
    try:
        yield m
    finally:
        m.close()


def _ingest(args: argparse.Namespace) -> int:
    with _monitor(args) as m:
        report = m.ingest_file(args.events)
    print(f"{report.applied} events applied ({report.late} late), {report.duplicates} duplicates "
          f"skipped, {report.changes} changes, {report.revoked} revoked, "
          f"{len(report.errors)} errors")
    for e in report.errors:
        print(f"  {e}", file=sys.stderr)
    return 3 if report.errors else 0


def _tick(args: argparse.Namespace) -> int:
    with _monitor(args) as m:
        report = m.tick(args.on)
    print(f"{report.households} households ({report.persons} persons) re-evaluated, "
          f"{report.changes} changes")
    return 0


def _changes(args: argparse.Namespace) -> int:
    with _monitor(args) as m:
        for record in m.changes(args.since, args.after):
            print(json.dumps(record, ensure_ascii=False))
    return 0
