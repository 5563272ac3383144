"""The synthetic population: reproducible, calibrated to the source counts, readable as a caseload."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gongfu_rules.batch import evaluate_table
from gongfu_rules.cli import main
from gongfu_rules.errors import InputError
from gongfu_rules.reform.population import DIBAO_PERSONS, synthesize


def test_the_same_seed_gives_the_same_population():
    assert synthesize(500, seed=3).equals(synthesize(500, seed=3))
    assert not synthesize(500, seed=3).equals(synthesize(500, seed=4))


def test_the_weighted_dibao_persons_match_the_source_count():
    frame = synthesize(3000, seed=1)
    weight = Decimal(frame["weight"][0])
    dibao = (frame["household.dibao"] == "是").sum()
    # the weight is written to four places, so the total is exact to dibao x 0.00005
    assert abs(weight * dibao - DIBAO_PERSONS) <= Decimal(dibao) * Decimal("0.00005")
    assert frame.height == 3000 and frame["weight"].n_unique() == 1


def test_a_prefecture_gets_its_own_counties_and_its_share_of_the_province():
    frame = synthesize(2000, region="5323", seed=1)
    assert set(frame["hukou_region"].str.slice(0, 4)) == {"5323"}
    weight = Decimal(frame["weight"][0])
    dibao = (frame["household.dibao"] == "是").sum()
    assert abs(weight * dibao - Decimal(DIBAO_PERSONS) * 10 / 129) < dibao  # 10 of 129 counties


def test_a_region_outside_yunnan_is_an_input_error():
    with pytest.raises(InputError) as e:
        synthesize(10, region="11")
    assert e.value.code == "region_unknown"


def test_the_batch_engine_reads_every_row(tmp_path):
    out = tmp_path / "pop.csv"
    assert main(["population", "synth", "--size", "400", "--seed", "2", "-o", str(out)]) == 0
    table = evaluate_table(out, on="2026-08-01", ignore_extra_columns=True,
                           only=["orphan_basic_living", "dibao_household_allowance"])
    assert table.height == 400 and table["errors"].null_count() == 400
