"""The ``gongfu`` command.

    gongfu evaluate PROFILE.json [--on DATE | --period P] [--lang zh|en] [--json [--detail full]]
                    [--all] [--only ID,...] [--domain NAME]
    gongfu batch INPUT -o OUTPUT (--on DATE | --period P) [--layout wide|long] [--headers en|zh]
    gongfu standards list
    gongfu standards show ID [--history]
    gongfu standards coverage [--by domain|region] [--format table|json]
    gongfu validate [DIR]
    gongfu reform compare --population FILE --reform REFORM.yaml (--on DATE | --period P) ...
    gongfu population synth --size N [--region 53] --seed S -o FILE
    gongfu serve [--host H] [--port P] [--standards DIR] [--workers N]
    gongfu monitor ingest EVENTS.jsonl | tick --on DATE | changes [--since DATE]  [--store FILE]

Exit codes: 0 success; 1 a standards set failed validation; 2 bad input (profile, date,
option); 3 a batch finished but some rows were set aside (see OUTPUT.errors.csv); 4 an
internal error (a bug: the message says so; ``gongfu --debug ...`` shows the traceback);
130 interrupted (Ctrl-C); 143 terminated (SIGTERM, during ``gongfu batch``).
docs/limits-and-errors.md lists every error code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import terminal
from .cases import run_cases
from .errors import GongfuError, InputError, InternalError, StandardsError, Terminated
from .evaluate import evaluate
from .limits import MAX_NUMBER_CHARS, MAX_PROFILE_BYTES
from .load.loader import load_standards
from .model import Standard, StandardsSet
from .regions import regions


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (gongfu ... | head): not an error
        sys.stderr.close()
        return 0
    except StandardsError as e:
        _print_errors("the standards set does not load", e)
        return 1
    except InternalError as e:
        if args.debug:
            raise
        _print_errors("internal error (run with --debug for the traceback)", e)
        return 4
    except GongfuError as e:
        _print_errors("invalid input", e)
        return 2
    except Terminated:  # SIGTERM during a batch: its outputs and temporary files cleaned up
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a file or stream that cannot be read or written (disk full, ...)
        if args.debug:
            raise
        where = f" ({e.filename})" if e.filename else ""
        _print_errors("invalid input", InputError.one(
            "io_failed", f"cannot read or write{where}: {e.strerror or type(e).__name__}"))
        return 2
    except (Exception, RecursionError, MemoryError) as e:
        # The one boundary of the command: no traceback reaches the user unless --debug. The
        # exception's own message is not printed: it may quote personal data.
        if args.debug:
            raise
        print(f"error: internal error: {type(e).__name__}; this is a bug in gongfu-rules, please "
              "report it (run with --debug for the traceback)", file=sys.stderr)
        return 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gongfu", description="Evaluate public-service standards "
                                "(基本公共服务标准) for a person or household.")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an internal error (give it before COMMAND)")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    ev = sub.add_parser("evaluate", help="evaluate a profile (JSON file, or - for stdin)")
    ev.add_argument("profile")
    when = ev.add_mutually_exclusive_group()
    when.add_argument("--on", help="evaluation date, YYYY-MM-DD (default: today)")
    when.add_argument("--period", help="a year (2025) or month (2025-07), evaluated month by month")
    ev.add_argument("--lang", choices=("zh", "en"), default="zh")
    ev.add_argument("--format", choices=("table", "json"), default="table")
    ev.add_argument("--json", action="store_const", const="json", dest="format",
                    help="the same as --format json")
    ev.add_argument("--detail", choices=("compact", "full"), default="compact",
                    help="JSON: each source once, by id (compact), or in every result (full)")
    ev.add_argument("--all", action="store_true", help="list every standard, not just what applies")
    ev.add_argument("--only", help="just these standards: ID,ID,...")
    ev.add_argument("--domain", help="just the standards of one domain, e.g. 弱有所扶")
    ev.add_argument("--standards", help="a standards directory (default: the bundled one)")
    ev.set_defaults(run=_cmd_evaluate)

    ba = sub.add_parser("batch", help="evaluate a caseload file (CSV, Excel, Parquet, JSONL)")
    ba.add_argument("input")
    ba.add_argument("-o", "--output", required=True, help="result file; its suffix sets the format")
    ba_when = ba.add_mutually_exclusive_group(required=True)
    ba_when.add_argument("--on", help="evaluation date, YYYY-MM-DD")
    ba_when.add_argument("--period", help="a year (2025) or month (2025-07), month by month")
    ba.add_argument("--layout", choices=("wide", "long"), default="wide",
                    help="wide: a row per person; long: a row per eligible or undetermined result")
    ba.add_argument("--headers", choices=("en", "zh"), default="en", help="output column headers")
    ba.add_argument("--detail", choices=("narrow", "full"), default="narrow",
                    help="wide layout: status and amounts (narrow), or every result field (full)")
    ba.add_argument("--only", help="evaluate just these standards: ID,ID,...")
    ba.add_argument("--chunk-rows", type=int, default=50_000, help="rows read at a time")
    ba.add_argument("--ignore-extra-columns", action="store_true",
                    help="skip columns that are not profile fields (they are listed, not read)")
    ba.add_argument("--keep", help="input columns carried into the results, first: 姓名,村组,...")
    ba.add_argument("--no-progress", action="store_true", help="no progress bar")
    ba.add_argument("--sheet", help="the sheet of an Excel input (default: the first)")
    ba.add_argument("--standards")
    ba.set_defaults(run=_cmd_batch)

    st = sub.add_parser("standards", help="list or show the standards")
    st_sub = st.add_subparsers(required=True, metavar="ACTION")
    ls = st_sub.add_parser("list", help="list every standard")
    ls.add_argument("--standards")
    ls.set_defaults(run=_cmd_list)
    show = st_sub.add_parser("show", help="show one standard, its rule and values")
    show.add_argument("id")
    show.add_argument("--history", action="store_true", help="every dated value, not just the latest")
    show.add_argument("--standards")
    show.set_defaults(run=_cmd_show)

    cov = st_sub.add_parser("coverage", help="how much of the plans' catalog is encoded")
    cov.add_argument("--by", choices=("domain", "region"), default="domain")
    cov.add_argument("--format", choices=("table", "json"), default="table")
    cov.add_argument("--standards")
    cov.set_defaults(run=_cmd_coverage)

    from .reform.cli import add_commands as add_reform_commands  # gongfu reform, gongfu population
    add_reform_commands(sub)
    sv = sub.add_parser("serve", help="run the HTTP service (needs the service extra)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--standards", help="a standards directory (default: the bundled one)")
    sv.add_argument("--workers", type=int, default=1)
    sv.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                    help="allow browser calls from this origin (repeatable; none by default)")
    sv.add_argument("--gzip-level", type=int, default=0, choices=range(10), metavar="0-9",
                    help="gzip responses of 1 kB or more to clients that accept gzip, at this "
                    "level (1 is fast; default 0: none, as behind a proxy that compresses)")
    sv.add_argument("--export-openapi", metavar="FILE", help="write the OpenAPI document and exit")
    sv.set_defaults(run=_cmd_serve)

    va = sub.add_parser("validate", help="load a standards directory and run its test cases")
    va.add_argument("dir", nargs="?", help="default: the bundled standards")
    va.set_defaults(run=_cmd_validate)

    from .monitor.cli import add_parser as add_monitor  # the life-event monitor (monitor extra)
    add_monitor(sub)
    return p


# --- evaluate --------------------------------------------------------------------------------
def _cmd_evaluate(args: argparse.Namespace) -> int:
    profile = _read_profile(args.profile)
    std = load_standards(args.standards)
    on = None if args.period else (args.on or date.today().isoformat())
    result = evaluate(profile, on, period=args.period, standards=std)
    result = terminal.select(result, std, args.only.split(",") if args.only else None,
                             args.domain)
    if args.format == "json":
        print(result.to_json(detail=args.detail))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        print(terminal.render(result, args.lang, show_all=args.all, color=color))
    return 0


def _read_profile(path: str) -> Any:
    """The JSON profile in ``path`` (``-``: stdin); any problem is an :class:`InputError`."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_PROFILE_BYTES + 1)
        else:
            with open(path, "rb") as f:
                raw = f.read(MAX_PROFILE_BYTES + 1)
    except OSError as e:
        raise InputError.one("file_unreadable", f"cannot read {path}: {e.strerror}",
                             loc=("profile",), input=path) from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise InputError.one("file_too_large", f"{path} is over {MAX_PROFILE_BYTES:,} bytes; a "
                             "profile file is at most that", loc=("profile",), input=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError.one("file_encoding", f"{path} is not UTF-8 (byte 0x{raw[e.start]:02x} "
                             f"at offset {e.start}); save it as UTF-8", loc=("profile",),
                             input=path) from None
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_decimal,
                          parse_constant=_json_constant)
    except json.JSONDecodeError as e:
        raise InputError.one("json_invalid", f"{path} is not valid JSON: {e.msg} "
                             f"(line {e.lineno}, column {e.colno})", loc=("profile",)) from None
    except _JsonNumber as e:
        raise InputError.one("json_invalid", f"{path}: {e}", loc=("profile",)) from None
    except RecursionError:
        raise InputError.one("profile_too_deep", f"{path} nests too deeply to read",
                             loc=("profile",)) from None


