"""Profiles, dates and periods given to evaluate(): bad or outsized input is a GongfuError with
a stable code, checked before any work — never a crash — and no error repeats an ID number or a
birth date read from one."""

import time
from datetime import date, datetime

import pytest

from gongfu_rules import GongfuError, InputError, ProfileError, evaluate
from gongfu_rules.errors import ErrorDetail, InternalError, boundary, redact
from gongfu_rules.limits import MAX_MEMBERS, MAX_NESTING
from gongfu_rules.profile import id_number_check_character

PERSON = {"birth_date": "1950-01-01", "hukou_region": "530102"}
FIRST17 = "53010219900101123"
ID = FIRST17 + id_number_check_character(FIRST17)
FULL_WIDTH = ID.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})


def error_of(profile, **when) -> GongfuError:
    with pytest.raises(GongfuError) as e:
        evaluate(profile, **(when or {"on": "2025-01-01"}))
    return e.value


def shows_id(error: GongfuError) -> bool:
    text = str(error) + repr(error.to_dicts())
    digits = "".join(str(int(ch)) for ch in text if ch.isdigit())  # full-width digits too
    return FIRST17[:15] in digits


# --- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("per_capita_monthly_income", 10**5000), ("per_capita_monthly_income", "9" * 5000),
    ("tekun_deaths", 10**23), ("tekun_deaths", "1" * 5000), ("per_capita_monthly_income", 10**13)],
    ids=["int", "text", "1e23", "text", "1e13"])
def test_a_household_number_past_the_limit_is_number_too_large(field, value):
    e = error_of({"members": [PERSON], field: value})
    assert e.code == "number_too_large" and e.details[0].loc == (field,)
    assert len(str(e)) < 300


@pytest.mark.parametrize("field", ["disability_grade", "hukou_region", "orphan", "id", "sex"])
def test_a_5000_digit_number_in_any_person_field_is_a_profile_error(field):
    e = error_of({**PERSON, field: 10**5000})
    assert isinstance(e, ProfileError) and len(str(e)) < 400


def test_a_household_of_more_than_the_member_limit_is_refused_before_any_work():
    start = time.perf_counter()
    e = error_of({"members": [PERSON] * (MAX_MEMBERS * 100)})
    assert e.code == "household_too_large" and time.perf_counter() - start < 1


def test_a_household_at_the_member_limit_evaluates_and_serialises():
    result = evaluate({"members": [PERSON] * MAX_MEMBERS}, on="2025-01-01", explain=False)
    assert len(result.persons) == MAX_MEMBERS


def test_5000_deep_nesting_is_a_profile_error_not_a_recursion_error():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    e = error_of({**PERSON, "x": deep})
    assert e.code == "profile_too_deep" and len(e.details[0].loc) <= MAX_NESTING


def test_a_profile_with_a_million_values_is_refused_before_any_work():
    start = time.perf_counter()
    e = error_of({**PERSON, "notes": list(range(10**6))})
    assert e.code == "profile_too_large" and time.perf_counter() - start < 2


# --- dates and periods -------------------------------------------------------------------------
def test_a_datetime_stands_for_its_day():
    at_noon = evaluate(PERSON, on=datetime(2025, 1, 1, 12, 30))
    assert at_noon.on == date(2025, 1, 1) and type(at_noon.on) is date


def test_a_date_subclass_stands_for_its_day():
    class Day(date):
        pass
    assert evaluate(PERSON, on=Day(2025, 1, 1)).on == date(2025, 1, 1)


@pytest.mark.parametrize("period", ["9999", "0000", "1899", "2200-01"])
def test_a_period_outside_the_supported_years_is_an_input_error(period):
    e = error_of(PERSON, period=period)
    assert isinstance(e, InputError) and e.code == "period_out_of_range"


@pytest.mark.parametrize("on", ["9999-12-31", "0001-01-01", date.max, date.min])
def test_a_date_outside_the_supported_years_is_an_input_error(on):
    e = error_of(PERSON, on=on)
    assert isinstance(e, InputError) and e.code == "date_out_of_range"


@pytest.mark.parametrize("on", [20250101, 10**5000, None, ["2025-01-01"], "x" * 10**6],
                         ids=["int", "huge-int", "none", "list", "long-text"])
def test_an_evaluation_date_of_the_wrong_kind_is_an_input_error(on):
    e = error_of(PERSON, on=on)
    assert isinstance(e, InputError) and len(str(e)) < 400


@pytest.mark.parametrize("field", ["birth_date", "death_date"])
def test_a_profile_date_outside_the_supported_years_is_a_profile_error(field):
    e = error_of({**PERSON, field: "0001-01-01"})
    assert e.code == "date_out_of_range" and e.details[0].loc == (field,)


# --- personal data -------------------------------------------------------------------------
@pytest.mark.parametrize("profile", [
    {"id_number": [ID]}, {"id_number": f"{ID[:6]} {ID[6:14]} {ID[14:]}"},
    {"id_number": "-".join([ID[:6], ID[6:14], ID[14:]])}, {"id_number": "ID:" + ID},
    {"id_number": FULL_WIDTH}, {ID: True}, {"orphan": ID}, {"sex": "x" + ID},
    {"members": [{"id": ID}, {"id": ID}]}, {"hukou_region": ID}, {"members": [{"x": {ID: ID}}]},
    {"id_number": ID[:17] + ("1" if ID[17] != "1" else "2")},
], ids=lambda p: "-".join(str(k)[:8] for k in p))
def test_no_error_repeats_an_id_number_however_it_is_written(profile):
    assert not shows_id(error_of(profile))


def test_a_birth_date_read_from_an_id_number_is_not_shown():
    e = error_of({"id_number": ID}, on="1980-01-01")
    assert e.code == "birth_after_evaluation"
    assert "1990" not in str(e) and "1990" not in repr(e.to_dicts())


def test_a_birth_date_the_caller_gave_is_shown():
    e = error_of({"birth_date": "1990-01-01"}, on="1980-01-01")
    assert "1990-01-01" in str(e)


def test_redaction_keeps_dates_and_codes_but_hides_long_digit_runs():
    assert redact("from 2024-01-01 in 530102") == "from 2024-01-01 in 530102"
    assert "1990" not in redact(f"ids {ID} and {FULL_WIDTH}")


def test_an_error_detail_is_bounded_whatever_it_is_given():
    d = ErrorDetail("x", "m" * 10**6, loc=("a" * 10**4,), input=["y" * 10**6] * 10**4)
    assert len(str(d)) < 3000 and len(repr(d.to_dict())) < 10_000


# --- the boundary --------------------------------------------------------------------------
def test_an_unexpected_exception_leaves_as_an_internal_error_with_its_cause():
    @boundary
    def broken():
        raise ZeroDivisionError("secret " + ID)
    with pytest.raises(InternalError) as e:
        broken()
    assert e.value.code == "internal_error" and e.value.http_status == 500
    assert isinstance(e.value.__cause__, ZeroDivisionError) and ID not in str(e.value)
