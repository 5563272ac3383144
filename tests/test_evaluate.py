"""Single-profile evaluation: statuses, periods, exclusions, bad input, JSON."""

import json
from datetime import date

import pytest
from conftest import variant, write

from gongfu_rules import InputError, ProfileError, evaluate, load_standards

KUNMING_ORPHAN = {"birth_date": "2007-05-15", "hukou_region": "530102", "orphan": True,
                  "child_care_arrangement": "散居"}


def two_versions(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"] = {"53": {
        "2024-01-01": {"value": 100, "source": "doc", "floor": True},
        "2024-07-01": {"value": 110, "source": "doc", "floor": True}}}
    return load_standards(write(tmp_path, s))


def test_a_period_counts_months_up_to_the_18th_birthday():
    r = evaluate(KUNMING_ORPHAN, period="2025").get("orphan_basic_living")
    months = [m.status for m in r.months]
    assert months == ["eligible"] * 5 + ["not_eligible"] * 7  # turns 18 on 15 May: June is out
    assert r.total == 5 * 1374


def test_a_version_change_inside_a_period_is_counted_from_its_month(tmp_path):
    std = two_versions(tmp_path)
    r = evaluate({"birth_date": "1950-01-01", "hukou_region": "532301"}, period="2024",
                 standards=std).get("demo_allowance")
    assert r.total == 6 * 100 + 6 * 110
    assert r.detail.is_floor  # no local value: the floor is paid, and said so


def test_a_month_period_evaluates_that_month():
    r = evaluate(KUNMING_ORPHAN, period="2025-05").get("orphan_basic_living")
    assert (r.status, r.total) == ("eligible", 1374)


def test_a_deceased_person_is_not_eligible():
    p = {**KUNMING_ORPHAN, "death_date": "2024-01-10"}
    r = evaluate(p, on="2024-02-01").get("orphan_basic_living")
    assert (r.status, r.reason) == ("not_eligible", "deceased")


def test_a_birth_date_after_the_evaluation_date_is_an_error_naming_the_field():
    with pytest.raises(ProfileError) as e:
        evaluate({"birth_date": "2030-01-01"}, on="2025-01-01")
    assert e.value.details[0].loc == ("members", 0, "birth_date")
    assert e.value.code == "birth_after_evaluation"


def test_a_child_born_inside_the_period_is_counted_from_birth():
    p = {**KUNMING_ORPHAN, "birth_date": "2024-03-10"}
    r = evaluate(p, period="2024").get("orphan_basic_living")
    assert r.months[0].status == "not_eligible" and r.total == 9 * 1374


@pytest.mark.parametrize("kwargs, code", [
    ({"on": "2025-13-01"}, "date_invalid"),
    ({"period": "2025-7"}, "period_invalid"),
    ({}, "time_invalid"),
    ({"on": "2025-01-01", "period": "2025"}, "time_invalid"),
])
def test_bad_dates_and_periods_are_input_errors(kwargs, code):
    with pytest.raises(InputError) as e:
        evaluate(KUNMING_ORPHAN, **kwargs)
    assert e.value.code == code


def test_unknown_profile_field_is_rejected_by_name():
    with pytest.raises(ProfileError) as e:
        evaluate({**KUNMING_ORPHAN, "orphen": True}, on="2025-01-01")
    assert e.value.details[0].loc == ("orphen",)


def test_a_partial_profile_lists_what_would_decide_it():
    r = evaluate({"hukou_region": "530102"}, on="2025-01-01").get("orphan_basic_living")
    assert r.status == "undetermined" and set(r.missing) == {"orphan", "birth_date"}


def test_unknown_region_leaves_the_result_undetermined():
    r = evaluate({"birth_date": "2015-01-01", "orphan": True}, on="2025-01-01").get("orphan_basic_living")
    assert r.status == "undetermined" and "hukou_region" in r.missing


def test_json_is_stable_and_records_the_standards_set():
    data = json.loads(evaluate(KUNMING_ORPHAN, on="2024-03-01").to_json(detail="full"))
    assert data["schema"] == "gongfu-rules/evaluation/1"
    assert set(data["standards_set"]) == {"name", "version", "digest"}
    [person] = data["persons"]
    assert set(person) == {"id", "entitlements", "undetermined", "not_eligible", "not_in_force"}
    orphan = next(e for e in person["entitlements"] if e["standard"] == "orphan_basic_living")
    assert orphan["amount"] == "1374.00" and orphan["annual_amount"] == "16488.00"
    assert orphan["parameters"][0]["region"] == "5301"
    assert orphan["parameters"][0]["source"]["reliability"] == "mirror"
    assert {"zh", "en"} == set(orphan["explanation"])


def test_a_weak_source_is_said_in_the_explanation():
    r = evaluate(KUNMING_ORPHAN, on="2024-03-01").get("orphan_basic_living")
    assert r.reliability == "mirror"
    assert "转载" in r.explanation.zh and "reprint" in r.explanation.en


def test_explanations_can_be_turned_off():
    r = evaluate(KUNMING_ORPHAN, on="2024-03-01", explain=False).get("orphan_basic_living")
    assert r.explanation is None and r.amount == 1374


def test_a_lone_person_is_a_one_person_household():
    ev = evaluate(KUNMING_ORPHAN, on=date(2024, 3, 1))
    assert list(ev.persons) == ["p1"]
