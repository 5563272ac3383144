"""Excel in and out: a county roster as a caseworker's .xlsx (date cells, ID numbers stored as
text, 姓名, a bad row) is read as its text would be, and the results workbook is streamed with
typed cells, a frozen header, an autofilter, the summary on a sheet of its own, and new sheets
past a sheet's rows."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl
import pytest
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from gongfu_rules import spreadsheet
from gongfu_rules.batch import read_chunks, row_count, run_batch
from gongfu_rules.cli import main
from gongfu_rules.profile import id_number_check_character
from gongfu_rules.spreadsheet import SheetWriter, sheet_size

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
HEADERS = ["家庭编号", "姓名", "身份证号", "与户主关系", "出生日期", "户籍地区划代码",
           "是否低保家庭", "家庭城乡类别（城市/农村）", "家庭月人均收入"]


def _id(region: str, born: date, serial: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{serial:03d}"
    return first17 + id_number_check_character(first17)


# Households out of the usual order of an export, birth dates as date cells, regions as text
# and as numbers, incomes as numbers. Row 5 has a birth date that is no date.
PEOPLE = [
    ["cx001", "张三", _id("532301", date(1946, 3, 2), 11), "户主", date(1946, 3, 2), "532301",
     "是", "农村", 300],
    ["cx001", "李四", _id("532301", date(1950, 7, 9), 22), "配偶", date(1950, 7, 9), 532301,
     "是", "农村", 300],
    ["cx002", "王五", _id("530102", date(1979, 4, 9), 31), "户主", date(1979, 4, 9), "530102",
     "是", "城市", 420.5],
    ["cx003", "赵六", _id("530102", date(2012, 6, 15), 42), "户主", date(2012, 6, 15), "530102",
     "否", "城市", None],
    ["cx004", "孙七", _id("532301", date(1963, 2, 11), 51), "户主", "1963-13-40", "532301",
     "否", "农村", None],
]


def _roster(path: Path, people=PEOPLE, sheet: str = "花名册", title: str | None = None,
            merged: bool = False) -> Path:
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    text = book.add_format({"num_format": "@"})
    top = 0
    if title is not None:
        ws.merge_range(0, 0, 0, len(HEADERS) - 1, title)
        top = 1
    if merged:
        ws.merge_range(0, 4, 0, 5, "出生日期")
        ws.write_row(0, 0, HEADERS[:4])
        ws.write_row(0, 6, HEADERS[6:])
    else:
        ws.write_row(top, 0, HEADERS)
    for r, person in enumerate(people, start=top + 1):
        for c, value in enumerate(person):
            if isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, str):
                ws.write_string(r, c, value, text)
            elif value is not None:
                ws.write_number(r, c, value)
    book.add_worksheet("说明").write_string(0, 0, "示例")
    book.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _batch(src: Path, out: Path, *more: str) -> int:
    return main(["batch", str(src), "-o", str(out), "--on", "2025-08-01", "--no-progress",
                 "--ignore-extra-columns", *more])


# --- reading ---------------------------------------------------------------------------------
def test_date_number_and_text_cells_are_read_as_their_text(tmp_path):
    frame = pl.concat(read_chunks(_roster(tmp_path / "r.xlsx"), 2))
    assert frame.get_column("出生日期").to_list() == [
        "1946-03-02", "1950-07-09", "1979-04-09", "2012-06-15", "1963-13-40"]
    assert frame.get_column("身份证号").to_list() == [p[2] for p in PEOPLE]
    assert frame.get_column("户籍地区划代码").to_list() == [
        "532301", "532301", "530102", "530102", "532301"]
    assert frame.get_column("家庭月人均收入").to_list() == ["300", "300", "420.5", None, None]


def test_a_text_cell_keeps_its_leading_zeros_and_every_digit(tmp_path):
    people = [["cx1", "甲", "053010219400503123", "户主", "0530", "0053", "否", "农村",
               "000123.40"]]
    frame = pl.concat(read_chunks(_roster(tmp_path / "r.xlsx", people), None))
    assert frame.row(0) == tuple(people[0])


def test_the_sheet_option_reads_the_named_sheet(tmp_path):
    path = _roster(tmp_path / "r.xlsx", sheet="花名册")
    assert pl.concat(read_chunks(path, None, sheet="花名册")).height == len(PEOPLE)
    assert pl.concat(read_chunks(path, None, sheet="说明")).columns == ["示例"]


def test_a_missing_sheet_is_an_input_error_naming_the_sheets(tmp_path, capsys):
    path = _roster(tmp_path / "r.xlsx")
    before = _digest(path)
    assert _batch(path, tmp_path / "out.xlsx", "--sheet", "Sheet1") == 2
    err = capsys.readouterr().err
    assert "sheet_missing" in err and "花名册, 说明" in err
    assert _digest(path) == before and not (tmp_path / "out.xlsx").exists()


def test_a_sheet_chosen_in_a_csv_input_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("家庭编号\nh1\n", encoding="utf-8")
    assert _batch(path, tmp_path / "out.csv", "--sheet", "花名册") == 2
    assert "sheet_invalid" in capsys.readouterr().err


def test_a_title_row_above_the_headers_is_an_input_error_naming_the_row(tmp_path, capsys):
    path = _roster(tmp_path / "r.xlsx", title="楚雄市困难群众花名册")
    before = _digest(path)
    assert _batch(path, tmp_path / "out.xlsx") == 2
    err = capsys.readouterr().err
    assert "excel_header_invalid" in err and "'花名册', row 1: column B, C, D, E, F" in err
    assert _digest(path) == before and not (tmp_path / "out.xlsx").exists()


def test_merged_header_cells_are_an_input_error_naming_the_column(tmp_path, capsys):
    path = _roster(tmp_path / "r.xlsx", merged=True)
    assert _batch(path, tmp_path / "out.xlsx") == 2
    err = capsys.readouterr().err
    assert "excel_header_invalid" in err and "column F has no header" in err


def test_a_file_that_is_no_workbook_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "r.xlsx"
    path.write_text("家庭编号,出生日期\nh1,1940-05-03\n", encoding="utf-8")
    assert _batch(path, tmp_path / "out.csv") == 2
    assert "file_unreadable" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_blank_rows_at_the_end_of_a_sheet_are_not_rows(tmp_path):
    path = _roster(tmp_path / "r.xlsx", PEOPLE[:2] + [[None] * 8 + [""]] * 3)
    assert pl.concat(read_chunks(path, None)).height == 2


# --- a large sheet, streamed ------------------------------------------------------------------
@pytest.fixture
def streamed(monkeypatch):
    """Every sheet read in chunks is streamed (as one above STREAM_ROWS rows is), and the
    whole-sheet reader is not used at all."""
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 0)

    def whole(*args, **kwargs):
        raise AssertionError("the whole sheet was read")
    monkeypatch.setattr(fastexcel.ExcelReader, "load_sheet_eager", whole, raising=False)


def _mixed(path: Path) -> Path:
    """The roster with a true/false cell, a date-time that is not midnight, a float, a blank
    row between rows and blank rows at the end."""
    people = [p[:] for p in PEOPLE] + [[None] * 9] + [
        ["cx005", "周八", "x", "户主", datetime(1970, 1, 2, 8, 30), 532301.0, True, "农村", 0.1],
        [None] * 8 + [" "], [None] * 9]
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("花名册")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, HEADERS)
    for r, person in enumerate(people, start=1):
        for c, value in enumerate(person):
            if isinstance(value, (date, datetime)):
                moment = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                ws.write_datetime(r, c, moment, day)
            elif value is not None:
                ws.write(r, c, value)
    book.close()
    return path


def test_a_streamed_sheet_reads_as_the_same_text_as_the_whole_sheet(tmp_path, monkeypatch):
    path = _mixed(tmp_path / "r.xlsx")
    whole = pl.concat(read_chunks(path, 3))
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 0)
    assert pl.concat(read_chunks(path, 3)).equals(whole)
    assert whole.height == len(PEOPLE) + 2  # the blank row between stays; those at the end go


def test_a_streamed_sheet_comes_in_chunks_of_the_asked_rows(tmp_path, streamed):
    chunks = list(read_chunks(_roster(tmp_path / "r.xlsx"), 2))
    assert [c.height for c in chunks] == [2, 2, 1]


def test_a_streamed_sheet_with_a_title_row_is_an_input_error(tmp_path, capsys, streamed):
    path = _roster(tmp_path / "r.xlsx", title="楚雄市困难群众花名册")
    assert _batch(path, tmp_path / "out.xlsx") == 2
    assert "excel_header_invalid" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_a_streamed_sheet_with_merged_header_cells_is_an_input_error(tmp_path, capsys, streamed):
    assert _batch(_roster(tmp_path / "r.xlsx", merged=True), tmp_path / "out.xlsx") == 2
    assert "column F has no header" in capsys.readouterr().err


def _unsized(path: Path, rows: int) -> Path:
    """A workbook as openpyxl's write-only mode writes it: no ``<dimension>`` of its rows."""
    import openpyxl
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("花名册")
    ws.append(HEADERS)
    for person in (PEOPLE * rows)[:rows]:
        ws.append([str(v) if isinstance(v, date) else v for v in person])
    book.save(path)
    return path


