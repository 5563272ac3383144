"""The parameters a number expression never falls with: a lower bound on them gives a lower bound
on the expression.

Where a local figure is unknown but a 不低于 floor above it binds, the amount computed with the
floor in its place is a lower bound of the real amount — if the amount rises (or stays) as the
figure rises. ``p.rate``, ``p.rate * 1.3``, ``ceil(p.dibao * 1.3)``, ``max(p.a, p.b) - income``
do; ``p.line - income`` does in ``line``; ``p.cap - p.rate`` does not in ``rate``, and neither
does a figure used in a test (``p.a if p.a > 100 else 0``). The analysis is syntactic and
conservative: a parameter it cannot show to be rising is left out.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from . import nodes as n


def rising(node: n.Node, signed: frozenset[str] = frozenset()) -> frozenset[str]:
    """The parameters ``node`` is non-decreasing in, every other input held fixed. ``signed``
    names parameters that may be negative (``deduction: true``); every other number an
    expression reads (parameters, facts, literals) is never negative."""
    signs: dict[str, set[int]] = defaultdict(set)
    _walk(node, 1, signs, signed)
    return frozenset(p for p, s in signs.items() if s == {1})


def _walk(node: n.Node, sign: int, signs: dict[str, set[int]], signed: frozenset[str]) -> None:
    """Record, for each parameter occurrence, the direction the whole moves with it: 1, -1,
    or 0 (either, or not known)."""
    def go(child: n.Node, s: int) -> None:
        _walk(child, s, signs, signed)

    if isinstance(node, n.Param):
        signs[node.name].add(sign)
    elif isinstance(node, n.Index):
        go(node.base, sign)
        go(node.index, 0)
    elif isinstance(node, n.Neg):
        go(node.operand, -sign)
    elif isinstance(node, n.Arith):
        if node.op == "+":
            go(node.left, sign)
            go(node.right, sign)
        elif node.op == "-":
            go(node.left, sign)
            go(node.right, -sign)
        elif node.op == "*":
            go(node.left, sign if _nonneg(node.right, signed) else 0)
            go(node.right, sign if _nonneg(node.left, signed) else 0)
        else:  # a quotient rises with its numerator over a positive divisor
            go(node.left, sign if _nonneg(node.right, signed) else 0)
            go(node.right, 0)
    elif isinstance(node, n.Call):  # min, max, ceil, floor, round: all non-decreasing
        for arg in node.args:
            go(arg, sign)
    elif isinstance(node, n.IfElse):
        go(node.test, 0)
        go(node.then, sign)
        go(node.orelse, sign)
    else:  # a test, a fact, a literal: a parameter inside moves the whole either way
        for child in _children(node):
            go(child, 0)


def _children(node: n.Node) -> tuple[n.Node, ...]:
    if isinstance(node, (n.Not, n.Neg, n.In, n.Aggregate)):
        return (node.operand,)
    if isinstance(node, (n.And, n.Or)):
        return node.operands
    if isinstance(node, (n.Compare, n.Arith)):
        return (node.left, node.right)
    return ()


def _nonneg(node: n.Node, signed: frozenset[str]) -> bool:
    """Whether ``node`` is never negative."""
    if isinstance(node, n.Const):
        return not isinstance(node.value, (Decimal, int)) or node.value >= 0
    if isinstance(node, (n.PersonFact, n.HouseholdFact, n.Aggregate)):
        return True
    if isinstance(node, n.Param):
        return node.name not in signed
    if isinstance(node, n.Index):
        return _nonneg(node.base, signed)
    if isinstance(node, n.Arith):
        return node.op != "-" and _nonneg(node.left, signed) and _nonneg(node.right, signed)
    if isinstance(node, n.Call):
        first = _nonneg(node.args[0], signed)
        if node.func == "max":
            return any(_nonneg(a, signed) for a in node.args)
        if node.func == "min":
            return all(_nonneg(a, signed) for a in node.args)
        return first
    if isinstance(node, n.IfElse):
        return _nonneg(node.then, signed) and _nonneg(node.orelse, signed)
    return False
