"""The largest magnitude a number expression can reach, on any input.

Every number an expression reads is bounded: a parameter by its largest value, a fact by the
profile limits (:mod:`gongfu_rules.limits`), a literal by itself. Combining the bounds up the
tree gives a bound for the whole expression, so an amount that could outgrow exact decimal
arithmetic (``p.rate * p.rate * household.income``) is refused when the standards load rather
than failing, or losing fen, when some profile reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ..limits import MAX_MEMBERS, MAX_NUMBER, MAX_YEAR, MIN_PROFILE_YEAR
from . import nodes as n

#: Facts with a tighter bound than :data:`MAX_NUMBER`.
_FACT_BOUNDS = {"age": Decimal(MAX_YEAR - MIN_PROFILE_YEAR), "disability_grade": Decimal(4),
                "size": Decimal(MAX_MEMBERS)}


def magnitude(node: n.Node, params: Mapping[str, Decimal]) -> Decimal:
    """An upper bound of ``|value|`` for the number expression ``node``.

    ``params`` gives each parameter's largest magnitude (of any region, date and table entry).
    """
    match node:
        case n.Const(value=v):
            return abs(Decimal(v)) if not isinstance(v, (str, bool)) else Decimal(0)
        case n.PersonFact(name=name) | n.HouseholdFact(name=name):
            return _FACT_BOUNDS.get(name, MAX_NUMBER)
        case n.Param(name=name):
            return params.get(name, MAX_NUMBER)
        case n.Index(base=base):
            return magnitude(base, params)
        case n.Neg(operand=o):
            return magnitude(o, params)
        case n.Arith(op=op, left=a, right=b):
            left, right = magnitude(a, params), magnitude(b, params)
            if op in "+-":
                return left + right
            if op == "*":
                return left * right
            return left / _smallest_divisor(b)
        case n.IfElse(then=a, orelse=b):
            return max(magnitude(a, params), magnitude(b, params))
        case n.Call(func=func, args=args):
            bound = max(magnitude(a, params) for a in args[:1 if func == "round" else None])
            return bound + 1 if func in ("ceil", "floor", "round") else bound
        case n.Aggregate(func="count"):
            return Decimal(MAX_MEMBERS)
        case n.Aggregate(operand=o):
            return MAX_MEMBERS * magnitude(o, params)
    return MAX_NUMBER


def _smallest_divisor(node: n.Node) -> Decimal:
    # The type checker allows only a non-zero literal or household.size (at least 1).
    if isinstance(node, n.Const) and not isinstance(node.value, (str, bool)) and node.value:
        return abs(Decimal(node.value))
    return Decimal(1)