class _JsonNumber(ValueError):
    """A JSON number the profile cannot take (too long to read safely, or not finite)."""


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _JsonNumber(f"a number of {len(text)} characters; numbers have at most "
                          f"{MAX_NUMBER_CHARS}")
    return int(text)


def _json_decimal(text: str) -> Decimal:
    # Exact, never a binary float: a money field keeps every fen as written.
    if len(text) > MAX_NUMBER_CHARS:
        raise _JsonNumber(f"a number of {len(text)} characters; numbers have at most "
                          f"{MAX_NUMBER_CHARS}")
    return Decimal(text)


def _json_constant(text: str) -> Any:
    raise _JsonNumber(f"{text} is not a number JSON allows")


# --- batch -----------------------------------------------------------------------------------
def _cmd_batch(args: argparse.Namespace) -> int:
    try:
        from .batch import run_batch
    except ImportError as e:  # the batch extra is not installed
        raise InputError.one("extra_missing", f"gongfu batch needs the batch extra: pip install "
                             f"'gongfu-rules[batch]' ({e.name} is missing)") from None
    std = load_standards(args.standards) if args.standards else None
    report = run_batch(args.input, args.output, on=args.on, period=args.period, layout=args.layout,
                       headers=args.headers, standards=std, chunk_rows=args.chunk_rows,
                       only=args.only.split(",") if args.only else None,
                       ignore_extra_columns=args.ignore_extra_columns,
                       progress=False if args.no_progress else None, detail=args.detail,
                       keep=args.keep.split(",") if args.keep else None,
                       sheet=args.sheet)
    print(f"{report.rows} rows read, {report.evaluated} evaluated, {report.failed_rows} set aside"
          f"\n  results: {report.output}\n  summary: {report.summary}\n  errors:  {report.errors}")
    if report.ignored_columns:
        from .columns import unread_warning
        print("warning: " + unread_warning(report.ignored_columns), file=sys.stderr)
    return 3 if report.failed_rows else 0


