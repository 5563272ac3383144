"""Validate schema-checked files and build the runtime model.

Checks, each reported with its file and key path: region codes exist; a parameter's values for
a region form half-open ``[start, end)`` versions with no gap or overlap; every value and rule
cites a source that exists; a local value is never below a 不低于 floor in force above it;
expressions parse and type-check; exclusions name existing standards of the same entity.

Numbers stay within :mod:`gongfu_rules.limits`: a value is finite, at most ``MAX_NUMBER`` in
magnitude and not negative (unless its parameter is a ``deduction``); an amount expression can
never exceed ``MAX_AMOUNT``, whatever the profile. Names are lower-case ASCII, and two region
keys that are one region (``53`` and ``530000``) are a duplicate.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from ..compile.scalar import compile_scalar
from ..errors import ErrorDetail, ExpressionError
from ..limits import MAX_AMOUNT, MAX_NUMBER
from ..expr import nodes as n
from ..expr.bounds import Range, value_range
from ..expr.names import MAP, NUM
from ..expr.parse import Env, ParamInfo, parse_expression
from ..model import AlreadyInForce, CompiledCondition, ParameterDef, Rule, Standard, ValueEntry
from ..regions import NATIONAL, is_within, regions
from .schema import (
    CatalogEntry,
    CatalogFile,
    DocumentsFile,
    Parameter,
    ParameterFile,
    RuleVersion,
    Source,
    StandardFile,
)

Loc = tuple[str | int, ...]

#: Parameter names and table keys: what an expression can name without NFKC folding it.
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_KEY = re.compile(r"[a-z0-9_]+")


class Builder:
    def __init__(self, errors: list[ErrorDetail]):
        self.errors = errors
        self._ranges: dict[str, Range] = {}  # the current standard's parameters' value ranges

    def fail(self, code: str, msg: str, file: str, loc: Loc, input: object = None) -> None:
        self.errors.append(ErrorDetail(code, msg, loc=loc, input=input, source=file))

    # --- parameters ----------------------------------------------------------------------
    def shared_parameters(self, files: list[tuple[str, ParameterFile]]) -> dict[str, ParameterDef]:
        out: dict[str, ParameterDef] = {}
        for rel, pf in files:
            if pf.id in out:
                self.fail("parameter_duplicate", f"parameter '{pf.id}' is also defined in "
                          f"{out[pf.id].file}", rel, ("id",), pf.id)
                continue
            out[pf.id] = self.parameter(pf.id, pf, pf.sources, rel, ())
        return out

    def parameter(self, name: str, p: Parameter, sources: dict[str, Source], file: str,
                  loc: Loc, labels_at: str = "the parameter's 'keys'") -> ParameterDef:
        """The parameter ``p`` checked and built; ``labels_at`` says where a table key's
        label is written (a reform labels the keys it adds under its change's own)."""
        timelines: dict[str, tuple[ValueEntry, ...]] = {}
        if not _NAME.fullmatch(name):
            self.fail("name_invalid", f"parameter name {name!r} must be lower-case ASCII letters, "
                      "digits and _ (starting with a letter)", file, loc or ("id",), name)
        written: dict[str, str] = {}
        for region_key, by_date in p.values.items():
            region = regions().normalize(region_key)
            rloc = (*loc, "values", region_key)
            if region is None:
                self.fail("region_unknown", f"'{region_key}' is not a GB/T 2260 region code "
                          "(write 000000 for national, 53 for 云南省, 5301 for 昆明市 ...)",
                          file, rloc, region_key)
                continue
            if region in written:
                self.fail("region_duplicate", f"'{region_key}' and '{written[region]}' are the "
                          "same region; give its values once", file, rloc, region_key)
                continue
            written[region] = region_key
            for start, v in by_date.items():
                vloc = (*rloc, str(start), "value")
                self._check_value(v.value, p.deduction, file, vloc)
                self._check_labels(v.value, p.keys, file, vloc, labels_at)
            timelines[region] = self._timeline(by_date, sources, file, rloc)
        param = ParameterDef(name, p.description, p.unit, MappingProxyType(timelines), file, p.note,
                             MappingProxyType(dict(p.keys)))
        self._check_shapes(param, loc)
        self._check_floors(param, loc)
        return param

    def _timeline(self, by_date: dict, sources: dict[str, Source], file: str,
                  loc: Loc) -> tuple[ValueEntry, ...]:
        starts = sorted(by_date)
        entries = []
        for i, start in enumerate(starts):
            v = by_date[start]
            nxt = starts[i + 1] if i + 1 < len(starts) else None
            end = v.end if v.end is not None else nxt
            vloc = (*loc, str(start))
            if v.end is not None and v.end <= start:
                self.fail("version_empty", f"end {v.end} is not after start {start}", file, vloc)
            elif v.end is not None and nxt is not None and v.end != nxt:
                word = "overlaps" if v.end > nxt else "leaves a gap before"
                self.fail("version_gap" if v.end < nxt else "version_overlap",
                          f"the version from {start} ends {v.end} and so {word} the next version "
                          f"from {nxt}; versions must be contiguous [from, to)", file, vloc)
            source = self.source(v.source, sources, file, (*vloc, "source"))
            date_source = None if v.date_source is None else \
                self.source(v.date_source, sources, file, (*vloc, "date_source"))
            if v.possibly_outdated and (i == 0 or by_date[starts[i - 1]].value != v.value):
                self.fail("outdated_not_carried", "a value marked possibly_outdated carries the "
                          "region's previous value on; it must repeat that value", file, vloc)
            entries.append(ValueEntry(start, end, v.value, v.floor, source, v.note,
                                      v.below_floor, date_source, v.possibly_outdated))
        return tuple(entries)

    def _check_labels(self, value: object, keys: dict, file: str, loc: Loc,
                      labels_at: str) -> None:
        """Every table key has a label under ``keys``: an explanation names the row a citizen is
        paid from, and a key such as ``age_80_89`` is not something to show them."""
        for key in value if isinstance(value, dict) else ():
            if key not in keys:
                self.fail("label_missing", f"table key {key!r} needs a label under "
                          f"{labels_at} ({key}: {{zh: ..., en: ...}})", file, (*loc, key), key)

    def _check_value(self, value: object, deduction: bool, file: str, loc: Loc) -> None:
        """Finite, within :data:`MAX_NUMBER`, not negative unless a deduction; table keys are names."""
        entries = value.items() if isinstance(value, dict) else [(None, value)]
        for key, v in entries:
            where = loc if key is None else (*loc, key)
            if key is not None and not _KEY.fullmatch(key):
                self.fail("name_invalid", f"table key {key!r} must be lower-case ASCII letters, "
                          "digits and _", file, where, key)
            if not isinstance(v, Decimal):
                continue
            if not v.is_finite() or v.copy_abs() > MAX_NUMBER:  # abs() rounds, and can overflow
                self.fail("value_too_large", f"a value is finite and at most {MAX_NUMBER:,} in "
                          "magnitude", file, where)
            elif v < 0 and not deduction:
                self.fail("value_negative", f"value {v} is negative; an amount, a rate or a "
                          "count is never below 0 (a parameter that is subtracted says "
                          "deduction: true)", file, where)

    def source(self, ref: str | Source, sources: dict[str, Source], file: str, loc: Loc) -> Source:
        if isinstance(ref, Source):
            return ref
        if ref not in sources:
            known = ", ".join(sorted(sources)) or "none"
            self.fail("source_unknown", f"source '{ref}' is not defined under 'sources' "
                      f"(defined: {known})", file, loc, ref)
            return Source(document="?", quote="?", reliability="unverified")
        return sources[ref]

    def _check_shapes(self, param: ParameterDef, loc: Loc) -> None:
        kinds = {type(e.value) for t in param.timelines.values() for e in t if e.value is not None}
        if len(kinds) > 1:
            self.fail("parameter_shape", f"parameter '{param.name}' mixes single numbers and "
                      "tables; every value must have the same shape", param.file, loc)

    def _check_floors(self, param: ParameterDef, loc: Loc) -> None:
        """A value below a 不低于 floor in force above it, at an overlapping time, is an error
        unless it is marked ``below_floor`` (and a value so marked must be below one)."""
        for region, entries in param.timelines.items():
            for e in entries:
                below = [(fr, fl) for fr, fl in self._floors_over(param, region)
                         if _overlap(e, fl) and _below(e.value, fl.value)]
                eloc = (*loc, "values", region, str(e.start))
                if below and not e.below_floor:
                    fr, fl = below[0]
                    self.fail("floor_violated",
                              f"{regions().name(region)} ({region}) value {_fmt(e.value)} from "
                              f"{e.start} is below the 不低于 floor {_fmt(fl.value)} set for "
                              f"{regions().name(fr)} from {fl.start}; if the source really "
                              "published it so, mark it below_floor: true", param.file, eloc)
                elif e.below_floor and not below:
                    self.fail("below_floor_unneeded",
                              f"{regions().name(region)} ({region}) value from {e.start} is "
                              "marked below_floor but is not below any floor in force above it",
                              param.file, eloc)

    @staticmethod
    def _floors_over(param: ParameterDef, region: str):
        for floor_region, floors in param.timelines.items():
            if floor_region != region and is_within(region, floor_region):
                yield from ((floor_region, fl) for fl in floors if fl.floor)

    # --- standards -----------------------------------------------------------------------
    def standards(self, files: list[tuple[str, StandardFile]],
                  shared: dict[str, ParameterDef]) -> dict[str, Standard]:
        out: dict[str, Standard] = {}
        for rel, sf in files:
            if sf.id in out:
                self.fail("standard_duplicate", f"standard '{sf.id}' is also defined in "
                          f"{out[sf.id].file}", rel, ("id",), sf.id)
                continue
            if rel.rsplit("/", 1)[-1] != f"{sf.id}.yaml":
                self.fail("standard_file_name", f"the file of standard '{sf.id}' must be named "
                          f"{sf.id}.yaml", rel, ("id",), sf.id)
            out[sf.id] = self.standard(sf, rel, shared)
        self._check_exclusions(out)
        return out

    def standard(self, sf: StandardFile, file: str, shared: dict[str, ParameterDef]) -> Standard:
        own = {}
        for name, p in sf.parameters.items():
            if name in shared:
                self.fail("parameter_shadows", f"parameter '{name}' is already a shared parameter "
                          f"({shared[name].file}); rename it", file, ("parameters", name))
            own[name] = self.parameter(name, p, sf.sources, file, ("parameters", name))
        scope = regions().normalize(sf.scope)
        if scope is None:
            self.fail("region_unknown", f"scope '{sf.scope}' is not a GB/T 2260 region code",
                      file, ("scope",), sf.scope)
        env = self.standard_env({**shared, **own}, sf.entity)
        starts = sorted(sf.versions)
        rules = tuple(
            self.rule(sf, start, starts[i + 1] if i + 1 < len(starts) else sf.end, env, file)
            for i, start in enumerate(starts))
        return Standard(
            id=sf.id, name=sf.name, summary=sf.summary, domain=sf.domain, kind=sf.kind,
            entity=sf.entity, period=sf.period, unit=sf.unit, region_basis=sf.region_basis,
            scope=scope or NATIONAL, sources=MappingProxyType(dict(sf.sources)),
            parameters=MappingProxyType(own), rules=rules, end=sf.end,
            excludes=tuple(sf.excludes), alternatives=tuple(sf.alternatives),
            tests=tuple(sf.tests), file=file,
            already_in_force=self._already_in_force(sf, file))

    def _already_in_force(self, sf: StandardFile, file: str) -> AlreadyInForce | None:
        before = sf.already_in_force
        if before is None:
            return None
        loc: Loc = ("already_in_force",)
        first = min(sf.versions)
        if before.since is not None and before.since >= first:
            self.fail("already_in_force_since", f"since {before.since} is not before the first "
                      f"version ({first})", file, (*loc, "since"), str(before.since))
        since_source = None if before.since_source is None else \
            self.source(before.since_source, dict(sf.sources), file, (*loc, "since_source"))
        return AlreadyInForce(self.source(before.source, dict(sf.sources), file, (*loc, "source")),
                              before.note, before.since, since_source)

    def rule(self, sf: StandardFile, start: date, end: date | None, env: Env, file: str) -> Rule:
        rv: RuleVersion = sf.versions[start]
        loc: Loc = ("versions", str(start))
        env = env.during(start, end)  # a table's keys as the version reads them
        conditions = []
        for i, c in enumerate(rv.eligibility):
            node = self.expression(c.test, env, file, (*loc, "eligibility", i, "test"), "bool")
            if node is not None:
                conditions.append(CompiledCondition(c.test, c.text, node, compile_scalar(node)))
        amount = self._compiled(rv.amount, env, file, (*loc, "amount"))
        per_year = self._compiled(rv.per_year, env, file, (*loc, "per_year"))
        for compiled, key in ((amount, "amount"), (per_year, "per_year")):
            if compiled is not None:
                self._check_range(compiled[1], compiled[0], file, (*loc, key))
        if rv.quantity is not None:
            self._check_value(rv.quantity, False, file, (*loc, "quantity"))
        self._check_rule_shape(sf, rv, file, loc)
        sources = tuple(self.source(s, dict(sf.sources), file, (*loc, "sources")) for s in rv.sources)
        used = [x for x in (amount, per_year) if x] + [(c.test, c.node, c.fn) for c in conditions]
        params = tuple(dict.fromkeys(
            node.name for _, root, _ in used for node in n.walk(root) if isinstance(node, n.Param)))
        return Rule(start, end, tuple(conditions), amount, rv.amount_note, rv.quantity,
                    rv.quantity_unit, per_year, sources, rv.change, params, rv.set_locally)

    def standard_env(self, parameters: dict[str, ParameterDef], entity: str) -> Env:
        """The names a standard's expressions may use (the shared and its own parameters); the
        rules built next are range-checked against these parameters' values."""
        self._ranges = {name: _range(p) for name, p in parameters.items()}
        return Env({name: _param_info(p) for name, p in parameters.items()}, entity)

    def _check_range(self, node: n.Node, text: str, file: str, loc: Loc) -> None:
        """The expression is never negative, and it (and every ``round()`` in it) stays
        within :data:`MAX_AMOUNT`, for any profile."""
        lowest, _ = value_range(node, self._ranges)
        if lowest < 0:
            self.fail("amount_negative", f"'{text}' can be negative for some profile (from the "
                      "values its parameters and facts can take); write max(0, ...) if the "
                      "eligibility keeps it positive", file, loc, text)
        rounded = [c.args[0] for c in n.walk(node) if isinstance(c, n.Call) and c.func == "round"]
        for part in (node, *rounded):
            lo, hi = value_range(part, self._ranges)
            if max(-lo, hi) > MAX_AMOUNT:
                self.fail("amount_too_large", f"'{text}' can exceed {MAX_AMOUNT:.0e} for some "
                          "profile (from the largest values its parameters and facts can take); "
                          "bound it with min()", file, loc, text)
                return

    def _compiled(self, text: str | None, env: Env, file: str, loc: Loc):
        if text is None:
            return None
        node = self.expression(text, env, file, loc, "num")
        return None if node is None else (text, node, _decimal_valued(node, compile_scalar(node)))

    def _check_rule_shape(self, sf: StandardFile, rv: RuleVersion, file: str, loc: Loc) -> None:
        if rv.set_locally and (rv.amount is not None or rv.amount_note is None):
            self.fail("set_locally_shape", "set_locally: true means the sources give no amount: "
                      "drop 'amount' and give an 'amount_note' saying who sets it", file, loc)
        if sf.kind == "cash" and rv.amount is None and rv.amount_note is None:
            self.fail("amount_missing", "a cash standard needs an 'amount' expression, or an "
                      "'amount_note' saying the amount is set locally or not known", file, loc)
        if rv.amount is not None and sf.unit is None:
            self.fail("unit_missing", "a standard with an amount needs a 'unit' (such as 元/人·月)",
                      file, ("unit",))
        if sf.period == "day" and rv.amount is not None and rv.per_year is None:
            self.fail("per_year_missing", "a daily amount needs 'per_year' (days counted a year, "
                      "with its source) to give an annual figure", file, loc)
        if rv.quantity is not None and rv.quantity_unit is None:
            self.fail("unit_missing", "a quantity needs a 'quantity_unit'", file, loc)

    def expression(self, text: str, env: Env, file: str, loc: Loc, want: str) -> n.Node | None:
        try:
            node = parse_expression(text, env, source=file, loc=loc)
        except ExpressionError as e:
            self.errors.extend(e.details)
            return None
        if node.type is None or node.type.name != want:
            self.fail("expression_type", f"expected a {want} expression; '{text}' gives "
                      f"{node.type}", file, loc, text)
            return None
        return node

    def _check_exclusions(self, standards: dict[str, Standard]) -> None:
        for s in standards.values():
            for i, other in enumerate(s.excludes):
                target = standards.get(other)
                loc: Loc = ("excludes", i)
                if target is None:
                    self.fail("reference_unknown", f"excludes '{other}', which is not a standard "
                              "in this set", s.file, loc, other)
                elif target.entity != s.entity:
                    self.fail("reference_entity", f"'{other}' is a {target.entity} standard; "
                              f"a {s.entity} standard can only exclude its own kind", s.file, loc)
                elif s.id in target.excludes:
                    self.fail("exclusion_cycle", f"'{s.id}' and '{other}' exclude each other; "
                              "say which one takes priority", s.file, loc)


    # --- catalog -------------------------------------------------------------------------
    def catalog(self, files: list[tuple[str, CatalogFile]], documents: DocumentsFile | None,
                standards: dict[str, Standard]) -> dict[str, CatalogEntry]:
        """Every entry decided, its standard and document known, and no id given twice."""
        out: dict[str, CatalogEntry] = {}
        where: dict[str, str] = {}
        known_docs = documents.documents if documents else {}
        for rel, cf in files:
            for entry_id, e in cf.entries.items():
                loc: Loc = ("entries", entry_id)
                if entry_id in out:
                    self.fail("catalog_duplicate", f"catalog entry '{entry_id}' is also in "
                              f"{where[entry_id]}", rel, loc, entry_id)
                    continue
                out[entry_id], where[entry_id] = e, rel
                if e.standard is not None and e.standard not in standards:
                    self.fail("reference_unknown", f"standard '{e.standard}' is not a standard "
                              "in this set", rel, (*loc, "standard"), e.standard)
                if e.document not in known_docs:
                    self.fail("reference_unknown", f"document '{e.document}' is not listed in "
                              "catalog/documents.yaml", rel, (*loc, "document"), e.document)
                if regions().normalize(e.region) is None:
                    self.fail("region_unknown", f"'{e.region}' is not a GB/T 2260 region code",
                              rel, (*loc, "region"), e.region)
        return out


def _param_info(p: ParameterDef) -> ParamInfo:
    tables = tuple((e.start, e.end, frozenset(e.value)) for t in p.timelines.values() for e in t
                   if isinstance(e.value, dict))
    if not tables:
        return ParamInfo(NUM)
    return ParamInfo(MAP, frozenset.intersection(*(keys for _, _, keys in tables)), tables)


def _decimal_valued(node: n.Node, fn):
    """``fn``, made to give a Decimal where it could give an int: a count, an age or a grade
    read as an amount (money is Decimal end to end; an int has no ``quantize``)."""
    if not any(isinstance(x, (n.PersonFact, n.HouseholdFact, n.Aggregate)) for x in n.walk(node)):
        return fn

    def as_decimal(ctx):
        value = fn(ctx)
        return Decimal(value) if type(value) is int else value
    return as_decimal


def _range(p: ParameterDef) -> Range:
    """The smallest and largest value ``p`` takes (of every region, date and table key)."""
    values = [x for t in p.timelines.values() for e in t
              for x in (e.value.values() if isinstance(e.value, dict) else [e.value])
              if isinstance(x, Decimal) and x.is_finite() and x.copy_abs() <= MAX_NUMBER]
    # (a value past MAX_NUMBER is already an error; left in, it could overflow the ranges)
    return (min(values), max(values)) if values else (Decimal(0), Decimal(0))


def _overlap(a: ValueEntry, b: ValueEntry) -> bool:
    a_end, b_end = a.end or date.max, b.end or date.max
    return a.start < b_end and b.start < a_end


def _below(value, floor) -> bool:
    if value is None or floor is None:
        return False
    if isinstance(floor, dict):
        if not isinstance(value, dict):
            return False
        return any(k in value and value[k] is not None and f is not None and value[k] < f
                   for k, f in floor.items())
    return isinstance(value, Decimal) and value < floor


def _fmt(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)
