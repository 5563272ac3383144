"""Evaluate a household (or a lone person) against a standards set.

``evaluate(profile, on=date)`` gives, per person and for the household, every standard's
result: ``eligible`` (with the amount, the parameters used, the region whose value applied,
the sources and their reliability), ``not_eligible`` (with the condition that failed) or
``undetermined`` (with the missing inputs that would decide it).

``evaluate(profile, period="2025")`` evaluates each month of the period as of its first day and
adds the months up, so a birthday or a new value inside the period is counted from its month.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache, partial
from itertools import count
from operator import attrgetter
from typing import Any

from .compile.scalar import Ctx, Unknown, merge, merge2
from .dates import parse_date, parse_period
from .errors import ErrorDetail, InputError, ProfileError, boundary
from .explain import explain
from .expr.monotone import rising
from .expr.nodes import Aggregate, HouseholdFact, InRegion, Node, Param, PersonFact, walk
from .load.loader import load_standards
from .load.schema import Text
from .model import LRUCache, Rule, Standard, StandardsSet, weakest
from .profile import Household, Person, parse_household
from .regions import is_within, regions
from .relations import DERIVED
from .results import PRICED, Evaluation, MonthResult, ParameterUse, PeriodResult, StandardResult

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
    """Every standard for every member and for the household, on one date.

    With ``explain_`` each result's explanation is written when first read (or serialized),
    not here; without it the explanation is None.
    """
    shared: dict[Any, Any] = {}  # worked out once for every member (Ctx.per_household)
    members = tuple(Ctx(p, household, on, {}, shared=shared) for p in household.members)
    persons = {}
    for ctx in members:
        ctx.members = members  # aggregates read every member's context, ages computed once
        person = ctx.person
        plan = _plan(std, "person", on, *_regions(ctx))
        life = _life_reason(person, on)
        if life is None:
            ctx.age()  # computed before the lookups: their keys read it
            results = (plan.explained if explain_ else plan.plain).run(ctx)
        else:
            results = [_lifeless(step, life) for step in plan.steps]
        persons[person.id] = _apply_exclusions(results, plan.excluding, explain_)
    hctx = Ctx(None, household, on, {}, members, shared=shared)
    plan = _plan(std, "household", on, *_regions(hctx))
    hresults = (plan.explained if explain_ else plan.plain).run(hctx)
    return persons, _apply_exclusions(hresults, plan.excluding, explain_)


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
    earlier_unknown: bool = False  # no version yet, but in force then under an unrecorded rule


#: A step compiled for the profile, ``(memo, key, miss, reads, members)``: its result is
#: ``memo.get(key(ctx))``, a result remembered by the facts that decide it, or when that is
#: None, ``miss(ctx)``. ``reads`` names the facts ``key`` reads (``"person.tekun"``, ``"_age"``,
#: ``"on"``, ``"relative.spouse_age"``), a key being their value for one name and their tuple
#: for more. ``members`` is None, or for a rule whose aggregates read the members' facts, the
#: function giving their keys (worked out in Python): the key is then the tuple of the facts
#: ``reads`` names followed by the members' keys.
Lookup = tuple[dict[Any, "StandardResult"], Callable[[Ctx], Any],
               Callable[[Ctx], StandardResult], tuple[str, ...],
               "Callable[[Ctx], tuple[Any, ...]] | None"]


class _Lookups:
    """A plan's steps as :data:`Lookup` s, run all at once.

    Their keys are read and their remembered results looked up by one function written for
    the plan's layout (:func:`_lookup_maker`; :attr:`source` shows it): it reads each fact
    once into a local variable and looks every step up in one list display, with no Python
    between steps, where a loop over the steps would spend most of its time on itself."""

    __slots__ = ("memos", "misses", "lookup", "source")

    def __init__(self, lookups: tuple[Lookup, ...]):
        self.memos = tuple(lookup[0] for lookup in lookups)
        self.misses = tuple(lookup[2] for lookup in lookups)
        layout = tuple((lookup[3], lookup[4] is not None) for lookup in lookups)
        make, self.source = _lookup_maker(layout)
        self.lookup: Callable[[Ctx], list[Any]] = make(
            tuple(memo.get for memo in self.memos), tuple(lookup[4] for lookup in lookups))

    def run(self, ctx: Ctx) -> list[StandardResult]:
        """Every step's result for ``ctx``: the remembered ones, then those of the steps with
        none, decided (a result is never false, so ``all`` finds them)."""
        results = self.lookup(ctx)
        if not all(results):
            misses = self.misses
            for i, result in enumerate(results):
                if result is None:
                    results[i] = misses[i](ctx)
        return results


#: How many plans' (and keys') lookup functions are kept, by layout: one a layout, not a plan
#: (the bundled standards give a few dozen layouts over every date and county).
LOOKUP_CODE_CACHE_SIZE = 1024

#: A plan's keys: per step, the names of the facts its key reads and whether the members'
#: keys follow them (see :data:`Lookup`).
_Layout = tuple[tuple[tuple[str, ...], bool], ...]


@lru_cache(maxsize=LOOKUP_CODE_CACHE_SIZE)
def _lookup_maker(layout: _Layout, one_key: bool = False
                  ) -> tuple[Callable[..., Callable[[Ctx], Any]], str]:
    """``make(gets, members)`` giving the function that reads a context's facts and returns
    ``[gets[i](key_i) ...]`` for the steps of ``layout`` (or with ``one_key``, its one step's
    key itself), ``members[i]`` giving the members' keys of step ``i``; and its source. Plans
    with the same layout (most dates and counties) share the code."""
    reads, local = _fact_reads(name for names, _ in layout for name in names)
    keys = []
    for i, (names, members) in enumerate(layout):
        parts = [local[name] for name in names] + ([f"members_{i}(ctx)"] if members else [])
        keys.append(parts[0] if len(parts) == 1 else f"({', '.join(parts)})")
    body = keys[0] if one_key else \
        "[" + ", ".join(f"get_{i}({key})" for i, key in enumerate(keys)) + "]"
    source = "\n".join([
        "def make(gets, members):",
        *(f"    get_{i} = gets[{i}]" for i in range(0 if one_key else len(layout))),
        *(f"    members_{i} = members[{i}]" for i, (_, m) in enumerate(layout) if m),
        "    def lookup(ctx):",
        *(f"        {line}" for line in reads),
        f"        return {body}",
        "    return lookup", ""])
    namespace: dict[str, Any] = {}
    exec(compile(source, "<gongfu-rules plan lookup>", "exec"), namespace)  # noqa: S102
    return namespace["make"], source


def _fact_reads(names: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Source lines reading each fact of ``names`` from ``ctx`` into a local variable, and
    each name's variable: a field of the person or household from the model's ``__dict__``
    (one dict lookup rather than two attribute lookups), a fact read from the relatives from
    :meth:`Ctx.relative`, anything else (``on``, ``_age``, ``household.size``) by attribute.
    The names come from the standards' compiled rules, never from a profile; each is checked
    to be a dotted name before it becomes source."""
    fields = {"person": Person.model_fields, "household": Household.model_fields}
    reads: list[str] = []
    local: dict[str, str] = {}
    models: dict[str, str] = {}  # the models read: each one's __dict__, read once
    for name in dict.fromkeys(names):
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"not a fact's name: {name!r}")
        model, _, field = name.partition(".")
        local[name] = var = f"v{len(local)}"
        if field in fields.get(model, ()):
            models[model] = f"{model} = ctx.{model}.__dict__"
            reads.append(f"{var} = {model}[{field!r}]")
        elif name.startswith(_RELATIVE):
            reads.append(f"{var} = ctx.relative({name[len(_RELATIVE):]!r})")
        else:
            reads.append(f"{var} = ctx.{name}")
    return [*models.values(), *reads], local


