"""A loaded standards set: immutable values the evaluator reads.

:class:`StandardsSet` holds :class:`Standard` s and shared :class:`ParameterDef` s. It is a value:
several sets (a baseline, a reform, last year's) can be loaded side by side; nothing is global.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .compile.scalar import Fn
from .expr.nodes import Node
from .load.schema import RELIABILITY_ORDER, Alternative, Case, Source, Text

TableValue = Decimal | dict[str, Decimal | None] | None

#: How many evaluation plans (one per entity, date and pair of hukou and residence regions) a
#: standards set keeps. A plan points to compiled steps (measured about 12 KB with the bundled
#: standards), so this bounds the plans near 25 MB; unbounded, a portal evaluating on ever new
#: dates would grow without end.
PLAN_CACHE_SIZE = 2048
#: How many sets of compiled steps (one per entity, date, hukou or residence basis and region)
#: a standards set keeps: every Yunnan county's, both entities and bases, on about two dates.
#: A set of the bundled standards holds about 70 KB (measured), so this bounds them near 70 MB.
STEP_CACHE_SIZE = 1024
#: How many compiled rules, region frames and expression stages (each for one standard or
#: region basis on one date) ``evaluate_table`` and the batch keep: about 200 a date with the
#: bundled standards, so about 20 dates.
TABLE_CACHE_SIZE = 4096
#: How many single-standard steps (one per standard, date and region) ``evaluate_table`` and
#: the batch keep: about 5,500 a date over Yunnan's 129 counties, so a year's months.
TABLE_STEP_CACHE_SIZE = 65_536
#: How many sets of a standard's parameter values (one per standard, date and set of regions
#: resolving alike) a standards set keeps: a few hundred a date with the bundled standards
#: over Yunnan's counties, most of which read their prefecture's or province's figures.
VALUES_CACHE_SIZE = 16_384


class LRUCache:
    """A mapping of at most ``size`` entries that drops the least recently used one when full."""

    __slots__ = ("size", "_entries")

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        """The value for ``key`` (now the most recently used), or None."""
        value = self._entries.get(key)
        if value is not None:
            try:
                self._entries.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile: the value is still good
                pass
        return value

    def put(self, key: Any, value: Any) -> Any:
        """Store ``value`` under ``key``, evicting the least recently used entry if full."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Any) -> bool:
        return key in self._entries


