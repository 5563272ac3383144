"""What the single-profile evaluator keeps between calls, and what it leaves for later: plans in a
bounded LRU, decisions remembered by the facts they read, explanations written when read."""

import dataclasses
import importlib
from datetime import date, timedelta
from decimal import Decimal

import pytest

from hypothesis import given
from test_properties import FAST, YUNNAN, dates_, households

from gongfu_rules import evaluate
from gongfu_rules.evaluate import default_standards
from gongfu_rules.model import PLAN_CACHE_SIZE, STEP_CACHE_SIZE, LRUCache

evaluate_module = importlib.import_module("gongfu_rules.evaluate")  # the name is the function
STD = default_standards()
FAMILY = {"region": "530102", "dibao": True, "per_capita_monthly_income": 300, "members": [
    {"id": "grandmother", "birth_date": "1936-04-12", "sex": "女", "hukou_region": "530111",
     "hukou_type": "农业", "only_child_parent": True, "only_child_sex": "男"},
    {"id": "niece", "birth_date": "2014-09-01", "sex": "女", "hukou_region": "530102",
     "orphan": True, "child_care_arrangement": "散居"}]}


def fresh_copy(std):
    """The same standards with no plan cached (``_plans`` is not an init argument)."""
    return dataclasses.replace(std, _cache={})


def test_the_lru_drops_the_least_recently_used_entry():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert len(cache) == 2


def test_the_plan_cache_stays_bounded_over_many_dates(monkeypatch):
    std = fresh_copy(STD)
    monkeypatch.setattr(std._plans, "size", 5)
    monkeypatch.setattr(std._steps, "size", 7)
    for day in range(12):
        evaluate(FAMILY, on=date(2025, 1, 1) + timedelta(days=day), standards=std, explain=False)
    assert (len(std._plans), len(std._steps)) == (5, 7)
    assert STEP_CACHE_SIZE >= 4 * len(YUNNAN)  # both entities and bases, every county
    assert PLAN_CACHE_SIZE >= STEP_CACHE_SIZE


def test_a_plan_evicted_and_rebuilt_gives_the_same_results(monkeypatch):
    std = fresh_copy(STD)
    monkeypatch.setattr(std._plans, "size", 1)
    monkeypatch.setattr(std._steps, "size", 1)
    first = evaluate(FAMILY, on="2025-03-01", standards=std).to_json()
    evaluate(FAMILY, on="2024-03-01", standards=std)  # evicts the first plan
    assert evaluate(FAMILY, on="2025-03-01", standards=std).to_json() == first


def test_the_decision_memo_is_cleared_when_full(monkeypatch):
    monkeypatch.setattr(evaluate_module, "DECISION_CACHE_SIZE", 10)
    evaluate_module._forget_decisions()
    evaluate(FAMILY, on="2025-03-01", explain=False)
    evaluate(FAMILY, on="2024-03-01", explain=False)  # more decisions than fit
    assert 0 < evaluate_module._decisions_held() <= 10


@FAST
@given(households, dates_)
def test_remembered_decisions_equal_fresh_ones(household, on):
    warm = evaluate(household, on=on).to_json()
    evaluate_module._forget_decisions()
    assert evaluate(household, on=on, standards=fresh_copy(STD)).to_json() == warm


@FAST
@given(households, dates_)
def test_a_profile_evaluated_again_finds_every_decision_remembered(household, on):
    # the keys a run picks from the profile's facts are the ones its decisions were kept under
    evaluate(household, on=on, explain=False)
    decided = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate_module, "_make_room", lambda: decided.append(1))
        evaluate(household, on=on, explain=False)
    assert decided == []


def test_explanations_are_written_only_when_read(monkeypatch):
    written = []
    real = evaluate_module.explain
    monkeypatch.setattr(evaluate_module, "explain", lambda *a, **k: written.append(a) or real(*a, **k))
    result = evaluate(FAMILY, on="2025-08-01")
    assert written == []
    orphan = result.get("orphan_basic_living", "niece")
    assert orphan.explanation.zh.startswith("符合孤儿基本生活费的条件") and len(written) == 1
    assert orphan.explanation is orphan.explanation and len(written) == 1  # written once
    result.to_json()
    every = [r for rs in (*result.persons.values(), result.household) for r in rs]
    explained = sum(r.explanation is not None for r in every)
    # results with the same decision on the same step share one explanation
    assert 1 < len(written) <= explained
    before = len(written)
    result.to_json()
    assert len(written) == before  # nothing is written twice