def test_a_sheet_states_its_rows_without_its_cells_being_read(tmp_path):
    path = _roster(tmp_path / "r.xlsx")
    rows, size = sheet_size(path, "花名册")
    assert rows == len(PEOPLE) + 1  # with the header
    assert size > 0
    assert row_count(path) == len(PEOPLE)


def test_the_sheet_asked_for_is_the_one_sized(tmp_path):
    path = tmp_path / "r.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("说明").write_row(0, 0, ["只有一行"])
    book.add_worksheet("花名册").write_column(0, 0, ["家庭编号", *map(str, range(40))])
    book.close()
    assert sheet_size(path, "花名册")[0] == 41
    assert sheet_size(path, None)[0] == 1
    assert row_count(path, "花名册") == 40


def test_a_sheet_stating_only_its_header_row_has_no_row_count(tmp_path):
    assert row_count(_roster(tmp_path / "r.xlsx", people=[])) is None


def test_a_sheet_that_does_not_state_its_rows_has_no_row_count(tmp_path):
    path = _unsized(tmp_path / "r.xlsx", 4)
    assert sheet_size(path, None)[0] is None
    assert row_count(path) is None
    assert pl.concat(read_chunks(path, 2)).height == 4


def test_a_sheet_whose_xml_is_large_is_streamed_whatever_rows_it_states(
        tmp_path, streamed, monkeypatch):
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 10**9)
    monkeypatch.setattr(spreadsheet, "STREAM_BYTES", 0)
    chunks = list(read_chunks(_roster(tmp_path / "r.xlsx"), 2))
    assert [c.height for c in chunks] == [2, 2, 1]


