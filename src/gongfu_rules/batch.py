"""Batch evaluation of caseload files: CSV, Excel, Parquet and JSONL in and out, streamed.

:func:`evaluate_table` is the Python entry point (a path or a frame in, a frame out);
:func:`run_batch` is what ``gongfu batch`` runs: it reads the input a chunk at a time (memory is
bounded by the chunk size, not the file size), never splits a household between chunks
(a household's rows apart in the file are gathered: :mod:`gongfu_rules.households`),
writes the results (``headers="zh"``: the caseworker's layout, :mod:`gongfu_rules.layout`),
an errors file and a summary, and shows a progress bar on a terminal.
The three outputs appear together and only when complete: each is written to ``NAME.partial``
beside its final name and all three are renamed at the end (with Ctrl-C and SIGTERM held off
for those renames), so a run that fails or is interrupted at any point leaves no partial file,
no temporary copy, and the previous outputs as they were. A run killed outright between two of
the renames leaves a marker ``OUTPUT.commit``, and the next run to that output completes the
set first (:func:`_commit_set`).

Requires the ``batch`` extra (``pip install 'gongfu-rules[batch]'``): Polars, PyArrow for
Parquet output, fastexcel and XlsxWriter for Excel, tqdm for the progress bar.
"""

from __future__ import annotations

import codecs
import os
import queue
import re
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import polars as pl

from .columns import (
    CORE_FIELDS,
    ERROR_SCHEMA,
    HOUSEHOLD,
    PERSON,
    ROW,
    kept_headers,
    map_headers,
    typed_frame,
    unread_warning,
)
from .dates import parse_date, parse_period
from .errors import ErrorDetail, InputError, Terminated, redact
from .evaluate import default_standards
from .households import (
    SOURCE_ROW,
    Gathering,
    household_key,
    numbered,
    scattered_households,
    together,
)
from .layout import FIELD_ZH, errors_zh, long_zh, summary_zh, wide_zh
from .limits import MAX_MEMBERS
from .model import StandardsSet
from .ragged import ragged_records, set_aside
from .spreadsheet import SheetWriter, read_sheet, sheet_size
from .compile.vector import residence
from .table import (
    CASEWORKER,
    DETAILS,
    FIELD_TYPES,
    OVERFLOW_COLUMN,
    STATUS,
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
NUMBER_OUT = pl.Decimal(38, 2)
T = TypeVar("T")


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
                   only: list[str] | None = None, keep: list[str] | None = None
                   ) -> pl.DataFrame:
    """Evaluate every person of a caseload (a file path or a frame) on a date, or over a
    ``period`` (``"2025"``, ``"2025-07"``) month by month with ``ID.total`` per standard.

    Returns one row per input row in ``wide`` layout, with ``row`` (the input row number)
    and ``errors`` (why a row was set aside, else empty): no row is dropped. Per standard
    ``ID.status``, and ``ID.amount``, ``ID.annual_amount``, ``ID.quantity`` where it has them
    (over a period ``ID.total``); ``detail="full"`` adds the provenance fields
    (:data:`~gongfu_rules.table.RESULT_FIELDS`). Money is ``Decimal(18, 2)`` 元.
    ``layout="long"`` gives one row per eligible or undetermined result instead, with every
    field (every result with ``keep_not_eligible``), and the set-aside rows with their
    errors. ``only``: just these standards (ids). ``keep``: input columns (姓名, 村组 ...)
    carried into the result as they are, first; none is copied otherwise. A file's columns
    skipped with ``ignore_extra_columns`` are named in a ``UserWarning``.

    A household's rows are evaluated together wherever they are in the input; the result
    comes in input row order.
    """
    std = standards or default_standards()
    _check_ids(std, only)
    _check_detail(detail)
    months, last_day = _time(on, period)
    needed, keep = needed_fields(std, only), keep or []
    pick = _needed_headers(needed, ignore_extra_columns, keep)
    ignored: list[str] = []

    def select(headers: list[str]) -> list[str]:
        ignored[:] = map_headers(headers, ignore_extra_columns, keep)[1]
        return pick(headers)
    if isinstance(source, pl.DataFrame):
        raw = source.select(select(source.columns))
    else:
        raw = read_whole(Path(source), select)
    mapping, _ = map_headers(raw.columns, ignore_extra_columns, keep)
    if ignored and not isinstance(source, pl.DataFrame):  # a frame's columns are the caller's
        warnings.warn(unread_warning(ignored), stacklevel=2)
    household = {v: k for k, v in mapping.items()}.get(HOUSEHOLD)
    raw = together(next(numbered([raw])), household)
    typed, errors = _typed(raw, mapping, 1, last_day)
    kept = _kept(raw, kept_headers(raw.columns, keep))
    detail = "full" if layout == "long" else detail
    wide, _, errors = _evaluated(typed, errors, mapping, months, std, period is not None,
                                 only, detail)
    wide = money_columns(wide)
    if layout == "long":
        return _with_kept(pl.concat([to_long(wide, std, keep_not_eligible).with_columns(
            pl.lit(None, dtype=pl.String).alias("errors")), _error_rows(errors)],
            how="diagonal_relaxed"), kept)
    return _with_kept(_with_error_rows(wide, errors), kept)


