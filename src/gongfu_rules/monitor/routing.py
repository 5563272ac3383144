"""What can change which standard: read from the standards' expressions, once per standards set.

* :func:`inputs` — the profile inputs a standard reads (its conditions, amount, region basis);
* :class:`Dependencies` — per event type, the standards to re-evaluate; the ages at which some
  standard's result can flip (``age < 3`` flips at 3, ``age <= 6`` at 7); and the dates on which
  a rule version or a parameter value starts or ends, with the standards it touches;
* :class:`Router` — the durable-rules ruleset generated from those dependencies. Each event is
  posted to a short-lived session for its household (created, posted to, read, deleted), so
  durable-rules' cap of 1,024 live sessions per ruleset bounds nothing here; an action error,
  which durable-rules records in the session state instead of raising, is raised.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..expr.nodes import Aggregate, Compare, Const, HouseholdFact, Index, InRegion, Node, Param, \
    PersonFact, walk
from ..model import Standard, StandardsSet
from ..relations import INPUTS
from .events import EVENT_TYPES, Event, MonitorError

_FLIP = {"<": 0, ">=": 0, "<=": 1, ">": 1, "==": 0, "!=": 0}
_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_REGION_INPUTS = {"hukou": ("hukou_region",), "residence": ("residence_region", "household.region")}


def _nodes(s: Standard) -> Iterator[tuple[Node, bool]]:
    """Every expression node of every version, with whether it sits in a condition."""
    for rule in s.rules:
        for c in rule.conditions:
            yield from ((n, True) for n in walk(c.node))
        for expr in (rule.amount, rule.per_year):
            if expr is not None:
                yield from ((n, False) for n in walk(expr[1]))


def inputs(s: Standard) -> frozenset[str]:
    """The profile inputs ``s`` reads: person facts by name, household facts as
    ``household.NAME``, regions, and ``*members`` when it counts or sums over the members."""
    out = set(_REGION_INPUTS[s.region_basis])
    for node, _ in _nodes(s):
        match node:
            case PersonFact(name="age"):
                out.add("birth_date")
            case PersonFact(name=name) if name in INPUTS:  # read from a relative's record
                out.update((name, *INPUTS[name], "*members"))
            case PersonFact(name=name):
                out.add(name)
            case HouseholdFact(name=name):
                out.add(f"household.{name}")
            case InRegion(basis=basis):
                out.update(_REGION_INPUTS[basis])
            case Aggregate():
                out.add("*members")
    return frozenset(out)


@dataclass(frozen=True)
class Dependencies:
    """Which standards an event, a birthday or a date can change (see the module docstring)."""

    by_event: dict[str, frozenset[str]]
    by_age: dict[int, frozenset[str]]
    by_date: dict[date, frozenset[str]]
    conditions_by_date: dict[date, frozenset[str]]  # those whose *conditions* may change then
    all: frozenset[str]

    @classmethod
    def of(cls, std: StandardsSet) -> Dependencies:
        reads = {s.id: inputs(s) for s in std}
        closure = _exclusion_closure(std)
        by_event = {}
        for name, ev in EVENT_TYPES.items():
            by_event[name] = closure(sid for sid, r in reads.items() if r & ev.changes)
        by_age: dict[int, set[str]] = defaultdict(set)
        for s in std:
            for age in _age_flips(std, s):
                by_age[age].add(s.id)
        by_date: dict[date, set[str]] = defaultdict(set)
        cond_by_date: dict[date, set[str]] = defaultdict(set)
        for s in std:
            for day, in_conditions in _boundaries(std, s):
                by_date[day].add(s.id)
                if in_conditions:
                    cond_by_date[day].add(s.id)
        return cls(by_event, {a: closure(v) for a, v in by_age.items()},
                   {d: closure(v) for d, v in by_date.items()},
                   {d: closure(v) for d, v in cond_by_date.items()}, frozenset(reads))

    def ages_between(self, lo: int, hi: int) -> list[int]:
        return [a for a in self.by_age if lo <= a <= hi]


def _exclusion_closure(std: StandardsSet):
    """A standard that excludes another decides its result too: re-evaluate both together."""
    linked: dict[str, set[str]] = defaultdict(set)
    for s in std:
        for other in s.excludes:
            linked[s.id].add(other)
            linked[other].add(s.id)

    def close(ids: Iterable[str]) -> frozenset[str]:
        out, todo = set(ids), list(ids)
        while todo:
            for nxt in linked.get(todo.pop(), ()):
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return frozenset(out)
    return close


def _age_flips(std: StandardsSet, s: Standard) -> set[int]:
    """The ages (周岁) at which a comparison with ``age`` in ``s`` can change its value."""
    out: set[int] = set()
    for node, _ in _nodes(s):
        if not isinstance(node, Compare):
            continue
        if isinstance(node.left, PersonFact) and node.left.name == "age":
            op, other = node.op, node.right
        elif isinstance(node.right, PersonFact) and node.right.name == "age":
            op, other = _MIRROR[node.op], node.left
        else:
            continue
        for v in _numbers(std, s, other):
            whole = int(v) if v == int(v) else int(v) + 1  # age is whole years
            out.update({whole + _FLIP[op]} if op not in ("==", "!=") else {whole, whole + 1})
    return out


def _numbers(std: StandardsSet, s: Standard, node: Node) -> set[Decimal]:
    """Every value a threshold can take: a constant, or any value a parameter ever has."""
    if isinstance(node, Const) and isinstance(node.value, (int, Decimal)) \
            and not isinstance(node.value, bool):
        return {Decimal(node.value)}
    if isinstance(node, Param) or (isinstance(node, Index) and isinstance(node.base, Param)):
        param = node if isinstance(node, Param) else node.base
        key = node.index.value if isinstance(node, Index) and isinstance(node.index, Const) else None
        out: set[Decimal] = set()
        for entries in std.parameter(s, param.name).timelines.values():  # type: ignore[attr-defined]
            for e in entries:
                values = e.value.values() if isinstance(e.value, dict) and key is None else \
                    [e.value.get(key)] if isinstance(e.value, dict) else [e.value]
                out.update(Decimal(v) for v in values if v is not None)
        return out
    return set()


def _boundaries(std: StandardsSet, s: Standard) -> Iterator[tuple[date, bool]]:
    """Dates on which ``s``'s rule or one of its values starts or ends, and whether a
    condition (not only the amount) reads what changes."""
    for rule in s.rules:
        yield rule.start, True
        if rule.end is not None:
            yield rule.end, True
    if s.end is not None:
        yield s.end, True
    in_conditions = {n.name for rule in s.rules for c in rule.conditions for n in walk(c.node)
                     if isinstance(n, Param)}
    for name in dict.fromkeys(p for rule in s.rules for p in rule.params):
        for entries in std.parameter(s, name).timelines.values():
            for e in entries:
                yield e.start, name in in_conditions
                if e.end is not None:
                    yield e.end, name in in_conditions


# --- durable-rules -----------------------------------------------------------------------------
def _durable():
    try:
        from durable import lang
    except ImportError as e:
        raise MonitorError.one(
            "extra_missing", "the monitor routes events with durable-rules, which is not "
            "installed (or does not import on this Python): pip install 'gongfu-rules[monitor]' "
            f"(durable-rules>=2.0.28 builds from source with a C compiler; Python 3.11 or 3.12) "
            f"({e})") from None
    return lang


Routes = tuple[frozenset[str], frozenset[str]]  # (standards to evaluate, undetermined to report)
_RULESETS: dict[str, "Router"] = {}  # durable-rules cannot unregister a ruleset (rules#157)
_SESSIONS = itertools.count()


class Router:
    """Routes a household's events to the standards to re-evaluate, through durable-rules.

    One ruleset per standards set (named after its digest), one rule per event type whose
    action records the standards that event type can change, a rule of higher priority for an
    event that brings a new member (everything is re-evaluated), and a catch-all of lowest
    priority that records an unrouted event as an error rather than letting durable-rules
    reject it. Rule conditions are fully bracketed: ``c << (a) & (b)`` without them never fires.
    """

    def __init__(self, deps: Dependencies, digest: str):
        self.deps = deps
        self.name = f"gongfu_monitor_{digest}"
        self._routed: dict[str, Routes] = {}
        self._lang = _durable()
        if self.name in _RULESETS:
            self._routed = _RULESETS[self.name]._routed
        else:
            self._build()
            _RULESETS[self.name] = self
        self._lang.get_host()  # register on this thread: lazy registration races (anchors §1)

    def _build(self) -> None:
        lang, routed, deps = self._lang, self._routed, self.deps
        with lang.ruleset(self.name):
            @lang.when_all(lang.pri(1), (lang.m.new_person == True))  # noqa: E712 (durable DSL)
            def new_person(c):
                # a new member: evaluate everything, report undetermined results only for
                # what the event itself bears on (the rest would be every unknown fact)
                routed[c.m.id] = (deps.all, deps.by_event[c.m.type])

            for name, ids in deps.by_event.items():
                # one-argument actions only: durable-rules calls a two-argument one asynchronously
                lang.when_all(lang.pri(10), (lang.m.type == name))(_recorder(routed, (ids, ids)))

            @lang.when_all(lang.pri(100), +lang.m.type)
            def unrouted(c):
                raise LookupError("no rule routes this event type")

    @contextmanager
    def session(self, household_id: str) -> Iterator[Callable[[Event, bool], Routes]]:
        """A short-lived durable-rules session for one household: yields ``route(event,
        new_person)``, which gives the standards to evaluate and those whose ``undetermined``
        results to report; the session is deleted on leaving, whatever happens."""
        lang = self._lang
        sid = f"{household_id}#{next(_SESSIONS)}"  # never reuse a session a crash left behind
        posted: list[str] = []

        def route(event: Event, new_person: bool) -> Routes:
            msg = {"sid": sid, "id": f"{sid}:{len(posted)}", "type": event.type,
                   "new_person": new_person}
            posted.append(msg["id"])
            state = lang.post(self.name, msg)
            if isinstance(state, dict) and "exception" in state:
                # durable-rules keeps an action's error in the session state: raise it.
                raise MonitorError.one("event_unrouted", f"durable-rules action failed for a "
                                       f"{event.type} event: {str(state['exception'])[:160]}",
                                       loc=("type",))
            routes = self._routed.pop(msg["id"], None)
            if routes is None:
                raise MonitorError.one("event_unrouted", "durable-rules fired no rule for a "
                                       f"{event.type} event", loc=("type",))
            return routes
        try:
            yield route
        finally:
            for mid in posted:
                self._routed.pop(mid, None)
            if posted:
                lang.delete_state(self.name, sid)


def _recorder(routed: dict[str, Routes], routes: Routes) -> Callable[[Any], None]:
    def action(c) -> None:
        routed[c.m.id] = routes
    return action