@dataclass(frozen=True, slots=True)
class _Plan:
    """Every standard of an entity for one date and pair of regions, ready to run."""

    steps: tuple[_Step, ...]
    plain: _Lookups  # results without explanations
    explained: _Lookups  # results whose explanation is written when first read
    # (position, positions it excludes) for each standard that excludes others
    excluding: tuple[tuple[int, tuple[int, ...]], ...]


def _plan(std: StandardsSet, entity: str, on: date, hukou: tuple[str | None, str],
          residence: tuple[str | None, str]) -> _Plan:
    """The plan for ``entity``, cached per date and pair of regions (in a bounded LRU, see
    :data:`~gongfu_rules.model.PLAN_CACHE_SIZE`): rule versions, scope and parameter values
    depend on nothing else, so a caseload reuses them. A plan only points to its steps, which
    are compiled and cached per region (:func:`_half`): a hukou in one county and a residence
    in another share the steps of both."""
    key = (entity, on, hukou, residence)
    plan = std._plans.get(key)
    if plan is None:
        placed = sorted((*_half(std, entity, on, "hukou", *hukou),
                         *_half(std, entity, on, "residence", *residence)),
                        key=lambda x: x[0])
        steps = tuple(step for _, step, _ in placed)
        at = {step.standard.id: i for i, step in enumerate(steps)}
        excluding = tuple(
            (i, tuple(at[other] for other in step.standard.excludes if other in at))
            for i, step in enumerate(steps) if step.standard.excludes)
        plan = std._plans.put(key, _Plan(steps, _Lookups(tuple(c[0] for _, _, c in placed)),
                                         _Lookups(tuple(c[1] for _, _, c in placed)), excluding))
    return plan


