"""Households whose rows are apart in the file are one household (gathered out of core), an
empty household id is an error row, and roster columns are carried into the results on
request only."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from gongfu_rules import batch
from gongfu_rules.batch import evaluate_table, run_batch
from gongfu_rules.cli import main
from gongfu_rules.errors import InputError
from gongfu_rules.households import _hashed_key, numbered, scattered_households

DIBAO = "dibao_household_allowance"
HEADER = "household_id,person_id,birth_date,hukou_region,household.per_capita_monthly_income," \
         "household.area_type,姓名\n"


def _person(household: str, person: str, name: str, income: int = 600) -> str:
    return f"{household},{person},1970-01-01,530102,{income},urban,{name}\n"


#: Household a (two members, rows 1 and 3) around household b (one member, row 2).
APART = HEADER + _person("a", "p1", "张三") + _person("b", "p1", "李四") + _person("a", "p2", "王五")


def _write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _dibao_by_household(frame: pl.DataFrame) -> dict[str, list[Decimal]]:
    """Each household's 低保 amounts as written (one per household when it is one)."""
    paid = frame.filter(pl.col(f"{DIBAO}.amount").is_not_null())
    out: dict[str, list[Decimal]] = {}
    for h, amount in paid.select("household_id", f"{DIBAO}.amount").rows():
        out.setdefault(h, []).append(Decimal(str(amount)))
    return out


def _batch(tmp_path: Path, source: Path, **options) -> tuple[batch.BatchReport, pl.DataFrame]:
    options.setdefault("keep", ["姓名"])  # the roster's names, unless a test says otherwise
    report = run_batch(source, tmp_path / "out.csv", on="2025-08-01", only=[DIBAO],
                       progress=False, **options)
    return report, pl.read_csv(report.output, infer_schema=False)


# --- households apart ------------------------------------------------------------------------
def test_evaluate_table_pays_a_household_whose_rows_are_apart_once_for_all_its_members(tmp_path):
    table = evaluate_table(_write(tmp_path, APART), on="2025-08-01", only=[DIBAO], keep=["姓名"])
    # The gap (the local standard less 600) times two members, once: not once per run of rows.
    single = _dibao_by_household(table)["b"][0]
    assert _dibao_by_household(table) == {"a": [2 * single], "b": [single]}


@pytest.mark.parametrize("chunk_rows", [1, 2, 50])
def test_a_batch_pays_a_household_whose_rows_are_apart_once_whatever_the_chunks(tmp_path,
                                                                                chunk_rows):
    _, out = _batch(tmp_path, _write(tmp_path, APART), chunk_rows=chunk_rows)
    single = _dibao_by_household(out)["b"][0]
    assert _dibao_by_household(out) == {"a": [2 * single], "b": [single]}


def test_a_household_apart_counts_once_in_the_summary(tmp_path):
    report, out = _batch(tmp_path, _write(tmp_path, APART), chunk_rows=1)
    summary = pl.read_csv(report.summary, infer_schema=False).filter(pl.col("standard") == DIBAO)
    assert summary.get_column("eligible").cast(pl.Int64).sum() == 2
    paid = sum(Decimal(x) for x in out.get_column(f"{DIBAO}.amount").drop_nulls())
    assert sum(Decimal(x) for x in summary.get_column("amount_total")) == paid


def test_a_parquet_files_integer_household_ids_apart_are_one_household(tmp_path):
    frame = pl.read_csv(_write(tmp_path, APART), infer_schema=False).with_columns(
        pl.Series("household_id", [1, 2, 1]))
    frame.write_parquet(path := tmp_path / "in.parquet")
    _, out = _batch(tmp_path, path, chunk_rows=1)
    single = _dibao_by_household(out)["2"][0]
    assert _dibao_by_household(out) == {"1": [2 * single], "2": [single]}


def test_ids_that_differ_only_in_spaces_are_one_household(tmp_path):
    text = HEADER + _person("a", "p1", "张三") + _person("b", "p1", "李四") \
        + _person(" a ", "p2", "王五")
    _, out = _batch(tmp_path, _write(tmp_path, text), chunk_rows=1)
    assert len(_dibao_by_household(out)["a"]) == 1


def test_many_households_apart_are_gathered_in_several_parts_each_paid_once(tmp_path):
    # 30 households, each member listed in a first half and again in a second half: with
    # chunks of 4 rows the gathered rows fill several parts.
    rows = [_person(f"h{i}", "p1", "甲") for i in range(30)] \
        + [_person(f"h{i}", "p2", "乙") for i in range(30)]
    _, out = _batch(tmp_path, _write(tmp_path, HEADER + "".join(rows)), chunk_rows=4)
    paid = _dibao_by_household(out)
    assert sorted(paid) == sorted(f"h{i}" for i in range(30))
    assert all(len(amounts) == 1 for amounts in paid.values())
    assert out.height == 60 and sorted(out.get_column("row").cast(pl.Int64)) == list(range(1, 61))


def test_households_apart_are_found_and_parted_by_their_first_rows():
    chunks = numbered([pl.DataFrame({"h": ["a", "b", "a"]}), pl.DataFrame({"h": ["c", "d", "c"]})])
    found = scattered_households(chunks, "h", part_rows=2)
    a, c = pl.DataFrame({"h": ["a", "c"]}).select(_hashed_key("h")).to_series()
    assert found.rows() == [(a, 0), (c, 1)]  # two rows each: one part each (ids kept hashed)


def test_a_household_cut_by_a_chunk_boundary_is_not_scattered():
    chunks = numbered([pl.DataFrame({"h": ["a", "b"]}), pl.DataFrame({"h": ["b", "c"]})])
    assert scattered_households(chunks, "h", part_rows=2).height == 0