# --- serve -----------------------------------------------------------------------------------
def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .service import server
    except ImportError as e:  # the service extra is not installed
        raise InputError.one("extra_missing", f"gongfu serve needs the service extra: pip install "
                             f"'gongfu-rules[service]' ({e.name} is missing)") from None
    if args.export_openapi:
        server.export_openapi(args.export_openapi, args.standards)
        return 0
    server.serve(args.host, args.port, args.standards, args.workers, args.cors_origin,
                 gzip_level=args.gzip_level)
    return 0


# --- coverage --------------------------------------------------------------------------------
def _cmd_coverage(args: argparse.Namespace) -> int:
    from .coverage import coverage, coverage_table
    std = load_standards(args.standards)
    rows = coverage(std, by=args.by)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(coverage_table(rows, args.by))
    return 0


# --- standards -------------------------------------------------------------------------------
def _cmd_list(args: argparse.Namespace) -> int:
    std = load_standards(args.standards)
    print(f"{std.name} — version {std.version} ({std.digest}), {len(std)} standards")
    for s in sorted(std, key=lambda s: (s.domain, s.id)):
        print(f"  {s.id:40} {s.domain:8} {s.kind:8} {s.period:6} {s.name.zh} / {s.name.en}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    std = load_standards(args.standards)
    if args.id not in std.standards:
        raise InputError.one("standard_unknown", f"no standard '{args.id}'; "
                             "`gongfu standards list` shows them", loc=("id",), input=args.id)
    print(_describe(std, std[args.id], args.history))
    return 0


def _describe(std: StandardsSet, s: Standard, history: bool) -> str:
    out = [f"{s.id}: {s.name.zh} / {s.name.en}", f"  {s.summary.zh}", f"  {s.summary.en}",
           f"  domain {s.domain} · kind {s.kind} · entity {s.entity} · period {s.period} · "
           f"unit {s.unit or '-'} · tests the {s.region_basis} region · scope "
           f"{regions().name(s.scope)} ({s.scope})", f"  file: {s.file}"]
    for rule in s.rules:
        end = rule.end.isoformat() if rule.end else "…"
        out.append(f"\n  rule version [{rule.start}, {end})")
        for c in rule.conditions:
            out.append(f"    if  {c.test:45} # {c.text.zh} / {c.text.en}")
        if rule.amount:
            out.append(f"    amount = {rule.amount[0]}")
        if rule.amount_note:
            out.append(f"    amount: {rule.amount_note.zh} / {rule.amount_note.en}")
        if rule.quantity is not None:
            out.append(f"    quantity = {rule.quantity} {rule.quantity_unit.zh if rule.quantity_unit else ''}")
    names = dict.fromkeys(p for r in s.rules for p in r.params)
    for name in names:
        out.append(_describe_parameter(std, s, name, history))
    entries = [(k, e) for k, e in std.catalog.items() if e.standard == s.id]
    if entries:
        out.append("\n  the plans' catalog entries it encodes:")
        out += [f"    {k}: {e.name.zh} — {std.documents[e.document].title} "
                f"({regions().name(e.region)}{f', line {e.line}' if e.line else ''})"
                for k, e in entries]
    return "\n".join(out)


def _describe_parameter(std: StandardsSet, s: Standard, name: str, history: bool) -> str:
    p = std.parameter(s, name)
    out = [f"\n  p.{name}: {p.description.zh} / {p.description.en} ({p.unit})"]
    for region, entries in p.timelines.items():
        shown = entries if history else entries[-1:]
        for e in shown:
            end = e.end.isoformat() if e.end else "…"
            floor = " 不低于 (floor)" if e.floor else ""
            value = "unknown" if e.value is None else _plain(e.value)
            below = " below the floor above it (as published)" if e.below_floor else ""
            out.append(f"    {regions().name(region)} ({region}) [{e.start}, {end}): {value}{floor}"
                       f"{below}  — {e.source.document} [{e.reliability}]")
    return "\n".join(out)


def _plain(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {'?' if x is None else x}" for k, x in v.items()) + "}"
    return str(v)


# --- validate --------------------------------------------------------------------------------
def _cmd_validate(args: argparse.Namespace) -> int:
    std = load_standards(args.dir)
    outcomes = run_cases(std)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"FAIL {o.title}")
        for problem in o.problems:
            print(f"     {problem}")
    print(f"{std.root}: {len(std)} standards, {len(std.parameters)} shared parameters load cleanly; "
          f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _print_errors(what: str, e: GongfuError) -> None:
    print(f"error: {what}:", file=sys.stderr)
    for d in e.details:
        print(f"  {d}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