def _half(std: StandardsSet, entity: str, on: date, basis: str, region: str | None,
          region_input: str) -> tuple[tuple[int, _Step, tuple[Lookup, Lookup]], ...]:
    """The compiled steps of ``entity``'s standards that test the ``basis`` region, each with
    its position among them all; cached per region in a bounded LRU (see
    :data:`~gongfu_rules.model.STEP_CACHE_SIZE`)."""
    key = (entity, on, basis, region, region_input)
    half = std._steps.get(key)
    if half is None:
        half = []
        for i, s in enumerate(x for x in std if x.entity == entity):
            if s.region_basis == basis:
                step = _step(s, on, region, region_input, std)
                half.append((i, step, _compile(step, on)))
        half = std._steps.put(key, tuple(half))
    return half


def _step(s: Standard, on: date, region: str | None, region_input: str,
          std: StandardsSet) -> _Step:
    rule = s.rule_on(on)
    if rule is None or region is None:
        unknown = Unknown(frozenset({region_input}))
        params = {name: unknown for name in rule.params} if rule else {}
        return _Step(s, rule, region, region_input, True, params, None,
                     rule is None and s.earlier_rule_unknown(on))
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
def _compile(step: _Step, on: date) -> tuple[Lookup, Lookup]:
    """The step as lookups, without and with explanations: the fields that do not depend on
    the profile are laid out here, once per plan, so a run only decides the conditions and
    computes the amount, and most runs only look up a decision already made."""
    s, rule = step.standard, step.rule
    if rule is None:
        fields = _not_in_force(step)
        return _fixed(on, fields, lambda r: explain(r.standard, fields["reason"]))
    if not step.in_scope:
        region = step.region
        return _fixed(on, {"standard": s, "status": "not_eligible", "rule": rule,
                           "reason": "outside_scope"},
                      lambda r: explain(r.standard, "outside_scope", region=region))
    return _decider(s, rule, step, on)


def _not_in_force(step: _Step) -> dict[str, Any]:
    """The result on a date no version of the standard is in force: ``not_in_force``; or,
    before the first version of a standard already in force then under a rule the standards do
    not record, ``undetermined`` (nothing the profile could add decides it)."""
    if step.earlier_unknown:
        return {"standard": step.standard, "status": "undetermined",
                "reason": "earlier_rule_unknown"}
    return {"standard": step.standard, "status": "not_in_force", "reason": "not_in_force"}


#: A lookup's key for a result the same for every profile: a step is for one date, so the
#: evaluation date is the one key every profile gives.
_ON = attrgetter("on")
_ON_READS = ("on",)
#: The memo of a result decided every time: nothing is remembered (nor ever put), so
#: ``miss`` runs.
_NOTHING: dict[Any, StandardResult] = {}


def _fixed(on: date, fields: dict[str, Any],
           write: Callable[[StandardResult], Text]) -> tuple[Lookup, Lookup]:
    """A result that depends on nothing in the profile: one object for every evaluation
    (results are immutable), its explanation written the first time one is read."""
    plain = StandardResult._of(fields)
    explained = StandardResult._of({**fields, "_explain": write})
    return ({on: plain}, _ON, _unreachable, _ON_READS, None), \
        ({on: explained}, _ON, _unreachable, _ON_READS, None)


def _unreachable(ctx: Ctx) -> StandardResult:
    raise AssertionError("a fixed result is found for every profile")


def _explain_decided(r: StandardResult) -> Text:
    return explain(r.standard, r.status, result=r)


#: Decisions remembered across evaluations, per plan step, keyed by the facts that decide it
#: (a person's age, hukou type ...): most people share them, so most standards are decided by
#: two lookups in C. A decision holds about 1.5 KB (measured, with its two results): all are
#: forgotten when this many are held, near 50 MB at most (an LRU's bookkeeping would cost as
#: much as the lookup it saves). A thousand random Yunnan households make about 14,000.
DECISION_CACHE_SIZE = 32768


class _Memo(dict):  # type: ignore[type-arg]
    """One step's remembered results (or decisions) by the facts that decide them; ``twin``
    holds the same decisions' explained results."""

    __slots__ = ("twin", "keep", "__weakref__")

    def __init__(self, twin: "_Memo | None" = None):
        super().__init__()
        self.twin = twin
        self.keep: Any = None  # the objects whose ids key it in _SHARED, kept alive with it


#: Every step's memo, to forget them all at once; a memo goes with its step (weakly held).
_MEMOS: "weakref.WeakValueDictionary[int, _Memo]" = weakref.WeakValueDictionary()
_TOKENS = count()
_held = 0  # decisions remembered since the memos were last emptied