def _kept(raw: pl.DataFrame, headers: list[str]) -> pl.DataFrame:
    """The kept columns of a (numbered) chunk, as text, by input row."""
    return raw.select(pl.col(SOURCE_ROW).alias(ROW), *(pl.col(h).cast(pl.String) for h in headers))


def _with_kept(result: pl.DataFrame, kept: pl.DataFrame, row: str = ROW) -> pl.DataFrame:
    """``result`` with the kept columns first (matched on the input row, ``row`` in
    ``result``); a kept column that is already a result column (``household_id``) is there
    once."""
    have = frozenset(result.columns)
    names = [c for c in kept.columns if c != ROW and c not in have]
    if not names:
        return result
    return result.join(kept.select(pl.col(ROW).alias(row), *names), on=row, how="left",
                       maintain_order="left").select(*names, pl.exclude(names))


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


def _needed_headers(needed: frozenset[str], ignore: bool, keep: list[str] | None = None
                    ) -> Callable[[list[str]], list[str]]:
    """Picks, from a file's headers, those to read: the needed fields' and the kept ones
    (every header is still checked, so an unknown column is an error unless ignored)."""
    def pick(headers: list[str]) -> list[str]:
        mapping, _ = map_headers(headers, ignore, keep or ())
        kept = kept_headers(headers, keep or ())
        chosen = [h for h in headers if mapping.get(h) in needed or h in kept]
        # A frame of no columns has no rows: with nothing needed, one column keeps the count.
        return chosen or headers[:1]
    return pick


# --- reading ---------------------------------------------------------------------------------
Select = Callable[[list[str]], list[str]]


def read_whole(path: Path, select: Select | None = None) -> pl.DataFrame:
    """A whole file at once (small files, and Excel, which cannot be streamed)."""
    return pl.concat(list(read_chunks(path, None, select)) or [pl.DataFrame()],
                     how="diagonal_relaxed")


def read_chunks(path: Path, chunk_rows: int | None, select: Select | None = None,
                sheet: str | None = None, ragged: bool = False) -> Iterator[pl.DataFrame]:
    """The file's rows, ``chunk_rows`` at a time (CSV and Excel cells as text; Parquet and
    JSON columns as the file types them); ``select`` picks the columns to read from the
    headers, ``sheet`` an Excel workbook's sheet (default: the first); ``ragged``: a CSV row
    with more fields than the header is cut to the header's (the caller has found and sets
    aside such rows). A file that cannot be read is an InputError that names the file and
    never quotes its cells."""
    if not path.is_file():
        raise InputError.one("file_missing", f"no such file: {path}", loc=("path",))
    fmt = file_format(path)
    if sheet is not None and fmt != "xlsx":
        raise InputError.one("sheet_invalid", f"a sheet is chosen in an Excel .xlsx input only, "
                             f"not in {path.name}", loc=("sheet",))
    try:
        if fmt == "csv":
            with _utf8(path) as readable:
                yield from _read(readable, fmt, chunk_rows, select, ragged=ragged)
        else:
            yield from _read(path, fmt, chunk_rows, select, sheet)
    except (pl.exceptions.PolarsError, OSError, ValueError) as e:
        raise InputError.one(
            "file_unreadable", f"{path.name} cannot be read as {fmt.upper()} "
            f"({type(e).__name__}): check its quoting (a cell with an unbalanced quote, a row "
            "with more fields than the header) and that it is a whole file", loc=("path",)) \
            from None


def _read(path: Path, fmt: str, chunk_rows: int | None, select: Select | None,
          sheet: str | None = None, ragged: bool = False) -> Iterator[pl.DataFrame]:
    pick = select or (lambda headers: headers)
    if fmt == "xlsx":
        yield from read_sheet(path, sheet, chunk_rows, pick)
        return
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_rows, pick)
        return
    if fmt == "csv":
        if path.stat().st_size == 0:
            return
        lazy = pl.scan_csv(path, infer_schema=False, encoding="utf8", missing_columns="insert",
                           truncate_ragged_lines=ragged)
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


