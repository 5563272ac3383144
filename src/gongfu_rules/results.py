"""What an evaluation returns, and its stable JSON form (schema ``gongfu-rules/evaluation/1``).

Money is a decimal string with two places (``"1374.00"``), never a binary float, so a portal in
any language reads the exact figure. ``docs/results.md`` documents every key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from .explain import explain_period
from .load.schema import Source, Text
from .model import Rule, Standard

Status = Literal["eligible", "not_eligible", "undetermined"]
SCHEMA = "gongfu-rules/evaluation/1"
FEN = Decimal("0.01")
#: Reliability grades a result must warn about (in its JSON and its explanation).
WEAK = frozenset({"secondary", "derived", "unverified"})
_new = object.__new__


def money(value: Decimal | None) -> str | None:
    """A decimal amount as text with two places, rounded half up to the fen."""
    return None if value is None else str(value.quantize(FEN, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class ParameterUse:
    """A parameter value an amount or a condition used: what, where, since when, from what."""

    name: str
    description: Text
    unit: str
    value: Any
    region: str
    start: date
    end: date | None
    paid_floor: bool
    floor_value: Any
    floor_region: str | None
    source: Source
    note: str | None
    below_floor: bool = False
    date_source: Source | None = None
    reliability: str = "official"
    keys: Mapping[str, Text] = field(default_factory=dict)  # a table key's label (not serialized)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description.model_dump(), "unit": self.unit,
            "value": plain(self.value), "region": self.region, "from": self.start.isoformat(),
            "to": self.end.isoformat() if self.end else None, "is_floor": self.paid_floor,
            "floor": plain(self.floor_value), "floor_region": self.floor_region,
            "source": self.source.model_dump(exclude_none=True), "note": self.note,
            "below_floor": self.below_floor, "reliability": self.reliability,
            **({"date_source": self.date_source.model_dump(exclude_none=True)}
               if self.date_source else {}),
        }


class _Explanation:
    """A result's explanation, written the first time it is read.

    Most callers (a portal listing entitlements, a batch) never read it, and writing it costs more
    than deciding the standard; so the evaluator leaves in the result how to write it (its
    ``_explain`` attribute) and this descriptor writes and keeps it on first read. A result made
    with ``explanation=`` (or one evaluated with ``explain=False``) holds its value as usual.
    """

    def __get__(self, result: Any, owner: type) -> Text | None:
        if result is None:  # the class attribute: the field's default
            return None
        write = result.__dict__.pop("_explain", None)
        text = None if write is None else write(result)
        result.__dict__["explanation"] = text
        return text


@dataclass
class StandardResult:
    """One standard for one person (or household) on one date.

    Not slotted: the evaluator creates results from a dict of the fields that differ from their
    defaults (:meth:`_of`), and the explanation is filled in when first read.
    """

    standard: Standard = field(repr=False)
    status: Status
    rule: Rule | None = field(default=None, repr=False)
    amount: Decimal | None = None
    annual_amount: Decimal | None = None
    quantity: Decimal | None = None
    parameters: tuple[ParameterUse, ...] = ()
    value_region: str | None = None
    is_floor: bool = False
    reliability: str | None = None
    failed: tuple[Text, ...] = ()
    missing: tuple[str, ...] = ()
    unknown_parameters: tuple[str, ...] = ()
    reason: str | None = None  # not_in_force | outside_scope | deceased | not_born | excluded
    excluded_by: str | None = None
    explanation: Text | None = _Explanation()  # type: ignore[assignment]

    @classmethod
    def _of(cls, fields: dict[str, Any]) -> "StandardResult":
        """A result with ``fields`` set and every other field at its default (the class attribute),
        without ``__init__``'s sixteen arguments: the evaluator's hot path."""
        result = _new(cls)
        result.__dict__.update(fields)
        return result

    @property
    def standard_id(self) -> str:
        return self.standard.id

    @property
    def weak_source(self) -> bool:
        """Whether the result rests on a ``secondary``, ``derived`` or ``unverified`` source."""
        return self.reliability in WEAK

    def __repr__(self) -> str:
        return (f"StandardResult({self.standard.id!r}, {self.status!r}, amount={self.amount}, "
                f"missing={list(self.missing)}, reason={self.reason!r})")

    def to_dict(self) -> dict[str, Any]:
        s = self.standard
        out: dict[str, Any] = {
            "standard": s.id, "name": s.name.model_dump(), "domain": s.domain, "kind": s.kind,
            "period": s.period, "status": self.status,
            "version": self.rule.start.isoformat() if self.rule else None,
        }
        if self.status != "not_eligible":
            out |= {
                "amount": money(self.amount), "annual_amount": money(self.annual_amount),
                "unit": s.unit, "quantity": plain(self.quantity),
                "quantity_unit": self.rule.quantity_unit.model_dump()
                if self.rule and self.rule.quantity_unit else None,
                "value_region": self.value_region, "is_floor": self.is_floor,
                "reliability": self.reliability,
                "parameters": [p.to_dict() for p in self.parameters],
                "sources": [src.model_dump(exclude_none=True) for src in self.rule.sources]
                if self.rule else [],
                "amount_note": self.rule.amount_note.model_dump()
                if self.rule and self.rule.amount_note else None,
                "set_locally": bool(self.rule and self.rule.set_locally),
                "weak_source": self.weak_source,
            }
        if self.missing or self.unknown_parameters:
            out["missing"] = list(self.missing)
            out["unknown_parameters"] = list(self.unknown_parameters)
        if self.failed:
            out["failed"] = [t.model_dump() for t in self.failed]
        if self.reason:
            out["reason"] = self.reason
        if self.excluded_by:
            out["excluded_by"] = self.excluded_by
        if self.explanation:
            out["explanation"] = self.explanation.model_dump()
        return out


@dataclass(slots=True)
class MonthResult:
    month: date
    status: Status
    amount: Decimal | None  # this month's share: the monthly amount, or the annual figure / 12


@dataclass(slots=True)
class PeriodResult:
    """One standard over a period: month by month, with the total."""

    standard: Standard = field(repr=False)
    status: Status
    total: Decimal | None
    months: list[MonthResult]
    prorated: bool
    detail: StandardResult = field(repr=False)  # the last month that decided the status, with its parameters

    @property
    def standard_id(self) -> str:
        return self.standard.id

    @property
    def explanation(self) -> Text | None:
        """The period's explanation: its total and each stretch of months at one rate (the
        last month's rate alone would misstate a period whose figure changed)."""
        if self.detail.explanation is None:  # evaluated without explanations
            return None
        return explain_period(self)

    def to_dict(self) -> dict[str, Any]:
        out = self.detail.to_dict()
        if "explanation" in out:
            out["explanation"] = self.explanation.model_dump()
        out |= {
            "status": self.status, "total": money(self.total), "prorated": self.prorated,
            "months": [{"month": m.month.strftime("%Y-%m"), "status": m.status,
                        "amount": money(m.amount)} for m in self.months],
        }
        return out


