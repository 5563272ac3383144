"""Compile an expression tree to Polars column expressions over a frame of persons.

The semantics are the scalar closures' (:mod:`gongfu_rules.compile.scalar`), column-wise: every
node gives a pair ``(value, unknown)``. ``unknown`` is a ``UInt64`` bit mask of the inputs and
parameters that are missing (``0``: the value is known), and ``value`` is null exactly where
``unknown`` is not zero. Polars' own null logic is Kleene's (``False & null`` is ``False``),
so ``and``/``or`` decide as the scalar engine does, and the scalar engine's :class:`Unknown`
sets become bit unions, so an undetermined result names the same inputs.

Numbers are fixed-point integers, never floats or decimals: ages, counts and whole constants
are plain ``Int64``; every other number (money, ratios) is an ``Int64`` count of millionths
(:data:`SCALE`, 10⁻⁶ 元 for money — money inputs are whole fen, so they are exact; parameters
and ratios carry up to six places). ``+ - *`` of fixed-point values are exact; a product of
two of them and a quotient are rounded half away from zero to the millionth; ``ceil``,
``floor`` and ``round`` (四舍五入, halves away from zero, as :data:`decimal.ROUND_HALF_UP`) are
exact integer arithmetic. A value beyond :data:`LIMIT` (about 4×10¹² 元) is never wrapped
around: it becomes unknown with the :data:`OVERFLOW` bit set, and the batch sets that
household aside with an error row.

Columns the expressions read (prepared by :mod:`gongfu_rules.table`): one per person fact, one
per household fact (``household.NAME``), ``__age``, ``__household_size``, and per standard its
parameter columns ``PREFIXp.NAME`` (a table parameter: ``PREFIXp.NAME[KEY]``) with their unknown
masks ``PREFIXu.NAME`` (and, for an amount a 不低于 floor can bound, the same with the floors
standing in for unknown local figures: ``PREFIXlb.NAME``, ``PREFIXlbu.NAME``), joined from a
frame of the regions in the data. A fact the frame lacks
is not a column: it compiles to a constant null with its missing bit. Each node type has exactly
one handler in ``HANDLERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from typing import Any

import polars as pl

from ..expr import nodes as n
from ..facts import fact_specs
from ..regions import NATIONAL

SCALE = 10**6  #: a fixed-point number is an Int64 count of millionths
FEN = 10**4  #: millionths in a fen (0.01 元): money inputs are whole fen
FIXED = pl.Int64
MASK = pl.UInt64
ZERO = pl.lit(0, dtype=MASK)
OVERFLOW = 1 << 63  #: the unknown-mask bit of a value too large to hold
LIMIT = 4.0e18  #: largest magnitude held (in millionths; Int64 goes to 9.2e18)


def to_fixed(value: Decimal | int) -> int:
    """A decimal as millionths, halves away from zero (standards' figures have at most six places)."""
    return int((Decimal(value) * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class V:
    """A compiled node: its value and its unknown-mask expressions. A number is ``int``
    (ages, counts, whole constants: plain ``Int64``) or ``fixed`` (millionths); ``num`` is
    ``None`` for booleans and text."""

    value: pl.Expr
    unknown: pl.Expr
    num: str | None = None

    @property
    def integral(self) -> bool:
        return self.num == "int"

    def fixed(self) -> "V":
        """The number in millionths (an integer is scaled, guarded against overflow)."""
        if self.num != "int":
            return self
        return guard(self.value * SCALE, self.value.cast(pl.Float64) * SCALE, self.unknown)


def guard(value: pl.Expr, approx: pl.Expr, unknown: pl.Expr, num: str = "fixed") -> V:
    """``value`` where ``approx`` (the same computed in floating point, which cannot wrap
    around) is within :data:`LIMIT`; else null with the :data:`OVERFLOW` bit."""
    over = approx.abs() > LIMIT
    return V(pl.when(over).then(None).otherwise(value),
             pl.when(over).then(unknown | pl.lit(OVERFLOW, dtype=MASK)).otherwise(unknown), num)


def div_round(x: pl.Expr, d: int | pl.Expr) -> pl.Expr:
    """``x / d`` rounded half away from zero, in integers (``d`` > 0)."""
    return (x.abs() * 2 + d) // (pl.lit(2) * d) * x.sign()


class Bits:
    """Bit numbers for the inputs (``birth_date``, ``household.dibao``) and parameters a rule
    reads; ``names`` decodes a mask back into the scalar engine's sorted name lists. The top
    bit is :data:`OVERFLOW`."""

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
            if bit >= 63:
                raise ValueError("a rule reads more than 63 inputs and parameters")
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
    """Compiles the nodes of one rule; ``bits`` collects the names its masks use. ``present``
    names the fact columns the frame has (``None``: all of them)."""

    def __init__(self, bits: Bits, table_keys: Callable[[str], tuple[str, ...]], prefix: str,
                 present: Collection[str] | None = None):
        self.bits = bits
        self.table_keys = table_keys  # a table parameter's keys, as the region frame has them
        self.prefix = prefix  # of this standard's parameter columns in the region frame
        self.present = present
        self.aggregates: list[Aggregate] = []  # computed before the rule, per household
        self.may_overflow = False  # whether any value can carry the OVERFLOW bit
        self.lets: list[tuple[pl.Expr, pl.Expr]] = []  # intermediate columns, in order
        self.inline = False  # inside an aggregate (a group-by): no intermediate columns
        self.read_inline: set[str] = set()  # parameter columns an aggregate reads
        # the parameter columns read: the values (``p``, ``u``), or the values with the
        # 不低于 floors standing in for unknown local figures (``lb``, ``lbu``)
        self.values, self.unknowns = "p", "u"

    def let(self, v: V) -> V:
        """``v`` as columns of its own, computed before the rule (``lets``), so that the
        expressions that read it twice or more (a guard, a rounding, a choice) do not copy
        its whole tree: nested arithmetic would otherwise grow exponentially."""
        if self.inline:
            return v
        name = f"{self.prefix}let{len(self.lets)}"
        self.lets.append((v.value.alias(name), v.unknown.alias(name + ".u")))
        return V(pl.col(name), pl.col(name + ".u"), v.num)

    def param(self, name: str, key: str | None = None) -> pl.Expr:
        return self._read(f"{self.prefix}{self.values}.{name}" +
                          ("" if key is None else f"[{key}]"))

    def param_unknown(self, name: str) -> pl.Expr:
        return self._read(f"{self.prefix}{self.unknowns}.{name}")

    def compile_bound(self, node: n.Node) -> V:
        """``node`` over the parameter values with the floors standing in (``lb`` columns)."""
        self.values, self.unknowns = "lb", "lbu"
        try:
            return self.compile(node)
        finally:
            self.values, self.unknowns = "p", "u"

    def _read(self, column: str) -> pl.Expr:
        if self.inline:
            self.read_inline.add(column)
        return pl.col(column)

    def has(self, column: str) -> bool:
        return self.present is None or column in self.present

    def compile(self, node: n.Node) -> V:
        return HANDLERS[node.key()](self, node)


def or_masks(masks: list[pl.Expr]) -> pl.Expr:
    """The union of unknown masks (``0`` when there are none). A mask that is the constant
    :data:`ZERO` (a value always known) is left out, so that the expressions of rules over
    facts that are always known stay small: Polars plans every node of every chunk's
    expressions, and a rule's masks would otherwise be most of them."""
    masks = [m for m in masks if m is not ZERO]
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
        return V(pl.lit(int(value), dtype=pl.Int64), ZERO, "int")
    if isinstance(value, Decimal):
        return V(pl.lit(to_fixed(value), dtype=FIXED), ZERO, "fixed")
    return V(pl.lit(value, dtype=pl.String), ZERO)


_DTYPES = {"num": pl.Int64, "bool": pl.Boolean}


def _fact_column(name: str, mask_name: str, c: Compiler, node: n.Node) -> V:
    """A fact's column, or, when the frame lacks it (the input ``mask_name``), a constant
    null that is missing."""
    num = _num_kind(mask_name) if _is_number(node) else None
    if not c.has(mask_name):
        dtype = _DTYPES.get(node.type.name, pl.String) if node.type is not None else pl.String
        return V(pl.lit(None, dtype=dtype), c.bits.mask(mask_name), num)
    col = pl.col(name)
    unknown = pl.when(col.is_null()).then(c.bits.mask(mask_name)).otherwise(ZERO)
    if num == "fixed":  # money is read as whole fen, at most 10^14 (columns.MONEY_MAX)
        return V(col * FEN, unknown, num)
    return V(col, unknown, num)


def _num_kind(name: str) -> str:
    """Ages, counts and grades are integers; money is fixed-point."""
    return "int" if name in _INTEGRAL else "fixed"


def _person_fact(c: Compiler, node: n.PersonFact) -> V:
    if node.name == "age":
        return _fact_column("__age", "birth_date", c, node)
    return _fact_column(node.name, node.name, c, node)


def _household_fact(c: Compiler, node: n.HouseholdFact) -> V:
    if node.name == "size":
        return V(pl.col("__household_size").cast(pl.Int64), ZERO, "int")
    name = f"household.{node.name}"
    return _fact_column(name, name, c, node)


def _param(c: Compiler, node: n.Param) -> V:
    c.bits.param(node.name)  # reserve its bit so the region frame can use it
    return V(c.param(node.name), c.param_unknown(node.name), "fixed" if _is_number(node) else None)


def _index(c: Compiler, node: n.Index) -> V:
    name = node.base.name  # type: ignore[attr-defined]
    key = c.compile(node.index)
    base_unknown = c.param_unknown(name)
    bit = pl.lit(c.bits.param(name), dtype=MASK)
    keys = c.table_keys(name)
    value = pl.lit(None, dtype=FIXED)
    for k in reversed(keys):
        value = pl.when(key.value == k).then(c.param(name, k)).otherwise(value)
    # A key the table lacks, or a null entry, leaves the amount undetermined on this parameter.
    entry_unknown = pl.when(value.is_null()).then(bit).otherwise(ZERO)
    either = or_masks([base_unknown, key.unknown])
    return c.let(V(value, pl.when(either != 0).then(either).otherwise(entry_unknown), "fixed"))


def _not(c: Compiler, node: n.Not) -> V:
    v = c.compile(node.operand)
    return V(~v.value, v.unknown)


def _neg(c: Compiler, node: n.Neg) -> V:
    v = c.compile(node.operand)
    return V(-v.value, v.unknown, v.num)


def _junction(c: Compiler, operands: tuple[n.Node, ...], decisive: bool) -> V:
    """``and`` (decisive False) or ``or`` (decisive True): a known decisive operand decides;
    otherwise any unknown operand makes the result unknown, naming all of them. Kleene logic
    is Polars' own on nulls; the masks are only read where the result is null, which keeps
    nested junctions linear in size."""
    vs = [c.compile(o) for o in operands]
    combine = pl.any_horizontal if decisive else pl.all_horizontal
    value = combine([v.value for v in vs])
    masks = or_masks([v.unknown for v in vs])
    if masks is ZERO:  # every operand known: so is the result
        return V(value, ZERO)
    return V(value, pl.when(value.is_null()).then(masks).otherwise(ZERO))


def _and(c: Compiler, node: n.And) -> V:
    return _junction(c, node.operands, decisive=False)


def _or(c: Compiler, node: n.Or) -> V:
    return _junction(c, node.operands, decisive=True)


def _f(x: pl.Expr) -> pl.Expr:
    return x.cast(pl.Float64)


def _arith(c: Compiler, node: n.Arith) -> V:
    c.may_overflow = True
    a, b = c.compile(node.left), c.compile(node.right)
    if node.op in ("*", "/") and a.num == "fixed" and isinstance(node.right, n.Const) \
            and b.integral:  # by a whole constant (``/ 12``): no widening needed
        k = int(node.right.value)  # type: ignore[arg-type]
        if node.op == "/" and k > 0:
            return c.let(V(div_round(a.value, k), a.unknown, "fixed"))
    return c.let(arith(node.op, a, b))


def arith(op: str, a: V, b: V) -> V:
    """``a op b`` in integers or millionths, guarded against overflow."""
    unknown = or_masks([a.unknown, b.unknown])
    if a.integral and b.integral and op != "/":
        exact = {"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value}[op]
        approx = {"+": _f(a.value) + _f(b.value), "-": _f(a.value) - _f(b.value),
                  "*": _f(a.value) * _f(b.value)}[op]
        return guard(exact, approx, unknown, "int")
    if op == "*" and (a.integral or b.integral):  # millionths times a whole number: exact
        return guard(a.value * b.value, _f(a.value) * _f(b.value), unknown)
    a, b = a.fixed(), b.fixed()
    unknown = or_masks([a.unknown, b.unknown])
    if op in ("+", "-"):
        exact = a.value + b.value if op == "+" else a.value - b.value
        approx = _f(a.value) + _f(b.value) if op == "+" else _f(a.value) - _f(b.value)
        return guard(exact, approx, unknown)
    wide_a, wide_b = a.value.cast(pl.Int128), b.value.cast(pl.Int128)
    if op == "*":  # a product of millionths is in 10^-12: back to millionths, rounded
        exact = div_round(wide_a * wide_b, SCALE)
        approx = _f(a.value) * _f(b.value) / SCALE
    else:  # a quotient, rounded to the millionth; by zero it cannot be held (an error row)
        d = pl.when(wide_b != 0).then(wide_b)
        exact = div_round(wide_a.abs() * SCALE, d.abs()) * wide_a.sign() * d.sign()
        approx = pl.when(b.value != 0).then(_f(a.value) * SCALE / _f(b.value)) \
            .otherwise(float("inf"))
    return guard(exact.cast(FIXED, strict=False), approx, unknown)


_CMP: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _compare(c: Compiler, node: n.Compare) -> V:
    a, b = c.compile(node.left), c.compile(node.right)
    unknown = or_masks([a.unknown, b.unknown])
    if a.integral and b.num == "fixed":
        return V(_int_vs_fixed(node.op, a.value, b.value), unknown)
    if a.num == "fixed" and b.integral:
        return V(_int_vs_fixed(_FLIP[node.op], b.value, a.value), unknown)
    return V(_CMP[node.op](a.value, b.value), unknown)


def _int_vs_fixed(op: str, i: pl.Expr, x: pl.Expr) -> pl.Expr:
    """``i op x`` for an integer ``i`` and millionths ``x``, without scaling ``i`` (which
    could overflow): ``i <= x`` is ``i <= floor(x)``, ``i < x`` is ``i < ceil(x)``."""
    floor, ceil = x // SCALE, -((-x) // SCALE)
    if op in ("==", "!="):
        same = (x % SCALE == 0) & (i == floor)
        return same if op == "==" else ~same
    return {"<": i < ceil, "<=": i <= floor, ">": i > floor, ">=": i >= ceil}[op]


def _in(c: Compiler, node: n.In) -> V:
    v = c.compile(node.operand)
    choices = list(node.choices)
    numeric = choices and isinstance(choices[0], (int, Decimal)) and not isinstance(choices[0], bool)
    if numeric and v.integral and all(Decimal(x) == int(x) for x in choices):
        member = v.value.is_in(pl.lit(pl.Series([int(x) for x in choices],
                                                dtype=pl.Int64)).implode())
    elif numeric:
        v = v.fixed()
        member = v.value.is_in(pl.lit(pl.Series([to_fixed(x) for x in choices],
                                                dtype=FIXED)).implode())
    else:
        member = v.value.is_in(pl.lit(pl.Series(choices)).implode())
    member = ~member if node.negate else member
    return V(pl.when(v.value.is_not_null()).then(member), v.unknown)


def _if_else(c: Compiler, node: n.IfElse) -> V:
    t, a, b = c.compile(node.test), c.compile(node.then), c.compile(node.orelse)
    if _is_number(node) and a.num != b.num:
        a, b = a.fixed(), b.fixed()
    if t.unknown is ZERO:
        unknown = ZERO if a.unknown is ZERO and b.unknown is ZERO else \
            pl.when(t.value).then(a.unknown).otherwise(b.unknown)
    else:
        unknown = (pl.when(t.unknown != 0).then(or_masks([t.unknown, a.unknown, b.unknown]))
                   .when(t.value).then(a.unknown).otherwise(b.unknown))
    value = pl.when(t.value.is_null()).then(None).when(t.value).then(a.value).otherwise(b.value)
    return c.let(V(value, unknown, a.num)) if a.num else V(value, unknown, a.num)


def _is_number(node: n.Node) -> bool:
    return node.type is not None and node.type.name == "num"


def round_half_up(x: pl.Expr, digits: int = 0) -> pl.Expr:
    """Millionths ``x`` 四舍五入 to ``digits`` places (0 to 6): ties away from zero, as
    :data:`decimal.ROUND_HALF_UP`; still in millionths."""
    step = SCALE // 10 ** digits
    return x if step == 1 else div_round(x, step) * step


def _call(c: Compiler, node: n.Call) -> V:
    args = [c.compile(a) for a in node.args]
    unknown = or_masks([a.unknown for a in args])
    if node.func in ("min", "max"):  # these skip nulls: an unknown argument must not be
        if not all(a.integral for a in args):
            args = [a.fixed() for a in args]
            unknown = or_masks([a.unknown for a in args])
        vals = [a.value for a in args]
        pick = pl.min_horizontal if node.func == "min" else pl.max_horizontal
        value = pl.when(pl.any_horizontal([v.is_null() for v in vals])).then(None) \
            .otherwise(pick(vals))
        return c.let(V(value, unknown, args[0].num))
    x = args[0]
    if node.func in ("ceil", "floor"):
        if x.integral:
            return x  # a whole number already
        whole = x.value // SCALE if node.func == "floor" else -((-x.value) // SCALE)
        return c.let(V(whole, unknown, "int"))
    digits = node.args[1].value if len(node.args) > 1 else 0  # type: ignore[attr-defined]
    if x.integral and int(digits) >= 0:
        return x
    return c.let(V(round_half_up(x.value, int(digits)), unknown, "fixed"))


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
    inline, read, c.inline, c.read_inline = c.inline, c.read_inline, True, set()
    inner = c.compile(node.operand)
    params = frozenset(c.read_inline)
    c.inline, c.read_inline = inline, read | params
    name = f"{c.prefix}agg{len(c.aggregates)}"
    c.aggregates.append(Aggregate(name, node.func, inner, params))
    if node.func == "sum_members":
        c.may_overflow = True
    num = {"count": "int", "sum_members": inner.num, "any_member": None}[node.func]
    return V(pl.col(f"{name}.v"), pl.col(f"{name}.u"), num)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``count``, ``any_member`` or ``sum_members`` of ``inner`` over a household's members;
    its result columns are ``NAME.v`` and ``NAME.u``."""

    name: str
    func: str
    inner: V
    params: frozenset[str] = frozenset()  # the parameter columns ``inner`` reads

    def members(self, with_unknown: bool = True) -> list[pl.Expr]:
        """The operand's value and unknown mask on every member's row (``NAME.iv`` and
        ``NAME.iu``; the value alone without ``with_unknown``): worked out element-wise
        before the group-by, where a non-trivial expression would be evaluated group by
        group."""
        value = self.inner.value.alias(f"{self.name}.iv")
        return [value, self.inner.unknown.alias(f"{self.name}.iu")] if with_unknown else [value]

    def agg(self, with_unknown: bool = True) -> list[pl.Expr]:
        """The aggregate as group-by expressions over the :meth:`members` columns (Kleene, as
        the scalar engine: a known ``True`` decides ``any_member``; else any unknown member
        makes the result unknown, naming every member's missing inputs); its value alone
        without ``with_unknown`` (a member's value is null exactly where its mask is not zero)."""
        v, u = pl.col(f"{self.name}.iv"), pl.col(f"{self.name}.iu")
        any_unknown = (u != 0).any() if with_unknown else v.is_null().any()
        masks = u.bitwise_or()
        if self.func == "any_member":
            some = v.fill_null(False).any()
            value = pl.when(some).then(True).when(any_unknown).then(None).otherwise(False)
            unknown = pl.when(some).then(ZERO).when(any_unknown).then(masks).otherwise(ZERO)
        elif self.func == "count":
            value = pl.when(any_unknown).then(None).otherwise(v.cast(pl.Int64).sum())
            unknown = pl.when(any_unknown).then(masks).otherwise(ZERO)
        else:  # a sum can grow past what an Int64 holds: guarded
            over = v.cast(pl.Float64).sum().abs() > LIMIT
            value = pl.when(any_unknown | over).then(None).otherwise(v.sum())
            unknown = pl.when(any_unknown).then(masks) \
                .when(over).then(pl.lit(OVERFLOW, dtype=MASK)).otherwise(ZERO)
        if not with_unknown:
            return [value.alias(f"{self.name}.v")]
        return [value.alias(f"{self.name}.v"), unknown.cast(MASK).alias(f"{self.name}.u")]


# Numeric facts held as integers: ages (read from birth_date), counts and grades (money is
# fixed-point).
_INTEGRAL = frozenset({"birth_date", "disability_grade", "household.size"} | {
    (s.name if s.entity == "person" else f"household.{s.name}")
    for s in fact_specs() if s.type == "count"})

HANDLERS: dict[str, Callable[[Compiler, Any], V]] = {
    "const": _const, "personfact": _person_fact, "householdfact": _household_fact,
    "param": _param, "index": _index, "not": _not, "neg": _neg, "and": _and, "or": _or,
    "arith": _arith, "compare": _compare, "in": _in, "ifelse": _if_else, "call": _call,
    "inregion": _in_region, "aggregate": _aggregate,
}
