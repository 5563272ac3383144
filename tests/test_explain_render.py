"""Every standard's explanation, in Chinese and English, in every state a citizen can meet:
eligible, paid at a floor (amount_at_least), amount unknown, undetermined, not in force.

Each text is checked for what a citizen must never read: ``None``, ``?``, an internal name
(a snake_case token, a parameter id), an authoring note, and (in English) Chinese outside
brackets. The eligible and undetermined states come from real evaluations (the standard's own
YAML cases, a profile that says nothing); the floor, unknown-amount and not-in-force states are
built from an eligible result the way the evaluator builds them. Where a standard cannot reach
a state, the test data below says so, and the test checks that it indeed cannot.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import pytest

from gongfu_rules import evaluate
from gongfu_rules.evaluate import default_standards
from gongfu_rules.explain import explain, explain_period, unit_labels
from gongfu_rules.load.schema import Text
from gongfu_rules.regions import is_within, regions
from gongfu_rules.results import StandardResult

STD = default_standards()
ON = date(2025, 8, 1)

#: Standards that no YAML case shows eligible. A standard listed here is checked to have no
#: eligible case (so the list cannot hide one that gains a case).
NO_ELIGIBLE_CASE = frozenset({
    "hpv_vaccination",  # the local age band is not recorded anywhere: at best undetermined
})
#: Standards that a profile saying nothing but the region still decides (a condition every
#: resident meets): they cannot be undetermined. Checked both ways below.
DECIDED_FOR_EVERYONE = frozenset({
    "free_cultural_venue_access",  # everyone
    "resident_health_records",  # every resident of the area
})

_SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOTES = re.compile(r"语料库|[Ss]eed \d|line \d+|FROM MEMORY|TODO")
_OPEN, _CLOSE = "（(《【[", "）)》】]"


def outside_brackets(text: str) -> str:
    """``text`` with everything inside brackets (nested too) removed."""
    depth, out = 0, []
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def problems(text: Text) -> list[str]:
    found = []
    for lang in ("zh", "en"):
        t = getattr(text, lang)
        if not t:
            found.append(f"{lang}: empty")
        if "None" in t:
            found.append(f"{lang}: None")
        if "?" in t or "？" in t:
            found.append(f"{lang}: a question mark")
        if m := _SNAKE.search(t):
            found.append(f"{lang}: internal name {m.group()!r}")
        if m := _NOTES.search(t):
            found.append(f"{lang}: authoring note {m.group()!r}")
    bare = outside_brackets(text.en)
    if m := _CJK.search(bare):
        found.append(f"en: Chinese outside brackets near {bare[max(0, m.start() - 40):m.end() + 10]!r}")
    return found


def _county(scope: str) -> str:
    """A county inside ``scope`` (the scope itself when it is a county)."""
    if len(scope) == 6 and scope != "000000":
        return scope
    if scope == "000000":
        return "530102"
    return next(c for c in ("530102", "532301", "530111") if is_within(c, scope))


@cache
def eligible_result(sid: str) -> StandardResult | None:
    s = STD[sid]
    for case in s.tests:
        if case.expect.status != "eligible" or case.on is None:
            continue
        ev = evaluate(case.profile, case.on)
        r = ev.get(sid, None if s.entity == "household" else case.person)
        if r.status == "eligible":
            return r
    return None


@cache
def eligible_case(sid: str):
    return next((c for c in STD[sid].tests if c.expect.status == "eligible" and c.on), None)


@cache
def blank_results() -> dict[str, StandardResult]:
    """Every standard for a person who says nothing but where they live, in each scope."""
    out: dict[str, StandardResult] = {}
    for county in sorted({_county(s.scope) for s in STD}):
        ev = evaluate({"region": county, "members": [{"hukou_region": county}]}, ON)
        for r in [*next(iter(ev.persons.values())), *ev.household]:
            if is_within(county, r.standard.scope) and r.standard_id not in out:
                out[r.standard_id] = r
    return out


def _with(r: StandardResult, **fields) -> StandardResult:
    new = StandardResult._of({**{k: v for k, v in r.__dict__.items() if k != "explanation"},
                              **fields})
    new.__dict__.pop("_explain", None)
    return new


IDS = sorted(s.id for s in STD)
SHOWN = sorted(set(IDS) - NO_ELIGIBLE_CASE)


def test_every_unit_the_standards_use_has_a_label():
    used = {s.unit for s in STD if s.unit} | {p.unit for s in STD for p in s.parameters.values()} \
        | {p.unit for p in STD.parameters.values()}
    assert used - set(unit_labels()) == set()


def test_the_standards_without_an_eligible_case_are_the_listed_ones():
    assert {sid for sid in IDS if eligible_result(sid) is None} == NO_ELIGIBLE_CASE


@pytest.mark.parametrize("sid", SHOWN)
def test_eligible_explanation_reads_cleanly(sid):
    r = eligible_result(sid)
    assert r is not None
    assert problems(r.explanation) == []


#: Standards whose rule computes no amount (a service, a waiver, an amount set locally): they
#: have no floor and no unknown-amount state.
PRICED = sorted(sid for sid in SHOWN if any(rule.amount is not None for rule in STD[sid].rules))


@pytest.mark.parametrize("sid", sorted(set(SHOWN) - set(PRICED)))
def test_a_standard_without_an_amount_has_no_floor_or_unknown_amount_state(sid):
    r = eligible_result(sid)
    assert r.amount is None and r.unknown_parameters == () and r.rule.amount is None


@pytest.mark.parametrize("sid", PRICED)
def test_floor_explanation_says_at_least(sid):
    r = eligible_result(sid)
    floor = _with(r, amount=None, annual_amount=None, amount_at_least=Decimal("75"))
    text = explain(floor.standard, "eligible", result=floor)
    assert problems(text) == []
    assert "不低于75元" in text.zh and "at least 75 yuan" in text.en


@pytest.mark.parametrize("sid", PRICED)
def test_unknown_amount_explanation_names_the_figure_not_its_id(sid):
    r = eligible_result(sid)
    names = r.rule.params or ("rate",)
    unknown = _with(r, amount=None, annual_amount=None, unknown_parameters=tuple(names))
    text = explain(unknown.standard, "eligible", result=unknown)
    assert problems(text) == []
    for name in names:
        assert not re.search(rf"\b{name}\b", text.zh)


@pytest.mark.parametrize("sid", IDS)
def test_undetermined_explanation_asks_by_label(sid):
    r = blank_results().get(sid)
    assert r is not None, f"{sid}: no county in its scope was evaluated"
    assert (r.status != "undetermined") == (sid in DECIDED_FOR_EVERYONE), r
    if r.status == "undetermined":
        assert problems(r.explanation) == []


@pytest.mark.parametrize("sid", IDS)
def test_not_in_force_explanation_gives_the_start_date(sid):
    s = STD[sid]
    r = StandardResult(s, "not_eligible", reason="not_in_force")
    for text in (r.explanation or explain(s, "not_eligible", result=r),
                 explain(s, "not_in_force")):
        assert problems(text) == []
        start = s.rules[0].start
        assert f"{start.year}年{start.month}月{start.day}日起施行" in text.zh
        assert f"in force from {start.day} " in text.en


def test_a_period_explanation_gives_each_rate_not_only_the_last_month():
    # the Kunming orphan allowance changed on 2025-07-01 (a provincial rise to 1370 scattered)
    ev = evaluate({"birth_date": "2015-05-01", "hukou_region": "530102", "orphan": True,
                   "child_care_arrangement": "散居"}, period="2023")
    p = ev.get("orphan_basic_living")
    text = explain_period(p)
    assert problems(text) == []
    assert f"期间合计{p.total.normalize():f}元" in text.zh
    rates = {m.amount for m in p.months}
    for rate in rates:
        assert f"每月{rate.normalize():f}元" in text.zh
    assert p.to_dict()["explanation"]["zh"] == text.zh


def period_result(sid, case, month):
    ev = evaluate(case.profile, period=month.strftime("%Y-%m"))
    return ev.get(sid, None if STD[sid].entity == "household" else case.person)


@pytest.mark.parametrize("sid", SHOWN)
def test_a_period_explanation_reads_cleanly_and_keeps_a_services_words(sid):
    s, case = STD[sid], eligible_case(sid)
    # a period's month is evaluated on its first day: the case's month, or the next one when
    # the case's date is a birthday or a start date inside its month
    month = case.on.replace(day=1)
    following = (month + timedelta(days=31)).replace(day=1)
    p = next(r for r in (period_result(sid, case, m) for m in (month, following))
             if r.status == "eligible")
    text = p.explanation
    assert problems(text) == []
    if p.total is not None:
        total = p.total.quantize(Decimal("0.01")).normalize()
        assert f"期间合计{total:f}元" in text.zh
    elif p.detail.rule.amount is None:
        assert "期间合计" not in text.zh and text.zh == p.detail.explanation.zh


def test_the_care_subsidy_shows_the_dispersed_row_for_a_dispersed_person():
    ev = evaluate({"birth_date": "1950-01-01", "hukou_region": "530102", "tekun": True,
                   "tekun_support_mode": "分散供养", "self_care": "完全丧失"}, ON)
    r = ev.get("tekun_care_subsidy")
    assert r.status == "eligible"
    assert "集中供养" not in r.explanation.zh and "centralized" not in r.explanation.en
    assert "完全丧失生活自理能力" in r.explanation.zh


def test_a_deceased_person_reads_why_for_every_standard():
    from gongfu_rules.terminal import render
    ev = evaluate({"members": [{"hukou_region": "530102", "birth_date": "1930-01-01",
                                "death_date": "2024-01-01"}]}, ON)
    text = Text(zh=render(ev, "zh", show_all=True), en=render(ev, "en", show_all=True))
    assert problems(text) == [] and "deceased on that date" in text.en


@pytest.mark.parametrize("sid", IDS)
def test_a_month_before_birth_reads_why(sid):
    s = STD[sid]
    text = explain(s, "not_eligible", result=StandardResult(s, "not_eligible", s.rules[-1],
                                                            reason="not_born"))
    assert problems(text) == [] and "尚未出生" in text.zh


def test_an_amount_computed_from_a_table_shows_the_row_it_read():
    # the unemployment benefit is 0.9 x the monthly minimum wage of the county's class
    ev = evaluate({"birth_date": "1987-03-07", "hukou_region": "530102",
                   "residence_region": "530102", "unemployed": True,
                   "unemployment_insured_months": 30}, ON)
    text = ev.get("unemployment_insurance_benefit").explanation
    assert "class I wage areas: 2070 yuan a month" in text.en
    assert "class II" not in text.en and "二类地区" not in text.zh


# --- the states as the evaluator now produces them (not built by hand) -----------------------
def _cases_with(field: str) -> list[tuple[str, object]]:
    """(standard, case) for each YAML case whose expectation names ``field`` (set)."""
    return [(s.id, c) for s in STD for c in s.tests
            if c.on is not None and getattr(c.expect, field, None) not in (None, False)]


def _evaluated(sid: str, case) -> StandardResult:
    ev = evaluate(case.profile, case.on)
    return ev.get(sid, None if STD[sid].entity == "household" else case.person)


@pytest.mark.parametrize("sid,case", _cases_with("amount_at_least"),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_real_lower_bound_reads_at_least_the_bound(sid, case):
    r = _evaluated(sid, case)
    assert r.amount_at_least is not None
    text = r.explanation
    assert problems(text) == []
    bound = explain.__globals__["_num"](r.amount_at_least)
    if r.amount is None:
        assert f"不低于{bound}元" in text.zh and f"at least {bound} yuan" in text.en


@pytest.mark.parametrize("sid,case", _cases_with("amount_possibly_outdated"),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_real_carried_figure_says_it_may_be_outdated(sid, case):
    r = _evaluated(sid, case)
    assert r.amount_possibly_outdated and r.amount is not None
    assert problems(r.explanation) == []
    assert "最近一次公布" in r.explanation.zh and "may since have been raised" in r.explanation.en


def test_every_standard_before_its_plan_date_reads_cleanly_as_not_in_force_or_unrecorded():
    statuses, unrecorded = set(), set()
    for county in sorted({_county(s.scope) for s in STD}):
        ev = evaluate({"region": county, "members": [{"hukou_region": county}]}, date(2019, 1, 1))
        for r in [*next(iter(ev.persons.values())), *ev.household]:
            statuses.add(r.status)
            assert problems(r.explanation) == [], (r.standard_id, r.explanation)
            if r.reason == "earlier_rule_unknown":  # in force then, under an unrecorded rule
                unrecorded.add(r.standard_id)
                assert "未收录" in r.explanation.zh and "not recorded" in r.explanation.en
    assert "not_in_force" in statuses
    assert unrecorded == {s.id for s in STD if s.already_in_force is not None}
