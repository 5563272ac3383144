"""Excel (.xlsx) caseload files in and result workbooks out, for :mod:`gongfu_rules.batch`.

Reading (:func:`read_sheet`): fastexcel (calamine, in Rust) reads the chosen sheet once, every
cell as text, straight into Arrow; the parsed cells are freed as soon as the Arrow columns
exist, so the file is in memory about once, and the batch is then fed slices of it. Cells come
out as the CSV reader's text would: a date cell as ``1940-05-03`` (not ``1940-05-03
00:00:00``), a number cell as its shortest digits (``530102``, ``743.5``), a text cell exactly
as typed (an ID number or region code stored as text keeps every digit and leading zero).
The header must be the sheet's first row, one header per column: a title row above it or
merged header cells leave columns without a header, which is an input error naming them.

Writing (:class:`SheetWriter`): XlsxWriter in ``constant_memory`` mode, which writes each row
to a temporary file as it is completed, so memory stays flat whatever the row count. Money
columns (decimals) become number cells with a ``#,##0.00`` format, dates date cells, counts
numbers, text text (never a formula). Every sheet has a frozen header and an autofilter; past
1,048,575 data rows the results continue on a new sheet (``results 2``, ...), and the summary
is a sheet of its own at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .errors import InputError

#: Data rows on one sheet: Excel's 1,048,576 rows less the header.
SHEET_ROWS = 1_048_575
_UNNAMED = "__UNNAMED__"
#: A date cell read as text: ``YYYY-MM-DD 00:00:00`` (a date-time at midnight is a date).
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$"


# --- reading ---------------------------------------------------------------------------------
def sheet_names(path: Path) -> list[str]:
    """The workbook's sheets, in order."""
    return _open(path).sheet_names


def _open(path: Path) -> Any:
    import fastexcel
    try:
        return fastexcel.read_excel(str(path))
    except fastexcel.FastExcelError as e:
        raise _unreadable(path, e) from None


def _unreadable(path: Path, e: Exception) -> InputError:
    # The library's message can quote cells: name only the kind of failure.
    return InputError.one("file_unreadable", f"{path.name} cannot be read as an Excel .xlsx "
                          f"workbook ({type(e).__name__}): check that it is a whole .xlsx file "
                          "(not .xls, or a renamed CSV)", loc=("path",))


def read_sheet(path: Path, sheet: str | None, chunk_rows: int | None,
               pick: Callable[[list[str]], list[str]]) -> Iterator[pl.DataFrame]:
    """The rows of ``sheet`` (default: the first), ``chunk_rows`` at a time, every cell as text;
    ``pick`` chooses the columns from the headers."""
    import fastexcel
    reader = _open(path)
    names = reader.sheet_names
    name = names[0] if sheet is None and names else sheet
    if name not in names:
        raise InputError.one("sheet_missing", f"{path.name} has no sheet {sheet!r}; its sheets: "
                             + ", ".join(names), loc=("sheet",))
    try:
        batch = reader.load_sheet_eager(name, header_row=0, dtypes="string")
    except fastexcel.FastExcelError as e:
        raise _unreadable(path, e) from None
    del reader
    frame = pl.from_arrow(batch)
    del batch
    assert isinstance(frame, pl.DataFrame)
    if frame.width == 0:
        raise InputError.one("file_empty", f"sheet {name!r} of {path.name} is empty: it needs a "
                             "header row and a row per person", loc=("path",))
    _check_headers(frame.columns, name)
    frame = _without_trailing_blank_rows(frame)
    frame = frame.select(pick(frame.columns))
    frame = frame.with_columns(pl.all().cast(pl.String).str.replace(_MIDNIGHT, "$1"))
    if chunk_rows is None:
        yield frame
        return
    for offset in range(0, frame.height, chunk_rows):
        yield frame.slice(offset, chunk_rows)
    if frame.height == 0:
        yield frame


def _check_headers(headers: list[str], sheet: str) -> None:
    """Every column has a header on the first row: a title row above the headers, or header
    cells merged across columns, leave some without one."""
    blank = [_letter(i) for i, h in enumerate(headers) if h.startswith(_UNNAMED)]
    if blank:
        raise InputError.one(
            "excel_header_invalid", f"sheet {sheet!r}, row 1: column {', '.join(blank[:5])} has "
            "no header. Row 1 must hold the headers, one per column: remove any title row above "
            "them and unmerge merged header cells", loc=("sheet", sheet, "row", 1))


