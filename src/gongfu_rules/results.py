"""What an evaluation returns, and its stable JSON forms: full (schema
``gongfu-rules/evaluation/1``, what the HTTP service returns) and compact
(``gongfu-rules/evaluation-compact/1``, each source and standard once, by id).

Money is a decimal string with two places (``"1374.00"``), never a binary float, so a portal in
any language reads the exact figure. ``docs/results.md`` documents every key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from .explain import explain_period
from .load.schema import Source, Text
from .model import Rule, Standard

#: ``not_in_force``: no version of the standard is in force on the date (before its start or
#: after its end) — distinct from ``not_eligible`` (in force, a condition fails) and from a
#: region outside its scope (``not_eligible`` with reason ``outside_scope``).
Status = Literal["eligible", "not_eligible", "undetermined", "not_in_force"]
#: The statuses whose results carry amounts and provenance.
PRICED = frozenset({"eligible", "undetermined"})
SCHEMA = "gongfu-rules/evaluation/1"
SCHEMA_COMPACT = "gongfu-rules/evaluation-compact/1"
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
    possibly_outdated: bool = False
    keys: Mapping[str, Text] = field(default_factory=dict)  # a table key's label (not serialized)

    def to_dict(self, refs: "Refs | None" = None) -> dict[str, Any]:
        cite = _cite if refs is None else refs.id
        return {
            "name": self.name, "description": _text(self.description), "unit": self.unit,
            "value": plain(self.value), "region": self.region, "from": self.start.isoformat(),
            "to": self.end.isoformat() if self.end else None, "is_floor": self.paid_floor,
            "floor": plain(self.floor_value), "floor_region": self.floor_region,
            "source": cite(self.source), "note": self.note,
            "below_floor": self.below_floor, "reliability": self.reliability,
            **({"possibly_outdated": True} if self.possibly_outdated else {}),
            **({"date_source": cite(self.date_source)} if self.date_source else {}),
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
        fields = result.__dict__
        write = fields.get("_explain")
        text = None if write is None else write(result)
        # written before ``_explain`` goes: a result is shared by evaluations, and another
        # thread reading it meanwhile finds one or the other (the same text either way)
        fields["explanation"] = text
        fields.pop("_explain", None)
        return text


@dataclass(frozen=True)
class StandardResult:
    """One standard for one person (or household) on one date.

    Immutable: evaluations that reach the same decision share one result. Not slotted: the
    evaluator creates results from a dict of the fields that differ from their defaults
    (:meth:`_of`), and the explanation is filled in when first read.
    """

    __hash__ = None  # type: ignore[assignment]  # compared by value; its tables are unhashable

    standard: Standard = field(repr=False)
    status: Status
    rule: Rule | None = field(default=None, repr=False)
    amount: Decimal | None = None
    annual_amount: Decimal | None = None
    #: the known lower bound of the amount: where the local figure is unknown, the amount the
    #: 不低于 floors above it give; where a floor was paid (``is_floor``), that amount
    amount_at_least: Decimal | None = None
    #: the amount rests on a region's last published value carried past a newer change above
    #: it (a raised floor): the local figure may have been raised since
    amount_possibly_outdated: bool = False
    quantity: Decimal | None = None
    parameters: tuple[ParameterUse, ...] = ()
    value_region: str | None = None
    is_floor: bool = False
    reliability: str | None = None
    failed: tuple[Text, ...] = ()
    missing: tuple[str, ...] = ()
    unknown_parameters: tuple[str, ...] = ()
    # not_in_force | earlier_rule_unknown | outside_scope | deceased | not_born | excluded
    reason: str | None = None
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

    def to_dict(self, refs: "Refs | None" = None) -> dict[str, Any]:
        """The result as JSON has it; with ``refs`` (compact), each source as its id and the
        standard's own fields (name, domain, kind, period, unit) once in ``refs``."""
        s = self.standard
        cite = _cite if refs is None else refs.id
        if refs is None:
            out: dict[str, Any] = {
                "standard": s.id, "name": _text(s.name), "domain": s.domain,
                "kind": s.kind, "period": s.period, "status": self.status,
                "version": self.rule.start.isoformat() if self.rule else None,
            }
        else:
            refs.standard(s)
            out = {"standard": s.id, "status": self.status,
                   "version": self.rule.start.isoformat() if self.rule else None}
        if self.status in PRICED:
            out |= {
                "amount": money(self.amount), "annual_amount": money(self.annual_amount),
                "amount_at_least": money(self.amount_at_least),
                "amount_possibly_outdated": self.amount_possibly_outdated,
                **({"unit": s.unit} if refs is None else {}), "quantity": plain(self.quantity),
                "quantity_unit": _text(self.rule.quantity_unit)
                if self.rule and self.rule.quantity_unit else None,
                "value_region": self.value_region, "is_floor": self.is_floor,
                "reliability": self.reliability,
                "parameters": [p.to_dict(refs) for p in self.parameters],
                "sources": [cite(src) for src in self.rule.sources] if self.rule else [],
                "amount_note": _text(self.rule.amount_note)
                if self.rule and self.rule.amount_note else None,
                "set_locally": bool(self.rule and self.rule.set_locally),
                "weak_source": self.weak_source,
            }
        if self.missing or self.unknown_parameters:
            out["missing"] = list(self.missing)
            out["unknown_parameters"] = list(self.unknown_parameters)
        if self.failed:
            out["failed"] = [_text(t) for t in self.failed]
        if self.reason:
            out["reason"] = self.reason
        if self.excluded_by:
            out["excluded_by"] = self.excluded_by
        if self.explanation:
            out["explanation"] = _text(self.explanation)
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
    #: the known lower bound of the total: each eligible month's share, or where it is unknown
    #: the share its ``amount_at_least`` gives; None unless some month has a lower bound and
    #: every unknown share has one (a daily standard's share has none)
    total_at_least: Decimal | None = None

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

    def to_dict(self, refs: "Refs | None" = None) -> dict[str, Any]:
        out = self.detail.to_dict(refs)
        if "explanation" in out:
            out["explanation"] = _text(self.explanation)
        out |= {"status": self.status, "total": money(self.total),
                "total_at_least": money(self.total_at_least), "prorated": self.prorated}
        if refs is None:
            out["months"] = [{"month": _year_month(m.month), "status": m.status,
                              "amount": money(m.amount)} for m in self.months]
        else:
            out["runs"] = self._runs()
        return out

    def _runs(self) -> list[dict[str, Any]]:
        """Consecutive months with the same status and amount, as one entry each."""
        runs: list[dict[str, Any]] = []
        for m in self.months:
            month, amount = _year_month(m.month), money(m.amount)
            last = runs[-1] if runs else None
            if last and last["status"] == m.status and last["amount"] == amount:
                last["to"] = month
            else:
                runs.append({"from": month, "to": month, "status": m.status, "amount": amount})
        return runs