def _memo(twin: _Memo | None = None) -> _Memo:
    memo = _Memo(twin)
    _MEMOS[next(_TOKENS)] = memo
    return memo


#: The memos by what decides their step's results: the standard, its rule and the values
#: read (the date, whether the region is known, and per parameter the entries resolved), so
#: that the counties whose values resolve alike (most read the province's or prefecture's)
#: share the decisions.
_SHARED: "weakref.WeakValueDictionary[tuple[Any, ...], _Memo]" = weakref.WeakValueDictionary()


def _shared_memo(kind: str, step: _Step, on: date) -> _Memo:
    """The memo of ``kind`` (``results``, with its explained twin, or ``decisions``) that
    ``step`` shares with every step decided alike."""
    basis = step.values.basis if step.values is not None else ()
    key = (kind, id(step.standard), id(step.rule), on, step.region is None, step.region_input,
           tuple(tuple(x if x is None or isinstance(x, (str, bool)) else id(x) for x in b)
                 for b in basis))
    memo = _SHARED.get(key)
    if memo is None:
        memo = _memo(_Memo() if kind == "results" else None)
        memo.keep = (step.standard, step.rule, basis)  # no id in the key is reused meanwhile
        _SHARED[key] = memo
    return memo


def _make_room() -> None:
    """Count one more decision remembered; forget them all first when the memos are full."""
    global _held
    if _held >= DECISION_CACHE_SIZE:
        _forget_decisions()
    _held += 1


def _forget_decisions() -> None:
    global _held
    for memo in _live_memos():
        memo.clear()
        if memo.twin is not None:
            memo.twin.clear()
    _held = 0


def _live_memos() -> list[_Memo]:
    # valuerefs() copies in one step: another thread may be adding a memo meanwhile
    return [memo for memo in (ref() for ref in _MEMOS.valuerefs()) if memo is not None]


def _decisions_held() -> int:
    """How many decisions the memos hold (a result with its explained twin counts once)."""
    return sum(len(memo) for memo in _live_memos())


class _Decision:
    """A remembered decision: the result's fields, and the result itself, with and without
    its explanation (results are immutable, so every evaluation that reaches the decision
    shares them; an explanation depends only on the fields, and is written once, when first
    read)."""

    __slots__ = ("fields", "text", "plain", "explained")

    def __init__(self, fields: dict[str, Any]):
        self.fields = fields
        self.text: Text | None = None
        self.plain = StandardResult._of(fields)
        self.explained = StandardResult._of({**fields, "_explain": self})

    def __call__(self, result: StandardResult) -> Text:
        """Write (or reuse) the explanation: the decision is itself the result's ``_explain``,
        so a result costs no bound method when explanations are on."""
        if self.text is None:
            self.text = _explain_decided(result)
        return self.text


