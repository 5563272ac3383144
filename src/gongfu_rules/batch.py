"""Batch evaluation of caseload files: CSV, Excel, Parquet and JSONL in and out, streamed.

:func:`evaluate_table` is the Python entry point (a path or a frame in, a frame out);
:func:`run_batch` is what ``gongfu batch`` runs: it reads the input a chunk at a time (memory is
bounded by the chunk size, not the file size), never splits a household between chunks,
writes the results, an errors file and a summary, and shows a progress bar on a terminal.
The three outputs appear together and only when complete: each is written to ``NAME.partial``
beside its final name and all three are renamed at the end (with Ctrl-C and SIGTERM held off
for those renames), so a run that fails or is interrupted at any point leaves no partial file,
no temporary copy, and the previous outputs as they were.

Requires the ``batch`` extra (``pip install 'gongfu-rules[batch]'``): Polars, PyArrow for
Parquet output, fastexcel and XlsxWriter for Excel, tqdm for the progress bar.
"""

from __future__ import annotations

import codecs
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from .columns import CORE_FIELDS, ERROR_SCHEMA, HOUSEHOLD, PERSON, ROW, map_headers, typed_frame
from .dates import parse_date, parse_period
from .errors import InputError, Terminated
from .evaluate import default_standards
from .model import StandardsSet
from .compile.vector import residence
from .table import (
    DETAILS,
    OVERFLOW_COLUMN,
    RESULT_FIELDS,
    evaluate_frame,
    evaluate_frame_period,
    facts_read,
    fields,
    money_columns,
    to_long,
)

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl"}
DEFAULT_CHUNK = 50_000  # about 0.5 GB of working memory with the bundled standards
_EXCEL_ROWS = 1_048_575
NUMBER_OUT = pl.Decimal(38, 2)


@dataclass
class BatchReport:
    """What a batch run did: rows read, evaluated and set aside, and where the files are."""

    rows: int = 0
    evaluated: int = 0
    failed_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    output: Path | None = None
    errors: Path | None = None
    summary: Path | None = None


