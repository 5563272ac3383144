"""Evaluate a household (or a lone person) against a standards set.

``evaluate(profile, on=date)`` gives, per person and for the household, every standard's
result: ``eligible`` (with the amount, the parameters used, the region whose value applied,
the sources and their reliability), ``not_eligible`` (with the condition that failed) or
``undetermined`` (with the missing inputs that would decide it).

``evaluate(profile, period="2025")`` evaluates each month of the period as of its first day and
adds the months up, so a birthday or a new value inside the period is counted from its month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from .compile.scalar import Ctx, Unknown, merge
from .dates import parse_date, parse_period
from .errors import ErrorDetail, InputError, ProfileError, boundary
from .explain import explain
from .load.loader import load_standards
from .model import Rule, Standard, StandardsSet, weakest
from .profile import Household, Person, parse_household
from .regions import is_within, regions
from .results import Evaluation, MonthResult, ParameterUse, PeriodResult, StandardResult

_PER_YEAR = {"month": Decimal(12), "year": Decimal(1), "semester": Decimal(2)}


@cache
def default_standards() -> StandardsSet:
    """The standards bundled with the package, loaded once."""
    return load_standards()


@boundary
def evaluate(profile: Household | Person | dict[str, Any], on: date | str | None = None, *,
             period: str | None = None, standards: StandardsSet | None = None,
             explain: bool = True) -> Evaluation:
    """Evaluate ``profile`` as of a date (``on``) or over a ``period`` (``"2025"``, ``"2025-07"``)."""
    household = parse_household(profile)
    std = standards or default_standards()
    if (on is None) == (period is None):
        raise InputError.one("time_invalid", "give exactly one of 'on' (a date) or 'period'",
                             loc=("on",), input=None)
    if period is not None:
        return _evaluate_period(household, period, std, explain)
    day = parse_date(on)  # type: ignore[arg-type]
    _check_births(household, day)
    result = Evaluation(std.label, household.id, day, None)
    result.persons, result.household = evaluate_on(household, day, std, explain)
    return result


def evaluate_on(household: Household, on: date, std: StandardsSet, explain_: bool = True
                ) -> tuple[dict[str, list[StandardResult]], list[StandardResult]]:
    """Every standard for every member and for the household, on one date."""
    persons = {}
    for person in household.members:
        ctx = Ctx(person, household, on, {})
        life = _life_reason(person, on)
        results = [_evaluate_step(step, ctx, explain_, life)
                   for step in _plan(std, "person", on, _regions(ctx))]
        persons[person.id] = _apply_exclusions(results, explain_)
    hctx = Ctx(None, household, on, {})
    hresults = [_evaluate_step(step, hctx, explain_, None)
                for step in _plan(std, "household", on, _regions(hctx))]
    return persons, _apply_exclusions(hresults, explain_)


@dataclass(frozen=True, slots=True)
class _Step:
    """One standard as it stands for one date and pair of regions: everything but the profile."""

    standard: Standard
    rule: Rule | None
    region: str | None
    region_input: str
    in_scope: bool
    params: dict[str, Any]
    values: "_Values | None"


def _plan(std: StandardsSet, entity: str, on: date,
          regions_: dict[str, tuple[str | None, str]]) -> tuple[_Step, ...]:
    """The steps for every standard of ``entity``, cached per date and regions: rule versions,
    scope and parameter values depend on nothing else, so a caseload reuses them."""
    key = ("plan", entity, on, regions_["hukou"], regions_["residence"])
    plan = std._cache.get(key)
    if plan is None:
        plan = std._cache[key] = tuple(
            _step(s, on, *regions_[s.region_basis], std) for s in std if s.entity == entity)
    return plan


def _step(s: Standard, on: date, region: str | None, region_input: str,
          std: StandardsSet) -> _Step:
    rule = s.rule_on(on)
    if rule is None or region is None:
        unknown = Unknown(frozenset({region_input}))
        params = {name: unknown for name in rule.params} if rule else {}
        return _Step(s, rule, region, region_input, True, params, None)
    if not is_within(region, s.scope):
        return _Step(s, rule, region, region_input, False, {}, None)
    values = _lookup(s, rule, region, on, std)
    return _Step(s, rule, region, region_input, True, values.params, values)


def _check_births(household: Household, last_day: date) -> None:
    # A birth date read from an ID number is personal data the caller never wrote: not shown.
    details = [
        ErrorDetail("birth_after_evaluation",
                    f"birth date {'in id_number' if p.id_number else p.birth_date} is after the "
                    f"evaluation date {last_day}", loc=("members", i, "birth_date"),
                    input=None if p.id_number else str(p.birth_date))
        for i, p in enumerate(household.members)
        if p.birth_date is not None and p.birth_date > last_day]
    if details:
        raise ProfileError(details)


# --- one standard ----------------------------------------------------------------------------
def _evaluate_step(step: _Step, ctx: Ctx, explain_: bool, life: str | None) -> StandardResult:
    s, rule = step.standard, step.rule
    if rule is None:
        return StandardResult(s, "not_eligible", reason="not_in_force")
    if life is not None:
        return StandardResult(s, "not_eligible", rule, reason=life)
    if not step.in_scope:
        return StandardResult(s, "not_eligible", rule, reason="outside_scope", explanation=explain(
            s, "outside_scope", region=step.region) if explain_ else None)
    ctx.params = step.params
    result = _decide(s, rule, ctx, step.region is None, step.region_input)
    if result.status != "not_eligible":
        _price(result, rule, ctx, step.values)
    if explain_:
        result.explanation = explain(s, result.status, result=result, region=step.region)
    return result


def _life_reason(person: Person, on: date) -> str | None:
    """``deceased`` or ``not_born`` when the person cannot receive anything on ``on``."""
    if person.death_date is not None and person.death_date <= on:
        return "deceased"
    if person.birth_date is not None and person.birth_date > on:
        return "not_born"
    return None


def _regions(ctx: Ctx) -> dict[str, tuple[str | None, str]]:
    """The region (and the input it comes from) that a hukou or a residence rule tests.

    A person's residence defaults to the household's region; a household rule tests the
    household's region, or the first member's hukou.
    """
    h = ctx.household
    if ctx.person is None:
        return {"hukou": (h.members[0].hukou_region, "hukou_region"),
                "residence": (h.region, "household.region")}
    p = ctx.person
    residence = (p.residence_region, "residence_region") if p.residence_region is not None \
        else (h.region, "residence_region")
    return {"hukou": (p.hukou_region, "hukou_region"), "residence": residence}


@dataclass(frozen=True, slots=True)
class _Values:
    """Everything about a rule's parameters that depends only on the region and the date."""

    params: dict[str, Any]
    uses: tuple[ParameterUse, ...]
    value_region: str | None
    is_floor: bool
    reliability: str