def _decider(s: Standard, rule: Rule, step: _Step, on: date) -> tuple[Lookup, Lookup]:
    """Decide the conditions (Kleene logic: every failed condition is named, and every input
    that would decide an undetermined one), then price an eligible or undetermined result."""
    conditions = tuple((c.fn, c.text) for c in rule.conditions)
    params = step.params
    region_unknown = Unknown(frozenset({step.region_input})) if step.region is None else None
    base = {"standard": s, "rule": rule}
    values = step.values
    priced = {**base, "quantity": rule.quantity}
    if values is not None:
        priced |= {"parameters": values.uses, "value_region": values.value_region,
                   "is_floor": values.is_floor, "reliability": values.reliability}
    else:
        priced["reliability"] = weakest(src.reliability for src in rule.sources)
    amount_fn = rule.amount[2] if rule.amount is not None else None
    per_year_fn = rule.per_year[2] if rule.per_year else None
    per_year_fixed = _PER_YEAR.get(s.period)
    bounded = {**params, **values.bounds} if values is not None and values.bounds else None
    floor_bound = values is not None and values.floor_bound
    outdated = values is not None and values.outdated
    # an amount read from the household (an income, a count of members) is computed every
    # time; one from the parameters and the person's own facts is part of the decision
    profile_amount = _reads(s, rule).profile_amount

    def decide(ctx: Ctx) -> dict[str, Any]:
        failed = unknown = None
        for fn, text in conditions:
            v = fn(ctx)
            if v is True:
                continue
            if v is False:
                failed = (text,) if failed is None else (*failed, text)
            else:
                unknown = v if unknown is None else merge2(unknown, v)
        if failed is not None:
            return {**base, "status": "not_eligible", "failed": failed}
        if region_unknown is not None:
            unknown = region_unknown if unknown is None else merge2(unknown, region_unknown)
        if unknown is not None:
            return {**priced, "status": "undetermined", "missing": unknown.sorted_missing(),
                    "unknown_parameters": unknown.sorted_params()}
        fields = {**priced, "status": "eligible"}
        if amount_fn is not None and not profile_amount:
            price(fields, ctx)
        return fields

    def price(fields: dict[str, Any], ctx: Ctx) -> None:
        amount = amount_fn(ctx)  # type: ignore[misc]
        _amount(fields, amount, per_year_fn(ctx) if per_year_fn is not None else per_year_fixed)
        if "amount" in fields:  # known: a lower bound when it rests on a floor paid
            if floor_bound:
                fields["amount_at_least"] = fields["amount"]
            if outdated:
                fields["amount_possibly_outdated"] = True
        elif bounded is not None and isinstance(amount, Unknown):
            # unknown: the amount the floors give in place of the unknown local figures
            own, ctx.params = ctx.params, bounded
            try:
                low = amount_fn(ctx)  # type: ignore[misc]
            finally:
                ctx.params = own
            if not isinstance(low, Unknown):
                fields["amount_at_least"] = low

    key_of, key_reads, key_members = _decision_key(s, rule)
    price_each = profile_amount and amount_fn is not None

    if key_of is not None and not price_each:  # the common case: remembered results
        plain = _shared_memo("results", step, on)
        explained = plain.twin

        def miss(ctx: Ctx) -> _Decision:
            ctx.params = params
            decision = _Decision(decide(ctx))
            key = key_of(ctx)
            _make_room()
            plain[key], explained[key] = decision.plain, decision.explained
            return decision

        return ((plain, key_of, lambda ctx: miss(ctx).plain, key_reads, key_members),
                (explained, key_of, lambda ctx: miss(ctx).explained, key_reads, key_members))

    decisions = None if key_of is None else _shared_memo("decisions", step, on)
    new = object.__new__  # StandardResult._of, inlined below

    def run(ctx: Ctx, explain_: bool) -> StandardResult:
        """Decided every time (the conditions read other members), or priced from the profile."""
        ctx.params = params
        if decisions is None:
            fields = decide(ctx)
        else:
            key = key_of(ctx)  # type: ignore[misc]
            decision = decisions.get(key)
            if decision is None:
                _make_room()
                decision = decisions[key] = _Decision(decide(ctx))
            if decision.fields["status"] != "eligible":  # not priced: the shared result
                return decision.explained if explain_ else decision.plain
            fields = {**decision.fields}
        if price_each and fields["status"] == "eligible":
            price(fields, ctx)
        result = new(StandardResult)
        result.__dict__.update(fields)
        if explain_:
            result.__dict__["_explain"] = _explain_decided
        return result

    return ((_NOTHING, _ON, lambda ctx: run(ctx, False), _ON_READS, None),
            (_NOTHING, _ON, lambda ctx: run(ctx, True), _ON_READS, None))


@dataclass(frozen=True, slots=True)
class _Facts:
    """The facts of one person that decide a result: their own, their age, and those read
    from their relatives (:data:`~gongfu_rules.relations.DERIVED`)."""

    own: tuple[str, ...] = ()
    age: bool = False
    relatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Reads:
    """The facts that decide a rule's result (what its conditions read, and its amount's
    person facts), and whether its amount is computed afresh for each profile: the same for
    every date and region, so worked out once per rule."""

    rule: Rule  # held so that the id keying it is not reused while it is cached
    opaque: bool  # the conditions nest aggregates: decided every time
    person: _Facts  # the person's (none for a household rule)
    household: tuple[str, ...]
    size: bool
    #: each member's, read by an aggregate (``any_member(...)``); None: no aggregate
    members: _Facts | None
    #: the amount reads the household (an income, a count): computed for each profile, not
    #: remembered with the decision (its figures would rarely repeat)
    profile_amount: bool


_READS = LRUCache(4096)  # per rule; the bundled standards have about a hundred


def _reads(s: Standard, rule: Rule) -> _Reads:
    found = _READS.get(id(rule))
    if found is not None and found.rule is rule:
        return found
    amount = tuple(x[1] for x in (rule.amount, rule.per_year) if x)
    # an amount that reads only the person's own facts is decided with the conditions
    profile_amount = any(isinstance(x, (HouseholdFact, Aggregate)) for a in amount
                         for x in walk(a))
    roots = [c.node for c in rule.conditions] + ([] if profile_amount else list(amount))
    household: dict[str, None] = {}
    size = False
    own: list[Node] = []
    inside: list[Node] = []  # the nodes an aggregate reads for each member
    opaque = False
    for root in roots:
        for node in walk(root):
            if isinstance(node, Aggregate):
                below = list(walk(node.operand))
                opaque = opaque or any(isinstance(x, Aggregate) for x in below)
                inside += below
    below_ids = {id(x) for x in inside}
    own = [x for root in roots for x in walk(root) if id(x) not in below_ids]
    for node in own + inside:
        if isinstance(node, HouseholdFact):
            if node.name == "size":
                size = True
            else:
                household[node.name] = None
        elif isinstance(node, InRegion) and node.basis == "residence":
            household["region"] = None  # a residence not given is the household's
    person = _facts(own)
    # a household rule reads members only through aggregates
    opaque = opaque or (s.entity != "person" and person != _Facts())
    return _READS.put(id(rule), _Reads(rule, opaque, person, tuple(household), size,
                                       _facts(inside) if inside else None, profile_amount))


