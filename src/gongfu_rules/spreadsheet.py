"""Excel (.xlsx) caseload files in and result workbooks out, for :mod:`gongfu_rules.batch`.

Reading (:func:`read_sheet`): fastexcel (calamine, in Rust) reads the chosen sheet once, every
cell as text, straight into Arrow; the parsed cells are freed as soon as the Arrow columns
exist, so the file is in memory about once, and the batch is then fed slices of it. Cells come
out as the CSV reader's text would: a date cell as ``1940-05-03`` (not ``1940-05-03
00:00:00``), a number cell as its shortest digits (``530102``, ``743.5``), a text cell exactly
as typed (an ID number or region code stored as text keeps every digit and leading zero).
The header must be the sheet's first row, one header per column: a title row above it or
merged header cells leave columns without a header, which is an input error naming them.
A sheet of more than :data:`STREAM_ROWS` rows read in chunks (``gongfu batch``; the rows the
sheet states, :func:`sheet_size`) is streamed instead, with openpyxl's read-only reader, a
chunk at a time: the same text, slower (about 200,000 cells a second against calamine's
millions), in memory that does not grow with the rows (calamine holds the whole sheet: about
2 GB for a million rows of 31 columns).

Writing (:class:`SheetWriter`): each chunk of results becomes the worksheet XML of its rows,
built column-wise with Polars and appended to a scratch file, so memory stays flat whatever
the row count; XlsxWriter makes the workbook around those rows at the end (headers, styles,
frozen panes, autofilters, the summary sheet) and the rows are streamed into it as it is
zipped. Money columns (decimals) become number cells with a ``#,##0.00`` format, dates date
cells, counts numbers, text inline text (never a formula). Past 1,048,575 data rows the
results continue on a new sheet (``results 2``, ...), and the summary is a sheet of its own
at the end.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
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
    if chunk_rows is not None and _large(path, name):
        del reader
        book = _open_streaming(path)
        try:
            yield from _streamed(book, path, name, chunk_rows, pick)
            return
        finally:
            book.close()
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


#: Rows above which a sheet read in chunks is streamed (openpyxl) rather than read whole
#: (calamine): below it calamine's copy of the sheet stays under about 200 MB.
STREAM_ROWS = 100_000
#: Bytes of a sheet's XML above which it is streamed whatever rows it states: a sheet that
#: does not state them (openpyxl's write-only mode), states too few, or has very wide rows
#: (a 31-column caseload takes about 800 bytes a row).
STREAM_BYTES = 80_000_000


def _large(path: Path, sheet: str) -> bool:
    rows, size = sheet_size(path, sheet)
    return (rows or 0) > STREAM_ROWS or size > STREAM_BYTES


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")


def sheet_size(path: Path, sheet: str | None) -> tuple[int | None, int]:
    """``(rows, bytes)`` of a sheet (default: the first), without reading its cells: the last
    row its ``<dimension>`` states (with the header; trailing blank rows count, so an
    estimate), None where the writer left that out; and the size of its XML. ``(None, 0)``
    for a workbook this cannot read: the reader reports why."""
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet)
            if part is None:
                return None, 0
            with book.open(part) as xml:
                found = _DIMENSION.search(xml.read(4096))  # the first element after the root
            return (int(found.group(1)) if found else None), book.getinfo(part).file_size
    except (OSError, zipfile.BadZipFile, KeyError, ET.ParseError):
        return None, 0


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> str | None:
    """The zip member holding ``sheet``'s XML, found through the workbook's relationships."""
    sheets = ET.fromstring(book.read("xl/workbook.xml")).iter(f"{_MAIN}sheet")
    rid = next((s.get(f"{_REL}id") for s in sheets if sheet is None or s.get("name") == sheet),
               None)
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)


def _open_streaming(path: Path) -> Any:
    try:
        import openpyxl
    except ImportError as e:
        raise InputError.one("extra_missing", "reading a large Excel sheet needs openpyxl: pip "
                             f"install 'gongfu-rules[batch]' ({e.name} is missing)") from None
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zip, XML and openpyxl's own errors: the file is no workbook
        raise _unreadable(path, e) from None


def _streamed(book: Any, path: Path, sheet: str, chunk_rows: int,
              pick: Callable[[list[str]], list[str]]) -> Iterator[pl.DataFrame]:
    """:func:`read_sheet`'s chunks from the open read-only ``book``, streamed: a chunk of rows
    is in memory at a time (and blank rows held back until a filled one follows, since
    trailing blank rows are no rows)."""
    rows = book[sheet].iter_rows(values_only=True)
    first = next(rows, None)
    if first is None or all(v is None for v in first):
        raise InputError.one("file_empty", f"sheet {sheet!r} of {path.name} is empty: it "
                             "needs a header row and a row per person", loc=("path",))
    width = len(first)
    headers = [_UNNAMED + str(i) if v is None else str(v) for i, v in enumerate(first)]
    _check_headers(headers, sheet)
    keep = [headers.index(h) for h in pick(headers)]
    names = [headers[i] for i in keep]
    chunk: list[list[str | None]] = []
    blank: list[list[str | None]] = []
    for row in rows:
        cells = [_text(row[i]) if i < len(row) else None for i in keep]
        if any(v is not None and str(v).strip() for v in row[:width]):
            chunk.extend(blank)
            blank = []
            chunk.append(cells)
        else:
            blank.append(cells)
        if len(chunk) >= chunk_rows:
            yield _frame(chunk[:chunk_rows], names)
            chunk = chunk[chunk_rows:]
    if chunk or not names:
        yield _frame(chunk, names)


def _text(value: Any) -> str | None:
    """A cell's value as calamine's text of it: a date-time ``YYYY-MM-DD HH:MM:SS`` (the
    midnight is dropped later), a whole number without ``.0``, a float by its shortest digits."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _frame(rows: list[list[str | None]], names: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    return frame.with_columns(pl.all().str.replace(_MIDNIGHT, "$1"))


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
_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's date serial numbers (1900 system)
#: Cells turned into XML at a time (a slice of rows): the slice's text, and Polars' working
#: copies of it, are in memory while it is written; 200,000 cells keep that near 50 MB.
_SLICE_CELLS = 200_000
#: Characters XML 1.0 cannot hold; Excel writes them as _xHHHH_ (and "_xHHHH_" itself as
#: "_x005F_xHHHH_"), as XlsxWriter does.
_CONTROL = r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_"


