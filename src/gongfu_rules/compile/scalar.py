"""Compile an expression tree to a plain Python closure over one profile.

Logic is three-valued (Kleene): a fact that is not in the profile evaluates to :class:`Unknown`,
which records the missing inputs. ``False and Unknown`` is ``False`` and ``True or Unknown`` is
``True``, so a partial profile is decided whenever the known facts suffice; otherwise the
result names the inputs that would decide it. A parameter with no known value in force gives
an :class:`Unknown` that records the parameter instead (the amount is undetermined).

Each node type has exactly one handler in ``HANDLERS`` (a test checks none is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from ..dates import age_on
from ..expr import nodes as n
from ..regions import is_within
from ..relations import DERIVED, derived, living


class Unknown:
    """A value that cannot be computed: ``missing`` profile inputs, ``params`` without a value."""

    __slots__ = ("missing", "params", "_sorted")

    def __init__(self, missing: frozenset[str] = frozenset(), params: frozenset[str] = frozenset()):
        self.missing = missing
        self.params = params
        self._sorted: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def sorted_missing(self) -> tuple[str, ...]:
        return self._sorted_pair()[0]

    def sorted_params(self) -> tuple[str, ...]:
        return self._sorted_pair()[1]

    def _sorted_pair(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self._sorted is None:  # shared Unknowns are sorted once, not per result
            self._sorted = (tuple(sorted(self.missing)), tuple(sorted(self.params)))
        return self._sorted

    def __repr__(self) -> str:
        return f"Unknown(missing={sorted(self.missing)}, params={sorted(self.params)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and (self.missing, self.params) == (other.missing, other.params)

    def __hash__(self) -> int:
        return hash((self.missing, self.params))


def merge(*values: Any) -> Unknown:
    """The :class:`Unknown` that combines every unknown among ``values``."""
    merged = None
    for v in values:
        if isinstance(v, Unknown):
            merged = v if merged is None else merge2(merged, v)
    return Unknown() if merged is None else merged


def merge2(a: Unknown, b: Unknown) -> Unknown:
    """The :class:`Unknown` that combines two: the same object for the same pair, so an
    undetermined result's sorted names are computed once, not per evaluation."""
    if a is b:
        return a
    return _union(a.missing, a.params, b.missing, b.params)


#: Distinct unions of unknowns kept; the standards' expressions give a few hundred.
UNION_CACHE_SIZE = 4096


@lru_cache(maxsize=UNION_CACHE_SIZE)
def _union(a_missing: frozenset[str], a_params: frozenset[str], b_missing: frozenset[str],
           b_params: frozenset[str]) -> Unknown:
    return Unknown(a_missing | b_missing, a_params | b_params)


class Ctx:
    """What a closure reads: one person (or none, for a household rule), the household, the
    evaluation date, the resolved parameter values and the regions the rule tests."""

    __slots__ = ("person", "household", "on", "params", "members", "shared", "_age",
                 "_relatives")

    def __init__(self, person: Any, household: Any, on: date, params: dict[str, Any],
                 members: tuple["Ctx", ...] | None = None,
                 shared: dict[Any, Any] | None = None):
        self.person = person
        self.household = household
        self.on = on
        self.params = params
        self.members = members
        # what is worked out once per household and date for every context of its members and
        # its own, which share this dict and ``members`` (the evaluator gives it; else None)
        self.shared = shared
        self._age: Any = None
        self._relatives: dict[str, Any] | None = None

    def age(self) -> Any:
        if self._age is None:
            birth = self.person.birth_date
            self._age = _missing("birth_date") if birth is None else age_on(birth, self.on)
        return self._age

    def relative(self, name: str) -> Any:
        """The fact ``name`` read from the person's relatives (or their own answer), or
        :class:`Unknown`: worked out once per person and date, however many rules read it."""
        known = self._relatives
        if known is None:  # the living members (the relatives are among them): under ""
            known = self._relatives = {"": self.per_household(
                living, lambda: living(self.household.members, self.on))}
        elif name in known:
            return known[name]
        v = derived(name, self.person, self.household.members, self.on, known[""])
        v = known[name] = _missing(name) if v is None else v
        return v

    def per_household(self, key: Any, work: Callable[[], Any]) -> Any:
        """``work()``, worked out once per household and date (under ``key``) when the
        contexts share a dict, as the evaluator's do; else every time."""
        shared = self.shared
        if shared is None:
            return work()
        value = shared.get(key)
        if value is None:
            value = shared[key] = work()
        return value

    def member_ctxs(self) -> tuple["Ctx", ...]:
        """Every member's context (the evaluator shares one set across a household); each
        reads the parameters of the rule being evaluated."""
        if self.members is None:
            self.members = tuple(Ctx(m, self.household, self.on, self.params)
                                 for m in self.household.members)
        for m in self.members:
            m.params = self.params
        return self.members


Fn = Callable[[Ctx], Any]
_UNKNOWN_BY_FIELD: dict[str, Unknown] = {}


def compile_scalar(node: n.Node) -> Fn:
    """A closure computing ``node`` for a :class:`Ctx`."""
    return HANDLERS[node.key()](node)


def _missing(name: str) -> Unknown:
    u = _UNKNOWN_BY_FIELD.get(name)
    if u is None:
        u = _UNKNOWN_BY_FIELD[name] = Unknown(frozenset({name}))
    return u


def _const(node: n.Const) -> Fn:
    value = node.value
    return lambda ctx: value


def _person_fact(node: n.PersonFact) -> Fn:
    name = node.name
    if name == "age":
        return lambda ctx: ctx.age()
    unknown = _missing(name)
    if name in DERIVED:  # a relative's fact: from the relative's own record when a member
        return lambda ctx: ctx.relative(name)

    def fact(ctx: Ctx) -> Any:
        v = getattr(ctx.person, name)
        return unknown if v is None else v
    return fact


