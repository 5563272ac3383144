"""Properties of evaluation over the bundled standards, checked on generated profiles."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongfu_rules import evaluate
from gongfu_rules.dates import age_on
from gongfu_rules.evaluate import default_standards
from gongfu_rules.regions import regions

STD = default_standards()
YUNNAN = sorted(c for c in regions()._regions if c.startswith("53") and len(c) == 6)
MAYBE_BOOL = st.one_of(st.none(), st.booleans())

profiles = st.fixed_dictionaries({
    "birth_date": st.dates(date(1915, 1, 1), date(2020, 12, 31)),
    "sex": st.sampled_from(["male", "female"]),
    "hukou_region": st.sampled_from(YUNNAN),
    "residence_region": st.sampled_from(YUNNAN),
    "hukou_type": st.sampled_from(["agricultural", "non_agricultural"]),
    "orphan": MAYBE_BOOL,
    "de_facto_unsupported_child": MAYBE_BOOL,
    "child_care_arrangement": st.one_of(st.none(), st.sampled_from(["institutional", "scattered"])),
    "tekun": MAYBE_BOOL,
    "unemployed": MAYBE_BOOL,
    "unemployment_insured_months": st.one_of(st.none(), st.integers(0, 120)),
    "only_child_parent": MAYBE_BOOL,
    "only_child_sex": st.one_of(st.none(), st.sampled_from(["male", "female"])),
    "disability_certificate": MAYBE_BOOL,
    "disability_grade": st.one_of(st.none(), st.integers(1, 4)),
    "student_stage": st.one_of(st.none(), st.sampled_from(["primary", "junior_secondary", "higher"])),
    "school_location": st.one_of(st.none(), st.sampled_from(["village_township", "county_seat", "city"])),
    "nutrition_pilot_area": MAYBE_BOOL,
})
households = st.builds(lambda members, dibao: {"members": members, "dibao": dibao},
                       st.lists(profiles, min_size=1, max_size=4), MAYBE_BOOL)
dates_ = st.dates(date(2021, 1, 1), date(2026, 10, 31))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def amounts(ev):
    return {(pid, r.standard_id): r.amount for pid, rs in ev.persons.items() for r in rs
            if r.status == "eligible" and r.amount is not None}


@FAST
@given(households, dates_)
def test_evaluation_is_deterministic(household, on):
    assert evaluate(household, on=on).to_json() == evaluate(household, on=on).to_json()


@FAST
@given(households, dates_)
def test_no_value_used_is_below_a_floor_in_force(household, on):
    for results in evaluate(household, on=on, explain=False).persons.values():
        for r in results:
            for use in r.parameters:
                if use.floor_value is None or use.value is None:
                    continue
                if isinstance(use.floor_value, dict):
                    for key, floor in use.floor_value.items():
                        if floor is not None and use.value.get(key) is not None:
                            assert use.value[key] >= floor
                else:
                    assert use.value >= use.floor_value


def scaled(std, name, factor):
    """``std`` with every value of money parameter ``name`` multiplied by ``factor``."""
    def scale_param(p):
        def scale(v):
            if isinstance(v, dict):
                return {k: None if x is None else x * factor for k, x in v.items()}
            return None if v is None else v * factor
        timelines = {region: tuple(dataclasses.replace(e, value=scale(e.value)) for e in entries)
                     for region, entries in p.timelines.items()}
        return dataclasses.replace(p, timelines=MappingProxyType(timelines))

    shared = {k: (scale_param(p) if k == name else p) for k, p in std.parameters.items()}
    standards = {
        sid: dataclasses.replace(s, parameters=MappingProxyType(
            {k: (scale_param(p) if k == name else p) for k, p in s.parameters.items()}))
        for sid, s in std.standards.items()}
    return dataclasses.replace(std, parameters=MappingProxyType(shared),
                               standards=MappingProxyType(standards), _cache={})


MONEY_PARAMS = sorted(
    {k for k, p in STD.parameters.items() if "元" in p.unit}
    | {k for s in STD for k, p in s.parameters.items() if "元" in p.unit})


@FAST
@given(households, dates_, st.sampled_from(MONEY_PARAMS),
       st.decimals(Decimal(1), Decimal(3), places=2))
def test_amounts_never_fall_when_a_money_parameter_rises(household, on, name, factor):
    before = amounts(evaluate(household, on=on, explain=False))
    after = amounts(evaluate(household, on=on, standards=scaled(STD, name, factor), explain=False))
    assert before.keys() == after.keys()
    for key, amount in before.items():
        assert after[key] >= amount


def all_parameters():
    yield from STD.parameters.values()
    for s in STD:
        yield from s.parameters.values()


def test_every_version_boundary_switches_on_exactly_its_date():
    checked = 0
    for p in all_parameters():
        for region, entries in p.timelines.items():
            chain = regions().chain(region)
            for before, after in zip(entries, entries[1:]):
                assert p.resolve(chain, after.start).entry is after
                assert p.resolve(chain, after.start - timedelta(days=1)).entry is before
                checked += 1
    assert checked > 0


@given(st.dates(date(1900, 1, 1), date(2025, 12, 31)), st.integers(0, 120))
def test_age_is_completed_years(birth, days_offset):
    on = birth + timedelta(days=days_offset * 97)
    assert age_on(birth, on) == relativedelta(on, birth).years


@given(st.integers(1904, 2000).filter(lambda y: y % 4 == 0 and y != 1900), st.integers(1, 100))
def test_a_29_february_birthday_turns_a_year_older_on_1_march_in_common_years(year, n):
    birth = date(year, 2, 29)
    target = year + n
    leap = target % 4 == 0 and (target % 100 != 0 or target % 400 == 0)
    birthday = date(target, 2, 29) if leap else date(target, 3, 1)
    assert age_on(birth, birthday) == n
    assert age_on(birth, birthday - timedelta(days=1)) == n - 1


@given(st.dates(date(2003, 1, 1), date(2008, 6, 30)))
def test_under_18_ends_exactly_on_the_18th_birthday(birth):
    """不满18周岁 excludes 18: the orphan allowance stops on the birthday itself."""
    turns_18 = birth + relativedelta(years=18)
    if (birth.month, birth.day) == (2, 29) and turns_18.day == 28:
        turns_18 = date(turns_18.year, 3, 1)
    profile = {"birth_date": birth, "hukou_region": "530102", "orphan": True,
               "child_care_arrangement": "scattered"}
    assert evaluate(profile, on=turns_18 - timedelta(days=1), explain=False
                    ).get("orphan_basic_living").status == "eligible"
    assert evaluate(profile, on=turns_18, explain=False).get("orphan_basic_living").status == "not_eligible"