def file_format(path: str | Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError.one("format_unknown", f"cannot tell the format of '{path}': use "
                             ".csv, .xlsx, .parquet or .jsonl", loc=("path",))
    return fmt


# --- the Python API --------------------------------------------------------------------------
def evaluate_table(source: str | Path | pl.DataFrame, on: date | str | None = None, *,
                   period: str | None = None, standards: StandardsSet | None = None,
                   layout: str = "wide", keep_not_eligible: bool = False,
                   ignore_extra_columns: bool = False, detail: str = "narrow",
                   only: list[str] | None = None) -> pl.DataFrame:
    """Evaluate every person of a caseload (a file path or a frame) on a date, or over a
    ``period`` (``"2025"``, ``"2025-07"``) month by month with ``ID.total`` per standard.

    Returns one row per input row in ``wide`` layout, with ``row`` (the input row number)
    and ``errors`` (why a row was set aside, else empty): no row is dropped. Per standard
    ``ID.status``, and ``ID.amount``, ``ID.annual_amount``, ``ID.quantity`` where it has them
    (over a period ``ID.total``); ``detail="full"`` adds the provenance fields
    (:data:`~gongfu_rules.table.RESULT_FIELDS`). Money is ``Decimal(18, 2)`` 元.
    ``layout="long"`` gives one row per eligible or undetermined result instead, with every
    field (every result with ``keep_not_eligible``), and the set-aside rows with their
    errors. ``only``: just these standards (ids).
    """
    std = standards or default_standards()
    _check_ids(std, only)
    _check_detail(detail)
    months, last_day = _time(on, period)
    needed = needed_fields(std, only)
    if isinstance(source, pl.DataFrame):
        raw = source.select(_needed_headers(needed, ignore_extra_columns)(source.columns))
    else:
        raw = read_whole(Path(source), _needed_headers(needed, ignore_extra_columns))
    mapping, _ = map_headers(raw.columns, ignore_extra_columns)
    typed, errors = typed_frame(raw, mapping, last_day=last_day)
    detail = "full" if layout == "long" else detail
    wide = _evaluate(typed, months, std, period is not None, only, detail) \
        .with_columns(typed.get_column(ROW))
    wide, overflowed = _overflowed(wide, mapping)
    errors = pl.concat([errors, overflowed]).sort(ROW, "column", maintain_order=True)
    wide = money_columns(wide)
    if layout == "long":
        return pl.concat([to_long(wide, std, keep_not_eligible).with_columns(
            pl.lit(None, dtype=pl.String).alias("errors")), _error_rows(errors)],
            how="diagonal_relaxed")
    return _with_error_rows(wide, errors)


def _error_rows(errors: pl.DataFrame) -> pl.DataFrame:
    return errors.group_by(ROW, maintain_order=True).agg(
        pl.concat_str(pl.col("column"), pl.lit(": "), pl.col("message")).str.join("; ")
        .alias("errors"))


def _with_error_rows(wide: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
    out = pl.concat([wide, _error_rows(errors)], how="diagonal_relaxed").sort(ROW)
    return out.select(ROW, HOUSEHOLD, PERSON, "errors", pl.exclude(ROW, HOUSEHOLD, PERSON, "errors"))


def needed_fields(std: StandardsSet, only: list[str] | None = None) -> frozenset[str]:
    """The input fields the chosen standards read, with the identity and region columns
    (needed for the checks, households and regions of every standard)."""
    facts: set[str] = set(CORE_FIELDS)
    for s in std:
        if only is None or s.id in only:
            facts |= facts_read(s)
    return frozenset(facts)


def _needed_headers(needed: frozenset[str], ignore: bool) -> Callable[[list[str]], list[str]]:
    """Picks, from a file's headers, those to read: the needed fields' (every header is
    still checked, so an unknown column is an error unless ignored)."""
    def pick(headers: list[str]) -> list[str]:
        mapping, _ = map_headers(headers, ignore)
        # A frame of no columns has no rows: with nothing needed, one column keeps the count.
        return [h for h, f in mapping.items() if f in needed] or headers[:1]
    return pick


# --- reading ---------------------------------------------------------------------------------
Select = Callable[[list[str]], list[str]]


def read_whole(path: Path, select: Select | None = None) -> pl.DataFrame:
    """A whole file at once (small files, and Excel, which cannot be streamed)."""
    return pl.concat(list(read_chunks(path, None, select)) or [pl.DataFrame()],
                     how="diagonal_relaxed")


def read_chunks(path: Path, chunk_rows: int | None, select: Select | None = None
                ) -> Iterator[pl.DataFrame]:
    """The file's rows, ``chunk_rows`` at a time (CSV and Excel cells as text; Parquet and
    JSON columns as the file types them); ``select`` picks the columns to read from the
    headers. A file that cannot be read is an InputError that names the file and never
    quotes its cells."""
    if not path.is_file():
        raise InputError.one("file_missing", f"no such file: {path}", loc=("path",))
    fmt = file_format(path)
    try:
        if fmt == "csv":
            with _utf8(path) as readable:
                yield from _read(readable, fmt, chunk_rows, select)
        else:
            yield from _read(path, fmt, chunk_rows, select)
    except (pl.exceptions.PolarsError, OSError, ValueError) as e:
        raise InputError.one(
            "file_unreadable", f"{path.name} cannot be read as {fmt.upper()} "
            f"({type(e).__name__}): check its quoting (a cell with an unbalanced quote, a row "
            "with more fields than the header) and that it is a whole file", loc=("path",)) \
            from None


def _read(path: Path, fmt: str, chunk_rows: int | None, select: Select | None
          ) -> Iterator[pl.DataFrame]:
    pick = select or (lambda headers: headers)
    if fmt == "xlsx":
        frame = pl.read_excel(path, infer_schema_length=0)
        yield frame.select(pick(frame.columns)).with_columns(pl.all().cast(pl.String))
        return
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_rows, pick)
        return
    if fmt == "csv":
        if path.stat().st_size == 0:
            return
        lazy = pl.scan_csv(path, infer_schema=False, encoding="utf8", missing_columns="insert")
    else:
        lazy = pl.scan_ndjson(path, infer_schema_length=None)
    lazy = lazy.select(pick(lazy.collect_schema().names()))
    # Text stays text; a typed Parquet/JSON column of the right type is used as it is
    # (columns.typed_frame), any other is read as text.
    if chunk_rows is None:
        yield lazy.collect()
        return
    yield from lazy.collect_batches(chunk_size=chunk_rows, maintain_order=True)


def _read_parquet(path: Path, chunk_rows: int | None, pick: Select) -> Iterator[pl.DataFrame]:
    """A Parquet file's chosen columns, ``chunk_rows`` rows at a time, each chunk read when it
    is asked for: a slice decodes only the row groups it overlaps, so memory follows the
    chunk (and the file's row-group size), not the file. Polars' own batch reader reads
    ahead of a slow consumer without bound."""
    lazy = pl.scan_parquet(path)
    lazy = lazy.select(pick(lazy.collect_schema().names()))
    if chunk_rows is None:
        yield lazy.collect()
        return
    total = pl.scan_parquet(path).select(pl.len()).collect().item()
    for offset in range(0, total, chunk_rows):
        yield lazy.slice(offset, chunk_rows).collect()


@contextmanager
def _utf8(path: Path) -> Iterator[Path]:
    """``path`` if it is UTF-8; else, when it reads as GB18030 (what Excel on a Chinese
    Windows saves as "CSV"), a UTF-8 copy made block by block and removed afterwards."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    if _decodes(head, "utf-8"):
        yield path
        return
    if not _decodes(head, "gb18030"):
        raise InputError.one("encoding_unknown", f"{path.name} is neither UTF-8 nor GB18030 "
                             "(GBK) text; save it as CSV UTF-8", loc=("path",))
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="gongfu-utf8-")
    try:
        decoder = codecs.getincrementaldecoder("gb18030")()
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            while block := src.read(1 << 24):
                dst.write(decoder.decode(block).encode("utf-8"))
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
        yield Path(name)
    finally:
        os.unlink(name)


def _decodes(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data)  # not final: the block may end inside a character
        return True
    except UnicodeDecodeError:
        return False


def row_count(path: Path) -> int | None:
    """Rows in the file, for the progress bar's time left: Parquet's metadata; lines of a CSV
    or JSONL file (an estimate when a quoted cell holds a line break); none for Excel."""
    fmt = file_format(path)
    if fmt == "parquet":
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    if fmt in ("csv", "jsonl"):
        lines = 0
        with open(path, "rb") as handle:
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
        return max(0, lines - (fmt == "csv"))
    return None


def household_chunks(chunks: Iterator[pl.DataFrame], column: str | None
                     ) -> Iterator[pl.DataFrame]:
    """Re-cut chunks so that no household is split: the last household of a chunk waits for
    the next one (a file lists each household's members together)."""
    carry: pl.DataFrame | None = None
    for chunk in chunks:
        if carry is not None:  # the same columns, unless a CSV/JSON chunk is typed otherwise
            same = carry.schema == chunk.schema
            chunk = pl.concat([carry, chunk], how="vertical" if same else "diagonal_relaxed")
        if column is None or chunk.height == 0:
            carry = None
            yield chunk
            continue
        ids = chunk.get_column(column)
        last = ids[-1]
        cut = chunk.height
        while cut > 0 and ids[cut - 1] == last:
            cut -= 1
        if cut == 0:  # one household fills the chunk: keep growing it
            carry = chunk
            continue
        carry = chunk.slice(cut)
        yield chunk.slice(0, cut)
    if carry is not None and carry.height:
        yield carry


# --- writing ---------------------------------------------------------------------------------
class _Writer:
    """Writes a result file chunk by chunk to ``NAME.partial``: :meth:`finish` completes it,
    :meth:`commit` renames it to its name (:meth:`close` does both), :meth:`abort` removes it."""

    def __init__(self, path: Path):
        self.path, self.fmt = path, file_format(path)
        self.tmp = path.with_name(path.name + ".partial")
        self._handle: Any = None
        self._parquet: Any = None
        self._excel: list[pl.DataFrame] = []
        self._rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            first = self._handle is None
            if first:
                self._handle = open(self.tmp, "wb")
                self._handle.write("\ufeff".encode())  # BOM: Excel then reads the UTF-8 text
            frame.write_csv(self._handle, include_header=first)
        elif self.fmt == "jsonl":
            if self._handle is None:
                self._handle = open(self.tmp, "wb")
            frame.write_ndjson(self._handle)
        elif self.fmt == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                import pyarrow.parquet as pq
                # Statistics only for the key columns: for hundreds of result columns they
                # cost a third of the writing time and serve no reader of a results file.
                keys = [c for c in (ROW, HOUSEHOLD, PERSON, "standard") if c in frame.columns]
                self._parquet = pq.ParquetWriter(self.tmp, table.schema, write_statistics=keys)
            self._parquet.write_table(table)
        else:
            self._rows += frame.height
            if self._rows > _EXCEL_ROWS:
                raise InputError.one("excel_too_large", f"{self._rows} rows do not fit in an "
                                     "Excel sheet; write .csv or .parquet", loc=("output",))
            self._excel.append(frame)

    def close(self, empty_schema: dict[str, Any] | None = None) -> None:
        self.finish(empty_schema)
        self.commit()

    def finish(self, empty_schema: dict[str, Any] | None = None) -> None:
        """Completes ``NAME.partial`` (closed, whole) without giving it its name."""
        if self.fmt == "xlsx":
            frame = pl.concat(self._excel, how="diagonal_relaxed") if self._excel else \
                pl.DataFrame(schema=empty_schema or {})
            frame.write_excel(self.tmp, autofit=True)
        elif self._parquet is not None:
            self._parquet.close()
        elif self._handle is not None:
            self._handle.close()
        else:  # nothing written: an empty file with the header
            self.write(pl.DataFrame(schema=empty_schema or {}))
            return self.finish()
        self._handle = self._parquet = None

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        for h in (self._handle, self._parquet):
            try:
                if h is not None:
                    h.close()
            except Exception:  # noqa: BLE001 - cleaning up after another error
                pass
        self.tmp.unlink(missing_ok=True)


# --- the batch run ---------------------------------------------------------------------------
def run_batch(input_path: str | Path, output_path: str | Path, *, on: date | str | None = None,
              period: str | None = None, layout: str = "wide", headers: str = "en",
              standards: StandardsSet | None = None, only: list[str] | None = None,
              chunk_rows: int = DEFAULT_CHUNK, ignore_extra_columns: bool = False,
              progress: bool | None = None, detail: str = "narrow") -> BatchReport:
    """Evaluate a caseload file into ``output_path`` (its suffix picks the format), with
    ``OUTPUT.errors.csv`` (one row per problem) and ``OUTPUT.summary.csv`` beside it.
    ``only``: evaluate just these standards (ids). ``detail="full"``: the wide layout shows
    every result field (as :func:`evaluate_table`)."""
    std = standards or default_standards()
    _check_ids(std, only)
    _check_detail(detail)
    detail = "full" if layout == "long" else detail
    months, last_day = _time(on, period)
    src, out = Path(input_path), Path(output_path)
    file_format(src), file_format(out)
    report = BatchReport(output=out, errors=_beside(out, "errors"), summary=_beside(out, "summary"))
    _check_paths(src, report, chunk_rows)
    writer, errors, summed = _Writer(out), _Writer(report.errors), _Writer(report.summary)
    summary = _Summary(std)
    bar = _progress(progress, row_count(src) if _wants_progress(progress) else None)
    # Closed explicitly, so that a temporary UTF-8 copy of the input goes on every exit path.
    chunks = _chunks(src, chunk_rows, ignore_extra_columns, report, needed_fields(std, only))
    try:
        with _terminate_as_interrupt() as interrupted:
            mapping: dict[str, str] | None = None
            for chunk in chunks:
                if mapping is None:
                    mapping, _ = map_headers(chunk.columns, ignore_extra_columns)
                typed, bad = typed_frame(chunk, mapping,
                                         first_row=report.rows + 1, last_day=last_day)
                wide = _evaluate(typed, months, std, period is not None, only, detail)
                wide = wide.with_columns(typed.get_column(ROW)).select(ROW, pl.exclude(ROW))
                wide, overflowed = _overflowed(wide, mapping)
                if overflowed.height:
                    typed = typed.filter(pl.col(ROW).is_in(wide.get_column(ROW).implode()))
                    bad = pl.concat([bad, overflowed]).sort(ROW, "column", maintain_order=True)
                wide = money_columns(wide)
                summary.add(wide, typed)
                result = to_long(wide, std) if layout == "long" else wide
                interrupted()  # a signal taken inside a cell reader: nothing of it is written
                writer.write(rename_headers(result, std, headers))
                if bad.height:
                    errors.write(bad)
                report.rows += chunk.height
                report.evaluated += wide.height
                report.failed_rows += bad.get_column(ROW).n_unique() if bad.height else 0
                if bar is not None:
                    bar.update(chunk.height)
            writer.finish(_empty_schema(std, layout, only, detail))
            errors.finish(ERROR_SCHEMA)
            summary.write(summed)
            with _signals_held():  # all three renamed, or (on a failure before) none
                interrupted()
                for w in (writer, errors, summed):
                    w.commit()
    except BaseException:
        with _signals_held():
            chunks.close()
            for w in (writer, errors, summed):
                w.abort()
        raise
    finally:
        chunks.close()
        if bar is not None:
            bar.close()
    return report


@contextmanager
def _terminate_as_interrupt() -> Iterator[Callable[[], None]]:
    """On the main thread, SIGTERM raises :class:`~gongfu_rules.errors.Terminated` (as Ctrl-C
    raises KeyboardInterrupt) for the duration, so the clean-up of an interrupted run also
    runs when a service manager stops it; the previous handler is put back afterwards.

    A signal that lands inside a Polars call that runs Python (a cell reader) can come out of
    it as a Polars error, or be taken for a bad cell: the signal is remembered, the yielded
    ``check()`` raises it before anything of the chunk is written or committed, and whatever
    escapes is raised as the interrupt it was — the run ends as interrupted (exit 130 or 143),
    never as a bug or with a signal's damage in its results."""
    seen: list[int] = []

    def check() -> None:
        if seen:
            raise Terminated() if seen[-1] == signal.SIGTERM else KeyboardInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def terminated(signum: int, frame: Any) -> None:
        seen.append(signum)
        raise Terminated()

    def interrupted(signum: int, frame: Any) -> None:
        seen.append(signum)
        raise KeyboardInterrupt()
    previous = signal.signal(signal.SIGTERM, terminated)
    # Only Python's own Ctrl-C handler is replaced (by one that behaves the same and remembers).
    ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous_int = signal.signal(signal.SIGINT, interrupted) if ours else None
    try:
        yield check
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        check()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ours:
            signal.signal(signal.SIGINT, previous_int)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait (delivered on leaving) while outputs are renamed or removed,
    so that neither step is cut in half."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _time(on: date | str | None, period: str | None) -> tuple[tuple[date, ...], date]:
    """The dates evaluated (one, or the 1st of each month of a period) and the last day."""
    if (on is None) == (period is None):
        raise InputError.one("time_invalid", "give exactly one of 'on' (a date) or 'period'",
                             loc=("on",))
    if period is None:
        day = parse_date(on)  # type: ignore[arg-type]
        return (day,), day
    p = parse_period(period)
    return p.months, date.fromordinal(p.end.toordinal() - 1)


def _evaluate(typed: pl.DataFrame, months: tuple[date, ...], std: StandardsSet,
              period: bool, only: list[str] | None = None, detail: str = "full"
              ) -> pl.DataFrame:
    """One date: :func:`evaluate_frame`; a period: month by month, added up."""
    if not period:
        return evaluate_frame(typed, months[0], std, only, detail)
    return evaluate_frame_period(typed, months, std, only, detail)


_OVERFLOW_MESSAGE = ("a computed amount is too large for the batch engine (about 4×10^12 元 "
                     "at most); check this household's amounts and counts")


def _overflowed(wide: pl.DataFrame, mapping: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(wide without the households where a value overflowed, their error rows)``: the
    row where it happened says so, its household's other rows are set aside."""
    flag = wide.get_column(OVERFLOW_COLUMN)
    wide = wide.drop(OVERFLOW_COLUMN)
    if not flag.any():
        return wide, pl.DataFrame(schema=ERROR_SCHEMA)
    household = {f: h for h, f in mapping.items()}.get(HOUSEHOLD, HOUSEHOLD)
    marked = wide.select(ROW, HOUSEHOLD).with_columns(flag.alias("__over"))
    marked = marked.with_columns(pl.col("__over").any().over(HOUSEHOLD).alias("__household"))
    errors = marked.filter(pl.col("__household")).select(
        pl.col(ROW).cast(pl.Int64), pl.lit(household).alias("column"),
        pl.when(pl.col("__over")).then(pl.lit("value_overflow"))
        .otherwise(pl.lit("household_set_aside")).alias("code"),
        pl.when(pl.col("__over")).then(pl.lit(_OVERFLOW_MESSAGE))
        .otherwise(pl.lit("not evaluated: another member of this household has an error"))
        .alias("message"))
    return wide.filter(~marked.get_column("__household")), errors


def _check_detail(detail: str) -> None:
    if detail not in DETAILS:
        raise InputError.one("detail_invalid", f"detail is 'narrow' or 'full', not {detail!r}",
                             loc=("detail",))


def _check_ids(std: StandardsSet, only: list[str] | None) -> None:
    unknown = [i for i in only or () if i not in std.standards]
    if unknown:
        raise InputError.one("standard_unknown", f"no standard {', '.join(unknown)}; "
                             "gongfu standards list shows them", loc=("only",))


def _chunks(src: Path, chunk_rows: int, ignore: bool, report: BatchReport,
            needed: frozenset[str]) -> Iterator[pl.DataFrame]:
    pick = _needed_headers(needed, ignore)

    def select(headers: list[str]) -> list[str]:
        _, report.ignored_columns = map_headers(headers, ignore)
        return pick(headers)
    chunks = read_chunks(src, chunk_rows, select)
    first = next(chunks, None)
    if first is None or first.width == 0:
        return
    mapping, _ = map_headers(first.columns, ignore)
    inverse = {v: k for k, v in mapping.items()}

    def again() -> Iterator[pl.DataFrame]:
        yield first
        yield from chunks
    yield from household_chunks(again(), inverse.get(HOUSEHOLD))


def _check_paths(src: Path, report: BatchReport, chunk_rows: int) -> None:
    """Before any work: no output may be the input (it would be replaced), the output folder
    must exist and be writable, and chunks hold at least one row."""
    if chunk_rows < 1:
        raise InputError.one("chunk_rows_invalid", f"chunks hold at least 1 row; got {chunk_rows}",
                             loc=("chunk_rows",))
    for out in (report.output, report.errors, report.summary):
        if _same_file(src, out):
            raise InputError.one("output_is_input", f"the output {out.name} is the input file; "
                                 "name another output (the input is never overwritten)",
                                 loc=("output",))
    folder = report.output.parent  # Path("x.csv").parent is Path("."): never empty
    if not folder.is_dir():
        raise InputError.one("output_dir_missing", f"the output folder {folder} does not exist",
                             loc=("output",))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError.one("output_dir_unwritable", f"the output folder {folder} cannot be "
                             "written to", loc=("output",))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _beside(path: Path, what: str) -> Path:
    return path.with_name(f"{path.stem}.{what}.csv")


def _empty_schema(std: StandardsSet, layout: str, only: list[str] | None,
                  detail: str) -> dict[str, Any]:
    if layout == "long":
        return {ROW: pl.Int64, HOUSEHOLD: pl.String, PERSON: pl.String, "standard": pl.String,
                **{f: pl.String for f in RESULT_FIELDS}}
    return {ROW: pl.Int64, HOUSEHOLD: pl.String, PERSON: pl.String,
            **{f"{s.id}.{f}": pl.String for s in std if only is None or s.id in only
               for f in fields(s, detail, std)}}


def _wants_progress(enabled: bool | None) -> bool:
    return sys.stderr.isatty() if enabled is None else enabled


def _progress(enabled: bool | None, total: int | None):
    """A progress bar on standard error (rows/s and time left), on a terminal by default."""
    if not _wants_progress(enabled):
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr,
                desc="evaluating", dynamic_ncols=True)


# --- Chinese headers -------------------------------------------------------------------------
FIELD_ZH = {
    "row": "行号", HOUSEHOLD: "家庭编号", PERSON: "人员编号", "standard": "标准",
    "status": "状态", "amount": "金额", "annual_amount": "年度金额", "quantity": "数量",
    "missing": "需补充信息", "unknown_parameters": "未知标准值", "failed": "不符合的条件",
    "reason": "原因", "excluded_by": "被替代为", "value_region": "标准所属地区",
    "is_floor": "是否保底标准", "reliability": "来源可靠性", "version": "规则版本",
    "errors": "错误", "amount_at_least": "金额不低于", "amount_possibly_outdated": "金额可能已过时",
}


def rename_headers(frame: pl.DataFrame, std: StandardsSet, headers: str) -> pl.DataFrame:
    """Chinese headers on request (``headers="zh"``): 孤儿基本生活费.金额 and so on."""
    if headers != "zh":
        return frame
    names = {}
    for col in frame.columns:
        sid, _, fld = col.rpartition(".")
        if sid and sid in std.standards:
            names[col] = f"{std[sid].name.zh}.{FIELD_ZH.get(fld, fld)}"
        else:
            names[col] = FIELD_ZH.get(col, col)
    return frame.rename(names)


# --- the summary -----------------------------------------------------------------------------
class _Summary:
    """Counts and totals per standard and region (the region each standard tests, as a
    county code), added up chunk by chunk. Over a period, ``amount_total`` adds the period
    totals and ``annual_total`` is empty."""

    def __init__(self, std: StandardsSet):
        self.std = std
        self.parts: dict[str, list[pl.DataFrame]] = {}  # per region basis, a row per region

    _MEASURES = ("eligible", "undetermined", "not_eligible", "not_in_force", "amount_total",
                 "annual_total",
                 "eligible_amount_unknown")

    def add(self, wide: pl.DataFrame, typed: pl.DataFrame) -> None:
        if typed.height == 0:
            return
        regions = {"hukou": pl.col("hukou_region"), "residence": residence()}
        frame = wide.with_columns(
            *(e.fill_null("unknown").alias(f"__region.{b}") for b, e in
              {b: typed.select(e).to_series() for b, e in regions.items()}.items()))
        for basis in regions:
            chosen = [s for s in self.std
                      if s.region_basis == basis and f"{s.id}.status" in wide.columns]
            if not chosen:
                continue
            # One group-by per region basis, every standard's measures side by side; the
            # chunks' sums are added up as numbers, a few chunks at a time (memory stays flat).
            parts = self.parts.setdefault(basis, [])
            parts.append(frame.group_by(region := f"__region.{basis}").agg(
                e for s in chosen for e in self._measures(s, wide)))
            if len(parts) > 16:
                self.parts[basis] = [self._sum(parts, region)]

    @staticmethod
    def _sum(parts: list[pl.DataFrame], region: str) -> pl.DataFrame:
        return pl.concat(parts, how="vertical_relaxed").group_by(region).agg(
            pl.all().sum())

    def _long(self) -> pl.DataFrame:
        """The sums: one row per standard, region and measure (as text)."""
        longs = []
        for basis, parts in self.parts.items():
            region = f"__region.{basis}"
            summed = self._sum(parts, region)
            longs.append(summed.select(region, pl.all().exclude(region).cast(pl.String))
                         .unpivot(index=region).select(
                pl.col("variable").str.split_exact("|", 1).struct.rename_fields(
                    ["standard", "measure"]).alias("key"),
                pl.col(region).alias("region"), pl.col("value"))
                .unnest("key").select("standard", "region", "measure", "value"))
        return pl.concat(longs)

    def _measures(self, s: Any, wide: pl.DataFrame) -> list[pl.Expr]:
        status = pl.col(f"{s.id}.status")
        over_period = f"{s.id}.total" in wide.columns

        def money(name: str) -> pl.Expr:  # a narrow frame has no amount where there is none
            return pl.col(name) if name in wide.columns else pl.lit(None, dtype=NUMBER_OUT)
        amount = money(f"{s.id}.total" if over_period else f"{s.id}.amount")
        annual = pl.lit(None, dtype=NUMBER_OUT) if over_period else money(f"{s.id}.annual_amount")
        values = {
            "eligible": (status == "eligible").sum(),
            "undetermined": (status == "undetermined").sum(),
            "not_eligible": (status == "not_eligible").sum(),
            "not_in_force": (status == "not_in_force").sum(),
            "amount_total": amount.sum(), "annual_total": annual.sum(),
            "eligible_amount_unknown": ((status == "eligible") & amount.is_null()).sum(),
        }
        return [values[m].alias(f"{s.id}|{m}") for m in self._MEASURES]

    def _folded(self) -> pl.DataFrame:
        """One row per standard and region, a column per measure."""
        if not self.parts:
            return pl.DataFrame()
        long = self._long().with_columns(pl.col("value").cast(NUMBER_OUT))
        wide = long.pivot("measure", index=["standard", "region"], values="value")
        counts = ["eligible", "undetermined", "not_eligible", "not_in_force",
                  "eligible_amount_unknown"]
        return wide.select("standard", "region", *(
            pl.col(m).cast(pl.Int64) if m in counts else pl.col(m) for m in self._MEASURES))

    def write(self, writer: _Writer) -> None:
        """Completes the summary in ``writer`` (to ``NAME.partial``; renamed by the caller)."""
        folded = self._folded()
        if folded.height:
            names = {s.id: s.name.zh for s in self.std}
            folded = folded.with_columns(pl.col("standard").replace_strict(names).alias("name")) \
                .sort("standard", "region")
        writer.write(folded)
        writer.finish()


__all__ = ["evaluate_table", "run_batch", "BatchReport", "read_chunks", "rename_headers"]
