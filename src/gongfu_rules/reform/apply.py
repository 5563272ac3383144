"""Read a reform file and overlay it on a loaded standards set.

The overlay is a new :class:`~gongfu_rules.model.StandardsSet` sharing every unchanged standard
and parameter with the baseline; the baseline object is never modified (policyengine-core#459
is what happens otherwise). Values and rules go through the loader's own
:class:`~gongfu_rules.load.build.Builder`, so a reform is checked exactly as a standard is:
region codes, contiguous versions, citations, expression types. A value below a 不低于 floor,
an error in ``standards/``, is a *warning* in a reform (the proposal may mean to break it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

from pydantic import ValidationError

from ..errors import ErrorDetail, InputError
from ..load.build import Builder
from ..load.loader import _schema_errors, read_yaml  # the loader's YAML rules and messages
from ..load.schema import Condition, Parameter, RuleVersion, Value
from ..model import ParameterDef, Rule, Standard, StandardsSet
from ..regions import regions
from .schema import ReformFile, RuleChange, SwitchChange, ValueChange

#: Loader findings that a reform reports as warnings: proposals may break a floor on purpose.
WARNING_CODES = frozenset({"floor_violated", "below_floor_unneeded"})


class ReformError(InputError):
    """A reform file does not read, does not validate, or cannot be applied to this set."""


@dataclass(frozen=True)
class Reform:
    """A validated reform file and its digest (a hash of its content, not of its path)."""

    spec: ReformFile
    digest: str
    file: str

    @property
    def label(self) -> dict[str, str]:
        return {"name": self.spec.name, "author": self.spec.author, "digest": self.digest}


@dataclass(frozen=True)
class Applied:
    """A reform overlaid on a baseline: the new set, the loader's warnings, and the standards
    whose results it can change together with those linked to them by exclusions."""

    standards: StandardsSet
    reform: Reform
    warnings: tuple[ErrorDetail, ...]
    changed: tuple[str, ...]
    affected: tuple[str, ...]


def read_reform(path: str | Path) -> Reform:
    """Read and schema-check a reform file; every problem is listed in one :class:`ReformError`."""
    path = Path(path)
    if not path.is_file():
        raise ReformError.one("file_missing", f"no such reform file: {path}", loc=("reform",))
    errors: list[ErrorDetail] = []
    data = read_yaml(path, path.name, errors)
    if data is None:
        raise ReformError(errors)
    return parse_reform(data, path.name)


def parse_reform(data: Any, file: str = "<reform>") -> Reform:
    """A reform from already-read YAML data (a mapping)."""
    if not isinstance(data, dict):
        raise ReformError.one("yaml_invalid", "a reform file holds a mapping of keys", source=file)
    try:
        spec = ReformFile.model_validate(_region_keys_as_text(data))
    except ValidationError as e:
        raise ReformError(list(_schema_errors(e, file))) from None
    digest = hashlib.sha256(spec.model_dump_json(by_alias=True).encode()).hexdigest()[:16]
    return Reform(spec, digest, file)


def _region_keys_as_text(data: dict[str, Any]) -> dict[str, Any]:
    """Region codes written unquoted (``53:``) read as numbers; they are codes."""
    changes = data.get("changes")
    if not isinstance(changes, list):
        return data
    fixed = [{**c, "values": {str(k): v for k, v in c["values"].items()}}
             if isinstance(c, dict) and isinstance(c.get("values"), dict) else c for c in changes]
    return {**data, "changes": fixed}


def apply_reform(baseline: StandardsSet, reform: Reform) -> Applied:
    """Overlay ``reform`` on ``baseline``: a new set with a new digest; ``baseline`` untouched.

    Raises :class:`ReformError` when the reform is already part of ``baseline`` (applied
    twice), names what the set does not have, or does not validate.
    """
    if reform.digest in baseline.reforms:
        raise ReformError.one("reform_applied_twice", f"reform '{reform.spec.name}' "
                              f"({reform.digest}) is already applied to this standards set",
                              loc=("reform",), source=reform.file)
    overlay = _Overlay(baseline, reform)
    for i, change in enumerate(reform.spec.changes):
        loc = ("changes", i)
        if isinstance(change, ValueChange):
            overlay.values(change, loc)
        elif isinstance(change, SwitchChange):
            overlay.switch(change, loc)
        else:
            overlay.rule(change, loc)
    overlay.recheck()
    errors = [e for e in overlay.errors if e.code not in WARNING_CODES]
    if errors:
        raise ReformError(errors)
    digest = hashlib.sha256(f"{baseline.digest}+{reform.digest}".encode()).hexdigest()[:16]
    new = replace(baseline, digest=digest, standards=MappingProxyType(overlay.standards),
                  parameters=MappingProxyType(overlay.parameters),
                  reforms=(*baseline.reforms, reform.digest), _cache={})
    changed = tuple(sorted(overlay.touched))
    warnings = tuple(_as_warning(e) for e in overlay.errors if e.code in WARNING_CODES)
    return Applied(new, reform, warnings, changed, affected_by(new, changed))


def _as_warning(e: ErrorDetail) -> ErrorDetail:
    """The loader's advice is for a standards file; a reform's reader needs another."""
    head, sep, _ = e.msg.partition("; if the source really published it so")
    if not sep:
        return e
    return replace(e, msg=f"{head}; under this reform it stays below the floor unless the "
                          "reform sets that region's value too")


def affected_by(std: StandardsSet, ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``ids`` and every standard linked to one of them by an exclusion, either way round:
    their results decide each other, so they are evaluated together."""
    out, todo = set(ids), list(ids)
    while todo:
        sid = todo.pop()
        linked = set(std[sid].excludes) | {s.id for s in std if sid in s.excludes}
        for other in linked - out:
            out.add(other)
            todo.append(other)
    return tuple(s.id for s in std if s.id in out)