def _facts(nodes: list[Node]) -> _Facts:
    """The person facts ``nodes`` read."""
    own: dict[str, None] = {}
    relatives: dict[str, None] = {}
    age = False
    for node in nodes:
        if isinstance(node, PersonFact):
            if node.name == "age":
                age = True
            elif node.name in DERIVED:  # from the relatives: the value they give is the key
                relatives[node.name] = None
            else:
                own[node.name] = None
        elif isinstance(node, InRegion):
            own["hukou_region" if node.basis == "hukou" else "residence_region"] = None
    return _Facts(tuple(own), age, tuple(relatives))


#: The prefix of a fact read from the relatives among the names a key reads.
_RELATIVE = "relative."


def _decision_key(s: Standard, rule: Rule) -> tuple[
        Callable[[Ctx], Any] | None, tuple[str, ...], Callable[[Ctx], tuple[Any, ...]] | None]:
    """The key of a step's decision: the facts that decide it, read from a context whose age
    is computed (a step with no fact to read has one key, the date); None when its conditions
    nest aggregates, decided every time. With it, the names of the facts it reads and the
    function giving the members' keys its aggregates read (see :data:`Lookup`)."""
    reads = _reads(s, rule)
    if reads.opaque:
        return None, _ON_READS, None
    person = reads.person
    names = (*(f"person.{name}" for name in person.own),
             *(f"household.{name}" for name in reads.household), *(["_age"] if person.age else []),
             *(["household.size"] if reads.size else []),
             *(_RELATIVE + name for name in person.relatives)) or _ON_READS
    members = None if reads.members is None else \
        partial(_members_key, of_member=_member_key(reads.members))
    return _key_of(names, members), names, members


def _members_key(ctx: Ctx, of_member: Callable[[Ctx], Any]) -> tuple[Any, ...]:
    """Every member's key by ``of_member``: worked out once per household (every member's
    context asks for the same members' keys)."""
    return ctx.per_household(of_member, lambda: tuple(map(of_member, ctx.members)))


def _key_of(names: tuple[str, ...], members: Callable[[Ctx], tuple[Any, ...]] | None = None
            ) -> Callable[[Ctx], Any]:
    """The key of the facts ``names``, as a plan reads it: their value for one name, their
    tuple for more; with ``members``, the tuple of their values followed by the members'
    keys."""
    if members is None and not any(name.startswith(_RELATIVE) for name in names):
        return attrgetter(*names)  # the same values, with no code to write
    make, _ = _lookup_maker(((names, members is not None),), one_key=True)
    return make((), (members,))


def _member_key(facts: _Facts) -> Callable[[Ctx], Any]:
    """The key of one member's facts an aggregate reads (a member's age computed here: a
    member deceased on the date has none computed yet)."""
    of_own = attrgetter(*(f"person.{name}" for name in facts.own)) if facts.own else None
    age, relatives = facts.age, facts.relatives

    def key(m: Ctx) -> tuple[Any, ...]:
        return (of_own(m) if of_own is not None else None, m.age() if age else None,
                *map(m.relative, relatives))
    return key


def _amount(fields: dict[str, Any], amount: Any, per_year: Any) -> None:
    """The amount and annual figure of an eligible result, or what they are missing."""
    if isinstance(amount, Unknown) or isinstance(per_year, Unknown):
        u = merge(amount, per_year)
        fields["missing"] = u.sorted_missing()
        fields["unknown_parameters"] = u.sorted_params()
        return
    fields["amount"] = amount
    fields["annual_amount"] = None if per_year is None else amount * per_year


def _lifeless(step: _Step, life: str) -> StandardResult:
    """The result for a person who is deceased or not yet born on the date."""
    if step.rule is None and not step.earlier_unknown:
        return StandardResult._of(_not_in_force(step))
    return StandardResult(step.standard, "not_eligible", step.rule, reason=life)


def _life_reason(person: Person, on: date) -> str | None:
    """``deceased`` or ``not_born`` when the person cannot receive anything on ``on``."""
    if person.death_date is not None and person.death_date <= on:
        return "deceased"
    if person.birth_date is not None and person.birth_date > on:
        return "not_born"
    return None