class SheetWriter:
    """A result workbook written in constant memory: :meth:`write` adds rows to the results
    sheet(s), :meth:`finish` adds the summary sheet and completes the file.

    The rows' cell XML is built a slice at a time with Polars column expressions (the same
    XML XlsxWriter writes cell by cell, tens of times faster) and appended to a file per sheet
    in ``scratch``. At :meth:`finish` XlsxWriter makes the workbook around them — headers,
    styles, frozen panes, autofilters, the summary sheet — and each results sheet's rows are
    streamed into its ``<sheetData>`` while the workbook is zipped to ``path``."""

    def __init__(self, path: Path, scratch: Path, sheet_rows: int = SHEET_ROWS):
        import xlsxwriter
        scratch.mkdir(exist_ok=True)  # on the output's disk, not a temp folder in memory
        self._path, self._scratch, self._sheet_rows = path, scratch, sheet_rows
        # Strings are never turned into numbers, formulas or links: a cell is what it was.
        self._book = xlsxwriter.Workbook(str(scratch / "book.xlsx"), {
            "use_zip64": True, "tmpdir": str(scratch), "strings_to_numbers": False,
            "strings_to_formulas": False, "strings_to_urls": False})
        self._header = self._book.add_format({"bold": True})
        self._money = self._book.add_format({"num_format": "#,##0.00"})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        # The cells' style numbers go into the rows' XML before the workbook exists: fix them
        # now (XlsxWriter numbers styles on first use), and check them in styles.xml at the end.
        for style in (self._header, self._money, self._date):
            style._get_xf_index()
        self._schema: pl.Schema | None = None
        self._sheets: list[tuple[Any, Path, int]] = []  # (worksheet, its rows file, rows)
        self._handle: Any = None

    def write(self, frame: pl.DataFrame) -> None:
        if self._schema is None:
            self._schema = frame.schema
            self._new_sheet()
        if frame.schema != self._schema:  # the first chunk's columns and types, as the header
            frame = frame.select(
                (pl.col(n) if n in frame.columns else pl.lit(None)).cast(d, strict=False).alias(n)
                for n, d in self._schema.items())
        start = 0
        while start < frame.height:
            if self._sheets[-1][2] == self._sheet_rows:
                self._new_sheet()
            sheet, rows_file, rows = self._sheets[-1]
            part = frame.slice(start, self._sheet_rows - rows)
            step = max(1, _SLICE_CELLS // max(1, part.width))
            for offset in range(0, part.height, step):
                piece = part.slice(offset, step)
                xml = piece.select(self._row_xml(piece, rows + offset + 2))
                xml.write_csv(self._handle, include_header=False, quote_style="never",
                              line_terminator="")
            self._sheets[-1] = (sheet, rows_file, rows + part.height)
            start += part.height

    def finish(self, empty_schema: dict[str, Any] | None = None,
               summary: pl.DataFrame | None = None) -> None:
        """Completes the workbook: the results (a header alone when there were none) and the
        summary sheet."""
        if self._schema is None:
            self.write(pl.DataFrame(schema=empty_schema or {}))
        self._handle.close()
        width = len(self._schema)
        for sheet, _, rows in self._sheets:
            self._filter(sheet, rows, width)
        if summary is not None:
            sheet = self._book.add_worksheet("summary")
            self._head(sheet, summary.schema)
            self._summary_rows(sheet, summary)
            self._filter(sheet, summary.height, summary.width)
        self._book.close()
        self._zip(width)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def abort(self) -> None:
        """Removes the rows written so far."""
        if self._handle is not None:
            self._handle.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _new_sheet(self) -> None:
        number = len(self._sheets) + 1
        sheet = self._book.add_worksheet("results" if number == 1 else f"results {number}")
        self._head(sheet, self._schema)
        if self._handle is not None:
            self._handle.close()
        rows_file = self._scratch / f"rows{number}.xml"
        self._handle = open(rows_file, "wb")
        self._sheets.append((sheet, rows_file, 0))

    def _head(self, sheet: Any, schema: pl.Schema) -> None:
        for c, (name, dtype) in enumerate(schema.items()):
            # Wide enough for the header (a Chinese character takes two widths).
            width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)
            sheet.set_column(c, c, min(max(width + 2, 10), 40), self._style(dtype))
            sheet.write_string(0, c, name, self._header)
        sheet.freeze_panes(1, 0)

    def _style(self, dtype: pl.DataType) -> Any:
        if isinstance(dtype, pl.Decimal):
            return self._money
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            return self._date
        return None

    @staticmethod
    def _filter(sheet: Any, rows: int, width: int) -> None:
        if width:
            sheet.autofilter(0, 0, rows, width - 1)

    def _row_xml(self, frame: pl.DataFrame, first: int) -> pl.Expr:
        """Each row's ``<row>`` element (sheet rows ``first``, ``first + 1``, ...)."""
        number = (pl.int_range(pl.len(), dtype=pl.Int64) + first).cast(pl.String)
        cells = [self._cell_xml(frame, name, dtype, _letter(c), number)
                 for c, (name, dtype) in enumerate(frame.schema.items())]
        return pl.concat_str([pl.lit('<row r="'), number, pl.lit('">'), *cells,
                              pl.lit("</row>")]).alias("xml")

    def _cell_xml(self, frame: pl.DataFrame, name: str, dtype: pl.DataType, letter: str,
                  number: pl.Expr) -> pl.Expr:
        """A column's ``<c>`` elements (empty text where the cell is empty), as XlsxWriter
        writes them: numbers as ``<v>``, text as an inline string, escaped."""
        col = pl.col(name)
        style = self._style(dtype)
        s = f' s="{style.xf_index}"' if style is not None else ""
        if isinstance(dtype, pl.Decimal):
            value, kind = col.cast(pl.String), ""  # the decimal's own digits: exact
        elif dtype.is_integer():
            value, kind = col.cast(pl.String), ""
        elif dtype.is_float():
            value, kind = pl.when(col.is_finite()).then(col.cast(pl.String)), ""
        elif dtype == pl.Boolean:
            value, kind = col.cast(pl.Int8).cast(pl.String), ' t="b"'
        elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
            days = (col.cast(pl.Date) - pl.lit(_EXCEL_EPOCH)).dt.total_days()
            value, kind = days.cast(pl.String), ""
        else:
            return self._text_xml(frame, col.cast(pl.String), letter, number)
        return pl.concat_str([pl.lit(f'<c r="{letter}'), number, pl.lit(f'"{s}{kind}><v>'),
                              value, pl.lit("</v></c>")]).fill_null("")

    @staticmethod
    def _text_xml(frame: pl.DataFrame, text: pl.Expr, letter: str, number: pl.Expr) -> pl.Expr:
        if frame.select(text.str.contains(_CONTROL).any()).item():
            text = text.map_elements(_escape_control, return_dtype=pl.String)
        escaped = text.str.replace_all("&", "&amp;", literal=True) \
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)
        preserve = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')) \
            .otherwise(pl.lit(""))
        return pl.concat_str([pl.lit(f'<c r="{letter}'), number,
                              pl.lit('" t="inlineStr"><is><t'), preserve, pl.lit(">"), escaped,
                              pl.lit("</t></is></c>")]).fill_null("")

    def _summary_rows(self, sheet: Any, frame: pl.DataFrame) -> None:
        """The summary's few rows, cell by cell through XlsxWriter."""
        for r, values in enumerate(frame.iter_rows(), start=1):
            for c, (value, dtype) in enumerate(zip(values, frame.dtypes, strict=True)):
                if value is None:
                    continue
                if isinstance(dtype, pl.Decimal):
                    sheet.write_number(r, c, float(value), self._money)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))

    def _zip(self, width: int) -> None:
        """``path``: the workbook XlsxWriter wrote, each results sheet's rows streamed into
        its ``<sheetData>`` and its dimension set to them."""
        import zipfile
        parts = {f"xl/worksheets/sheet{i}.xml": (rows_file, rows)
                 for i, (_, rows_file, rows) in enumerate(self._sheets, start=1)}
        with zipfile.ZipFile(self._scratch / "book.xlsx") as src, \
                zipfile.ZipFile(self._path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as dst:
            self._check_styles(src.read("xl/styles.xml").decode("utf-8"))
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename not in parts:
                    dst.writestr(info, data)
                    continue
                rows_file, rows = parts[info.filename]
                text = data.decode("utf-8").replace("<sheetData/>", "<sheetData></sheetData>")
                head, tail = text.split("</sheetData>", 1)
                if rows and width:
                    head = re.sub(r'<dimension ref="[^"]*"/>',
                                  f'<dimension ref="A1:{_letter(width - 1)}{rows + 1}"/>', head,
                                  count=1)
                head_bytes, tail_bytes = head.encode(), ("</sheetData>" + tail).encode()
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.file_size = len(head_bytes) + rows_file.stat().st_size + len(tail_bytes)
                with dst.open(entry, "w") as out, open(rows_file, "rb") as body:
                    out.write(head_bytes)
                    shutil.copyfileobj(body, out, 1 << 20)
                    out.write(tail_bytes)


    def _check_styles(self, styles: str) -> None:
        """The money and date styles are where the rows' XML says they are."""
        formats = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"/>', styles))
        xfs = re.findall(r"<xf [^>]*?numFmtId=\"(\d+)\"", styles.split("<cellXfs", 1)[1])
        for style, code in ((self._money, "#,##0.00"), (self._date, "yyyy-mm-dd")):
            if formats.get(xfs[style.xf_index]) != code:
                raise RuntimeError(f"XlsxWriter numbered the {code} style otherwise than "
                                   "expected; the workbook would show wrong formats")


def _escape_control(text: str) -> str:
    text = re.sub(r"(_x[0-9a-fA-F]{4}_)", r"_x005F\1", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)
    return text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


__all__ = ["read_sheet", "SheetWriter", "SHEET_ROWS"]