def test_a_large_sheet_that_does_not_state_its_rows_is_streamed_by_its_size(
        tmp_path, streamed, monkeypatch):
    monkeypatch.setattr(spreadsheet, "STREAM_BYTES", 0)
    chunks = list(read_chunks(_unsized(tmp_path / "r.xlsx", 5), 2))
    assert [c.height for c in chunks] == [2, 2, 1]


def test_a_file_that_is_no_workbook_has_no_size(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_text("家庭编号\nh1\n", encoding="utf-8")
    assert sheet_size(path, None) == (None, 0)


def test_the_roster_streamed_gives_the_results_read_whole(tmp_path, monkeypatch):
    path = _roster(tmp_path / "r.xlsx")
    assert _batch(path, tmp_path / "whole.csv") == 3  # the bad row set aside
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 0)
    assert _batch(path, tmp_path / "streamed.csv") == 3
    for name in ("{}.csv", "{}.errors.csv", "{}.summary.csv"):
        whole, streamed = (tmp_path / name.format(n) for n in ("whole", "streamed"))
        assert whole.read_bytes() == streamed.read_bytes()


# --- the roster through gongfu batch, xlsx to xlsx -------------------------------------------
def _cells(path: Path, sheet: int) -> dict[str, tuple[str | None, str | None, str]]:
    """A sheet's cells by reference: (type attribute, style index, text); a shared string's
    text is looked up."""
    with zipfile.ZipFile(path) as z:
        root = ElementTree.fromstring(z.read(f"xl/worksheets/sheet{sheet}.xml"))
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            table = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t"))
                      for si in table.iter(f"{{{NS['x']}}}si")]
    cells = {}
    for c in root.iter(f"{{{NS['x']}}}c"):
        text = "".join(t.text or "" for t in c.iter() if t.tag in (
            f"{{{NS['x']}}}v", f"{{{NS['x']}}}t"))
        cells[c.get("r")] = (c.get("t"), c.get("s"), shared[int(text)] if c.get("t") == "s"
                             else text)
    return cells