def _letter(index: int) -> str:
    """Excel's column letters for a 0-based index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _without_trailing_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank rows at the end of a sheet (empty, or spaces) are not rows; a blank row between
    rows stays, so that row numbers stay those of the sheet."""
    if frame.height == 0:
        return frame
    cell = pl.all().cast(pl.String).str.strip_chars()
    filled = frame.select(pl.any_horizontal(cell.is_not_null() & (cell != ""))
                          .arg_true().max()).item()
    return frame.head(0 if filled is None else filled + 1)


# --- writing ---------------------------------------------------------------------------------
class SheetWriter:
    """A result workbook written row by row in constant memory: :meth:`write` adds rows to
    the results sheet(s), :meth:`finish` adds the summary sheet and completes the file."""

    def __init__(self, path: Path, scratch: Path, sheet_rows: int = SHEET_ROWS):
        import xlsxwriter
        # The rows wait in files in ``scratch`` (a folder made here, on the output's disk
        # rather than a temp folder that may be in memory) until finish() zips them.
        scratch.mkdir(exist_ok=True)
        self._scratch = scratch
        # Strings are never turned into numbers, formulas or links: a cell is what it was.
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "use_zip64": True, "tmpdir": str(scratch),
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False})
        self._money = self._book.add_format({"num_format": "#,##0.00"})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._header = self._book.add_format({"bold": True})
        self._sheet_rows = sheet_rows
        self._sheet: Any = None
        self._columns: list[str] = []
        self._row = 0  # the row last written on the current sheet (0: its header)
        self._sheets = 0

    def write(self, frame: pl.DataFrame) -> None:
        if self._sheet is None:
            self._columns = frame.columns
            self._new_sheet("results")
        start = 0
        while start < frame.height:
            if self._row == self._sheet_rows:
                self._end_sheet()
                self._new_sheet(f"results {self._sheets + 1}")
            part = frame.slice(start, self._sheet_rows - self._row)
            self._rows(self._sheet, part, self._row + 1)
            self._row += part.height
            start += part.height

    def finish(self, empty_schema: dict[str, Any] | None = None,
               summary: pl.DataFrame | None = None) -> None:
        """Completes the workbook: the results (a header alone when there were none) and the
        summary sheet."""
        if self._sheet is None:
            self.write(pl.DataFrame(schema=empty_schema or {}))
        self._end_sheet()
        if summary is not None:
            sheet = self._book.add_worksheet("summary")
            self._head(sheet, summary.columns)
            self._rows(sheet, summary, 1)
            self._filter(sheet, summary.height, summary.width)
        self._book.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def abort(self) -> None:
        """Closes and removes the rows written so far."""
        for sheet in self._book.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None and not handle.closed:
                handle.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _new_sheet(self, name: str) -> None:
        self._sheet = self._book.add_worksheet(name)
        self._sheets += 1
        self._row = 0
        self._head(self._sheet, self._columns)

    def _end_sheet(self) -> None:
        self._filter(self._sheet, self._row, len(self._columns))

    def _head(self, sheet: Any, columns: list[str]) -> None:
        for c, name in enumerate(columns):
            # Wide enough for the header (a Chinese character takes two widths).
            width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)
            sheet.set_column(c, c, min(max(width + 2, 10), 40))
            sheet.write_string(0, c, name, self._header)
        sheet.freeze_panes(1, 0)

    @staticmethod
    def _filter(sheet: Any, rows: int, width: int) -> None:
        if width:
            sheet.autofilter(0, 0, rows, width - 1)

    def _rows(self, sheet: Any, frame: pl.DataFrame, first: int) -> None:
        cells = [self._cell_writer(sheet, dtype) for dtype in frame.dtypes]
        columns = list(enumerate(cells))
        for r, values in enumerate(frame.iter_rows(), start=first):
            for c, put in columns:
                value = values[c]
                if value is not None:
                    put(r, c, value)

    def _cell_writer(self, sheet: Any, dtype: pl.DataType) -> Callable[[int, int, Any], Any]:
        if isinstance(dtype, pl.Decimal):
            # A double holds every amount below 10^13 元 to the fen; the format shows two places.
            money = self._money
            return lambda r, c, v: sheet.write_number(r, c, float(v), money)
        if dtype.is_integer() or dtype.is_float():
            return sheet.write_number
        if dtype == pl.Boolean:
            return sheet.write_boolean
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            day = self._date
            return lambda r, c, v: sheet.write_datetime(
                r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day), day)
        if dtype == pl.String:
            return sheet.write_string
        return lambda r, c, v: sheet.write_string(r, c, str(v))


__all__ = ["read_sheet", "sheet_names", "SheetWriter", "SHEET_ROWS"]
