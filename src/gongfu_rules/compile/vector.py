"""Compile an expression tree to Polars column expressions over a frame of persons.

The semantics are the scalar closures' (:mod:`gongfu_rules.compile.scalar`), column-wise: every
node gives a pair ``(value, unknown)``. ``unknown`` is a ``UInt64`` bit mask of the inputs and
parameters that are missing (``0``: the value is known), and ``value`` is null exactly where
``unknown`` is not zero. Polars' own null logic is Kleene's (``False & null`` is ``False``),
so ``and``/``or`` decide as the scalar engine does, and the scalar engine's :class:`Unknown`
sets become bit unions, so an undetermined result names the same inputs.

Numbers are ``Decimal(38, 6)``: money stays exact to the fen, and ``round`` rounds halves up
(四舍五入) as the scalar engine does, not to even.

Columns the expressions read (prepared by :mod:`gongfu_rules.table`): one per person fact, one
per household fact (``household.NAME``), ``__age``, ``__household_size``, and per standard its
parameter columns ``PREFIXp.NAME`` (a table parameter: ``PREFIXp.NAME[KEY]``) with their unknown
masks ``PREFIXu.NAME``, joined from a frame of the regions in the data. Each node type has exactly one handler in ``HANDLERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any

import polars as pl

from ..expr import nodes as n
from ..facts import fact_specs
from ..regions import NATIONAL

NUMBER = pl.Decimal(38, 6)
MASK = pl.UInt64
ZERO = pl.lit(0, dtype=MASK)


@dataclass(frozen=True, slots=True)
class V:
    """A compiled node: its value and its unknown-mask expressions. ``integral`` numbers (ages,
    counts, whole constants) are ``Int64``, compared and added as integers — much cheaper than
    decimals; they become decimals where they meet one."""

    value: pl.Expr
    unknown: pl.Expr
    integral: bool = False

    def number(self) -> pl.Expr:
        return self.value.cast(NUMBER) if self.integral else self.value


class Bits:
    """Bit numbers for the inputs (``birth_date``, ``household.dibao``) and parameters a rule
    reads; ``names`` decodes a mask back into the scalar engine's sorted name lists."""

    def __init__(self) -> None:
        self.inputs: dict[str, int] = {}
        self.params: dict[str, int] = {}

    def input(self, name: str) -> int:
        return self._bit(self.inputs, name)

    def param(self, name: str) -> int:
        return self._bit(self.params, name)

    def _bit(self, table: dict[str, int], name: str) -> int:
        if name not in table:
            bit = len(self.inputs) + len(self.params)
            if bit >= 64:
                raise ValueError("a rule reads more than 64 inputs and parameters")
            table[name] = bit
        return 1 << table[name]

    def mask(self, name: str) -> pl.Expr:
        return pl.lit(self.input(name), dtype=MASK)

    def decode(self, mask: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(missing inputs, unknown parameters)``, each sorted, for one mask."""
        missing = tuple(sorted(k for k, b in self.inputs.items() if mask >> b & 1))
        params = tuple(sorted(k for k, b in self.params.items() if mask >> b & 1))
        return missing, params


class Compiler:
    """Compiles the nodes of one rule; ``bits`` collects the names its masks use."""

    def __init__(self, bits: Bits, table_keys: Callable[[str], tuple[str, ...]], prefix: str):
        self.bits = bits
        self.table_keys = table_keys  # a table parameter's keys, as the region frame has them
        self.prefix = prefix  # of this standard's parameter columns in the region frame
        self.aggregates: list[Aggregate] = []  # computed before the rule, per household

    def param(self, name: str, key: str | None = None) -> pl.Expr:
        return pl.col(f"{self.prefix}p.{name}" + ("" if key is None else f"[{key}]"))

    def param_unknown(self, name: str) -> pl.Expr:
        return pl.col(f"{self.prefix}u.{name}")

    def compile(self, node: n.Node) -> V:
        return HANDLERS[node.key()](self, node)


def or_masks(masks: list[pl.Expr]) -> pl.Expr:
    """The union of unknown masks (``0`` when there are none)."""
    return reduce(lambda a, b: a | b, masks) if masks else ZERO


def residence() -> pl.Expr:
    """A person's residence region: their own, else their household's (as the scalar
    engine's residence rules and ``residence_in`` read it)."""
    return pl.coalesce(pl.col("residence_region"), pl.col("household.region"))


def _const(c: Compiler, node: n.Const) -> V:
    value = node.value
    if isinstance(value, bool):
        return V(pl.lit(value), ZERO)
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return V(pl.lit(int(value), dtype=pl.Int64), ZERO, integral=True)
    if isinstance(value, Decimal):
        return V(pl.lit(value, dtype=NUMBER), ZERO)
    return V(pl.lit(value, dtype=pl.String), ZERO)


def _fact_column(name: str, mask_name: str, c: Compiler) -> V:
    col = pl.col(name)
    return V(col, pl.when(col.is_null()).then(c.bits.mask(mask_name)).otherwise(ZERO))


def _numeric(v: V, name: str) -> V:
    """A numeric fact as an integer (ages, counts, grades) or a decimal (money)."""
    if name in _INTEGRAL:
        return V(v.value.cast(pl.Int64), v.unknown, integral=True)
    return V(v.value.cast(NUMBER), v.unknown)


def _person_fact(c: Compiler, node: n.PersonFact) -> V:
    if node.name == "age":
        return _numeric(_fact_column("__age", "birth_date", c), "age")
    v = _fact_column(node.name, node.name, c)
    if node.type is not None and node.type.name == "num":
        return _numeric(v, node.name)
    return v


def _household_fact(c: Compiler, node: n.HouseholdFact) -> V:
    if node.name == "size":
        return V(pl.col("__household_size").cast(pl.Int64), ZERO, integral=True)
    name = f"household.{node.name}"
    v = _fact_column(name, name, c)
    if node.type is not None and node.type.name == "num":
        return _numeric(v, name)
    return v


def _param(c: Compiler, node: n.Param) -> V:
    c.bits.param(node.name)  # reserve its bit so the region frame can use it
    return V(c.param(node.name), c.param_unknown(node.name))


def _index(c: Compiler, node: n.Index) -> V:
    name = node.base.name  # type: ignore[attr-defined]
    key = c.compile(node.index)
    base_unknown = c.param_unknown(name)
    bit = pl.lit(c.bits.param(name), dtype=MASK)
    keys = c.table_keys(name)
    value = pl.lit(None, dtype=NUMBER)
    for k in reversed(keys):
        value = pl.when(key.value == k).then(c.param(name, k)).otherwise(value)
    # A key the table lacks, or a null entry, leaves the amount undetermined on this parameter.
    entry_unknown = pl.when(value.is_null()).then(bit).otherwise(ZERO)
    either = base_unknown | key.unknown
    return V(value, pl.when(either != 0).then(either).otherwise(entry_unknown))


def _not(c: Compiler, node: n.Not) -> V:
    v = c.compile(node.operand)
    return V(~v.value, v.unknown)


def _neg(c: Compiler, node: n.Neg) -> V:
    v = c.compile(node.operand)
    return V(-v.value, v.unknown)


def _junction(c: Compiler, operands: tuple[n.Node, ...], decisive: bool) -> V:
    """``and`` (decisive False) or ``or`` (decisive True): a known decisive operand decides;
    otherwise any unknown operand makes the result unknown, naming all of them. Kleene logic
    is Polars' own on nulls; the masks are only read where the result is null, which keeps
    nested junctions linear in size."""
    vs = [c.compile(o) for o in operands]
    combine = pl.any_horizontal if decisive else pl.all_horizontal
    value = combine([v.value for v in vs])
    return V(value, pl.when(value.is_null()).then(or_masks([v.unknown for v in vs]))
             .otherwise(ZERO))


def _and(c: Compiler, node: n.And) -> V:
    return _junction(c, node.operands, decisive=False)


def _or(c: Compiler, node: n.Or) -> V:
    return _junction(c, node.operands, decisive=True)


_ARITH: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}
_CMP: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _arith(c: Compiler, node: n.Arith) -> V:
    a, b = c.compile(node.left), c.compile(node.right)
    if a.integral and b.integral and node.op != "/":
        return V(_ARITH[node.op](a.value, b.value), a.unknown | b.unknown, integral=True)
    return V(_ARITH[node.op](a.number(), b.number()).cast(NUMBER), a.unknown | b.unknown)


def _compare(c: Compiler, node: n.Compare) -> V:
    a, b = c.compile(node.left), c.compile(node.right)
    if a.integral != b.integral:  # an integer meets a decimal: compare as decimals
        return V(_CMP[node.op](a.number(), b.number()), a.unknown | b.unknown)
    return V(_CMP[node.op](a.value, b.value), a.unknown | b.unknown)


def _in(c: Compiler, node: n.In) -> V:
    v = c.compile(node.operand)
    choices = list(node.choices)
    numeric = choices and isinstance(choices[0], (int, Decimal)) and not isinstance(choices[0], bool)
    if numeric and v.integral and all(Decimal(x) == int(x) for x in choices):
        member = v.value.is_in(pl.lit(pl.Series([int(x) for x in choices],
                                                dtype=pl.Int64)).implode())
    elif numeric:
        member = v.number().is_in(pl.lit(pl.Series([Decimal(x) for x in choices],
                                                   dtype=NUMBER)).implode())
    else:
        member = v.value.is_in(pl.lit(pl.Series(choices)).implode())
    member = ~member if node.negate else member
    return V(pl.when(v.value.is_not_null()).then(member), v.unknown)


def _if_else(c: Compiler, node: n.IfElse) -> V:
    t, a, b = c.compile(node.test), c.compile(node.then), c.compile(node.orelse)
    unknown = (pl.when(t.unknown != 0).then(t.unknown | a.unknown | b.unknown)
               .when(t.value).then(a.unknown).otherwise(b.unknown))
    both = a.integral and b.integral
    then, orelse = (a.value, b.value) if both or not _is_number(node) else (a.number(), b.number())
    return V(pl.when(t.value.is_null()).then(None).when(t.value).then(then)
             .otherwise(orelse), unknown, integral=both)


def _is_number(node: n.Node) -> bool:
    return node.type is not None and node.type.name == "num"


def round_half_up(x: pl.Expr, digits: int = 0) -> pl.Expr:
    """四舍五入 to ``digits`` places: ties away from zero, as :data:`decimal.ROUND_HALF_UP`."""
    return x.cast(NUMBER).round(digits, mode="half_away_from_zero")


def _call(c: Compiler, node: n.Call) -> V:
    args = [c.compile(a) for a in node.args]
    unknown = or_masks([a.unknown for a in args])
    integral = all(a.integral for a in args) and node.func != "round"
    if integral and node.func in ("ceil", "floor"):
        return args[0]  # a whole number already
    vals = [a.value if integral else a.number().cast(NUMBER) for a in args]
    if node.func in ("min", "max"):  # these skip nulls: an unknown argument must not be
        pick = pl.min_horizontal if node.func == "min" else pl.max_horizontal
        value = pl.when(pl.any_horizontal([v.is_null() for v in vals])).then(None) \
            .otherwise(pick(vals))
    elif node.func == "ceil":
        value = vals[0].ceil()
    elif node.func == "floor":
        value = vals[0].floor()
    else:  # round
        digits = node.args[1].value if len(node.args) > 1 else 0  # type: ignore[attr-defined]
        value = round_half_up(vals[0], int(digits))
    return V(value if integral else value.cast(NUMBER), unknown, integral=integral)


def _in_region(c: Compiler, node: n.InRegion) -> V:
    if node.basis == "hukou":
        col, name = pl.col("hukou_region"), "hukou_region"
    else:
        col, name = residence(), "residence_region"
    # Canonical codes nest by prefix ("530102" in "5301" in "53"): is_within, column-wise.
    within = pl.when(col.is_not_null()).then(True) if node.code == NATIONAL \
        else col.str.starts_with(node.code)
    return V(within, pl.when(col.is_null()).then(c.bits.mask(name)).otherwise(ZERO))


def _aggregate(c: Compiler, node: n.Aggregate) -> V:
    """An aggregate over the household's members is computed apart, before the rule (by
    ``gongfu_rules.table``, as a group-by); here it is read from the columns that step adds."""
    inner = c.compile(node.operand)
    name = f"{c.prefix}agg{len(c.aggregates)}"
    c.aggregates.append(Aggregate(name, node.func, inner))
    return V(pl.col(f"{name}.v"), pl.col(f"{name}.u"), integral=node.func == "count")


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``count``, ``any_member`` or ``sum_members`` of ``inner`` over a household's members;
    its result columns are ``NAME.v`` and ``NAME.u``."""

    name: str
    func: str
    inner: V

    def agg(self) -> list[pl.Expr]:
        """The aggregate as group-by expressions over the members' rows (Kleene, as the
        scalar engine: a known ``True`` decides ``any_member``; else any unknown member makes
        the result unknown, naming every member's missing inputs)."""
        v, u = self.inner.value, self.inner.unknown
        any_unknown = (u != 0).any()
        masks = u.bitwise_or()
        if self.func == "any_member":
            some = v.fill_null(False).any()
            value = pl.when(some).then(True).when(any_unknown).then(None).otherwise(False)
            unknown = pl.when(some).then(ZERO).when(any_unknown).then(masks).otherwise(ZERO)
        else:
            total = v.cast(pl.Int64).sum() if self.func == "count" \
                else self.inner.number().cast(NUMBER).sum().cast(NUMBER)
            value = pl.when(any_unknown).then(None).otherwise(total)
            unknown = pl.when(any_unknown).then(masks).otherwise(ZERO)
        return [value.alias(f"{self.name}.v"), unknown.cast(MASK).alias(f"{self.name}.u")]


# Numeric facts held as integers: ages, counts and grades (money stays decimal).
_INTEGRAL = frozenset({"age", "disability_grade", "household.size"} | {
    (s.name if s.entity == "person" else f"household.{s.name}")
    for s in fact_specs() if s.type == "count"})

HANDLERS: dict[str, Callable[[Compiler, Any], V]] = {
    "const": _const, "personfact": _person_fact, "householdfact": _household_fact,
    "param": _param, "index": _index, "not": _not, "neg": _neg, "and": _and, "or": _or,
    "arith": _arith, "compare": _compare, "in": _in, "ifelse": _if_else, "call": _call,
    "inregion": _in_region, "aggregate": _aggregate,
}