def row_count(path: Path, sheet: str | None = None) -> int | None:
    """Rows in the file, for the progress bar's time left: Parquet's metadata; lines of a CSV
    or JSONL file (an estimate when a quoted cell holds a line break); the rows an Excel sheet
    states (trailing blank rows count; none where its writer left them out)."""
    fmt = file_format(path)
    if fmt == "xlsx":
        rows, _ = sheet_size(path, sheet)
        return rows - 1 if rows is not None and rows > 1 else None  # ``A1``: not stated
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
    the next one (the rows of a household that are not together in the file have been set
    aside by :class:`~gongfu_rules.households.Gathering`). The last chunk is not cut (the
    next one is read before a chunk is given out, to know): a file of a few rows is evaluated
    in one chunk, not two, and each chunk has a fixed cost."""
    carry: pl.DataFrame | None = None
    chunks = iter(chunks)
    following = next(chunks, None)
    while following is not None:
        chunk, following = following, next(chunks, None)
        if carry is not None:  # the same columns, unless a CSV/JSON chunk is typed otherwise
            same = carry.schema == chunk.schema
            chunk = pl.concat([carry, chunk], how="vertical" if same else "diagonal_relaxed")
        if column is None or chunk.height == 0 or following is None:
            carry = None
            yield chunk
            continue
        ids = chunk.select(household_key(column)).to_series()
        last = ids[-1]
        cut = chunk.height
        while cut > 0 and ids[cut - 1] == last:
            cut -= 1
        if cut == 0:  # one household fills the chunk: keep growing it
            carry = chunk
            continue
        carry = chunk.slice(cut)
        yield chunk.slice(0, cut)


# --- writing ---------------------------------------------------------------------------------
class _Writer:
    """Writes a result file chunk by chunk to ``NAME.partial``: :meth:`finish` completes it,
    :meth:`commit` renames it to its name (:meth:`close` does both), :meth:`abort` removes it."""

    def __init__(self, path: Path):
        self.path, self.fmt = path, file_format(path)
        self.tmp = path.with_name(path.name + ".partial")
        self._handle: Any = None
        self._parquet: Any = None
        self._excel: SheetWriter | None = None
        self._first: pl.DataFrame | None = None  # a Parquet file's first frame, not yet written

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
            # The first frame waits: a file of one frame (a small caseload, the errors) is
            # written whole, without starting a sink thread.
            if self._parquet is None and self._first is None:
                self._first = frame
                return
            if self._parquet is None:
                first, self._first = self._first, None
                self._parquet = _ParquetSink(self.tmp, first)
            self._parquet.write(frame)
        else:
            self._sheets().write(frame)

    def _sheets(self) -> SheetWriter:
        if self._excel is None:
            scratch = self.path.with_name(self.path.name + ".parts.partial")
            self._excel = SheetWriter(self.tmp, scratch)
        return self._excel

    def close(self, empty_schema: dict[str, Any] | None = None) -> None:
        self.finish(empty_schema)
        self.commit()

    def finish(self, empty_schema: dict[str, Any] | None = None,
               summary: pl.DataFrame | None = None) -> None:
        """Completes ``NAME.partial`` (closed, whole) without giving it its name; an Excel
        workbook also gets ``summary`` as a sheet of its own."""
        if self.fmt == "xlsx":
            self._sheets().finish(empty_schema, summary)
        elif self._first is not None:  # one frame: one row group, whose statistics say nothing
            self._first.write_parquet(self.tmp, **PARQUET_OPTIONS)
            self._first = None
            return
        elif self._parquet is not None:
            self._parquet.finish()
        elif self._handle is not None:
            self._handle.close()
        else:  # nothing written: an empty file with the header
            self.write(pl.DataFrame(schema=empty_schema or {}))
            return self.finish()
        self._handle = self._parquet = None

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._first = None
        if self._excel is not None:
            self._excel.abort()
        if self._parquet is not None:
            self._parquet.abort()
        try:
            if self._handle is not None:
                self._handle.close()
        except Exception:  # noqa: BLE001 - cleaning up after another error
            pass
        self.tmp.unlink(missing_ok=True)


def _as_os_error(error: BaseException, path: Path) -> BaseException:
    """Polars' error for a file it could not write, as the ``OSError`` it wraps (the
    command line reports those as files that cannot be written, not as bugs)."""
    if isinstance(error, OSError):
        if error.filename is None and error.errno is not None:  # a write to the handle
            return type(error)(error.errno, error.strerror, str(path))
        return error
    # Rust's wording for an error of the OS, or Python's for one of our file object's writes
    found = re.search(r"(?:os error |\[Errno )(\d+)", str(error))
    if not found:
        return error
    errno = int(found.group(1))
    return OSError(errno, os.strerror(errno), str(path))


class _Kept:
    """A file that keeps the first error of its writes (see :class:`_ParquetSink`)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.handle.write(data)
        except OSError as e:
            self.error = self.error or e
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


#: How results files are written: zstd at its fastest level (on the bench caseload's results,
#: the same size as its default level for a tenth less of the writer's CPU time), without
#: column statistics (see :class:`_ParquetSink`).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1,
                                   "statistics": False}


class _ParquetSink:
    """One Parquet file written chunk by chunk by Polars' own streaming sink, on a thread of
    its own: :meth:`write` hands it a frame (waiting while one is still queued, so memory
    stays within a chunk), :meth:`finish` closes the file, :meth:`abort` stops it. A failure
    to write (a full disk) is raised by the next :meth:`write` or :meth:`finish`, as an
    ``OSError`` naming the file, and nothing is committed: Polars' sink reports a failed
    write only once its source has ended (a run on a full disk would go on to its last
    chunk), so it writes to a file of ours that keeps the failure (:class:`_Kept`), and the
    source stops at it. Polars
    encodes the columns in parallel and without the GIL, at about two thirds of the CPU time
    of pyarrow's ``ParquetWriter`` on a wide results frame; column statistics are left out
    (for hundreds of result columns they cost a quarter of the writing and serve no reader of
    a results file). Every frame has the first one's columns."""

    _END, _ABORT = object(), object()

    def __init__(self, path: Path, first: pl.DataFrame) -> None:
        from polars.io.plugins import register_io_source
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._queue.put(first)
        self._error: BaseException | None = None
        self._file: _Kept | None = None
        frames = register_io_source(self._frames, schema=first.schema, validate_schema=True)
        self._thread = threading.Thread(target=self._run, args=(frames, path),
                                        name="gongfu-parquet-sink", daemon=True)
        self._thread.start()

    def _frames(self, with_columns: list[str] | None, predicate: Any, n_rows: int | None,
                batch_size: int | None) -> Iterator[pl.DataFrame]:
        while (frame := self._queue.get()) is not self._END:
            if frame is self._ABORT:
                raise InterruptedError("the results file was abandoned")
            if self._file is not None and self._file.error is not None:
                raise self._file.error
            yield frame if with_columns is None else frame.select(with_columns)

    def _run(self, frames: pl.LazyFrame, path: Path) -> None:
        try:
            with open(path, "wb") as handle:
                self._file = _Kept(handle)
                frames.sink_parquet(self._file, **PARQUET_OPTIONS)
        except BaseException as e:  # noqa: BLE001 - raised on the writing thread
            self._error = _as_os_error(e, path)

    def _put(self, item: Any) -> bool:
        """Queues ``item``; False if the sink has stopped (failed) first."""
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, frame: pl.DataFrame) -> None:
        if not self._put(frame):
            self._raise()

    def finish(self) -> None:
        self._put(self._END)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        self._put(self._ABORT)
        self._thread.join()
        self._error = None