def _household_fact(node: n.HouseholdFact) -> Fn:
    name = node.name
    if name == "size":
        return lambda ctx: len(ctx.household.members)
    unknown = _missing(f"household.{name}")

    def fact(ctx: Ctx) -> Any:
        v = getattr(ctx.household, name)
        return unknown if v is None else v
    return fact


def _param(node: n.Param) -> Fn:
    name = node.name
    return lambda ctx: ctx.params[name]


def _index(node: n.Index) -> Fn:
    base, index = compile_scalar(node.base), compile_scalar(node.index)
    name = node.base.name  # type: ignore[attr-defined]
    unknown = Unknown(params=frozenset({name}))

    def lookup(ctx: Ctx) -> Any:
        table, key = base(ctx), index(ctx)
        if isinstance(table, Unknown) or isinstance(key, Unknown):
            return merge(table, key)
        value = table.get(key)
        return unknown if value is None else value
    return lookup


def _not(node: n.Not) -> Fn:
    operand = compile_scalar(node.operand)

    def negate(ctx: Ctx) -> Any:
        v = operand(ctx)
        return v if isinstance(v, Unknown) else not v
    return negate


def _neg(node: n.Neg) -> Fn:
    operand = compile_scalar(node.operand)

    def negate(ctx: Ctx) -> Any:
        v = operand(ctx)
        return v if isinstance(v, Unknown) else -v
    return negate


def _and(node: n.And) -> Fn:
    operands = tuple(compile_scalar(o) for o in node.operands)

    def conj(ctx: Ctx) -> Any:
        unknown = None
        for f in operands:
            v = f(ctx)
            if v is False:
                return False
            if isinstance(v, Unknown):
                unknown = v if unknown is None else merge2(unknown, v)
        return True if unknown is None else unknown
    return conj


def _or(node: n.Or) -> Fn:
    operands = tuple(compile_scalar(o) for o in node.operands)

    def disj(ctx: Ctx) -> Any:
        unknown = None
        for f in operands:
            v = f(ctx)
            if v is True:
                return True
            if isinstance(v, Unknown):
                unknown = v if unknown is None else merge2(unknown, v)
        return False if unknown is None else unknown
    return disj


_ARITH_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b,
    "*": lambda a, b: a * b, "/": lambda a, b: a / b,
}
_CMP_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _binary(op: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    def apply(ctx: Ctx) -> Any:
        a, b = left(ctx), right(ctx)
        if isinstance(a, Unknown):
            return merge2(a, b) if isinstance(b, Unknown) else a
        if isinstance(b, Unknown):
            return b
        return op(a, b)
    return apply


def _arith(node: n.Arith) -> Fn:
    return _binary(_ARITH_OPS[node.op], compile_scalar(node.left), compile_scalar(node.right))


def _compare(node: n.Compare) -> Fn:
    return _binary(_CMP_OPS[node.op], compile_scalar(node.left), compile_scalar(node.right))


def _in(node: n.In) -> Fn:
    operand, choices, negate = compile_scalar(node.operand), frozenset(node.choices), node.negate

    def member(ctx: Ctx) -> Any:
        v = operand(ctx)
        if isinstance(v, Unknown):
            return v
        return (v in choices) != negate
    return member


def _if_else(node: n.IfElse) -> Fn:
    test, then, orelse = (compile_scalar(x) for x in (node.test, node.then, node.orelse))

    def choose(ctx: Ctx) -> Any:
        t = test(ctx)
        if isinstance(t, Unknown):
            return merge(t, then(ctx), orelse(ctx))
        return then(ctx) if t else orelse(ctx)
    return choose


def _round_half_up(x: Decimal, digits: Decimal = Decimal(0)) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)


_FUNCS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "ceil": lambda x: x.to_integral_value(rounding=ROUND_CEILING),
    "floor": lambda x: x.to_integral_value(rounding=ROUND_FLOOR),
    "round": _round_half_up,  # 四舍五入: halves round up, as Chinese standards do
}


def _call(node: n.Call) -> Fn:
    func = _FUNCS[node.func]
    args = tuple(compile_scalar(a) for a in node.args)

    def call(ctx: Ctx) -> Any:
        values = [a(ctx) for a in args]
        if any(isinstance(v, Unknown) for v in values):
            return merge(*values)
        return func(*values)
    return call


def _in_region(node: n.InRegion) -> Fn:
    attr = "hukou_region" if node.basis == "hukou" else "residence_region"
    code, unknown = node.code, _missing(attr)

    def within(ctx: Ctx) -> Any:
        region = getattr(ctx.person, attr)
        if region is None and attr == "residence_region":
            region = ctx.household.region
        return unknown if region is None else is_within(region, code)
    return within


def _aggregate(node: n.Aggregate) -> Fn:
    inner = compile_scalar(node.operand)
    kind = node.func

    def aggregate(ctx: Ctx) -> Any:
        values = [inner(m) for m in ctx.member_ctxs()]
        if kind == "any_member":
            if any(v is True for v in values):
                return True
        if any(isinstance(v, Unknown) for v in values):
            return merge(*values)
        if kind == "count":
            return sum(1 for v in values if v)
        if kind == "sum_members":
            return sum(values, Decimal(0))
        return False
    return aggregate


HANDLERS: dict[str, Callable[[Any], Fn]] = {
    "const": _const, "personfact": _person_fact, "householdfact": _household_fact,
    "param": _param, "index": _index, "not": _not, "neg": _neg, "and": _and, "or": _or,
    "arith": _arith, "compare": _compare, "in": _in, "ifelse": _if_else, "call": _call,
    "inregion": _in_region, "aggregate": _aggregate,
}