class _Overlay:
    """The standards and parameters being changed, with the loader's builder collecting errors."""

    def __init__(self, baseline: StandardsSet, reform: Reform):
        self.baseline, self.reform = baseline, reform
        self.standards: dict[str, Standard] = dict(baseline.standards)
        self.parameters: dict[str, ParameterDef] = dict(baseline.parameters)
        self.errors: list[ErrorDetail] = []
        self.builder = Builder(self.errors)
        self.touched: set[str] = set()
        self.retype: set[str] = set()  # standards whose parameters' shapes may have changed
        self.seen: dict[str, int] = {}

    def fail(self, code: str, msg: str, loc: tuple, input: Any = None) -> None:
        self.errors.append(ErrorDetail(code, msg, loc=loc, input=input, source=self.reform.file))

    def standard(self, sid: str, loc: tuple) -> Standard | None:
        if sid not in self.standards:
            self.fail("reference_unknown", f"'{sid}' is not a standard in this set "
                      "(gongfu standards list shows them)", (*loc, "standard"), sid)
            return None
        return self.standards[sid]

    def _once(self, key: str, loc: tuple) -> bool:
        """A second change to the same thing would silently undo part of the first
        (openfisca-core#1278): refuse it and say where the first one is."""
        if key in self.seen:
            self.fail("change_duplicate", f"{key} is already changed by changes.{self.seen[key]}; "
                      "put everything about it in that one change", loc, key)
            return False
        self.seen[key] = loc[-1]
        return True

    # --- values ----------------------------------------------------------------------------
    def values(self, change: ValueChange, loc: tuple) -> None:
        name = change.parameter
        if not self._once(f"parameter {name}", loc):
            return
        sid, _, own = name.rpartition(".")
        if sid:
            s = self.standard(sid, loc)
            if s is None:
                return
            if own not in s.parameters:
                self.fail("reference_unknown", f"standard '{sid}' has no parameter '{own}' of its "
                          f"own (it has: {', '.join(s.parameters) or 'none'})",
                          (*loc, "parameter"), name)
                return
            base = s.parameters[own]
        elif name in self.parameters:
            base = self.parameters[name]
        else:
            owners = [s.id for s in self.standards.values() if name in s.parameters]
            hint = f"; write {owners[0]}.{name} for that standard's own" if owners else ""
            self.fail("reference_unknown", f"'{name}' is not a shared parameter{hint}",
                      (*loc, "parameter"), name)
            return
        relabelled = sorted(k for k in change.keys if k in base.keys)
        if relabelled:
            self.fail("label_exists", f"{name} already labels {', '.join(relabelled)}; a reform "
                      "labels only the table keys it adds", (*loc, "keys"), relabelled)
            return
        merged = Parameter.model_construct(description=base.description, unit=base.unit,
                                           values=_merged(base, change.values), note=base.note,
                                           keys={**base.keys, **change.keys})
        new = replace(self.builder.parameter(base.name, merged, dict(self.reform.spec.sources),
                                             self.reform.file, loc,
                                             labels_at="this change's 'keys'"), file=base.file)
        if sid:
            s = self.standards[sid]
            self.standards[sid] = replace(s, parameters=MappingProxyType({**s.parameters, own: new}))
            readers = [sid]
        else:
            self.parameters[name] = new
            readers = [s.id for s in self.standards.values() if not (name in s.parameters)
                       and any(name in r.params for r in s.rules)]
        self.touched.update(readers)
        self.retype.update(readers)

    # --- switching -------------------------------------------------------------------------
    def switch(self, change: SwitchChange, loc: tuple) -> None:
        s = self.standard(change.standard, loc)
        if s is None or not self._once(f"standard {s.id}", loc):
            return
        if change.enabled:
            if s.end is None:
                self.fail("switch_noop", f"'{s.id}' is in force with no end date; there is "
                          "nothing to switch on", (*loc, "enabled"))
                return
            if change.start is not None:
                self.fail("switch_on_date", "a standard switched back on runs on from its end "
                          f"({s.end}); give no 'from'", (*loc, "from"))
                return
            rules = (*s.rules[:-1], replace(s.rules[-1], end=None)) if s.rules else ()
            self.standards[s.id] = replace(s, rules=rules, end=None)
        else:
            start = change.start or (s.rules[0].start if s.rules else date.min)
            self.standards[s.id] = replace(s, rules=_cut(s.rules, start, None), end=start)
        self.touched.add(s.id)

    # --- rules -----------------------------------------------------------------------------
    def rule(self, change: RuleChange, loc: tuple) -> None:
        s = self.standard(change.standard, loc)
        if s is None or not self._once(f"standard {s.id}", loc):
            return
        if change.end is not None and change.end <= change.start:
            self.fail("version_empty", f"end {change.end} is not after from {change.start}",
                      (*loc, "end"))
            return
        base = s.rule_on(change.start)
        if base is None and (change.eligibility is None or change.amount is None):
            self.fail("rule_incomplete", f"'{s.id}' has no rule in force on {change.start} to "
                      "take the rest from: give both 'eligibility' and 'amount'", loc)
            return
        eligibility = change.eligibility or [Condition(test=c.test, text=c.text)
                                             for c in base.conditions]  # type: ignore[union-attr]
        keep_amount = change.amount is None and base is not None
        version = RuleVersion.model_construct(
            eligibility=eligibility,
            amount=change.amount if change.amount is not None else _text(base.amount),
            amount_note=base.amount_note if keep_amount else None,
            quantity=base.quantity if base else None,
            quantity_unit=base.quantity_unit if base else None,
            per_year=_text(base.per_year) if base else None,
            set_locally=base.set_locally if keep_amount else False,
            sources=change.sources, change=change.change)
        sources = {**s.sources, **self.reform.spec.sources}
        new = self._build_rule(s, version, change.start, change.end or s.end, sources, loc)
        rules = _cut(s.rules, change.start, change.end)
        self.standards[s.id] = replace(s, rules=tuple(sorted((*rules, new), key=lambda r: r.start)))
        self.touched.add(s.id)

    def _build_rule(self, s: Standard, version: RuleVersion, start: date, end: date | None,
                    sources: dict, loc: tuple) -> Rule:
        """The loader's rule builder on one version; its errors re-pointed at ``loc``."""
        shell = SimpleNamespace(versions={start: version}, sources=sources, kind=s.kind,
                                unit=s.unit, period=s.period)
        env = self.builder.standard_env({**self.parameters, **self.standards[s.id].parameters},
                                        s.entity)
        first = len(self.errors)
        rule = self.builder.rule(shell, start, end, env, self.reform.file)  # type: ignore[arg-type]
        self.errors[first:] = [replace(e, loc=(*loc, *e.loc[2:]), source=self.reform.file)
                               for e in self.errors[first:]]
        return rule

    def recheck(self) -> None:
        """Type-check again every rule reading a changed parameter (a table that lost a key,
        a number that became a table): the baseline's rules, rebuilt with the new values."""
        for sid in sorted(self.retype):
            s = self.standards[sid]
            rules = []
            for r in s.rules:
                version = RuleVersion.model_construct(
                    eligibility=[Condition(test=c.test, text=c.text) for c in r.conditions],
                    amount=_text(r.amount), amount_note=r.amount_note, quantity=r.quantity,
                    quantity_unit=r.quantity_unit, per_year=_text(r.per_year),
                    set_locally=r.set_locally, sources=list(r.sources), change=r.change)
                rules.append(self._build_rule(s, version, r.start, r.end, {},
                                              ("standards", sid, "versions", str(r.start))))
            self.standards[sid] = replace(s, rules=tuple(rules))