# --- the batch run ---------------------------------------------------------------------------
def run_batch(input_path: str | Path, output_path: str | Path, *, on: date | str | None = None,
              period: str | None = None, layout: str = "wide", headers: str = "en",
              standards: StandardsSet | None = None, only: list[str] | None = None,
              chunk_rows: int = DEFAULT_CHUNK, ignore_extra_columns: bool = False,
              progress: bool | None = None, detail: str = "narrow",
              keep: list[str] | None = None, sheet: str | None = None) -> BatchReport:
    """Evaluate a caseload file into ``output_path`` (its suffix picks the format), with
    ``OUTPUT.errors.csv`` (one row per problem) and ``OUTPUT.summary.csv`` beside it (an
    Excel output also has the summary as a sheet). ``only``: evaluate just these standards
    (ids). ``detail="full"``: the wide layout shows every result field (as
    :func:`evaluate_table`). ``keep``: input columns carried into the results, first (as
    :func:`evaluate_table`). ``sheet``: the sheet of an Excel input (default: the first)."""
    std = standards or default_standards()
    keep = keep or []
    _check_ids(std, only)
    _check_detail(detail)
    shown = "full" if layout == "long" else detail  # the fields written
    zh = headers == "zh"
    # The caseworker's layout reads the reasons (未施行) and the missing facts (需补充): on a
    # date those are evaluated beside the narrow fields; over a period, every field.
    detail = (CASEWORKER if shown == "narrow" and period is None else "full") if zh else shown
    months, last_day = _time(on, period)
    src, out = Path(input_path), Path(output_path)
    file_format(src), file_format(out)
    report = BatchReport(output=out, errors=_beside(out, "errors"), summary=_beside(out, "summary"))
    _check_paths(src, report, chunk_rows)
    # CSV rows with too many or too few fields, found first: set aside as error rows below.
    width, ragged = ragged_records(src) if file_format(src) == "csv" else (0, {})
    writer, errors, summed = _Writer(out), _Writer(report.errors), _Writer(report.summary)
    _roll_forward((writer, errors, summed))  # a set an earlier run left half renamed
    summary = _Summary(std)
    bar = _progress(progress, row_count(src, sheet) if _wants_progress(progress) else None)
    # Closed explicitly, so that a temporary UTF-8 copy of the input goes on every exit path.
    chunks = _chunks(src, chunk_rows, ignore_extra_columns, report, needed_fields(std, only),
                     keep, sheet, bool(ragged))

    def written(wide: pl.DataFrame, typed: pl.DataFrame, bad: pl.DataFrame,
                kept_rows: pl.DataFrame, given: frozenset[str]) -> None:
        """A chunk's results added to the summary and written (on the writing thread);
        ``given``: the facts the file has a column for."""
        wide = money_columns(wide)
        summary.add(wide, typed)
        result = to_long(wide, std) if layout == "long" else wide
        if zh:
            result = long_zh(result, std) if layout == "long" else \
                wide_zh(result, std, full=shown == "full", given=given)
        writer.write(_with_kept(result, kept_rows, FIELD_ZH[ROW] if zh else ROW))
        if bad.height:
            errors.write(errors_zh(bad) if zh else bad)

    def prepared() -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame,
                                     dict[str, str], list[str]]]:
        """Each chunk with its typed rows, error rows, header map and kept headers (on the
        reading thread)."""
        mapping: dict[str, str] | None = None
        kept: list[str] = []
        rows = 0
        for chunk in chunks:
            if mapping is None:
                mapping, _ = map_headers(chunk.columns, ignore_extra_columns, keep)
                kept = kept_headers(chunk.columns, keep)
            typed, bad = _typed(chunk, mapping, rows + 1, last_day)
            rows += chunk.height
            if ragged:
                typed, bad = set_aside(typed, bad, ragged, width,
                                       chunk.get_column(SOURCE_ROW), _household_header(mapping))
            yield chunk, typed, bad, mapping, kept

    behind = _Behind()
    ahead = _Ahead(prepared())
    try:
        with _terminate_as_interrupt() as interrupted:
            submitted = False  # whether any chunk's results were written
            for chunk, typed, bad, mapping, kept in ahead:
                wide, typed, bad = _evaluated(typed, bad, mapping, months, std,
                                              period is not None, only, detail)
                interrupted()  # a signal taken inside a cell reader: nothing of it is written
                behind.submit(partial(written, wide, typed, bad, _kept(chunk, kept),
                                      frozenset(mapping.values())))
                submitted = True
                report.rows += chunk.height
                report.evaluated += wide.height
                report.failed_rows += bad.get_column(ROW).n_unique() if bad.height else 0
                if bar is not None:
                    bar.update(chunk.height)
            behind.wait()
            if bar is not None:  # an Excel workbook is zipped up now: it can take a while
                bar.set_description("writing")
            table = summary.table(zh, period is not None)
            # The columns of a file with no rows: worked out only then (with Chinese headers
            # they cost a tenth of a second); a file with rows has its chunks' columns.
            writer.finish(None if submitted else _empty_schema(std, layout, only, shown, zh),
                          summary=table)
            errors.finish(errors_zh(pl.DataFrame(schema=ERROR_SCHEMA)).schema if zh
                          else ERROR_SCHEMA)
            summed.write(table)
            summed.finish()
            with _signals_held():  # all three renamed, or (on a failure before) none
                interrupted()
                _commit_set((writer, errors, summed))
    except BaseException:
        with _signals_held():
            behind.stop()  # nothing is written once the outputs are removed
            ahead.close()
            chunks.close()
            # Once the marker is made the .partial files are complete: kept for the next run.
            if not _marker((writer, errors, summed)).exists():
                for w in (writer, errors, summed):
                    w.abort()
        raise
    finally:
        behind.stop()
        ahead.close()
        chunks.close()
        if bar is not None:
            bar.close()
    return report