def _lookup(s: Standard, rule: Rule, region: str, on: date, std: StandardsSet) -> _Values:
    chain = regions().chain(region)
    values: dict[str, Any] = {}
    uses: list[ParameterUse] = []
    for name in rule.params:
        p = std.parameter(s, name)
        r = p.resolve(chain, on)
        if r is None or r.entry.value is None:
            values[name] = Unknown(params=frozenset({name}))
            if r is None:
                continue
        else:
            values[name] = r.entry.value
        uses.append(ParameterUse(
            name, p.description, p.unit, r.entry.value, r.region, r.entry.start, r.entry.end,
            r.paid_floor, r.floor.value if r.floor else None, r.floor_region, r.entry.source,
            r.entry.note, r.entry.below_floor, r.entry.date_source, r.entry.reliability))
    return _Values(
        values, tuple(uses), max((u.region for u in uses), key=len) if uses else None,
        any(u.paid_floor for u in uses),
        weakest([src.reliability for src in rule.sources] + [u.reliability for u in uses]))


def _decide(s: Standard, rule: Rule, ctx: Ctx, region_unknown: bool,
            region_input: str) -> StandardResult:
    failed = unknowns = None
    for c in rule.conditions:
        v = c.fn(ctx)
        if v is False:
            failed = [c.text] if failed is None else [*failed, c.text]
        elif v is not True:
            unknowns = [v] if unknowns is None else [*unknowns, v]
    if failed:
        return StandardResult(s, "not_eligible", rule, failed=tuple(failed))
    if region_unknown:
        unknowns = [*(unknowns or ()), Unknown(frozenset({region_input}))]
    if unknowns:
        u = unknowns[0] if len(unknowns) == 1 else merge(*unknowns)
        return StandardResult(s, "undetermined", rule, missing=u.sorted_missing(),
                              unknown_parameters=u.sorted_params())
    return StandardResult(s, "eligible", rule)


