"""The expression language: what it accepts, what it rejects, and three-valued logic."""

from datetime import date
from decimal import Decimal

import pytest

from gongfu_rules.compile.scalar import HANDLERS, Ctx, Unknown, compile_scalar
from gongfu_rules.errors import ExpressionError
from gongfu_rules.expr.names import MAP, NUM
from gongfu_rules.expr.nodes import NODE_TYPES
from gongfu_rules.expr.parse import Env, ParamInfo, parse_expression
from gongfu_rules.profile import Household, Person

ENV = Env({"rate": ParamInfo(MAP, frozenset({"institutional", "scattered"})),
           "ratio": ParamInfo(NUM), "base": ParamInfo(NUM)})
ON = date(2025, 8, 1)


def run(text, person=None, household=None, params=None):
    person = person or Person()
    household = household or Household(members=[person])
    fn = compile_scalar(parse_expression(text, ENV))
    ctx = Ctx(household.members[0], household, ON, params or {})
    return fn(ctx)


def test_every_node_type_has_a_scalar_handler():
    assert {t.key() for t in NODE_TYPES} == set(HANDLERS)


def test_decimal_literals_are_exact():
    assert run("ceil(1.3 * p.base)", params={"base": Decimal(744)}) == Decimal(968)
    assert run("1.1 + 2.2") == Decimal("3.3")


def test_chained_comparison_follows_the_written_bounds():
    at = lambda y: run("80 <= age < 100", Person(birth_date=date(ON.year - y, 1, 1)))  # noqa: E731
    assert [at(79), at(80), at(99), at(100)] == [False, True, True, False]


def test_round_is_half_up():
    assert run("round(2.5)") == Decimal(3)
    assert run("round(1.005, 2)") == Decimal("1.01")


def test_false_and_unknown_is_false():
    assert run("orphan and age < 18", Person(orphan=False)) is False


def test_true_or_unknown_is_true():
    assert run("orphan or tekun", Person(orphan=True)) is True


def test_unknown_names_the_missing_inputs():
    v = run("orphan and age < 18", Person())
    assert isinstance(v, Unknown) and v.missing == {"orphan", "birth_date"}


def test_table_lookup_by_fact():
    p = Person(child_care_arrangement="散居")
    assert run("p.rate[child_care_arrangement]", p,
               params={"rate": {"institutional": Decimal(2010), "scattered": Decimal(1370)}}) == 1370


def test_household_aggregates_count_members():
    h = Household(members=[Person(birth_date=date(2020, 1, 1)), Person(birth_date=date(1980, 1, 1))])
    assert run("count(age < 18)", household=h) == 1
    assert run("any_member(age >= 60)", household=h) is False
    assert run("household.size", household=h) == 2


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os')", "unknown function"),
    ("open('x')", "unknown function"),
    ("age.__class__", "only p.NAME"),
    ("[x for x in (1, 2)]", "not allowed"),
    ("lambda: 1", "not allowed"),
    ("age ** 2", "only + - * /"),
    ("sex == 'mael'", "never a value of this fact"),
    ("p.rate[sex]", "has no entry"),
    ("p.nope", "unknown parameter 'p.nope'"),
    ("age / 0", "divide only by"),
    ("age / age", "divide only by"),
    ("orphan + 1", "needs a num value"),
    ("sex < 'male'", "compares numbers"),
    ("hukou_in('999999')", "not a GB/T 2260"),
    ("count(count(orphan) > 0)", "cannot be nested"),
    ("age >", "syntax error"),
])
def test_rejected_expressions_say_why(text, fragment):
    with pytest.raises(ExpressionError) as e:
        parse_expression(text, ENV, source="x.yaml", loc=("versions", "2020-01-01", "amount"))
    assert fragment in str(e.value)
    assert e.value.details[0].source == "x.yaml"
    assert e.value.details[0].loc == ("versions", "2020-01-01", "amount")


def test_error_points_at_the_column():
    with pytest.raises(ExpressionError) as e:
        parse_expression("orphan and sex == 'mael'", ENV)
    assert "column 19" in str(e.value)


def test_person_facts_need_an_aggregate_in_household_rules():
    with pytest.raises(ExpressionError, match="inside count"):
        parse_expression("age > 3", Env(entity="household"))
    parse_expression("count(age > 3) >= 1", Env(entity="household"))


def test_region_test_reads_hukou():
    assert run("hukou_in('5301')", Person(hukou_region="530102")) is True
    assert run("hukou_in('5323')", Person(hukou_region="530102")) is False


# --- the parameters an amount never falls with (a floor's lower bound holds for those) ------
@pytest.mark.parametrize("text, rising_", [
    ("p.base", {"base"}),
    ("p.rate['scattered']", {"rate"}),
    ("ceil(p.base * p.ratio)", {"base", "ratio"}),
    ("max(0, p.base - household.per_capita_monthly_income) * household.size", {"base"}),
    ("p.base - p.ratio", {"base"}),
    ("-p.base", set()),
    ("p.base if p.base > 100 else 0", set()),
    ("p.ratio if age >= 80 else p.base", {"base", "ratio"}),
    ("p.base / household.size", {"base"}),
])
def test_an_amount_is_bounded_only_by_the_parameters_it_rises_with(text, rising_):
    from gongfu_rules.expr.monotone import rising
    assert rising(parse_expression(text, ENV)) == rising_