class _Ahead(Generic[T]):
    """Runs an iterator on a background thread, at most one item ahead of the one taken (so
    the file is read and its cells checked while the main thread evaluates the chunk before,
    and memory stays within two chunks). Its failure is raised, as it was, where its item
    would have been taken. :meth:`close` returns once the thread has ended; the iterator is
    then the caller's to close."""

    def __init__(self, items: Iterator[T]) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gongfu-batch-reader",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as e:  # noqa: BLE001 - raised on the main thread
            self._put(("error", e))

    def _put(self, message: tuple[str, Any]) -> bool:
        while not self._closing.is_set():
            try:
                self._queue.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> _Ahead[T]:
        return self

    def __next__(self) -> T:
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._queue.put((kind, value))  # the end, or the failure, again for a later call
        if kind == "end":
            raise StopIteration
        raise value

    def close(self) -> None:
        self._closing.set()
        self._thread.join()


class _Behind:
    """One background thread that adds up and writes each chunk's results, in order, while
    the main thread reads and evaluates the next chunk: both are mostly Polars and PyArrow
    work, which runs without the GIL, so on two cores they overlap. At most one chunk waits
    for it (:meth:`submit` blocks), so memory stays within two chunks of the reader. A failure
    there (a full disk) is raised on the main thread, as it was raised, at the next
    :meth:`submit` or at :meth:`wait`; signals stay the main thread's. :meth:`stop` drops
    what waits and returns when nothing runs, so the outputs can then be removed."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="gongfu-batch-writer",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None and not self._stopping:
                    job()
            except BaseException as e:  # noqa: BLE001 - raised on the main thread
                self._error = e
            finally:
                self._jobs.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def wait(self) -> None:
        """Returns when every submitted job has run; raises the failure of one."""
        self._jobs.join()
        self._raise()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._stopping = True
        self._jobs.put(None)  # the jobs before it are skipped
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._stopping = True  # nothing more is written after a failure
            raise error


def _marker(writers: tuple[_Writer, ...]) -> Path:
    return writers[0].path.with_name(writers[0].path.name + ".commit")


def _commit_set(writers: tuple[_Writer, ...]) -> None:
    """Rename the three completed ``.partial`` files to their names as one set.

    Their data is flushed to disk, then an empty marker ``OUTPUT.commit`` is made (it says
    "every ``.partial`` of this output is complete"), the files are renamed in a fixed order
    and the marker removed. A process killed between two renames (SIGKILL, a power cut) or a
    rename that fails leaves the marker: the next run to the same output, or a person
    (docs/limits-and-errors.md), renames the remaining ``.partial`` files first, so the set
    is then wholly the new one."""
    for w in writers:
        _fsync(w.tmp)
    marker = _marker(writers)
    marker.touch()
    _fsync(marker.parent)
    for w in writers:
        w.commit()
    _fsync(marker.parent)
    marker.unlink()


def _roll_forward(writers: tuple[_Writer, ...]) -> None:
    """Complete a set of outputs a run left half renamed (its marker is there): each
    remaining ``.partial`` is complete and newer than the file of its name."""
    marker = _marker(writers)
    if not marker.exists():
        return
    for w in writers:
        if w.tmp.exists():
            w.commit()
    marker.unlink()


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to the disk, where the system allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # a folder on some systems, a file system without fsync
        pass
    finally:
        os.close(fd)


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


def _evaluated(typed: pl.DataFrame, bad: pl.DataFrame, mapping: dict[str, str],
               months: tuple[date, ...], std: StandardsSet, period: bool,
               only: list[str] | None, detail: str
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(results, typed rows, error rows)`` of a chunk's typed rows: the wide results with
    the row numbers first, less the households where a value overflowed, whose rows leave
    the typed rows (the summary counts only what was evaluated) for the error rows."""
    wide = _evaluate(typed, months, std, period, only, detail)
    wide = wide.with_columns(typed.get_column(ROW)).select(ROW, pl.exclude(ROW))
    wide, overflowed = _overflowed(wide, mapping)
    if overflowed.height:
        typed = typed.filter(pl.col(ROW).is_in(wide.get_column(ROW).implode()))
        bad = pl.concat([bad, overflowed]).sort(ROW, "column", maintain_order=True)
    return wide, typed, bad