@dataclass(frozen=True, slots=True)
class ValueEntry:
    """One value of a parameter for one region, in force on ``[start, end)`` (``end`` None: open)."""

    start: date
    end: date | None
    value: TableValue
    floor: bool
    source: Source
    note: str | None = None
    below_floor: bool = False
    date_source: Source | None = None
    possibly_outdated: bool = False  # the region's last published value, carried on

    @property
    def reliability(self) -> str:
        """The weaker of the value's source and its start date's source."""
        grades = [self.source.reliability]
        if self.date_source is not None:
            grades.append(self.date_source.reliability)
        return weakest(grades)

    def in_force(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The value a parameter takes for a region on a date, and why."""

    name: str
    entry: ValueEntry
    region: str
    paid_floor: bool
    floor: ValueEntry | None  # the 不低于 bound in force above ``region``, if any
    floor_region: str | None


@dataclass(frozen=True)
class ParameterDef:
    name: str
    description: Text
    unit: str
    timelines: Mapping[str, tuple[ValueEntry, ...]]
    file: str
    note: str | None = None
    keys: Mapping[str, Text] = field(default_factory=dict)  # a table key's label, for explanations

    def entry(self, region: str, on: date) -> ValueEntry | None:
        for e in self.timelines.get(region, ()):
            if e.in_force(on):
                return e
        return None

    def resolve(self, chain: tuple[str, ...], on: date) -> Resolved | None:
        """The most specific value in force along ``chain`` (a region and its ancestors)."""
        found: tuple[str, ValueEntry] | None = None
        for i, region in enumerate(chain):
            e = self.entry(region, on)
            if e is None:
                continue
            if found is None:
                found = (region, e)
                if e.floor:
                    return Resolved(self.name, e, region, True, e, region)
                continue
            if e.floor:
                return Resolved(self.name, found[1], found[0], False, e, region)
        if found is None:
            return None
        return Resolved(self.name, found[1], found[0], False, None, None)


@dataclass(frozen=True)
class CompiledCondition:
    test: str
    text: Text
    node: Node
    fn: Fn


@dataclass(frozen=True)
class Rule:
    """One dated version of a standard's rule."""

    start: date
    end: date | None
    conditions: tuple[CompiledCondition, ...]
    amount: tuple[str, Node, Fn] | None
    amount_note: Text | None
    quantity: Decimal | None
    quantity_unit: Text | None
    per_year: tuple[str, Node, Fn] | None
    sources: tuple[Source, ...]
    change: Text | None
    params: tuple[str, ...]  # every parameter the rule reads, in first-use order
    set_locally: bool = False

    def in_force(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)


@dataclass(frozen=True, slots=True)
class AlreadyInForce:
    """The standard was in force before its first version (a plan's 现阶段执行标准): since
    ``since`` when a source gives it, else since a date not known."""

    source: Source
    note: Text
    since: date | None = None
    since_source: Source | None = None


@dataclass(frozen=True)
class Standard:
    id: str
    name: Text
    summary: Text
    domain: str
    kind: str
    entity: str
    period: str
    unit: str | None
    region_basis: str
    scope: str
    sources: Mapping[str, Source]
    parameters: Mapping[str, ParameterDef]
    rules: tuple[Rule, ...]
    end: date | None
    excludes: tuple[str, ...]
    alternatives: tuple[Alternative, ...]
    tests: tuple[Case, ...]
    file: str
    already_in_force: AlreadyInForce | None = None

    def rule_on(self, on: date) -> Rule | None:
        for rule in self.rules:
            if rule.in_force(on):
                return rule
        return None

    def earlier_rule_unknown(self, on: date) -> bool:
        """Whether ``on`` falls before the first version of a standard that was already in
        force then, under a rule the standards do not record."""
        before = self.already_in_force
        return before is not None and bool(self.rules) and on < self.rules[0].start and (
            before.since is None or before.since <= on)


@dataclass(frozen=True)
class StandardsSet:
    """An immutable, versioned set of standards. Load one with :func:`gongfu_rules.load_standards`."""

    name: str
    version: str
    digest: str
    standards: Mapping[str, Standard]
    parameters: Mapping[str, ParameterDef]
    root: str
    catalog: Mapping[str, Any] = field(default_factory=dict)  # entry id -> CatalogEntry
    documents: Mapping[str, Any] = field(default_factory=dict)  # key -> CatalogDocument
    catalog_domains: Mapping[str, str] = field(default_factory=dict)  # entry id -> domain
    reforms: tuple[str, ...] = ()  # digests of the reforms overlaid on the loaded set, in order
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    # evaluate()'s plans, bounded; not an init argument, so dataclasses.replace() starts afresh
    _plans: LRUCache = field(default_factory=lambda: LRUCache(PLAN_CACHE_SIZE), init=False,
                             repr=False, compare=False)
    _steps: LRUCache = field(default_factory=lambda: LRUCache(STEP_CACHE_SIZE), init=False,
                             repr=False, compare=False)
    # evaluate_table()'s compiled rules, region frames, expression stages and steps, bounded
    _tables: LRUCache = field(default_factory=lambda: LRUCache(TABLE_CACHE_SIZE), init=False,
                              repr=False, compare=False)
    _table_steps: LRUCache = field(default_factory=lambda: LRUCache(TABLE_STEP_CACHE_SIZE),
                                   init=False, repr=False, compare=False)
    # the parameter values of a standard in regions resolving alike (evaluate._lookup)
    _values: LRUCache = field(default_factory=lambda: LRUCache(VALUES_CACHE_SIZE),
                              init=False, repr=False, compare=False)

    def __iter__(self):
        return iter(self.standards.values())

    def __len__(self) -> int:
        return len(self.standards)

    def __getitem__(self, standard_id: str) -> Standard:
        return self.standards[standard_id]

    def parameter(self, standard: Standard, name: str) -> ParameterDef:
        return standard.parameters.get(name) or self.parameters[name]

    @property
    def label(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "digest": self.digest}


def weakest(reliabilities) -> str:
    """The weakest of several reliability grades (``official`` when there are none)."""
    ranks = [RELIABILITY_ORDER.index(r) for r in reliabilities]
    return RELIABILITY_ORDER[min(ranks)] if ranks else "official"