@lru_cache(maxsize=1024)
def _year_month(month: date) -> str:
    """``YYYY-MM`` (strftime, per month of every result of a period, was a tenth of a
    period's JSON)."""
    return month.isoformat()[:7]


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

    def to_dict(self, detail: Literal["full", "compact"] = "full") -> dict[str, Any]:
        """The evaluation as JSON has it (``docs/results.md``).

        ``full`` (schema ``gongfu-rules/evaluation/1``, what the HTTP service returns) gives
        every source in full in each result that cites it; ``compact`` (schema
        ``gongfu-rules/evaluation-compact/1``) lists each source once, under ``sources`` by id,
        and results cite it by that id; each standard's name, domain, kind, period and unit
        once, under ``standards``; and a period's months as runs of equal months.
        """
        refs = Refs() if detail == "compact" else None
        out = {
            "schema": SCHEMA if refs is None else SCHEMA_COMPACT,
            "standards_set": self.standards_set,
            "on": self.on.isoformat() if self.on else None, "period": self.period,
            "household": {"id": self.household_id, **_grouped(self.household, refs)},
            "persons": [{"id": pid, **_grouped(rs, refs)} for pid, rs in self.persons.items()],
        }
        if refs is not None:
            out["standards"] = refs.standards
            out["sources"] = refs.sources
        return out

    def to_json(self, indent: int | None = None,
                detail: Literal["full", "compact"] = "compact") -> str:
        """The evaluation as JSON text: compact (each source once, by id) unless ``detail``
        is ``full``; on one line unless ``indent`` is given."""
        if indent is None:
            return self.json_text(detail)
        return json.dumps(self.to_dict(detail), ensure_ascii=False, indent=indent)

    def json_text(self, detail: Literal["full", "compact"] = "compact",
                  view: "View | None" = None) -> str:
        """``to_dict(detail)`` as one line of JSON text, shaped by ``view`` (default: as it
        is): the text :func:`json.dumps` gives it with ``ensure_ascii=False`` and the
        separators ``,`` and ``:``, as an HTTP response has it (:meth:`json_bytes` is its
        UTF-8)."""
        return self.json_bytes(detail, view).decode()

    def json_bytes(self, detail: Literal["full", "compact"] = "compact",
                   view: "View | None" = None) -> bytes:
        """:meth:`json_text` in UTF-8, as an HTTP response sends it.

        Evaluations that reach the same decision share its result, and most results of a
        household are shared with earlier ones; so a result's text is kept (see
        :data:`TEXT_CACHE_SIZE`) and written once, not once per evaluation: the dearest part
        of a response, ten times the evaluation itself."""
        view = view or AS_IS
        refs = Refs() if detail == "compact" else None
        head = view.other({"schema": SCHEMA if refs is None else SCHEMA_COMPACT,
                           "standards_set": self.standards_set,
                           "on": self.on.isoformat() if self.on else None,
                           "period": self.period})
        parts = [json_utf8(head)[:-1], b',"household":',
                 _grouped_text(self.household_id, self.household, refs, view), b',"persons":[',
                 b",".join(_grouped_text(pid, rs, refs, view) for pid, rs in self.persons.items()),
                 b"]"]
        if refs is not None:
            parts += [b',"standards":', json_utf8(view.other(refs.standards)),
                      b',"sources":', json_utf8(view.other(refs.sources))]
        return b"".join([*parts, b"}"])