def _text(compiled: tuple | None) -> str | None:
    return None if compiled is None else compiled[0]


def _cut(rules: tuple[Rule, ...], start: date, end: date | None) -> tuple[Rule, ...]:
    """The rules with ``[start, end)`` cut out (a rule spanning it is split in two)."""
    out = []
    for r in rules:
        if r.start < start:
            out.append(replace(r, end=start if r.end is None or r.end > start else r.end))
        if end is not None and (r.end is None or r.end > end):
            out.append(replace(r, start=max(r.start, end)))
    return tuple(out)


def _merged(base: ParameterDef, changes: dict[str, dict[date, Value]]) -> dict[str, dict[date, Any]]:
    """The baseline's timelines with the reform's values laid over them, as loader input.

    A reform value from ``start`` runs to its ``end``, else to the region's next reform date,
    else on with no end; baseline values are clipped around that span, never dropped outside it.
    """
    out: dict[str, dict[date, Any]] = {}
    normalized = {regions().normalize(k) or k: (k, v) for k, v in changes.items()}
    for region, entries in base.timelines.items():
        if region in normalized:
            continue
        out[region] = {e.start: _as_value(e) for e in entries}
    for region, (key, by_date) in normalized.items():
        spans = []
        starts = sorted(by_date)
        for i, start in enumerate(starts):
            end = by_date[start].end or (starts[i + 1] if i + 1 < len(starts) else None)
            spans.append((start, end))
        timeline: dict[date, Any] = {}
        for e in base.timelines.get(region, ()):
            for piece_start, piece_end in _outside(e.start, e.end, spans):
                timeline[piece_start] = _as_value(e, piece_end)
        for start in starts:
            timeline[start] = by_date[start]
        out[key] = dict(sorted(timeline.items()))
    return out


def _outside(start: date, end: date | None, spans: list[tuple[date, date | None]]
             ) -> list[tuple[date, date | None]]:
    """The parts of ``[start, end)`` outside every span."""
    pieces = [(start, end)]
    for s, e in spans:
        nxt = []
        for a, b in pieces:
            if a < s:
                nxt.append((a, s if b is None or b > s else b))
            if e is not None and (b is None or b > e):
                nxt.append((max(a, e), b))
        pieces = [(a, b) for a, b in nxt if b is None or a < b]
    return pieces


def _as_value(e: Any, end: date | None | str = "keep") -> Value:
    """A loaded value entry back as loader input (its Source objects pass through as such)."""
    return Value.model_construct(value=e.value, source=e.source, date_source=e.date_source,
                                 floor=e.floor, below_floor=e.below_floor,
                                 end=e.end if end == "keep" else end, note=e.note)