def _sheet_xml(path: Path, sheet: int) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{sheet}.xml").decode()


def _number_formats(path: Path) -> list[str]:
    """Each cell style's number format code, by style index."""
    with zipfile.ZipFile(path) as z:
        styles = ElementTree.fromstring(z.read("xl/styles.xml"))
    codes = {int(f.get("numFmtId")): f.get("formatCode")
             for f in styles.iter(f"{{{NS['x']}}}numFmt")}
    xfs = styles.find("x:cellXfs", NS)
    return [codes.get(int(xf.get("numFmtId")), "General") for xf in xfs]


def _column(index: int) -> str:
    return xl_col_to_name(index)


@pytest.fixture(scope="module")
def roster_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roster")
    src = _roster(folder / "roster.xlsx")
    before = _digest(src)
    code = _batch(src, folder / "out.xlsx", "--only",
                  "dibao_household_allowance,elderly_allowance,resident_basic_pension")
    # The same roster as CSV text, through the CSV path: the reference for every cell.
    pl.concat(read_chunks(src, None)).write_csv(folder / "roster.csv")
    assert _batch(folder / "roster.csv", folder / "ref.csv", "--only",
                  "dibao_household_allowance,elderly_allowance,resident_basic_pension") == code
    return {"src": src, "before": before, "code": code, "out": folder / "out.xlsx",
            "ref": folder / "ref.csv", "folder": folder}


def test_the_roster_runs_with_only_the_bad_row_set_aside(roster_run):
    assert roster_run["code"] == 3
    errors = pl.read_csv(roster_run["folder"] / "out.errors.csv", infer_schema=False)
    assert errors.select("row", "column", "code").rows() == [("5", "出生日期", "date_invalid")]
    assert _digest(roster_run["src"]) == roster_run["before"]


def test_every_result_cell_equals_the_csv_runs_cell_and_has_its_type(roster_run):
    ref = pl.read_csv(roster_run["ref"], infer_schema=False)
    cells = _cells(roster_run["out"], 1)
    formats = _number_formats(roster_run["out"])
    assert ref.height == 4  # row 5 set aside, as in the errors file
    money = 0
    for c, name in enumerate(ref.columns):
        assert cells[f"{_column(c)}1"][2] == name
        for r, text in enumerate(ref.get_column(name).to_list(), start=2):
            ref_key = f"{_column(c)}{r}"
            if text is None:
                assert ref_key not in cells
                continue
            kind, style, value = cells[ref_key]
            if re.fullmatch(r"\d+\.\d\d", text):  # money: a number cell, two places shown
                assert kind is None and formats[int(style)] == "#,##0.00"
                assert Decimal(value).quantize(Decimal("0.01")) == Decimal(text)
                assert Decimal(repr(float(value))) == Decimal(text)  # exact to the fen
                money += 1
            elif name == "row":
                assert kind is None and value == text
            else:
                assert kind in ("str", "inlineStr") and value == text
    assert money >= 4  # 低保, monthly and annual, for two households