class View(NamedTuple):
    """How :meth:`Evaluation.json_text` shapes an evaluation (the HTTP service's ``lang`` and
    ``detail=summary``): ``key`` names the view (a result's text is kept per view),
    ``result`` reshapes each result's dict in the ``shown`` groups (the others are left
    empty), ``other`` reshapes everything else."""

    key: Hashable
    result: Callable[[dict[str, Any]], Any]
    shown: frozenset[str]
    other: Callable[[Any], Any]


GROUPS = ("entitlements", "undetermined", "not_eligible", "not_in_force")
AS_IS = View("as is", lambda d: d, frozenset(GROUPS), lambda d: d)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Results whose JSON text is kept, each per view (about 2 kB each in full). Full, it is
#: emptied: most texts in use are found again within a few evaluations.
TEXT_CACHE_SIZE = 8192
_texts: dict[tuple[int, bool, Hashable], tuple[Any, bytes, tuple[Any, ...]]] = {}
_OPEN = {g: f'"{g}":['.encode() for g in GROUPS}


def json_utf8(value: Any) -> bytes:
    """``value`` as one line of JSON in UTF-8, as an HTTP response writes it (and as
    :meth:`Evaluation.json_bytes` writes each part)."""
    return _dumps(value).encode()


def _grouped_text(id_: str | None, results: list[Any], refs: "Refs | None", view: View
                  ) -> bytes:
    """A person's or the household's ``id`` and results by group, as JSON text in UTF-8 (a
    group the view does not show is empty, and cites nothing). Bytes, not text: a text of
    Chinese is two bytes a character, and each join copies it."""
    groups: dict[str, list[bytes]] = {g: [] for g in GROUPS}
    for r in results:
        group = _GROUP_OF.get(r.status, "not_eligible")
        if group in view.shown:
            groups[group].append(_result_text(r, refs, view))
    body = b"],".join(_OPEN[g] + b",".join(texts) for g, texts in groups.items())
    return b"".join((b'{"id":', json_utf8(id_), b",", body, b"]}"))