def _typed(raw: pl.DataFrame, mapping: dict[str, str], first_row: int, last_day: date
           ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(typed rows, error rows)`` of a chunk: its cells checked and typed
    (:func:`typed_frame`, rows numbered from ``first_row``), and the households of too many
    members set aside (:func:`_too_large`)."""
    _check_cell_types(raw, mapping)
    typed, bad = typed_frame(raw, mapping, first_row=first_row, last_day=last_day)
    typed, too_large = _too_large(typed, mapping)
    if too_large.height:
        bad = pl.concat([bad, too_large]).sort(ROW, "column", maintain_order=True)
    return typed, bad


def _too_large(typed: pl.DataFrame, mapping: dict[str, str]
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(typed without the households of more than MAX_MEMBERS members, their error rows)``:
    every member's row says so, naming the household (as the API refuses such a household;
    evaluated, its members' aggregates would cost memory by the square of its size)."""
    size = pl.len().over(pl.col(HOUSEHOLD).rle_id())
    over = typed.select(size > MAX_MEMBERS).to_series() if typed.height else None
    if over is None or not over.any():
        return typed, pl.DataFrame(schema=ERROR_SCHEMA)
    column = {f: h for h, f in mapping.items()}.get(HOUSEHOLD, HOUSEHOLD)
    sizes = typed.filter(over).group_by(HOUSEHOLD, maintain_order=True).len()
    messages = {h: f"household {redact(h)} has {n} members, more than the {MAX_MEMBERS} a "
                "household may have; check that its members do not share a household id with "
                "another household's" for h, n in sizes.iter_rows()}
    errors = typed.filter(over).select(
        pl.col(ROW).cast(pl.Int64), pl.lit(column).alias("column"),
        pl.lit("household_too_large").alias("code"),
        pl.col(HOUSEHOLD).replace_strict(messages, return_dtype=pl.String).alias("message"))
    return typed.filter(~over), errors


_OVERFLOW_MESSAGE = ("a computed amount is too large for the batch engine (about 4×10^12 元 "
                     "at most); check this household's amounts and counts")


def _overflowed(wide: pl.DataFrame, mapping: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(wide without the households where a value overflowed, their error rows)``: the
    row where it happened says so, its household's other rows are set aside."""
    flag = wide.get_column(OVERFLOW_COLUMN)
    wide = wide.drop(OVERFLOW_COLUMN)
    if not flag.any():
        return wide, pl.DataFrame(schema=ERROR_SCHEMA)
    household = _household_header(mapping)
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


def _check_cell_types(raw: pl.DataFrame, mapping: dict[str, str]) -> None:
    """A Parquet or JSON column of lists, records or bytes holds no one value per cell: the
    file is refused, naming the column (its cells are never quoted)."""
    nested = [h for h in mapping if raw.schema[h].is_nested()
              or raw.schema[h] in (pl.Binary, pl.Object)]
    if nested:
        raise InputError([ErrorDetail(
            "column_type_unsupported", f"column '{h}' holds {raw.schema[h].base_type()} cells, "
            "not one value per cell; write each fact as one text, number or date", loc=(h,))
            for h in nested])


def _household_header(mapping: dict[str, str]) -> str:
    return {f: h for h, f in mapping.items()}.get(HOUSEHOLD, HOUSEHOLD)


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
            needed: frozenset[str], keep: list[str], sheet: str | None = None,
            ragged: bool = False) -> Iterator[pl.DataFrame]:
    """The file's rows in numbered chunks, each household whole in one chunk: first the
    households whose rows are together in the file, in file order, then those whose rows are
    apart (gathered out of core, in the order of their first rows)."""
    pick = _needed_headers(needed, ignore, keep)

    def select(headers: list[str]) -> list[str]:
        _, ignored = map_headers(headers, ignore, keep)
        report.ignored_columns = [redact(h) for h in ignored]  # shown: an ID number never
        return pick(headers)
    chunks = read_chunks(src, chunk_rows, select, sheet, ragged)
    try:
        first = next(chunks, None)
        if first is None or first.width == 0:
            return
        mapping, _ = map_headers(first.columns, ignore, keep)
        column = {v: k for k, v in mapping.items()}.get(HOUSEHOLD)

        def again() -> Iterator[pl.DataFrame]:
            yield first
            yield from chunks
        if column is None:
            yield from numbered(again())
            return
        ids = read_chunks(src, chunk_rows, lambda headers: [column], sheet, ragged)
        try:
            scattered = scattered_households(numbered(ids), column, chunk_rows)
        finally:
            ids.close()
        with Gathering(scattered, column) as gathering:
            yield from household_chunks((gathering.split(c) for c in numbered(again())), column)
            yield from gathering.gathered()
    finally:
        chunks.close()


def _check_paths(src: Path, report: BatchReport, chunk_rows: int) -> None:
    """Before any work: no output may be the input (it would be replaced), the output folder
    must exist and be writable, and chunks hold at least one row."""
    if chunk_rows < 1:
        raise InputError.one("chunk_rows_invalid", f"chunks hold at least 1 row; got {chunk_rows}",
                             loc=("chunk_rows",))
    if src.is_file() and src.stat().st_size == 0:
        raise InputError.one("file_empty", f"{src.name} is empty (0 bytes): it needs a header "
                             "row and a row per person", loc=("path",))
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
                  detail: str, zh: bool = False) -> dict[str, Any]:
    """The columns of a result file with no rows, with the types a chunk's have: an empty
    result frame put through a chunk's steps."""
    chosen = [s for s in std if only is None or s.id in only]
    evaluated = "full" if zh or layout == "long" else detail
    wide = money_columns(pl.DataFrame(schema={
        ROW: pl.Int64, HOUSEHOLD: pl.String, PERSON: pl.String,
        **{f"{s.id}.{f}": FIELD_TYPES[f] for s in chosen for f in fields(s, evaluated, std)}}))
    if layout == "long":
        result = to_long(wide, std)
        return dict((long_zh(result, std) if zh else result).schema)
    return dict((wide_zh(wide, std, full=detail == "full") if zh else wide).schema)


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
def rename_headers(frame: pl.DataFrame, std: StandardsSet, headers: str) -> pl.DataFrame:
    """Chinese headers on request (``headers="zh"``): 孤儿基本生活费.状态 and so on (the
    headers only; ``gongfu batch --headers zh`` writes the whole caseworker's layout,
    :mod:`gongfu_rules.layout`)."""
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
#: The statuses :class:`_Summary` counts in slots of a sum, each of ``_SLOT`` bits (a group
#: of a frame of fewer than 2^21 rows cannot overflow one): a status adds ``_ONES`` at its
#: physical code, a one in its slot (not_eligible, counted as the rest, adds nothing).
_PACKED, _SLOT = ("eligible", "undetermined", "not_in_force"), 21
_ONES = pl.Series([1 << (_SLOT * _PACKED.index(c)) if c in _PACKED else 0
                   for c in STATUS.categories], dtype=pl.UInt64)