@dataclass
class Evaluation:
    """All results for one household: per person, and for the household itself."""

    standards_set: dict[str, str]
    household_id: str | None
    on: date | None
    period: str | None
    persons: dict[str, list[Any]] = field(default_factory=dict)
    household: list[Any] = field(default_factory=list)

    def results(self, person: str | None = None) -> list[Any]:
        """Results for one person (by id), or for the household when ``person`` is None."""
        return self.household if person is None else self.persons[person]

    def entitlements(self, person: str | None = None) -> list[Any]:
        return [r for r in self.results(person) if r.status == "eligible"]

    def get(self, standard_id: str, person: str | None = None) -> Any:
        """The result of one standard: for ``person`` (default: the first member), or the household's."""
        pool = self.household if person is None and self._is_household(standard_id) \
            else self.persons[person or next(iter(self.persons))]
        for r in pool:
            if r.standard_id == standard_id:
                return r
        raise KeyError(standard_id)

    def _is_household(self, standard_id: str) -> bool:
        return any(r.standard_id == standard_id for r in self.household)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "standards_set": self.standards_set,
            "on": self.on.isoformat() if self.on else None, "period": self.period,
            "household": {"id": self.household_id, **_grouped(self.household)},
            "persons": [{"id": pid, **_grouped(rs)} for pid, rs in self.persons.items()],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def _grouped(results: list[Any]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {"entitlements": [], "undetermined": [],
                                               "not_eligible": []}
    key = {"eligible": "entitlements", "undetermined": "undetermined",
           "not_eligible": "not_eligible"}
    for r in results:
        groups[key[r.status]].append(r.to_dict())
    return groups


def plain(value: Any) -> Any:
    """A value as JSON has it: Decimals (money, ratios) as exact strings, in tables too."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
