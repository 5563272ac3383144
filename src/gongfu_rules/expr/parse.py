"""Parse and type-check a rule expression.

The syntax is a safe subset of Python expressions, read with :mod:`ast`. Only the forms below
are accepted; anything else (attribute access outside ``p.`` and ``household.``, calls to other
functions, lambdas, comprehensions, subscripts of facts ...) is an error naming the column.

    expr   := expr 'or' expr | expr 'and' expr | 'not' expr
            | arith (('=='|'!='|'<'|'<='|'>'|'>=') arith)+      # chains: 80 <= age < 100
            | arith ['not'] 'in' '(' literal, ... ')'
            | expr 'if' expr 'else' expr
    arith  := arith ('+'|'-'|'*'|'/') arith | '-' arith | atom
    atom   := NUMBER | STRING | True | False | fact | 'household.' fact | 'p.' NAME ['[' expr ']']
            | min(a, b, ...) | max(a, b, ...) | ceil(x) | floor(x) | round(x[, digits])
            | hukou_in('CODE') | residence_in('CODE')
            | count(cond) | any_member(cond) | sum_members(expr)       # over household members

Numbers are exact decimals (``1.3`` is ``Decimal('1.3')``). Types are checked as the tree is
built, so a rule that compares an enum fact with a value it can never take, or two different
enumerations with each other, fails at load time.

Limits (:mod:`gongfu_rules.limits`) are checked before any work: the length of the text, the
depth of its tree, the size of each literal and ``round()``'s digits. Text that Unicode NFKC
normalisation would change is refused too: Python reads ``ａｇｅ`` or a math-bold name as
``age``, so the file would say one thing and the engine run another.
"""

from __future__ import annotations

import ast
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from ..errors import ErrorDetail, ExpressionError
from ..limits import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH, MAX_NUMBER, MAX_ROUND_DIGITS
from ..regions import regions
from . import nodes as n
from .names import BOOL, HOUSEHOLD_FACTS, MAP, NUM, PERSON_FACTS, STR, Type

_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_VALUE_FUNCS = {"min", "max", "ceil", "floor", "round"}
_AGGREGATES = {"count": (BOOL, NUM), "any_member": (BOOL, BOOL), "sum_members": (NUM, NUM)}
_REGION_FUNCS = {"hukou_in": "hukou", "residence_in": "residence"}


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """What the type checker knows of a parameter: scalar (``num``) or table (``map``) and its
    keys (those every table entry has); ``tables`` has each entry's span and keys."""

    type: Type
    keys: frozenset[str] = frozenset()
    tables: tuple[tuple[date, date | None, frozenset[str]], ...] = ()

    def during(self, start: date, end: date | None) -> "ParamInfo":
        """The keys of the entries in force at some time in ``[start, end)``: a rule version
        reads only those (a table may gain a key from a date, and the rule from then on)."""
        spans = [keys for s, e, keys in self.tables
                 if (e is None or e > start) and (end is None or s < end)]
        return replace(self, keys=frozenset.intersection(*spans)) if spans else self


@dataclass(frozen=True)
class Env:
    """Where an expression is checked: its entity and the parameters it may read."""

    params: dict[str, ParamInfo] = field(default_factory=dict)
    entity: str = "person"  # person | household
    in_aggregate: bool = False

    def during(self, start: date, end: date | None) -> "Env":
        """The same, for a rule version in force on ``[start, end)``."""
        return replace(self, params={name: info.during(start, end)
                                     for name, info in self.params.items()})


class _Fail(Exception):
    def __init__(self, msg: str, node: ast.AST | None = None):
        super().__init__(msg)
        self.msg, self.node = msg, node


