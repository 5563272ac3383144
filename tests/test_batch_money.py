"""Result amounts: the engine's millionths of a 元 become exact Decimal(18, 2) 元, rounded
half away from zero to the fen (table.money_columns)."""

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongfu_rules.compile.vector import LIMIT
from gongfu_rules import table
from gongfu_rules.table import money_columns

HELD = int(LIMIT)  # the largest magnitude the engine holds, in millionths


@pytest.fixture(autouse=True, params=["divided", "on Arrow buffers"])
def conversion(request, monkeypatch):
    """Every test runs on both conversions: a small frame's division, a large one's relabelled
    Arrow buffers (the threshold moved so that these small frames take each)."""
    monkeypatch.setattr(table, "_ARROW_MONEY_ROWS", 10**9 if request.param == "divided" else 0)


def _yuan(millionths: int | None) -> Decimal | None:
    if millionths is None:
        return None
    return (Decimal(millionths) / 10**6).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _amounts(values: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame({"s.amount": values, "s.annual_amount": values[::-1]},
                        schema={"s.amount": pl.Int64, "s.annual_amount": pl.Int64})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(-HELD, HELD)), max_size=40))
def test_amounts_are_the_millionths_rounded_half_away_from_zero_to_the_fen(values):
    out = money_columns(_amounts(values))
    assert out.schema["s.amount"] == pl.Decimal(18, 2)
    assert out.get_column("s.amount").to_list() == [_yuan(v) for v in values]
    assert out.get_column("s.annual_amount").to_list() == [_yuan(v) for v in values[::-1]]


def test_half_a_fen_rounds_away_from_zero_and_just_under_it_rounds_down():
    out = money_columns(_amounts([5_000, -5_000, 4_999, -4_999, 15_000, 0]))
    assert out.get_column("s.amount").to_list() == [
        Decimal("0.01"), Decimal("-0.01"), Decimal("0.00"), Decimal("0.00"), Decimal("0.02"),
        Decimal("0.00")]


def test_the_largest_amounts_the_engine_holds_are_exact():
    out = money_columns(_amounts([HELD, -HELD, None]))
    assert out.get_column("s.amount").to_list() == [
        Decimal("4000000000000.00"), Decimal("-4000000000000.00"), None]


def test_a_slice_or_a_frame_of_several_chunks_converts_row_by_row():
    frame = _amounts([1_234_567, None, -7_654_321, 5_000])
    stacked = pl.concat([frame.slice(1), frame], rechunk=False)
    expected = [_yuan(v) for v in [None, -7_654_321, 5_000, 1_234_567, None, -7_654_321, 5_000]]
    assert money_columns(stacked).get_column("s.amount").to_list() == expected
    assert money_columns(frame.slice(1, 2)).get_column("s.amount").to_list() == expected[:2]


def test_other_columns_are_left_as_they_are():
    frame = _amounts([1]).with_columns(pl.lit("eligible").alias("s.status"))
    out = money_columns(frame)
    assert out.columns == frame.columns and out.get_column("s.status").item() == "eligible"