class _Summary:
    """Counts and totals per standard and region (the region each standard tests, as a
    county code), added up chunk by chunk. ``amount_total`` adds the known amounts (those
    unknown are counted in ``eligible_amount_unknown``; with none known, it is empty). Over a
    period it adds the period totals, and ``months_eligible`` the eligible months."""

    def __init__(self, std: StandardsSet):
        self.std = std
        self.parts: dict[str, list[pl.DataFrame]] = {}  # per region basis, a row per region
        self._plans: dict[tuple[str, ...], Any] = {}  # see _plan

    _MEASURES = ("eligible", "undetermined", "not_eligible", "not_in_force", "amount_total",
                 "annual_total", "months_eligible", "eligible_amount_unknown",
                 "eligible_amount_known")

    def add(self, wide: pl.DataFrame, typed: pl.DataFrame) -> None:
        if typed.height == 0:
            return
        if wide.height >= 1 << _SLOT:  # a count must fit its slot (see _measures)
            for offset in range(0, wide.height, (1 << _SLOT) - 1):
                self.add(wide.slice(offset, (1 << _SLOT) - 1),
                         typed.slice(offset, (1 << _SLOT) - 1))
            return
        regions = {"hukou": pl.col("hukou_region"), "residence": residence()}
        frame = wide.with_columns(
            *(e.fill_null("unknown").alias(f"__region.{b}") for b, e in
              {b: typed.select(e).to_series() for b, e in regions.items()}.items()))
        # One group-by per region basis, every standard's measures side by side; the chunks'
        # sums are added up as numbers, a few chunks at a time (memory stays flat).
        for basis, (summed, counts, derived) in self._plan(tuple(wide.columns)).items():
            parts = self.parts.setdefault(basis, [])
            region = f"__region.{basis}"
            parts.append(frame.group_by(region).agg(summed).with_columns(counts)
                         .select(region, *derived))
            if len(parts) > 16:
                self.parts[basis] = [self._sum(parts, region)]

    def _plan(self, columns: tuple[str, ...]
              ) -> dict[str, tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]]:
        """Per region basis, what its group-by adds up, the status counts unpacked from the
        sums and the measures worked out from them: the same for every chunk of a run (built
        once: a tenth of the summary's time went to building them). Only what varies by row is
        aggregated; a measure that follows from the others (or is a constant: no amount
        column) is computed on the few summed rows."""
        if self._plans.get(columns) is None:
            have = frozenset(columns)
            plans = {}
            for basis in ("hukou", "residence"):
                measures = [self._measures(s, have) for s in self.std
                            if s.region_basis == basis and f"{s.id}.status" in have]
                if measures:
                    plans[basis] = tuple([e for m in measures for e in m[i]] for i in range(3))
            self._plans = {columns: plans}
        return self._plans[columns]

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

    def _measures(self, s: Any, have: frozenset[str]
                  ) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
        """``(aggregations, counts, measures)``: what a group-by adds up per region, the
        status counts in its sums, and every measure of :data:`_MEASURES` from those (in
        that order)."""
        status = pl.col(f"{s.id}.status")
        over_period = f"{s.id}.total" in have

        def key(measure: str) -> str:
            return f"{s.id}|{measure}"
        amount = f"{s.id}.total" if over_period else f"{s.id}.amount"
        annual = None if over_period else f"{s.id}.annual_amount"
        # The statuses counted in one pass over the column, not one per status: each adds a
        # one in its own slot of a sum (:data:`_ONES`), and not_eligible is the rest of the
        # statuses given; the counts are unpacked on the few summed rows.
        summed = [pl.lit(_ONES).gather(status.to_physical()).sum().alias(key("packed")),
                  status.count().alias(key("given"))]
        packed = pl.col(key("packed"))
        unpacked = [(packed // (1 << (_SLOT * i)) % (1 << _SLOT)).cast(pl.Int64).alias(key(m))
                    for i, m in enumerate(_PACKED)]
        # A stage of its own: written into each measure below, the unpacking would be planned
        # again in every one (that tripled the time of this step).
        counted = pl.col(key("given")).cast(pl.Int64) - pl.sum_horizontal(
            pl.col(key(m)) for m in _PACKED)
        # A sum of nothing is 0: a narrow frame has no amount where there is none (the table
        # makes the total empty where persons are eligible and no amount is known).
        nothing = pl.lit(0, dtype=NUMBER_OUT)
        derived = [pl.col(key("eligible")), pl.col(key("undetermined")),
                   counted.alias(key("not_eligible")), pl.col(key("not_in_force"))]
        if amount in have:
            summed += [pl.col(amount).sum().alias(key("amount_total")),
                       ((status == "eligible") & pl.col(amount).is_not_null()).sum()
                       .alias(key("eligible_amount_known"))]
            derived.append(pl.col(key("amount_total")))
            known = pl.col(key("eligible_amount_known"))
        else:
            derived.append(nothing.alias(key("amount_total")))
            known = pl.lit(0, dtype=pl.UInt32).alias(key("eligible_amount_known"))
        if annual in have:
            summed.append(pl.col(annual).sum().alias(key("annual_total")))
            derived.append(pl.col(key("annual_total")))
        else:
            derived.append(nothing.alias(key("annual_total")))
        if over_period:
            summed.append(pl.col(f"{s.id}.months_eligible").sum().alias(key("months_eligible")))
            derived.append(pl.col(key("months_eligible")))
        else:
            derived.append(pl.lit(0, dtype=pl.Int64).alias(key("months_eligible")))
        derived += [(pl.col(key("eligible")) - known).alias(key("eligible_amount_unknown")),
                    known]
        return summed, unpacked, derived

    def _folded(self) -> pl.DataFrame:
        """One row per standard and region, a column per measure."""
        if not self.parts:
            return pl.DataFrame()
        long = self._long().with_columns(pl.col("value").cast(NUMBER_OUT))
        wide = long.pivot("measure", index=["standard", "region"], values="value")
        counts = ["eligible", "undetermined", "not_eligible", "not_in_force", "months_eligible",
                  "eligible_amount_unknown", "eligible_amount_known"]
        wide = wide.select("standard", "region", *(
            pl.col(m).cast(pl.Int64) if m in counts else pl.col(m) for m in self._MEASURES))
        # The known amounts added up; where persons are eligible but none of their amounts is
        # known, the total is unknown (empty), not 0.00.
        unknown = (pl.col("eligible_amount_unknown") > 0) & (pl.col("eligible_amount_known") == 0)
        return wide.with_columns(pl.when(~unknown).then(pl.col(m)).alias(m)
                                 for m in ("amount_total", "annual_total")) \
            .drop("eligible_amount_known")

    def table(self, zh: bool = False, period: bool = False) -> pl.DataFrame:
        """The summary: a row per standard and region; on a date without
        ``months_eligible``, over a period without ``annual_total`` (a period has totals, not
        annual amounts); Chinese headers with ``zh``."""
        folded = self._folded()
        if folded.height:
            names = {s.id: s.name.zh for s in self.std}
            folded = folded.with_columns(pl.col("standard").replace_strict(names).alias("name")) \
                .sort("standard", "region")
            folded = folded.drop("annual_total" if period else "months_eligible")
        if not folded.width:  # nothing summed (no row evaluated): the header still
            dropped = ("eligible_amount_known", "annual_total" if period else "months_eligible")
            measures = [m for m in self._MEASURES if m not in dropped]
            folded = pl.DataFrame(schema=dict.fromkeys(  # tells a reader what it would hold
                ("standard", "region", *measures, "name"), pl.String))
        return summary_zh(folded, period) if zh else folded


__all__ = ["evaluate_table", "run_batch", "BatchReport", "read_chunks", "rename_headers"]