def parse_expression(text: str, env: Env, *, source: str | None = None,
                     loc: tuple[str | int, ...] = ()) -> n.Node:
    """Parse and type-check ``text``; raise :class:`ExpressionError` naming the column."""
    text = str(text)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise _error(text, f"the expression has {len(text):,} characters; the limit is "
                     f"{MAX_EXPRESSION_CHARS:,}", 0, source, loc)
    changed = next((i for i, ch in enumerate(text) if unicodedata.normalize("NFKC", ch) != ch),
                   None)
    if changed is not None:
        raise _error(text, f"character {text[changed]!r} (U+{ord(text[changed]):04X}) is read as "
                     f"{unicodedata.normalize('NFKC', text[changed])!r}; write plain ASCII names "
                     "and digits", changed, source, loc)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise _error(text, f"syntax error: {e.msg}", (e.offset or 1) - 1, source, loc) from None
    except (RecursionError, MemoryError, ValueError):  # the parser's own stack or int limits
        raise _error(text, "the expression nests too deeply to parse", 0, source, loc) from None
    deepest = _deepest(tree.body)
    if deepest is not None:
        raise _error(text.strip(), f"the expression nests more than {MAX_EXPRESSION_DEPTH} "
                     "levels deep; split it (a long sum, a chain of 'not' or 'if')",
                     _char_col(text.strip(), getattr(deepest, "col_offset", 0)), source, loc)
    try:
        return _Builder(env).build(tree.body)
    except _Fail as f:
        col = _char_col(text.strip(), getattr(f.node, "col_offset", 0))
        raise _error(text.strip(), f.msg, col, source, loc) from None


