"""The expression tree. Every node is a frozen dataclass; ``key`` (the lower-case class name)
names the handler each backend must define for it (``<key>`` in a dispatch table).

Nodes carry their ``type`` once :mod:`.typecheck` has run; ``text`` is the source it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .names import Type


@dataclass(frozen=True, slots=True)
class Node:
    type: Type | None = field(default=None, kw_only=True, compare=False)

    @classmethod
    def key(cls) -> str:
        return cls.__name__.lower()


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: Decimal | int | str | bool


@dataclass(frozen=True, slots=True)
class PersonFact(Node):
    """A fact of the person being evaluated (or, inside an aggregate, of each member)."""

    name: str


@dataclass(frozen=True, slots=True)
class HouseholdFact(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Param(Node):
    """``p.name``: a parameter's value in force for the evaluation's region and date."""

    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``p.rate[key]``: one entry of a parameter whose value is a table."""

    base: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class And(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """One comparison ``left op right``; chains (``80 <= age < 100``) become an :class:`And`."""

    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class In(Node):
    """``x in ('a', 'b')`` (or ``not in`` when ``negate``): membership in literal choices."""

    operand: Node
    choices: tuple[Decimal | int | str | bool, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class IfElse(Node):
    test: Node
    then: Node
    orelse: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A whitelisted function of values: min, max, ceil, floor, round."""

    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class InRegion(Node):
    """``hukou_in('5334')`` / ``residence_in('5301')``: is the person's region within ``code``."""

    basis: str  # hukou | residence
    code: str


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """``count(cond)``, ``any_member(cond)``, ``sum_members(expr)`` over the household's members."""

    func: str  # count | any_member | sum_members
    operand: Node


NODE_TYPES: tuple[type[Node], ...] = (
    Const, PersonFact, HouseholdFact, Param, Index, Not, Neg, And, Or, Arith, Compare, In,
    IfElse, Call, InRegion, Aggregate,
)


def walk(node: Node):
    """Yield ``node`` and every node below it."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Index(base=b, index=i):
            return (b, i)
        case Not(operand=o) | Neg(operand=o) | In(operand=o) | Aggregate(operand=o):
            return (o,)
        case And(operands=ops) | Or(operands=ops):
            return ops
        case Arith(left=l, right=r) | Compare(left=l, right=r):
            return (l, r)
        case IfElse(test=t, then=a, orelse=b):
            return (t, a, b)
        case Call(args=args):
            return args
    return ()