def _price(result: StandardResult, rule: Rule, ctx: Ctx, values: _Values | None) -> None:
    """Amount, annual figure, quantity, and where the values came from."""
    result.quantity = rule.quantity
    if values is not None:
        result.parameters, result.value_region = values.uses, values.value_region
        result.is_floor, result.reliability = values.is_floor, values.reliability
    else:
        result.reliability = weakest(src.reliability for src in rule.sources)
    if rule.amount is None or result.status != "eligible":
        return
    amount = rule.amount[2](ctx)
    per_year = rule.per_year[2](ctx) if rule.per_year else _PER_YEAR.get(result.standard.period)
    if isinstance(amount, Unknown) or isinstance(per_year, Unknown):
        u = merge(amount, per_year)
        result.missing = tuple(sorted(set(result.missing) | u.missing))
        result.unknown_parameters = tuple(sorted(set(result.unknown_parameters) | u.params))
        return
    result.amount = amount
    result.annual_amount = None if per_year is None else amount * per_year


def _apply_exclusions(results: list[StandardResult], explain_: bool) -> list[StandardResult]:
    """A standard that is eligible and ``excludes`` another takes priority over it."""
    if not any(r.standard.excludes and r.status == "eligible" for r in results):
        return results
    by_id = {r.standard.id: r for r in results}
    for r in results:
        if r.status != "eligible":
            continue
        for other in r.standard.excludes:
            o = by_id.get(other)
            if o is not None and o.status != "not_eligible":
                by_id[other] = StandardResult(
                    o.standard, "not_eligible", o.rule, reason="excluded", excluded_by=r.standard.id,
                    explanation=explain(o.standard, "excluded", by=r.standard) if explain_ else None)
    return [by_id[r.standard.id] for r in results]


# --- periods ---------------------------------------------------------------------------------
def _evaluate_period(household: Household, text: str, std: StandardsSet,
                     explain_: bool) -> Evaluation:
    period = parse_period(text)
    last_day = date.fromordinal(period.end.toordinal() - 1)
    _check_births(household, last_day)
    monthly = [evaluate_on(household, m, std, explain_) for m in period.months]
    result = Evaluation(std.label, household.id, None, period.text)
    for pid in monthly[0][0]:
        result.persons[pid] = _sum_months([m[0][pid] for m in monthly], period.months)
    result.household = _sum_months([m[1] for m in monthly], period.months)
    return result


def _sum_months(per_month: list[list[StandardResult]], months: tuple[date, ...]) -> list[PeriodResult]:
    out = []
    for i, first in enumerate(per_month[0]):
        series = [m[i] for m in per_month]
        out.append(_period_result(first.standard, series, months))
    return out


def _period_result(s: Standard, series: list[StandardResult], months: tuple[date, ...]) -> PeriodResult:
    statuses = {r.status for r in series}
    status = "eligible" if "eligible" in statuses else (
        "undetermined" if "undetermined" in statuses else "not_eligible")
    prorated = s.period not in ("month", "once")
    entries, total, known = [], Decimal(0), True
    for month, r in zip(months, series):
        share = _month_share(s, r)
        entries.append(MonthResult(month, r.status, share))
        if r.status == "eligible":
            known = known and share is not None
            total += share or 0
    if s.period == "once":
        first = next((r for r in series if r.status == "eligible"), None)
        total = first.amount if first and first.amount is not None else Decimal(0)
        known = first is None or first.amount is not None
    detail = next((r for r in reversed(series) if r.status == status), series[-1])
    return PeriodResult(s, status, total if known else None, entries, prorated, detail)


def _month_share(s: Standard, r: StandardResult) -> Decimal | None:
    if r.status != "eligible":
        return Decimal(0)
    if s.period == "month":
        return r.amount
    if s.period == "once":
        return None
    return None if r.annual_amount is None else r.annual_amount / 12