def _deepest(root: ast.AST) -> ast.AST | None:
    """The first node deeper than :data:`MAX_EXPRESSION_DEPTH`, if any (walked without recursion)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.expr_context, ast.operator, ast.boolop,
                                               ast.unaryop, ast.cmpop)))
    return None


def _char_col(text: str, byte_col: int) -> int:
    return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _error(text: str, msg: str, col: int, source: str | None,
           loc: tuple[str | int, ...]) -> ExpressionError:
    # A window of the text around the column, so that a huge expression gives a short message.
    start = max(0, col - 40)
    shown = ("…" if start else "") + text[start:col + 40] + ("…" if len(text) > col + 40 else "")
    pointer = f"\n    {shown}\n    {' ' * (col - start + (1 if start else 0))}^"
    return ExpressionError([ErrorDetail("expression_invalid", f"column {col + 1}: {msg}{pointer}",
                                        loc=loc, input=text, source=source)])


class _Builder:
    def __init__(self, env: Env):
        self.env = env

    def build(self, node: ast.AST) -> n.Node:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise _Fail(f"'{type(node).__name__}' is not allowed in a rule expression", node)
        return handler(node)

    # --- atoms -------------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> n.Node:
        v = node.value
        if isinstance(v, bool):
            return n.Const(v, type=BOOL)
        if isinstance(v, (int, float)):
            # Checked before Decimal(v): Decimal of a huge int is quadratic in its digits.
            if not abs(v) <= int(MAX_NUMBER):
                raise _Fail(f"a number literal is at most {MAX_NUMBER:,} in magnitude", node)
            return n.Const(Decimal(v) if isinstance(v, int) else Decimal(repr(v)), type=NUM)
        if isinstance(v, str):
            return n.Const(v, type=Type("str", frozenset({v})))
        raise _Fail(f"constant {v!r} is not allowed", node)

    def _Name(self, node: ast.Name) -> n.Node:
        if node.id in ("p", "household"):
            raise _Fail(f"'{node.id}' needs a field: write {node.id}.NAME", node)
        fact = PERSON_FACTS.get(node.id)
        if fact is None:
            raise _Fail(f"unknown name '{node.id}'; known person facts: "
                        f"{', '.join(sorted(PERSON_FACTS))}", node)
        if self.env.entity == "household" and not self.env.in_aggregate:
            raise _Fail(f"'{node.id}' is a person fact; a household rule reads it "
                        "inside count(), any_member() or sum_members()", node)
        return n.PersonFact(node.id, type=fact.type)

    def _Attribute(self, node: ast.Attribute) -> n.Node:
        owner = node.value.id if isinstance(node.value, ast.Name) else None
        if owner == "p":
            info = self.env.params.get(node.attr)
            if info is None:
                known = ", ".join(sorted(self.env.params)) or "none"
                raise _Fail(f"unknown parameter 'p.{node.attr}'; known parameters: {known}", node)
            return n.Param(node.attr, type=info.type)
        if owner == "household":
            fact = HOUSEHOLD_FACTS.get(node.attr)
            if fact is None:
                raise _Fail(f"unknown household fact '{node.attr}'; known: "
                            f"{', '.join(sorted(HOUSEHOLD_FACTS))}", node)
            return n.HouseholdFact(node.attr, type=fact.type)
        raise _Fail("only p.NAME (parameters) and household.NAME can be read with a dot", node)

    def _Subscript(self, node: ast.Subscript) -> n.Node:
        base = self.build(node.value)
        if not isinstance(base, n.Param) or base.type != MAP:
            raise _Fail("only a table parameter can be indexed: p.NAME[key]", node)
        index = self.build(node.slice)
        _expect(index, "str", node.slice, "a table key")
        keys = self.env.params[base.name].keys
        possible = index.type.choices
        if possible is None:
            raise _Fail("a table key must be a text literal or a fact with fixed choices", node.slice)
        if not possible <= keys:
            raise _Fail(f"p.{base.name} has no entry for {sorted(possible - keys)}; "
                        f"its keys are {sorted(keys)}", node.slice)
        return n.Index(base, index, type=NUM)

    # --- operators ---------------------------------------------------------------------
    def _UnaryOp(self, node: ast.UnaryOp) -> n.Node:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            _expect(operand, "bool", node.operand, "'not'")
            return n.Not(operand, type=BOOL)
        if isinstance(node.op, ast.USub):
            _expect(operand, "num", node.operand, "'-'")
            if isinstance(operand, n.Const):
                return n.Const(-operand.value, type=NUM)
            return n.Neg(operand, type=NUM)
        raise _Fail("only 'not' and '-' are allowed as unary operators", node)

    def _BoolOp(self, node: ast.BoolOp) -> n.Node:
        operands = tuple(self.build(v) for v in node.values)
        for raw, built in zip(node.values, operands):
            _expect(built, "bool", raw, "'and'/'or'")
        cls = n.And if isinstance(node.op, ast.And) else n.Or
        return cls(operands, type=BOOL)

    def _BinOp(self, node: ast.BinOp) -> n.Node:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise _Fail("only + - * / are allowed", node)
        left, right = self.build(node.left), self.build(node.right)
        _expect(left, "num", node.left, f"'{op}'")
        _expect(right, "num", node.right, f"'{op}'")
        if op == "/" and not _safe_divisor(right):
            raise _Fail("divide only by a non-zero number or household.size, so that every "
                        "rule is defined for every input", node.right)
        return n.Arith(op, left, right, type=NUM)

    def _Compare(self, node: ast.Compare) -> n.Node:
        if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and len(node.ops) > 1:
            raise _Fail("'in' cannot be chained with other comparisons", node)
        left = self.build(node.left)
        parts: list[n.Node] = []
        for op, raw in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                return self._membership(left, raw, isinstance(op, ast.NotIn))
            sym = _CMP.get(type(op))
            if sym is None:
                raise _Fail("'is' is not allowed; use == or !=", node)
            right = self.build(raw)
            parts.append(self._comparison(sym, left, right, raw))
            left = right
        return parts[0] if len(parts) == 1 else n.And(tuple(parts), type=BOOL)

    def _comparison(self, op: str, left: n.Node, right: n.Node, raw: ast.AST) -> n.Node:
        lt, rt = left.type, right.type
        if lt.name != rt.name or lt.name == "map":
            raise _Fail(f"cannot compare {lt} with {rt}", raw)
        if lt.name in ("str", "bool") and op not in ("==", "!="):
            raise _Fail(f"'{op}' compares numbers; use == or != for {lt.name}", raw)
        if lt.name == "str":
            _check_choices(left, right, raw)
            _check_choices(right, left, raw)
            if not isinstance(left, n.Const) and not isinstance(right, n.Const) \
                    and lt.choices and rt.choices and lt.choices != rt.choices:
                why = ("they share no value, so '==' never holds and '!=' always does"
                       if not lt.choices & rt.choices else "compare each with a literal instead")
                raise _Fail(f"compares two different enumerations ({lt} and {rt}); {why}", raw)
        return n.Compare(op, left, right, type=BOOL)

    def _membership(self, operand: n.Node, raw: ast.AST, negate: bool) -> n.Node:
        if not isinstance(raw, (ast.Tuple, ast.List, ast.Set)):
            raise _Fail("'in' takes a literal list: x in ('a', 'b')", raw)
        choices = tuple(self.build(e) for e in raw.elts)
        if not all(isinstance(c, n.Const) for c in choices):
            raise _Fail("'in' takes literal values only", raw)
        for c in choices:
            if c.type.name != operand.type.name:
                raise _Fail(f"{c.value!r} can never equal a {operand.type.name} value", raw)
            _check_choices(operand, c, raw)
        return n.In(operand, tuple(c.value for c in choices), negate, type=BOOL)

    def _IfExp(self, node: ast.IfExp) -> n.Node:
        test, then, orelse = self.build(node.test), self.build(node.body), self.build(node.orelse)
        _expect(test, "bool", node.test, "'if'")
        if then.type.name != orelse.type.name or then.type.name == "map":
            raise _Fail(f"both branches must have one type; got {then.type} and {orelse.type}", node)
        return n.IfElse(test, then, orelse, type=then.type)

    # --- calls -------------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> n.Node:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if node.keywords:
            raise _Fail("keyword arguments are not allowed", node)
        if name in _VALUE_FUNCS:
            return self._value_call(name, node)
        if name in _REGION_FUNCS:
            return self._region_call(name, node)
        if name in _AGGREGATES:
            return self._aggregate(name, node)
        allowed = sorted(_VALUE_FUNCS | set(_REGION_FUNCS) | set(_AGGREGATES))
        raise _Fail(f"unknown function {name or '?'}(); allowed: {', '.join(allowed)}", node)

    def _value_call(self, name: str, node: ast.Call) -> n.Node:
        args = tuple(self.build(a) for a in node.args)
        for raw, a in zip(node.args, args):
            _expect(a, "num", raw, f"{name}()")
        counts = {"min": (2, 99), "max": (2, 99), "ceil": (1, 1), "floor": (1, 1), "round": (1, 2)}
        lo, hi = counts[name]
        if not lo <= len(args) <= hi:
            raise _Fail(f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} arguments", node)
        if name == "round" and len(args) == 2:
            digits = args[1].value if isinstance(args[1], n.Const) else None
            if digits is None or digits != int(digits) or not 0 <= digits <= MAX_ROUND_DIGITS:
                raise _Fail(f"round()'s digits must be a whole number literal from 0 to "
                            f"{MAX_ROUND_DIGITS}", node.args[1])
        return n.Call(name, args, type=NUM)

    def _region_call(self, name: str, node: ast.Call) -> n.Node:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) \
                or not isinstance(node.args[0].value, str):
            raise _Fail(f"{name}() takes one region code as text, such as {name}('5301')", node)
        code = regions().normalize(node.args[0].value)
        if code is None:
            raise _Fail(f"{node.args[0].value!r} is not a GB/T 2260 region code", node.args[0])
        if self.env.entity == "household" and not self.env.in_aggregate:
            raise _Fail(f"{name}() tests a person; use household.region rules instead", node)
        return n.InRegion(_REGION_FUNCS[name], code, type=BOOL)

    def _aggregate(self, name: str, node: ast.Call) -> n.Node:
        if self.env.in_aggregate:
            raise _Fail(f"{name}() cannot be nested in another member aggregate", node)
        if len(node.args) != 1:
            raise _Fail(f"{name}() takes one expression, evaluated for each member", node)
        inner_type, result = _AGGREGATES[name]
        inner_env = Env(self.env.params, self.env.entity, in_aggregate=True)
        operand = _Builder(inner_env).build(node.args[0])
        _expect(operand, inner_type.name, node.args[0], f"{name}()")
        return n.Aggregate(name, operand, type=result)


def _expect(node: n.Node, type_name: str, raw: ast.AST, where: str) -> None:
    if node.type is None or node.type.name != type_name:
        raise _Fail(f"{where} needs a {type_name} value; got {node.type}", raw)


def _check_choices(fact: n.Node, const: n.Node, raw: ast.AST) -> None:
    """A literal compared with an enum fact must be one of the fact's values (typos fail early)."""
    if isinstance(const, n.Const) and not isinstance(fact, n.Const) and fact.type.choices \
            and const.value not in fact.type.choices:
        raise _Fail(f"{const.value!r} is never a value of this fact; "
                    f"expected one of {sorted(fact.type.choices)}", raw)


def _safe_divisor(node: n.Node) -> bool:
    if isinstance(node, n.Const):
        return node.value != 0
    return isinstance(node, n.HouseholdFact) and node.name == "size"


__all__ = ["Env", "ParamInfo", "parse_expression", "STR"]