def test_an_excluded_result_explains_what_excluded_it():
    result = evaluate(FAMILY, on="2025-08-01")
    excluded = [r for rs in result.persons.values() for r in rs if r.reason == "excluded"]
    assert excluded
    for r in excluded:
        assert r.explanation.en.endswith("the two are not paid together.")


def test_without_explanations_none_is_written_even_when_read():
    result = evaluate(FAMILY, on="2025-08-01", explain=False)
    assert all(r.explanation is None for rs in result.persons.values() for r in rs)
    assert "explanation" not in result.to_json()


def test_results_are_immutable():
    result = evaluate(FAMILY, on="2025-08-01").get("orphan_basic_living", "niece")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.amount = Decimal("1")  # type: ignore[misc]


def test_evaluations_reaching_one_decision_share_its_result_and_explanation():
    first = evaluate(FAMILY, on="2025-08-01").get("elderly_allowance", "grandmother")
    again = evaluate(FAMILY, on="2025-08-01").get("elderly_allowance", "grandmother")
    plain = evaluate(FAMILY, on="2025-08-01", explain=False).get("elderly_allowance",
                                                                 "grandmother")
    assert again is first and first.status == "eligible"
    assert first.explanation is again.explanation is not None
    assert plain is not first and plain.explanation is None and plain == dataclasses.replace(
        first, explanation=None)


def test_counties_whose_values_resolve_alike_share_decisions():
    def moved(county):
        return {**FAMILY, "region": county, "members": [
            {**m, "hukou_region": county} for m in FAMILY["members"]]}
    here = evaluate(moved("530102"), on="2025-08-01")
    there = evaluate(moved("530103"), on="2025-08-01")
    pairs = list(zip(here.persons["grandmother"], there.persons["grandmother"]))
    # read from the same entries (the province's or the prefecture's): one decision, unless
    # a condition reads the county itself
    alike = [(a, b) for a, b in pairs if a.parameters and all(
        len(u.region) <= 4 for u in a.parameters)]
    assert len([a for a, b in alike if a is b]) >= 10
    own = [(a, b) for a, b in pairs if any(
        len(u.region) == 6 and u.region != "000000" for u in a.parameters)]
    assert own and all(a is not b and a.value_region != b.value_region for a, b in own)


def test_a_rule_reading_every_members_facts_reads_each_member_once_per_household(monkeypatch):
    # family_planning_special_assistance is a person rule whose aggregates read every
    # member's facts: each member's evaluation needs the same members' keys (two household
    # rules read the members' facts too)
    read = []
    member_key = evaluate_module._member_key

    def counting(facts):
        key = member_key(facts)
        return lambda m: (read.append((facts, m.person.id)), key(m))[1]
    monkeypatch.setattr(evaluate_module, "_member_key", counting)
    couple = {"region": "530102", "members": [
        {"id": id_, "role": role, "birth_date": born, "sex": sex, "hukou_region": "530102",
         "only_child_parent": True, "only_child_status": "deceased"}
        for id_, role, born, sex in (("husband", "head", "1960-02-01", "男"),
                                     ("wife", "spouse", "1962-03-01", "女"))]}
    result = evaluate(couple, on="2025-08-01", standards=fresh_copy(STD), explain=False)
    assert result.get("family_planning_special_assistance", "wife").status == "eligible"
    assert len(read) == len(set(read)) == 2 * len({facts for facts, _ in read}) >= 2


def test_only_dotted_names_become_lookup_code():
    # a plan's lookup function is written from the names of the facts its keys read
    make, source = evaluate_module._lookup_maker(((("person.tekun", "_age"), False),))
    assert "person['tekun']" in source and "ctx._age" in source
    with pytest.raises(ValueError, match="not a fact's name"):
        evaluate_module._lookup_maker(((("person.tekun; import os",), False),))


def test_counties_resolving_alike_share_their_looked_up_values_and_others_get_their_own():
    from gongfu_rules.regions import regions

    std, on = fresh_copy(STD), date(2025, 8, 1)
    s = std["elderly_allowance"]
    rule = s.rule_on(on)
    # 530102 (五华区) has its own allowance; 532301 and 532322 (楚雄州) read Yunnan's
    looked_up = {code: evaluate_module._lookup(s, rule, code, on, std)
                 for code in ("530102", "532301", "532322")}
    assert looked_up["532301"] is looked_up["532322"]
    assert looked_up["530102"] != looked_up["532301"]
    for code, values in looked_up.items():
        assert values == evaluate_module._resolve_values(s, rule, regions().chain(code), on, std)
