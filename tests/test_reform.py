"""Reforms: the overlay, its validation, and its cost on small populations computed by hand.

Figures used by hand (standards/parameters/child_living_standard.yaml, province 53, from
2025-07-01): institutional care 2010, scattered care 1370 元/人·月; Chuxiong (532301) has no
figure of its own, so the provincial one applies there.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from gongfu_rules.load.loader import load_standards
from gongfu_rules.model import StandardsSet
from gongfu_rules.reform import ReformError, apply_reform, parse_reform, read_reform
from gongfu_rules.reform.impact import compare, read_population
from gongfu_rules.reform.target import find_value

PROPOSAL = {"proposal": {"document": "测试方案", "quote": "测试", "reliability": "unverified"}}


def reform(*changes, name="test reform") -> object:
    return parse_reform({"name": name, "description": "a test", "author": "tests",
                         "sources": PROPOSAL, "changes": list(changes)})


def orphan_rate(institutional, scattered=1370, start="2026-07-01"):
    return {"parameter": "child_living_standard", "values": {"53": {start: {
        "value": {"institutional": institutional, "scattered": scattered}, "source": "proposal"}}}}


def population(*rows, weights=None) -> object:
    """Persons as (household, birth date, county, care arrangement or None)."""
    data = {"household_id": [r[0] for r in rows], "birth_date": [r[1] for r in rows],
            "hukou_region": [r[2] for r in rows],
            "orphan": ["是" if r[3] else "" for r in rows],
            "child_care_arrangement": [r[3] or "" for r in rows]}
    if weights is not None:
        data["weight"] = [str(w) for w in weights]
    return read_population(pl.DataFrame(data))


@pytest.fixture(scope="module")
def baseline() -> StandardsSet:
    return load_standards()


def orphan_row(impact) -> dict:
    return next(r for r in impact.by_standard if r["standard"] == "orphan_basic_living")


def fingerprint(std: StandardsSet) -> tuple:
    """Everything a reform could alter in a set, as plain values (the memo cache aside)."""
    params = {name: {region: [(e.start, e.end, e.value, e.floor, e.below_floor) for e in t]
                     for region, t in p.timelines.items()} for name, p in std.parameters.items()}
    standards = {s.id: (s.end, tuple((r.start, r.end, tuple(c.test for c in r.conditions),
                                      r.amount[0] if r.amount else None) for r in s.rules),
                        {n: {reg: [(e.start, e.value) for e in t] for reg, t in p.timelines.items()}
                         for n, p in s.parameters.items()})
                 for s in std}
    return std.digest, std.reforms, params, standards


# --- applying ------------------------------------------------------------------------------------
def test_applying_a_reform_leaves_the_baseline_unchanged(baseline):
    before = fingerprint(baseline)
    ids = {k: id(v) for k, v in baseline.standards.items()}
    r = reform(orphan_rate(2100), {"standard": "tekun_care_subsidy", "enabled": False,
                                   "from": "2026-01-01"},
               {"standard": "orphan_basic_living", "from": "2026-07-01",
                "eligibility": [{"test": "orphan and age < 16", "text": {"zh": "未满16周岁的孤儿",
                                                                       "en": "an orphan under 16"}}],
                "sources": ["proposal"]})
    applied = apply_reform(baseline, r)
    compare(population(("h1", "2015-05-01", "532301", "集中")), baseline, applied, period="2026")
    assert fingerprint(baseline) == before
    assert {k: id(v) for k, v in baseline.standards.items()} == ids
    assert applied.standards.digest != baseline.digest


def test_a_reform_shares_the_standards_it_does_not_change(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    assert applied.standards["minimum_wage"] is baseline["minimum_wage"]
    # a standard reading the changed parameter is type-checked again, so it is rebuilt
    assert [r.amount[0] for r in applied.standards["orphan_basic_living"].rules] == \
        [r.amount[0] for r in baseline["orphan_basic_living"].rules]
    assert applied.standards.parameters["child_living_standard"] is not \
        baseline.parameters["child_living_standard"]


def test_applying_the_same_reform_twice_is_an_error(baseline):
    r = reform(orphan_rate(2100))
    once = apply_reform(baseline, r)
    with pytest.raises(ReformError) as e:
        apply_reform(once.standards, r)
    assert e.value.code == "reform_applied_twice"


def test_several_reforms_apply_to_one_baseline_and_stack(baseline):
    a = apply_reform(baseline, reform(orphan_rate(2100), name="a"))
    b = apply_reform(baseline, reform(orphan_rate(2200), name="b"))
    both = apply_reform(a.standards, reform({"standard": "tekun_care_subsidy", "enabled": False},
                                            name="c"))
    assert len({a.standards.digest, b.standards.digest, both.standards.digest}) == 3
    assert len(both.standards.reforms) == 2
    assert both.standards["tekun_care_subsidy"].rules == ()


def test_a_second_change_to_the_same_parameter_is_refused_not_merged(baseline):
    with pytest.raises(ReformError) as e:
        apply_reform(baseline, reform(orphan_rate(2100), orphan_rate(2200, start="2027-01-01")))
    assert e.value.code == "change_duplicate"
    assert e.value.details[0].loc == ("changes", 1)


def test_a_value_below_a_floor_set_above_it_is_a_warning_naming_the_county(baseline):
    applied = apply_reform(baseline, reform({"parameter": "dibao_urban_standard", "values": {
        "532301": {"2026-07-01": {"value": 700, "source": "proposal"}}}}))
    [warning] = applied.warnings
    assert warning.code == "floor_violated"
    assert "楚雄市 (532301)" in warning.msg and "744" in warning.msg
    assert warning.loc[:2] == ("changes", 0)


def test_raising_a_floor_above_a_local_value_warns_about_the_local_value(baseline):
    applied = apply_reform(baseline, reform({"parameter": "dibao_urban_standard", "values": {
        "53": {"2026-07-01": {"value": 900, "floor": True, "source": "proposal"}}}}))
    assert any(w.code == "floor_violated" and "(5301)" in w.msg for w in applied.warnings)


def test_a_rule_change_is_type_checked_and_the_error_points_at_the_change(baseline):
    with pytest.raises(ReformError) as e:
        apply_reform(baseline, reform({"standard": "orphan_basic_living", "from": "2026-07-01",
                                       "amount": "orphan + 1", "sources": ["proposal"]}))
    assert e.value.details[0].loc[:2] == ("changes", 0)


def test_a_value_must_cite_a_source_the_reform_defines(baseline):
    bad = orphan_rate(2100)
    bad["values"]["53"]["2026-07-01"]["source"] = "nowhere"
    with pytest.raises(ReformError) as e:
        apply_reform(baseline, reform(bad))
    assert e.value.code == "source_unknown"


def test_unknown_keys_and_parameters_are_errors():
    with pytest.raises(ReformError) as e:
        reform({**orphan_rate(2100), "valeus": {}})
    assert "valeus" in str(e.value)
    with pytest.raises(ReformError) as e:
        apply_reform(load_standards(), reform({"parameter": "rate", "values": {
            "53": {"2026-01-01": {"value": 1, "source": "proposal"}}}}))
    assert e.value.code == "reference_unknown"


def test_a_rule_change_for_one_prefecture_is_written_with_a_region_test(baseline):
    from gongfu_rules import evaluate

    younger_in_kunming = {
        "standard": "elderly_allowance", "from": "2026-07-01", "sources": ["proposal"],
        "eligibility": [{"test": "age >= 75 if hukou_in('5301') else age >= 80",
                         "text": {"zh": "昆明市75周岁以上，其他地区80周岁以上",
                                  "en": "aged 75 or over in Kunming, 80 or over elsewhere"}}]}
    applied = apply_reform(baseline, reform(younger_in_kunming))
    aged_76 = {"birth_date": "1950-03-01"}
    statuses = {region: evaluate({**aged_76, "hukou_region": region}, on="2026-08-01",
                                 standards=applied.standards).get("elderly_allowance").status
                for region in ("530102", "532301")}
    assert statuses == {"530102": "eligible", "532301": "not_eligible"}


def grade_three_subsidy(keys=None) -> list[dict]:
    """The severe-disability care subsidy extended to grade 3 from 2027, in every region that
    has its own rates, and the rule that pays it."""
    def rates(grade_3, base):
        return {"value": {**base, "grade_3": grade_3}, "source": "proposal"}
    unknown = {"grade_1": None, "grade_2": None}
    value = {"parameter": "severe_disability_care_subsidy.care_rate", "values": {
        "000000": {"2027-01-01": rates(None, unknown)},
        "53": {"2027-01-01": {**rates(50, {"grade_1": 80, "grade_2": 70}), "floor": True}},
        "5301": {"2027-01-01": rates(None, unknown)},
        "533422": {"2027-01-01": rates(60, {"grade_1": 100, "grade_2": 90})}}}
    if keys is not None:
        value["keys"] = keys
    rule = {"standard": "severe_disability_care_subsidy", "from": "2027-01-01",
            "sources": ["proposal"],
            "eligibility": [{"test": "disability_certificate", "text": {"zh": "持有残疾人证",
                                                                        "en": "holds a card"}},
                            {"test": "disability_grade in (1, 2, 3)",
                             "text": {"zh": "一至三级残疾", "en": "grades 1 to 3"}}],
            "amount": "p.care_rate['grade_1'] if disability_grade == 1 else "
                      "(p.care_rate['grade_2'] if disability_grade == 2 else p.care_rate['grade_3'])"}
    return [value, rule]


def test_a_reform_labels_the_table_keys_it_adds_and_explanations_show_the_label(baseline):
    from gongfu_rules import evaluate

    labels = {"grade_3": {"zh": "三级残疾", "en": "disability grade 3"}}
    applied = apply_reform(baseline, reform(*grade_three_subsidy(labels)))
    person = {"birth_date": "1980-03-01", "hukou_region": "532301",
              "disability_certificate": True, "disability_grade": 3}
    evaluation = evaluate(person, on="2027-03-01", standards=applied.standards)
    [result] = [r for results in evaluation.persons.values() for r in results
                if r.standard.id == "severe_disability_care_subsidy"]
    assert (result.status, result.amount) == ("eligible", Decimal(50))
    assert "三级残疾" in result.explanation.zh and "disability grade 3" in result.explanation.en


def test_a_table_key_a_reform_adds_without_a_label_is_refused(baseline):
    with pytest.raises(ReformError) as e:
        apply_reform(baseline, reform(*grade_three_subsidy()))
    assert e.value.code == "label_missing"
    assert e.value.details[0].loc[:2] == ("changes", 0)
    assert "this change's 'keys'" in e.value.details[0].msg


def test_a_reform_does_not_relabel_the_baselines_table_keys(baseline):
    labels = {"grade_3": {"zh": "三级残疾", "en": "disability grade 3"},
              "grade_1": {"zh": "最重", "en": "the most severe"}}
    with pytest.raises(ReformError) as e:
        apply_reform(baseline, reform(*grade_three_subsidy(labels)))
    assert e.value.code == "label_exists"
    assert "grade_1" in e.value.details[0].msg


# --- costs computed by hand ----------------------------------------------------------------------
def test_a_rise_from_july_costs_six_months_of_the_difference_over_the_year(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    pop = population(("h1", "2015-05-01", "532301", "集中"), ("h2", "2012-05-01", "532301", "散居"))
    got = compare(pop, baseline, applied, period="2026")
    row = orphan_row(got)
    assert row["baseline"] == Decimal(12 * 2010 + 12 * 1370)
    assert row["change"] == Decimal(6 * (2100 - 2010))
    assert got.households["gainers"] == 1 and got.households["losers"] == 0


def test_on_a_date_the_cost_is_that_days_amounts_for_a_year(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    pop = population(("h1", "2015-05-01", "532301", "集中"))
    assert orphan_row(compare(pop, baseline, applied, on="2026-08-01"))["change"] == 12 * 90
    assert orphan_row(compare(pop, baseline, applied, on="2026-06-01"))["change"] == 0


def test_weights_multiply_every_cost_and_count(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    rows = (("h1", "2015-05-01", "532301", "集中"), ("h2", "2012-05-01", "532301", "散居"))
    got = compare(population(*rows, weights=[250, "1.5"]), baseline, applied, period="2026")
    row = orphan_row(got)
    assert got.weighted
    assert row["baseline"] == Decimal(250 * 12 * 2010) + Decimal("1.5") * 12 * 1370
    assert row["change"] == 250 * 6 * 90
    assert row["beneficiaries_reform"] == Decimal("251.5")
    assert got.households["gainers"] == 250
    assert [r["change"] for r in got.by_county] == [250 * 6 * 90]
    histogram = {r["band"]: r["households"] for r in got.bands["histogram"]}
    assert histogram["100 – 1000"] == 250 and histogram["0"] == Decimal("1.5")
    assert [(r["decile"], r["gainers"]) for r in got.deciles] == [("unknown", 250)]


def test_many_distinct_weights_give_the_same_figures_as_few(baseline, monkeypatch):
    from gongfu_rules.reform import impact
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    rows = (("h1", "2015-05-01", "532301", "集中"), ("h2", "2012-05-01", "532301", "散居"),
            ("h3", "2013-05-01", "532301", "集中"))
    pop = population(*rows, weights=[250, "1.5", "0.0003"])
    grouped = compare(pop, baseline, applied, period="2026").to_dict()
    monkeypatch.setattr(impact, "_WEIGHT_CLASSES", 1)  # every row's product taken in Polars
    assert compare(pop, baseline, applied, period="2026").to_dict() == grouped
    row = next(r for r in grouped["by_standard"] if r["standard"] == "orphan_basic_living")
    assert row["change"] == "135000.16"  # (250 + 0.0003) x 6 x 90, to the fen


def test_deciles_split_households_by_income_weighted_by_persons(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    # ten one-person households with incomes 100 ... 1000; the orphan (gainer) has the lowest
    rows = {"household_id": [f"h{i}" for i in range(10)],
            "birth_date": ["2015-05-01"] + ["1980-01-01"] * 9, "hukou_region": ["532301"] * 10,
            "orphan": ["是"] + [""] * 9, "child_care_arrangement": ["集中"] + [""] * 9,
            "household.per_capita_monthly_income": [str(100 * (i + 1)) for i in range(10)]}
    got = compare(read_population(pl.DataFrame(rows)), baseline, applied, period="2026")
    assert [r["households"] for r in got.deciles] == [1] * 10
    assert [r["gainers"] for r in got.deciles] == [1] + [0] * 9
    assert got.deciles[0]["change"] == 6 * 90


def test_a_narrower_rule_from_july_loses_beneficiaries_and_half_a_year(baseline):
    under16 = {"standard": "orphan_basic_living", "from": "2026-07-01", "sources": ["proposal"],
               "eligibility": [{"test": "orphan", "text": {"zh": "孤儿", "en": "an orphan"}},
                               {"test": "age < 16", "text": {"zh": "未满16周岁", "en": "under 16"}}]}
    applied = apply_reform(baseline, reform(under16))
    pop = population(("h1", "2009-03-01", "532301", "散居"), ("h2", "2015-05-01", "532301", "散居"))
    row = orphan_row(compare(pop, baseline, applied, period="2026"))
    assert row["change"] == -6 * 1370
    on = compare(pop, baseline, applied, on="2026-08-01")
    assert orphan_row(on)["lost"] == 1 and orphan_row(on)["change"] == -12 * 1370
    [example] = on.examples
    orphan = next(r for r in example["results"] if r["standard"] == "orphan_basic_living")
    assert (orphan["before"]["status"], orphan["after"]["status"]) == ("eligible", "not_eligible")
    assert "未满16周岁" in orphan["after"]["zh"]
    # no longer excluded by the orphan allowance, the linked standards now need an answer
    linked = {r["standard"]: r["after"]["status"] for r in example["results"]}
    assert linked["de_facto_unsupported_child_subsidy"] == "undetermined"


def test_switching_a_standard_off_from_july_saves_half_a_year(baseline):
    applied = apply_reform(baseline, reform({"standard": "orphan_basic_living", "enabled": False,
                                             "from": "2026-07-01"}))
    pop = population(("h1", "2015-05-01", "532301", "集中"))
    assert orphan_row(compare(pop, baseline, applied, period="2026"))["change"] == -6 * 2010


def test_rows_with_bad_data_are_set_aside_and_counted(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    pop = population(("h1", "2015-05-01", "532301", "集中"), ("h2", "2015-13-01", "532301", "集中"))
    got = compare(pop, baseline, applied, period="2026")
    assert got.set_aside == 1 and orphan_row(got)["change"] == 6 * 90


def test_the_dibao_line_is_reported_not_computable_without_income(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    got = compare(population(("h1", "2015-05-01", "532301", "集中")), baseline, applied,
                  period="2026")
    assert got.dibao_line["computable"] is False
    assert "per_capita_monthly_income" in got.dibao_line["reason"]


def test_every_output_is_stamped(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    pop = population(("h1", "2015-05-01", "532301", "集中"))
    stamp = compare(pop, baseline, applied, period="2026").stamp
    assert stamp["standards_digest"] == baseline.digest
    assert stamp["reform_digest"] == applied.reform.digest
    assert stamp["population_digest"] == pop.digest and len(pop.digest) == 16
    assert stamp["package_version"]


def test_target_cost_finds_the_largest_value_within_the_budget(baseline):
    pop = population(("h1", "2015-05-01", "532301", "集中"))
    found = find_value(pop, baseline, reform(orphan_rate(2100)),
                       "child_living_standard[institutional]", Decimal(600), period="2026")
    assert found.value == 2110  # 6 months x (2110 - 2010) = 600
    assert found.cost == 600 and found.next_cost == 606



def test_a_household_losing_its_allowance_moves_below_the_local_dibao_line(baseline):
    applied = apply_reform(baseline, reform({"standard": "orphan_basic_living", "enabled": False,
                                             "from": "2026-07-01"}))
    # two members, urban, 100 a month each: 100 + 1370 / 2 = 785 >= 744 (the 2025 provincial
    # urban line, a floor Chuxiong pays); without the allowance 100 < 744
    frame = pl.DataFrame({"household_id": ["h1", "h1"], "birth_date": ["2015-05-01", "1960-01-01"],
                          "hukou_region": ["532301", "532301"], "orphan": ["是", ""],
                          "child_care_arrangement": ["散居", ""],
                          "household.per_capita_monthly_income": ["100", "100"],
                          "household.area_type": ["urban", "urban"]})
    line = compare(read_population(frame), baseline, applied, on="2026-08-01").dibao_line
    assert line["computable"] is True
    assert (line["below"], line["above"], line["compared"]) == (1, 0, 1)


def test_a_value_with_an_end_gives_the_baseline_back_after_it(baseline):
    change = orphan_rate(2100)
    change["values"]["53"]["2026-07-01"]["end"] = "2026-10-01"
    applied = apply_reform(baseline, reform(change))
    timeline = applied.standards.parameters["child_living_standard"].timelines["53"]
    assert [(str(e.start), e.value["institutional"]) for e in timeline[-3:]] == [
        ("2025-07-01", 2010), ("2026-07-01", 2100), ("2026-10-01", 2010)]
    pop = population(("h1", "2015-05-01", "532301", "集中"))
    assert orphan_row(compare(pop, baseline, applied, period="2026"))["change"] == 3 * 90


def test_chinese_headers_and_a_weight_column_named_quanzhong_are_read(baseline):
    applied = apply_reform(baseline, reform(orphan_rate(2100)))
    frame = pl.DataFrame({"出生日期": ["2015-05-01"], "户籍地区划代码": ["532301"],
                          "是否孤儿": ["是"], "养育方式（集中/散居）": ["集中"], "权重": ["3"]})
    got = compare(read_population(frame), baseline, applied, period="2026")
    assert got.weighted and orphan_row(got)["change"] == 3 * 6 * 90


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parent.parent.glob(
    "examples/reform_*.yaml")), ids=lambda p: p.name)
def test_every_example_reform_applies_and_cites_itself_as_unverified(path, baseline):
    applied = apply_reform(baseline, read_reform(path))
    assert applied.changed
    assert all(w.code == "floor_violated" for w in applied.warnings)
    assert {s.reliability for s in applied.reform.spec.sources.values()} == {"unverified"}


def test_the_tekun_example_pays_1_4_times_the_urban_line_from_2027(baseline):
    applied = apply_reform(baseline, read_reform(Path(__file__).resolve().parent.parent
                                                 / "examples" / "reform_tekun_1_4.yaml"))
    frame = pl.DataFrame({"birth_date": ["1950-01-01"], "hukou_region": ["532301"],
                          "tekun": ["是"]})
    got = next(r for r in compare(read_population(frame), baseline, applied,
                                  on="2027-02-01").by_standard
               if r["standard"] == "tekun_basic_living")
    # the 2025 provincial urban line 744 (no later figure): ceil(1.4 x 744) - ceil(1.3 x 744)
    assert got["change"] == 12 * (1042 - 968)
    # Kunming's own ratio (1.3, open-ended) falls under the proposed provincial floor
    [warning] = applied.warnings
    assert "昆明市 (5301) value 1.3" in warning.msg and "floor 1.4" in warning.msg
