"""gongfu batch refuses, before any work and with exit code 2, outputs that would overwrite
the input or cannot be written; the input file is never changed."""

import hashlib
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from gongfu_rules.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "caseload.csv"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def caseload(tmp_path: Path) -> Path:
    return Path(shutil.copy(EXAMPLE, tmp_path / "roll.csv"))


def _batch(src: Path, out: Path, *more: str) -> int:
    return main(["batch", str(src), "-o", str(out), "--on", "2025-08-01", "--no-progress", *more])


def test_an_output_equal_to_the_input_is_refused_and_the_input_kept(caseload, capsys):
    before = _digest(caseload)
    assert _batch(caseload, caseload) == 2
    assert "output_is_input" in capsys.readouterr().err
    assert _digest(caseload) == before


def test_an_input_named_like_the_outputs_errors_file_is_refused_and_kept(tmp_path, capsys):
    src = Path(shutil.copy(EXAMPLE, tmp_path / "res.errors.csv"))
    before = _digest(src)
    assert _batch(src, tmp_path / "res.csv") == 2
    assert "output_is_input" in capsys.readouterr().err
    assert _digest(src) == before
    assert not (tmp_path / "res.csv").exists()


def test_an_output_reached_through_a_link_to_the_input_is_refused(caseload, tmp_path):
    link = tmp_path / "link.csv"
    os.symlink(caseload, link)
    before = _digest(caseload)
    assert _batch(caseload, link) == 2
    assert _digest(caseload) == before


def test_a_missing_output_folder_is_an_input_error_before_any_work(caseload, tmp_path, capsys):
    assert _batch(caseload, tmp_path / "nowhere" / "out.csv") == 2
    assert "output_dir_missing" in capsys.readouterr().err


def test_an_unwritable_output_folder_is_an_input_error(caseload, tmp_path, capsys, monkeypatch):
    # Tests run as root in CI, which writes to read-only folders; the check asks os.access.
    monkeypatch.setattr("gongfu_rules.batch.os.access", lambda path, mode: False)
    assert _batch(caseload, tmp_path / "out.csv") == 2
    assert "output_dir_unwritable" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_chunks_of_no_rows_are_refused(caseload, tmp_path, capsys):
    assert _batch(caseload, tmp_path / "out.csv", "--chunk-rows", "0") == 2
    assert "chunk_rows_invalid" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["roll.csv", "roll.xlsx", "roll.parquet", "roll.jsonl"])
def test_an_empty_input_file_is_an_input_error_before_any_work(tmp_path, capsys, name):
    src = tmp_path / name
    src.write_bytes(b"")
    assert _batch(src, tmp_path / "out.csv") == 2
    assert "file_empty" in capsys.readouterr().err
    assert src.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_an_excel_sheet_without_cells_is_an_input_error(tmp_path, capsys):
    import xlsxwriter
    src = tmp_path / "roll.xlsx"
    book = xlsxwriter.Workbook(str(src))
    book.add_worksheet("花名册")
    book.close()
    before = _digest(src)
    assert _batch(src, tmp_path / "out.xlsx") == 2
    err = capsys.readouterr().err
    assert "file_empty" in err and "花名册" in err
    assert _digest(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.xlsx"]


def test_a_file_of_headers_only_gives_results_of_headers_only(tmp_path):
    src = tmp_path / "roll.csv"
    src.write_text("家庭编号,出生日期\n", encoding="utf-8")
    before = _digest(src)
    assert _batch(src, tmp_path / "out.csv") == 0
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").count("\n") == 1
    assert _digest(src) == before


@pytest.mark.parametrize("quoted", [False, True])
def test_a_csv_row_with_the_wrong_number_of_fields_is_an_error_row(tmp_path, quoted):
    """One row with a field too many and one with a field too few: each is an error row naming
    it, its household is set aside, every other row is evaluated."""
    src = tmp_path / "roll.csv"
    name = '"张,三"' if quoted else "张三"  # a quoted cell holding a separator is one field
    src.write_text("家庭编号,姓名,出生日期,户籍地区划代码\n"
                   f"h1,{name},1941-05-03,530102\n"
                   "h2,李四,1950-01-02,530102,extra\n"
                   "h2,李五,1952-01-02,530102\n"
                   "h3,王五,1960-01-02\n"
                   "h4,赵六,1970-01-02,530102\n", encoding="utf-8")
    before = _digest(src)
    assert _batch(src, tmp_path / "out.csv", "--ignore-extra-columns", "--only",
                  "elderly_allowance") == 3
    errors = pl.read_csv(tmp_path / "out.errors.csv", infer_schema=False)
    assert errors.select("row", "code").rows() == [
        ("2", "fields_count"), ("3", "household_set_aside"), ("4", "fields_count")]
    assert "5 fields where the header has 4" in errors.get_column("message")[0]
    results = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert results.get_column("row").to_list() == ["1", "5"]
    assert _digest(src) == before


def test_a_missing_input_file_is_an_input_error_naming_it(tmp_path, capsys):
    assert _batch(tmp_path / "nowhere.csv", tmp_path / "out.csv") == 2
    assert "file_missing" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_csv_in_no_known_encoding_is_an_input_error_and_kept(tmp_path, capsys):
    src = tmp_path / "roll.csv"
    src.write_bytes("家庭编号,出生日期\nh1,1940-05-03\n".encode("utf-16"))
    before = _digest(src)
    assert _batch(src, tmp_path / "out.csv") == 2
    assert "encoding_unknown" in capsys.readouterr().err
    assert _digest(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.csv"]