def _regions(ctx: Ctx) -> tuple[tuple[str | None, str], tuple[str | None, str]]:
    """The regions (each with the input it comes from) that a hukou and a residence rule test.

    A person's residence defaults to the household's region; a household rule tests the
    household's region, or the first member's hukou.
    """
    h = ctx.household
    if ctx.person is None:
        return (h.members[0].hukou_region, "hukou_region"), (h.region, "household.region")
    p = ctx.person
    residence = (p.residence_region, "residence_region") if p.residence_region is not None \
        else (h.region, "residence_region")
    return (p.hukou_region, "hukou_region"), residence


@dataclass(frozen=True, slots=True)
class _Values:
    """Everything about a rule's parameters that depends only on the region and the date."""

    params: dict[str, Any]
    uses: tuple[ParameterUse, ...]
    value_region: str | None
    is_floor: bool
    reliability: str
    #: the 不低于 floors standing in for the amount's unknown local figures (see :func:`bounding`)
    bounds: dict[str, Any] = field(default_factory=dict)
    floor_bound: bool = False  # the amount rises with a figure paid at its floor
    outdated: bool = False  # the amount reads a value marked possibly_outdated
    #: what the values were read from: per parameter, its definition and the entries and
    #: regions it resolved to (regions resolving alike give the same decisions)
    basis: tuple[tuple[Any, ...], ...] = ()


def bounding(s: Standard, rule: Rule, std: StandardsSet) -> frozenset[str]:
    """The parameters of ``rule``'s amount that a 不低于 floor can bound from below: those the
    amount never falls with (:func:`~gongfu_rules.expr.monotone.rising`) that have a floor in
    some region. Kept in the standards set's bounded cache, an entry per standard."""
    key = ("bounding", s.id)
    found = std._tables.get(key)
    if found is None:
        found = std._tables.put(key, {r.start: _bounding(s, r, std) for r in s.rules})
    return found[rule.start]


def _bounding(s: Standard, rule: Rule, std: StandardsSet) -> frozenset[str]:
    if rule.amount is None:
        return frozenset()
    defs = {name: std.parameter(s, name) for name in rule.params}
    signed = frozenset(name for name, p in defs.items() if any(
        _negative(e.value) for t in p.timelines.values() for e in t))
    return frozenset(name for name in rising(rule.amount[1], signed)
                     if any(e.floor for t in defs[name].timelines.values() for e in t))


def _negative(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is not None and v < 0 for v in value.values())
    return value is not None and value < 0


def _bound(value: Any, floor: Any) -> Any:
    """The local value with the floor standing in where it is unknown (a whole value, or a
    table's entries); None when the floor fills nothing."""
    if floor is None:
        return None
    if value is None:
        return floor
    if isinstance(value, dict) and isinstance(floor, dict):
        filled = {k: floor.get(k) if v is None else v for k, v in value.items()}
        return filled if filled != value else None
    return None


def _lookup(s: Standard, rule: Rule, region: str, on: date, std: StandardsSet) -> _Values:
    """The rule's parameter values in ``region`` on ``on``, with where they come from. Kept
    per set of regions they resolve along: a county with no figures of its own reads its
    prefecture's or its province's, as its neighbours do, and gets their values."""
    chain = regions().chain(region)
    # A parameter resolves from the regions of the chain that give it values, and from
    # nothing else (ParameterDef.resolve).
    along = tuple(tuple(r for r in chain if r in std.parameter(s, name).timelines)
                  for name in rule.params)
    key = (s.id, rule.start, on, along)
    found = std._values.get(key)
    if found is None:
        found = std._values.put(key, _resolve_values(s, rule, chain, on, std))
    return found


def _resolve_values(s: Standard, rule: Rule, chain: tuple[str, ...], on: date,
                    std: StandardsSet) -> _Values:
    values: dict[str, Any] = {}
    uses: list[ParameterUse] = []
    rising_ = bounding(s, rule, std)
    amount_reads = _amount_params(rule)
    bounds: dict[str, Any] = {}
    floor_bound = outdated = False
    basis: list[tuple[Any, ...]] = []
    for name in rule.params:
        p = std.parameter(s, name)
        r = p.resolve(chain, on)
        basis.append((name, p) if r is None else
                     (name, p, r.entry, r.floor, r.region, r.floor_region, r.paid_floor))
        if r is None or r.entry.value is None:
            values[name] = Unknown(params=frozenset({name}))
            if r is None:
                continue
        else:
            values[name] = r.entry.value
        if name in rising_:
            floor_bound = floor_bound or r.paid_floor
            if not r.paid_floor and r.floor is not None:
                bound = _bound(r.entry.value, r.floor.value)
                if bound is not None:
                    bounds[name] = bound
        outdated = outdated or (name in amount_reads and r.entry.possibly_outdated)
        uses.append(ParameterUse(
            name, p.description, p.unit, r.entry.value, r.region, r.entry.start, r.entry.end,
            r.paid_floor, r.floor.value if r.floor else None, r.floor_region, r.entry.source,
            r.entry.note, r.entry.below_floor, r.entry.date_source, r.entry.reliability,
            r.entry.possibly_outdated, p.keys))
    return _Values(
        values, tuple(uses), max((u.region for u in uses), key=len) if uses else None,
        any(u.paid_floor for u in uses),
        weakest([src.reliability for src in rule.sources] + [u.reliability for u in uses]),
        bounds, floor_bound, outdated, tuple(basis))