def test_households_together_come_first_in_file_order_then_those_gathered(tmp_path):
    text = HEADER + _person("a", "p1", "") + _person("b", "p1", "") + _person("c", "p1", "") \
        + _person("a", "p2", "") + _person("d", "p1", "")
    _, out = _batch(tmp_path, _write(tmp_path, text), chunk_rows=2)
    assert out.get_column("row").cast(pl.Int64).to_list() == [2, 3, 5, 1, 4]


def _no_temporary_folders(where: Path) -> bool:
    return not list(where.glob("gongfu-households-*"))


def test_the_gathering_folder_is_removed_after_a_run(tmp_path, monkeypatch):
    (tmp := tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    created = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: created.append(1) or real(**kw))
    _batch(tmp_path, _write(tmp_path, APART), chunk_rows=1)
    assert created and _no_temporary_folders(tmp)


def test_the_gathering_folder_is_removed_when_a_run_fails(tmp_path, monkeypatch):
    (tmp := tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(batch, "money_columns", broken)
    with pytest.raises(OSError):
        _batch(tmp_path, _write(tmp_path, APART), chunk_rows=1)
    assert _no_temporary_folders(tmp)


@pytest.mark.parametrize("cell", ["", "   "])
def test_an_empty_household_id_is_an_error_row(tmp_path, cell):
    text = HEADER + _person("a", "p1", "") + _person(cell, "p1", "")
    report, out = _batch(tmp_path, _write(tmp_path, text))
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert errors.select("row", "column", "code").rows() == [("2", "household_id",
                                                              "field_missing")]
    assert out.get_column("row").to_list() == ["1"]


# --- roster columns --------------------------------------------------------------------------
def test_kept_columns_come_first_in_the_results(tmp_path):
    _, out = _batch(tmp_path, _write(tmp_path, APART), keep=["姓名"])
    assert out.columns[:2] == ["姓名", "row"]
    assert dict(out.select("row", "姓名").rows()) == {"1": "张三", "2": "李四", "3": "王五"}


def test_evaluate_table_keeps_columns_on_set_aside_rows_too():
    frame = pl.DataFrame({"household_id": ["a", "b"], "birth_date": ["1950-01-01", "1950-02-30"],
                          "村组": ["一组", "二组"]})
    table = evaluate_table(frame, on="2025-08-01", keep=["村组"])
    assert table.select("村组", "row").rows() == [("一组", 1), ("二组", 2)]
    assert table.get_column("errors").to_list()[1] is not None


def test_a_kept_column_the_file_lacks_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as caught:
        _batch(tmp_path, _write(tmp_path, APART), keep=["姓名", "村组"])
    assert caught.value.code == "keep_column_missing"
    assert not (tmp_path / "out.csv").exists()


def test_without_keep_no_personal_column_is_copied(tmp_path):
    _, out = _batch(tmp_path, _write(tmp_path, APART), ignore_extra_columns=True, keep=None)
    assert "姓名" not in out.columns
    assert not any("张三" in str(v) for row in out.rows() for v in row)


def test_a_kept_id_number_is_copied_as_written_and_still_read(tmp_path):
    text = ("household_id,hukou_region,residence_region,身份证号\n"
            "a,530102,530102,11010519491231002X\n")
    report = run_batch(_write(tmp_path, text), tmp_path / "out.csv", on="2025-08-01",
                       progress=False, keep=["身份证号"])
    out = pl.read_csv(report.output, infer_schema=False)
    assert out.get_column("身份证号").to_list() == ["11010519491231002X"]
    assert out.get_column("elderly_health_management.status").to_list() == ["eligible"]


def test_a_column_neither_read_nor_kept_is_named_with_the_header_it_is_close_to(tmp_path,
                                                                               capsys):
    path = _write(tmp_path, "household_id,出生日其\na,1950-01-01\n")
    with pytest.raises(InputError, match="did you mean '出生日期'"):
        _batch(tmp_path, path, keep=None)
    assert main(["batch", str(path), "-o", str(tmp_path / "o.csv"), "--on", "2025-08-01",
                 "--ignore-extra-columns", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "出生日其" in err and "did you mean '出生日期'" in err


def test_evaluate_table_warns_of_a_files_columns_it_does_not_read(tmp_path):
    path = _write(tmp_path, "household_id,phone\na,123\n")
    with pytest.warns(UserWarning, match="'phone'"):
        evaluate_table(path, on="2025-08-01", ignore_extra_columns=True)


def test_the_cli_keeps_the_columns_named(tmp_path):
    path = _write(tmp_path, APART)
    assert main(["batch", str(path), "-o", str(tmp_path / "o.csv"), "--on", "2025-08-01",
                 "--only", DIBAO, "--keep", "姓名", "--no-progress"]) == 0
    assert pl.read_csv(tmp_path / "o.csv", infer_schema=False).columns[0] == "姓名"


def test_a_row_with_an_extra_field_sets_aside_the_household_gathered_from_apart(tmp_path):
    # Household a's second row (row 3) has one field too many; its first row (row 1) is apart
    # from it, so the household is gathered: both its rows are error rows, b is evaluated.
    ragged = HEADER + _person("a", "p1", "张三") + _person("b", "p1", "李四") \
        + _person("a", "p2", "王五").replace("\n", ",extra\n")
    report, results = _batch(tmp_path, _write(tmp_path, ragged), chunk_rows=1)
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert sorted(errors.select("row", "code").rows()) == [
        ("1", "household_set_aside"), ("3", "fields_count")]
    assert set(_dibao_by_household(results)) == {"b"}
    assert report.rows == 3 and report.failed_rows == 2
