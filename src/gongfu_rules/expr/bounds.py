"""The range a number expression can take, on any input.

Every number an expression reads is bounded: a parameter by its smallest and largest values, a
fact by the profile limits (:mod:`gongfu_rules.limits`), a literal by itself. Combining the
ranges up the tree (interval arithmetic) gives a range for the whole expression, so an amount
that could go negative, or outgrow exact decimal arithmetic (``p.rate * p.rate *
household.income``), is refused when the standards load rather than paid, or failing, when
some profile reaches it. The range is conservative: conditions are not taken into account, so
an amount that its eligibility keeps positive still says so itself, with ``max(0, ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ..limits import MAX_MEMBERS, MAX_NUMBER, MAX_YEAR, MIN_PROFILE_YEAR
from . import nodes as n

Range = tuple[Decimal, Decimal]

_ZERO, _ONE = Decimal(0), Decimal(1)
#: Facts with a tighter range than ``[0, MAX_NUMBER]``.
_FACT_RANGES: dict[str, Range] = {
    "age": (_ZERO, Decimal(MAX_YEAR - MIN_PROFILE_YEAR)), "disability_grade": (_ONE, Decimal(4)),
    "size": (_ONE, Decimal(MAX_MEMBERS))}


def value_range(node: n.Node, params: Mapping[str, Range]) -> Range:
    """``(lowest, highest)`` that the number expression ``node`` can give.

    ``params`` gives each parameter's smallest and largest value (over every region, date and
    table entry).
    """
    match node:
        case n.Const(value=v) if not isinstance(v, (str, bool)):
            return Decimal(v), Decimal(v)
        case n.PersonFact(name=name) | n.HouseholdFact(name=name):
            return _FACT_RANGES.get(name, (_ZERO, MAX_NUMBER))
        case n.Param(name=name) | n.Index(base=n.Param(name=name)):
            return params.get(name, (-MAX_NUMBER, MAX_NUMBER))
        case n.Neg(operand=o):
            lo, hi = value_range(o, params)
            return -hi, -lo
        case n.Arith(op=op, left=a, right=b):
            (alo, ahi), (blo, bhi) = value_range(a, params), value_range(b, params)
            if op == "+":
                return alo + blo, ahi + bhi
            if op == "-":
                return alo - bhi, ahi - blo
            if op == "/":  # the type checker allows a non-zero literal or household.size only
                blo, bhi = (_ONE / bhi, _ONE / blo) if blo > 0 else (_ONE / blo, _ONE / blo)
            return _spread([x * y for x in (alo, ahi) for y in (blo, bhi)])
        case n.IfElse(then=a, orelse=b):
            (alo, ahi), (blo, bhi) = value_range(a, params), value_range(b, params)
            return min(alo, blo), max(ahi, bhi)
        case n.Call(func="min" | "max" as func, args=args):
            ranges = [value_range(a, params) for a in args]
            pick = min if func == "min" else max
            return pick(lo for lo, _ in ranges), pick(hi for _, hi in ranges)
        case n.Call(args=args):  # ceil, floor, round: at most one away, and never below 0 from 0
            lo, hi = value_range(args[0], params)
            return (lo if lo >= 0 else lo - 1), hi + 1
        case n.Aggregate(func="count"):
            return _ZERO, Decimal(MAX_MEMBERS)
        case n.Aggregate(operand=o):
            lo, hi = value_range(o, params)
            return MAX_MEMBERS * min(lo, _ZERO), MAX_MEMBERS * max(hi, _ZERO)
    return -MAX_NUMBER, MAX_NUMBER


def _spread(values: list[Decimal]) -> Range:
    return min(values), max(values)