def _result_text(r: Any, refs: "Refs | None", view: View) -> bytes:
    """A result's JSON text (UTF-8) in ``view``; with ``refs``, what it cites is added to
    them."""
    key = (id(r), refs is not None, view.key)
    kept = _texts.get(key)
    if kept is not None and kept[0] is r:
        text, cited = kept[1], kept[2]
    else:
        recorder = None if refs is None else _Recorder()
        text = json_utf8(view.result(r.to_dict(recorder)))
        cited = () if recorder is None else tuple(recorder.cited)
        if isinstance(r, StandardResult):  # a period's result is new in each evaluation
            if len(_texts) >= TEXT_CACHE_SIZE:
                _texts.clear()
            _texts[key] = (r, text, cited)
    if refs is not None:
        for standard, source in cited:
            if source is None:
                refs.standard(standard)
            else:
                refs.id(source)
    return text


class Refs:
    """What a compact evaluation lists once: the sources its results cite, by a short id, and
    the standards they are results of, by standard id.

    A source's id is the first 10 hex digits of the SHA-1 of its JSON, so the same source has
    the same id in every evaluation (a portal can cache it).
    """

    __slots__ = ("sources", "standards")

    def __init__(self) -> None:
        self.sources: dict[str, dict[str, Any]] = {}
        self.standards: dict[str, dict[str, Any]] = {}

    def standard(self, s: Standard) -> None:
        if s.id not in self.standards:
            self.standards[s.id] = {"name": _text(s.name), "domain": s.domain,
                                    "kind": s.kind, "period": s.period, "unit": s.unit}

    def id(self, src: Source) -> str:
        key, body = _source_id(src)
        self.sources.setdefault(key, body)
        return key


@lru_cache(maxsize=8192)
def _source_id(src: Source) -> tuple[str, dict[str, Any]]:
    """The id and compact body of a source: without its ``note``, which is written for the
    standards' reviewers (where in the seed a quote sits), not for a portal."""
    body = src.model_dump(exclude_none=True, exclude={"note"})
    text = json.dumps(src.model_dump(exclude_none=True), ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10], body


def _cite(src: Source) -> dict[str, Any]:
    """A source as JSON has it: its fields but those not given (a new dict each time)."""
    return dict(_source_items(src))


@lru_cache(maxsize=8192)
def _source_items(src: Source) -> tuple[tuple[str, Any], ...]:
    return tuple(src.model_dump(exclude_none=True).items())


def _text(text: Text) -> dict[str, str]:
    """A text as JSON has it (what ``model_dump()`` gives, at a fraction of its cost)."""
    return {"zh": text.zh, "en": text.en}


class _Recorder(Refs):
    """Refs that also note what was cited, in order (standards, and sources as ``(None,
    source)``), to be cited again from a result's kept text."""

    __slots__ = ("cited",)

    def __init__(self) -> None:
        super().__init__()
        self.cited: list[tuple[Standard | None, Source | None]] = []

    def standard(self, s: Standard) -> None:
        self.cited.append((s, None))
        super().standard(s)

    def id(self, src: Source) -> str:
        self.cited.append((None, src))
        return super().id(src)


_GROUP_OF = {"eligible": "entitlements", "undetermined": "undetermined",
             "not_eligible": "not_eligible", "not_in_force": "not_in_force"}


def _grouped(results: list[Any], refs: Refs | None) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
    for r in results:
        groups[_GROUP_OF.get(r.status, "not_eligible")].append(r.to_dict(refs))
    return groups


def plain(value: Any) -> Any:
    """A value as JSON has it: Decimals (money, ratios) as exact strings, in tables too."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