def _amount_params(rule: Rule) -> frozenset[str]:
    """The parameters the rule's amount reads."""
    if rule.amount is None:
        return frozenset()
    return frozenset(x.name for x in walk(rule.amount[1]) if isinstance(x, Param))


def _apply_exclusions(results: list[StandardResult],
                      excluding: tuple[tuple[int, tuple[int, ...]], ...],
                      explain_: bool) -> list[StandardResult]:
    """A standard that is eligible and ``excludes`` another takes priority over it.

    ``excluding`` pairs the position of each standard that excludes others with the positions
    of those others in the plan. An excluded standard that itself excludes others still does
    (statuses are read as decided, before any exclusion)."""
    out = None
    for i, others in excluding:
        r = results[i]
        if r.status != "eligible":
            continue
        for j in others:
            o = results[j] if out is None else out[j]
            if o.status in PRICED:  # neither not_eligible already nor not in force
                fields = {"standard": o.standard, "status": "not_eligible", "rule": o.rule,
                          "reason": "excluded", "excluded_by": r.standard.id}
                if explain_:
                    fields["_explain"] = partial(_explain_excluded, by=r.standard)
                if out is None:
                    out = list(results)
                out[j] = StandardResult._of(fields)
    return results if out is None else out


def _explain_excluded(r: StandardResult, by: Standard) -> Text:
    return explain(r.standard, "excluded", by=by)


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


#: A period's status is the first of these that any of its months has: in force in one month
#: and not another, the standard is not_eligible (or better) over the period.
_PERIOD_STATUS = ("eligible", "undetermined", "not_eligible", "not_in_force")


def _period_result(s: Standard, series: list[StandardResult], months: tuple[date, ...]) -> PeriodResult:
    statuses = {r.status for r in series}
    status = next(x for x in _PERIOD_STATUS if x in statuses)
    prorated = s.period not in ("month", "once")
    entries, total, known = [], Decimal(0), True
    # A month that may be eligible (undetermined) might add to the total: it is unknown then.
    open_month = "undetermined" in statuses
    for month, r in zip(months, series):
        share = _month_share(s, r)
        entries.append(MonthResult(month, r.status, share))
        if r.status == "eligible":
            known = known and share is not None
            total += share or 0
    known = known and not open_month
    if s.period == "once":
        first = next((r for r in series if r.status == "eligible"), None)
        total = first.amount if first and first.amount is not None else Decimal(0)
        known = first.amount is not None if first else not open_month
    detail = next((r for r in reversed(series) if r.status == status), series[-1])
    return PeriodResult(s, status, total if known else None, entries, prorated, detail,
                        _total_at_least(s, series, [e.amount for e in entries]))


def _total_at_least(s: Standard, series: list[StandardResult],
                    shares: list[Decimal | None]) -> Decimal | None:
    """The period total's lower bound (see :attr:`PeriodResult.total_at_least`)."""
    eligible = [(r, share) for r, share in zip(series, shares) if r.status == "eligible"]
    if s.period == "once":  # the first eligible month's amount
        eligible = [(r, r.amount) for r, _ in eligible[:1]]
    if not any(r.amount_at_least is not None for r, _ in eligible):
        return None
    total = Decimal(0)
    for r, share in eligible:
        if share is None:
            share = _low_share(s, r)
            if share is None:
                return None
        total += share
    return total


def _low_share(s: Standard, r: StandardResult) -> Decimal | None:
    """A month's share as its ``amount_at_least`` gives it (a daily standard's: none)."""
    low = r.amount_at_least
    if low is None or s.period == "once" or s.period == "month":
        return low
    factor = _PER_YEAR.get(s.period)
    return None if factor is None else low * factor / 12


def _month_share(s: Standard, r: StandardResult) -> Decimal | None:
    if r.status != "eligible":
        return Decimal(0)
    if s.period == "month":
        return r.amount
    if s.period == "once":
        return None
    return None if r.annual_amount is None else r.annual_amount / 12
