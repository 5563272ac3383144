"""Batch files past a limit: too large a household, cells that hold lists, nothing to sum.

Each is answered row by row (or, for a column no row can be read from, by refusing the file
with a clean error): never an aborted batch, a huge allocation or an echoed ID number.
"""

import polars as pl
import pytest

from gongfu_rules import InputError
from gongfu_rules.batch import evaluate_table, run_batch
from gongfu_rules.evaluate import default_standards
from gongfu_rules.limits import MAX_MEMBERS

STD = default_standards()
ID_NUMBER = "530102199001011234"


def _caseload(sizes: dict[str, int]) -> pl.DataFrame:
    households = [h for h, n in sizes.items() for _ in range(n)]
    return pl.DataFrame({
        "household_id": households,
        "person_id": [f"p{i}" for i in range(len(households))],
        "birth_date": ["1950-01-01"] * len(households),
        "hukou_region": ["530102"] * len(households),
        "tekun": ["是"] * len(households),
    })


def test_a_household_over_the_member_limit_is_set_aside_row_by_row(tmp_path):
    sizes = {"small": 2, "huge": 5000, "after": 1}
    path = tmp_path / "roll.csv"
    _caseload(sizes).write_csv(path)
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", standards=STD,
                       chunk_rows=1000, progress=False)  # the household spans five chunks
    errors = pl.read_csv(report.errors)
    results = pl.read_csv(report.output)
    assert results.get_column("household_id").to_list() == ["small", "small", "after"]
    assert errors.get_column("row").to_list() == list(range(3, 5003))
    assert set(errors.get_column("code")) == {"household_too_large"}
    assert set(errors.get_column("column")) == {"household_id"}
    assert errors.get_column("message")[0].startswith("household huge has 5000 members, more "
                                                      f"than the {MAX_MEMBERS}")
    assert report.failed_rows == 5000 and report.rows == 5003


def test_a_household_of_exactly_the_member_limit_is_evaluated(tmp_path):
    table = evaluate_table(_caseload({"full": MAX_MEMBERS}), on="2025-08-01", standards=STD)
    assert table.height == MAX_MEMBERS
    assert table.get_column("errors").null_count() == MAX_MEMBERS


def test_evaluate_table_sets_aside_a_household_over_the_member_limit():
    table = evaluate_table(_caseload({"a": 1, "b": MAX_MEMBERS + 1}), on="2025-08-01",
                           standards=STD)
    assert table.height == MAX_MEMBERS + 2  # no row dropped
    assert table.get_column("errors")[0] is None
    assert table.get_column("errors").drop_nulls().str.contains("household_id: household b has "
                                                                f"{MAX_MEMBERS + 1} members").all()


def test_the_message_for_a_household_too_large_never_holds_its_id_number(tmp_path):
    path = tmp_path / "roll.csv"
    spaced = f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}"
    _caseload({spaced: MAX_MEMBERS + 1}).write_csv(path)
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", standards=STD,
                       progress=False)
    text = report.errors.read_text(encoding="utf-8-sig")
    assert "household_too_large" in text and "<ID number, redacted>" in text
    assert ID_NUMBER[6:14] not in text


def test_a_parquet_column_of_lists_is_refused_naming_the_column_not_its_cells(tmp_path):
    path = tmp_path / "roll.parquet"
    pl.DataFrame({"person_id": ["a"], "tekun": [[ID_NUMBER, "是"]]}).write_parquet(path)
    with pytest.raises(InputError) as e:
        run_batch(path, tmp_path / "out.csv", on="2025-08-01", standards=STD, progress=False)
    assert e.value.code == "column_type_unsupported"
    assert e.value.details[0].loc == ("tekun",)
    assert ID_NUMBER not in str(e.value)
    assert not list(tmp_path.glob("out*")), "no output of a refused file"


def test_the_summary_of_a_batch_with_no_row_evaluated_still_has_its_header(tmp_path):
    path = tmp_path / "roll.csv"
    path.write_text("person_id,birth_date\na,2025-02-30\n", encoding="utf-8")
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", standards=STD,
                       progress=False)
    summary = pl.read_csv(report.summary)
    assert summary.height == 0
    assert summary.columns[:3] == ["standard", "region", "eligible"]
