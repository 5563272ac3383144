"""Text cells read once per distinct value (columns.typed_frame): trimmed, an empty cell no
value, a Chinese spelling read as the canonical value, a bad one an error row."""

from datetime import date

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongfu_rules.columns import map_headers, typed_frame
from gongfu_rules.profile import (
    _ID_CHECK,
    _ID_WEIGHTS,
    id_number_check_character,
    kept_15_digits,
)


def _typed(rows: dict[str, list]) -> tuple[pl.DataFrame, pl.DataFrame]:
    raw = pl.DataFrame(rows, schema={k: pl.String for k in rows})
    return typed_frame(raw, map_headers(raw.columns)[0])


def test_canonical_cells_are_kept_as_they_are():
    typed, errors = _typed({"role": ["head", "child"], "hukou_region": ["530102", "5301"]})
    assert errors.height == 0
    assert typed.select("role", "hukou_region").rows() == [("head", "530102"), ("child", "5301")]


def test_cells_are_trimmed_and_chinese_spellings_read_as_the_value():
    typed, errors = _typed({"role": [" head", "配偶 "], "sex": ["男", " female "],
                            "household.dibao": ["是 ", "否"]})
    assert errors.height == 0
    assert typed.select("role", "sex", "household.dibao").rows() == [
        ("head", "male", True), ("spouse", "female", False)]


def test_a_cell_of_spaces_is_no_value_not_an_error():
    typed, errors = _typed({"role": ["  ", ""], "hukou_region": [" ", None]})
    assert errors.height == 0
    assert typed.select("role", "hukou_region").rows() == [(None, None), (None, None)]


def test_a_cell_that_does_not_read_is_an_error_row_naming_its_column():
    typed, errors = _typed({"role": ["head", " bogus "], "hukou_region": ["530102", "99"]})
    assert typed.height == 1
    assert errors.select("row", "column", "code").rows() == [
        (2, "hukou_region", "region_unknown"), (2, "role", "value_invalid")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text("0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_an_id_numbers_check_character_is_checked_as_one_by_one(first17, check):
    number = first17 + check
    _, errors = _typed({"id_number": [number]})
    wrong = check != id_number_check_character(first17)
    # a wrong one that is what a spreadsheet keeps of a number is reported as that instead
    expected = ("id_number_as_number" if kept_15_digits(number) else "id_number_check_digit")
    faults = {"id_number_check_digit", "id_number_as_number"} & set(errors.get_column("code"))
    assert faults == ({expected} if wrong else set())


def test_an_id_number_in_scientific_notation_is_reported_as_stored_as_a_number():
    _, errors = _typed({"id_number": ["5.30102E+17", "5.30102199001011e17"]})
    assert errors.select("row", "column", "code").rows() == [
        (1, "id_number", "id_number_as_number"), (2, "id_number", "id_number_as_number")]


def test_an_id_number_of_the_15_digits_a_number_keeps_is_reported_as_stored_as_a_number():
    # as Excel exports the number 530102199001011234 to CSV, and as its stored double reads
    _, errors = _typed({"id_number": ["530102199001011000", "530102199001011008"]})
    assert errors.get_column("code").to_list() == ["id_number_as_number"] * 2
    assert "文本" in errors.get_column("message")[0]


def test_a_valid_id_number_ending_in_000_is_accepted():
    number = "53010219900101100" + id_number_check_character("53010219900101100")
    typed, errors = _typed({"id_number": [number]})
    assert errors.height == 0 and typed.get_column("birth_date").to_list() == [date(1990, 1, 1)]


def _incomes(values: list[float | None], dtype: pl.DataType) -> tuple[list, list]:
    column = pl.Series("household.per_capita_monthly_income", values, dtype=pl.Float64)
    raw = pl.DataFrame([column.cast(dtype)])
    typed, errors = typed_frame(raw, map_headers(raw.columns)[0])
    return (typed.select("row", "household.per_capita_monthly_income").rows(),
            errors.select("row", "code").rows())


_HALF_FEN = st.builds(lambda fen, tail: fen / 100 + tail, st.integers(0, 10**13),
                      st.sampled_from([0.005, 0.00499999, 0.0050001, 0.004, 0.006, 0.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.floats(), st.floats(0, 2e9), _HALF_FEN), max_size=30))
def test_a_money_column_of_floats_reads_as_its_text_does(values):
    assert _incomes(values, pl.Float64) == _incomes(values, pl.String)


def test_a_float_income_at_half_a_fen_rounds_up_as_written():
    rows, errors = _incomes([1.005, 0.125, 743.9999995, 2.675], pl.Float64)
    assert errors == []
    assert [fen for _, fen in rows] == [101, 13, 74400, 268]


def test_the_check_digit_weights_are_powers_of_two_modulo_eleven():
    # what lets typed_frame read the 17 digits as one base-13 number (13 ≡ 2 mod 11)
    assert all(w == pow(2, 17 - i, 11) for i, w in enumerate(_ID_WEIGHTS))
    assert int("9" * 17, 13) < 2**63


def test_each_check_character_completes_its_sum_to_one_modulo_eleven():
    assert all((i + (10 if c == "X" else int(c))) % 11 == 1 for i, c in enumerate(_ID_CHECK))