def test_no_id_number_or_name_is_copied_into_the_outputs(roster_run):
    folder = roster_run["folder"]
    for path in (folder / "out.xlsx", folder / "out.errors.csv", folder / "out.summary.csv"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
        else:
            text = path.read_text(encoding="utf-8-sig")
        for person in PEOPLE:
            assert person[2] not in text and person[1] not in text


def test_every_sheet_has_a_frozen_header_and_an_autofilter_over_its_rows(roster_run):
    reader = fastexcel.read_excel(str(roster_run["out"]))
    assert reader.sheet_names == ["results", "summary"]
    for index, name in enumerate(reader.sheet_names, start=1):
        xml = _sheet_xml(roster_run["out"], index)
        height = reader.load_sheet(name).height
        width = reader.load_sheet(name).width
        assert re.search(r'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                         r'state="frozen"/>', xml)
        assert f'<autoFilter ref="A1:{_column(width - 1)}{height + 1}"/>' in xml


def test_the_summary_sheet_holds_the_summary_files_rows(roster_run):
    folder = roster_run["folder"]
    csv = pl.read_csv(folder / "out.summary.csv", infer_schema=False)
    sheet = pl.read_excel(folder / "out.xlsx", sheet_name="summary", infer_schema_length=0)
    assert sheet.columns == csv.columns
    assert csv.height > 0
    for a, b in zip(sheet.rows(), csv.rows(), strict=True):
        assert [None if x is None else (Decimal(x) if re.fullmatch(r"[\d.]+", x) else x)
                for x in a] == [None if x is None else (Decimal(x) if re.fullmatch(r"[\d.]+", x)
                                                         else x) for x in b]


# --- the writer ------------------------------------------------------------------------------
def test_rows_past_a_sheets_capacity_continue_on_a_new_sheet_with_its_header(tmp_path):
    path = tmp_path / "w.xlsx"
    writer = SheetWriter(path, tmp_path / "parts", sheet_rows=3)
    frame = pl.DataFrame({"row": [1, 2, 3, 4, 5, 6, 7], "born": [date(1940, 5, 3)] * 7,
                          "amount": [Decimal("0.10")] * 7},
                         schema={"row": pl.Int64, "born": pl.Date, "amount": pl.Decimal(38, 2)})
    writer.write(frame.head(2))
    writer.write(frame.tail(5))
    writer.finish(summary=pl.DataFrame({"total": [Decimal("0.70")]}))
    reader = fastexcel.read_excel(str(path))
    assert reader.sheet_names == ["results", "results 2", "results 3", "summary"]
    rows = [reader.load_sheet(n).to_polars() for n in reader.sheet_names[:3]]
    assert [r.get_column("row").to_list() for r in rows] == [[1, 2, 3], [4, 5, 6], [7]]
    assert all(r.get_column("born").dtype in (pl.Date, pl.Datetime("ms")) for r in rows)
    assert rows[0].get_column("born").cast(pl.Date).to_list() == [date(1940, 5, 3)] * 3
    assert not (tmp_path / "parts").exists()


def test_an_aborted_workbook_leaves_no_file_behind(tmp_path):
    writer = SheetWriter(tmp_path / "w.xlsx", tmp_path / "parts")
    writer.write(pl.DataFrame({"a": list(range(1000))}))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    path = tmp_path / "w.xlsx"
    writer = SheetWriter(path, tmp_path / "parts")
    writer.write(pl.DataFrame({"a": ["=1+1", "http://x", "007"]}))
    writer.finish()
    assert [v[0] for v in list(_cells(path, 1).values())[1:]] == ["inlineStr"] * 3 or \
        [v[0] for v in list(_cells(path, 1).values())[1:]] == ["str"] * 3
    assert "<f>" not in _sheet_xml(path, 1)


def test_the_cells_are_those_xlsxwriter_writes_cell_by_cell(tmp_path):
    """The rows' XML is built column-wise; each cell must be what XlsxWriter's own cell
    writers make of the value: type, number format and text (escapes and spaces included)."""
    frame = pl.DataFrame({
        "row": [1, 2, 3],
        "text": ["a<&>b \"q\"", " lead\x01_x0041_", None],
        "amount": [Decimal("1374.00"), None, Decimal("0.10")],
        "born": [date(1940, 5, 3), None, date(2012, 2, 29)],
        "flag": [True, False, None],
        "ratio": [0.1, 2.0, None]}, schema_overrides={"amount": pl.Decimal(38, 2)})
    ours = tmp_path / "ours.xlsx"
    writer = SheetWriter(ours, tmp_path / "parts")
    writer.write(frame)
    writer.finish()
    theirs = tmp_path / "theirs.xlsx"
    book = xlsxwriter.Workbook(str(theirs), {"strings_to_numbers": False,
                                             "strings_to_formulas": False,
                                             "strings_to_urls": False})
    ws = book.add_worksheet("results")
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, values in enumerate(frame.iter_rows(), start=1):
        for c, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, Decimal):
                ws.write_number(r, c, float(v), money)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, date):
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day), day)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write_number(r, c, v)
    book.close()

    def data(path):
        formats = _number_formats(path)
        return {ref: ("str" if kind in ("inlineStr", "s", "str") else kind,
                      formats[int(style or 0)],
                      value if kind in ("inlineStr", "s", "str", "b") else float(value))
                for ref, (kind, style, value) in _cells(path, 1).items()
                if not re.fullmatch(r"[A-Z]+1", ref)}  # the data rows: ours has a header
    assert data(ours) == data(theirs)
    assert _sheet_xml(ours, 1).count("xml:space=\"preserve\"") == 1


