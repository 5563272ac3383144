"""A household fact repeated on its members' rows (columns.typed_frame): members agree, or
one gives it and the others leave it empty, or they disagree and the household is set aside."""

import polars as pl

from gongfu_rules.columns import map_headers, typed_frame


def _typed(rows: dict[str, list]) -> tuple[pl.DataFrame, pl.DataFrame]:
    raw = pl.DataFrame(rows, schema={k: pl.String for k in rows})
    return typed_frame(raw, map_headers(raw.columns)[0])


def test_members_giving_the_same_value_keep_it():
    typed, errors = _typed({"household_id": ["h1", "h1", "h2"],
                            "household.dibao": ["是", "是", "否"]})
    assert errors.height == 0
    assert typed.get_column("household.dibao").to_list() == [True, True, False]


def test_a_value_given_on_one_members_row_is_the_households():
    typed, errors = _typed({"household_id": ["h1", "h1", "h1", "h2", "h2"],
                            "household.per_capita_monthly_income": [None, "500", None, None, None],
                            "household.region": ["530102", "530102", "530102", None, "530103"]})
    assert errors.height == 0
    assert typed.get_column("household.per_capita_monthly_income").to_list() == \
        [50_000, 50_000, 50_000, None, None]
    assert typed.get_column("household.region").to_list() == ["530102"] * 3 + ["530103"] * 2


def test_members_giving_different_values_set_the_household_aside():
    typed, errors = _typed({"household_id": ["h1", "h1", "h2", "h2"],
                            "household.per_capita_monthly_income": ["500", "600", "700", "700"]})
    assert typed.get_column("household_id").to_list() == ["h2", "h2"]
    assert errors.select("row", "code").rows() == [(1, "household_conflict"),
                                                   (2, "household_conflict")]


def test_a_difference_between_households_is_no_conflict():
    typed, errors = _typed({"household_id": ["h1", "h2", "h3"],
                            "household.dibao": ["是", None, "否"]})
    assert errors.height == 0
    assert typed.get_column("household.dibao").to_list() == [True, None, False]