def test_a_failure_zipping_the_workbook_leaves_no_partial_file_or_rows(tmp_path, monkeypatch):
    import errno
    import os

    from gongfu_rules import spreadsheet
    src = _roster(tmp_path / "roster.xlsx")
    out = tmp_path / "out"
    out.mkdir()
    (out / "res.xlsx").write_bytes(b"an earlier run's workbook")

    def full(self, width):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(spreadsheet.SheetWriter, "_zip", full)
    with pytest.raises(OSError):
        run_batch(src, out / "res.xlsx", on="2025-08-01", progress=False,
                  ignore_extra_columns=True)
    assert sorted(p.name for p in out.iterdir()) == ["res.xlsx"]
    assert (out / "res.xlsx").read_bytes() == b"an earlier run's workbook"


def test_a_chunk_typed_otherwise_is_written_under_the_first_chunks_header(tmp_path):
    path = tmp_path / "w.xlsx"
    writer = SheetWriter(path, tmp_path / "parts")
    writer.write(pl.DataFrame({"row": [1], "amount": [Decimal("2.50")]},
                              schema_overrides={"amount": pl.Decimal(38, 2)}))
    writer.write(pl.DataFrame({"row": [2], "amount": [None]}))  # a column of nulls
    writer.write(pl.DataFrame({"row": [3]}))
    writer.finish()
    frame = fastexcel.read_excel(str(path)).load_sheet(0).to_polars()
    assert frame.rows() == [(1.0, 2.5), (2.0, None), (3.0, None)]


def test_an_id_number_typed_into_a_number_cell_is_an_error_saying_it_lost_its_digits(tmp_path):
    path = tmp_path / "ids.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet()
    ws.write_row(0, 0, ["household_id", "id_number", "hukou_region"])
    # Excel keeps 15 significant digits of a number typed in a General cell
    ws.write_row(1, 0, ["h1", 530102199001011000, "530102"])
    ws.write_row(2, 0, ["h2", "530102198703070012", "530102"])
    book.close()
    out = tmp_path / "out.csv"
    report = run_batch(path, out, on="2025-08-01", progress=False)
    errors = pl.read_csv(report.errors)
    assert errors.select("row", "column", "code").rows() == [
        (1, "id_number", "id_number_as_number")]
    assert report.evaluated == 1
