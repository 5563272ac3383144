"""The response bodies, built from the library's public objects.

Evaluations are the library's own JSON (``Evaluation.to_dict()``), trimmed for ``lang`` and
``detail``, written by ``Evaluation.json_bytes`` (which keeps each shared result's text:
:func:`evaluation_json`). Screening ranks what applies and what may apply by amount; for a
result that is undetermined only for want of yes/no answers, it evaluates the profile again
with those answers given as "yes", so the citizen sees what is at stake before being asked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..evaluate import evaluate
from ..facts import fact_specs
from ..model import Rule, Standard, StandardsSet, ValueEntry
from ..profile import Household
from ..results import AS_IS, GROUPS, Evaluation, View, plain

EVALUATION_SCHEMA_BATCH = "gongfu-rules/batch/1"
SCREEN_SCHEMA = "gongfu-rules/screen/1"
_SUMMARY_DROPS = ("parameters", "sources", "failed")

# The built-in profile fields (declared in gongfu_rules.profile, not in the fact registry),
# labelled as docs/profiles.md labels them.
_BUILTINS: tuple[tuple[str, str, str, str, str], ...] = (
    ("id", "person", "string", "成员编号", "member id within the household"),
    ("role", "person", "enum", "与户主关系", "relationship to the head of household"),
    ("id_number", "person", "string", "公民身份号码", "citizen ID number (GB 11643-1999)"),
    ("birth_date", "person", "date", "出生日期", "date of birth"),
    ("sex", "person", "enum", "性别", "sex"),
    ("death_date", "person", "date", "死亡日期", "date of death"),
    ("hukou_region", "person", "region", "户籍所在地", "region of household registration"),
    ("residence_region", "person", "region", "居住地", "region of actual residence"),
    ("disability_grade", "person", "count", "残疾等级", "disability grade (1 is the most severe)"),
    ("id", "household", "string", "家庭编号", "household id"),
    ("region", "household", "region", "家庭所在地", "region the household lives in"),
)
_BUILTIN_CHOICES = {
    "role": (("head", ("户主",)), ("spouse", ("配偶",)), ("child", ("子女",)),
             ("parent", ("父母",)), ("other", ("其他",))),
    "sex": (("male", ("男", "男性", "M")), ("female", ("女", "女性", "F"))),
}


# --- evaluations -----------------------------------------------------------------------------
def evaluation_json(result: Evaluation, lang: str | None, detail: str) -> bytes:
    """An evaluation's JSON (UTF-8) with ``detail="summary"`` and ``lang`` applied: the text
    of :func:`shape` of its ``to_dict()``, written from the results' kept texts."""
    return result.json_bytes("compact" if detail == "compact" else "full", _view(lang, detail))


@lru_cache(maxsize=None)
def _view(lang: str | None, detail: str) -> View:
    if lang is None and detail != "summary":
        return AS_IS

    def localised(value: Any) -> Any:
        return _localised(value, lang) if lang else value
    if detail != "summary":
        return View(("lang", lang), localised, frozenset(GROUPS), localised)
    return View(("summary", lang), lambda r: localised(_brief(r)),
                frozenset({"entitlements", "undetermined"}), localised)


def shape(data: Any, lang: str | None, detail: str) -> Any:
    """An evaluation's dict with ``detail="summary"`` and ``lang`` applied."""
    if detail == "summary":
        data = _summary(data)
    return _localised(data, lang) if lang else data


def _summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    def group(g: dict[str, Any]) -> dict[str, Any]:
        return {**g, "not_eligible": [], "not_in_force": [],
                "entitlements": [_brief(r) for r in g["entitlements"]],
                "undetermined": [_brief(r) for r in g["undetermined"]]}
    return {**evaluation, "household": group(evaluation["household"]),
            "persons": [group(p) for p in evaluation["persons"]]}


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in _SUMMARY_DROPS}


def _localised(value: Any, lang: str) -> Any:
    """Every ``{zh, en}`` text reduced to ``{lang}``."""
    if isinstance(value, dict):
        if value.keys() == {"zh", "en"}:
            return {lang: value[lang]}
        return {k: _localised(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [_localised(v, lang) for v in value]
    return value


# --- screening -------------------------------------------------------------------------------
def screen(household: Household, on: date, std: StandardsSet, lang: str | None) -> dict[str, Any]:
    """What applies, what may apply (with what is at stake), and the questions to ask."""
    evaluation = evaluate(household, on, standards=std)
    labels = fact_labels()
    hypotheses: dict[tuple[str | None, frozenset[str]], Any] = {}
    applies: list[dict[str, Any]] = []
    may: list[dict[str, Any]] = []
    owners = [*((pid, r) for pid, rs in evaluation.persons.items() for r in rs),
              *((None, r) for r in evaluation.household)]
    for pid, r in owners:
        if r.status in ("not_eligible", "not_in_force") or r.reason == "earlier_rule_unknown":
            continue  # nothing the citizen could add decides these
        item = {**_brief(r.to_dict()), "person": pid}
        if r.status == "eligible":
            applies.append(item)
            continue
        item["potential"] = _potential(household, on, std, pid, r, labels, hypotheses)
        may.append(item)
    applies.sort(key=lambda i: _rank(i))
    may.sort(key=lambda i: (_rank(i["potential"] or {}), len(i.get("missing", ()))))
    out = {"schema": SCREEN_SCHEMA, "standards_set": std.label, "on": on.isoformat(),
           "applies": applies, "may_apply": may, "questions": _questions(may, labels)}
    return _localised(out, lang) if lang else out


def _potential(household: Household, on: date, std: StandardsSet, pid: str | None, r: Any,
               labels: dict[tuple[str, str], dict[str, Any]],
               cache: dict[tuple[str | None, frozenset[str]], Any]) -> dict[str, Any] | None:
    """The amount if every missing input is a yes/no fact answered "yes"; None otherwise."""
    if r.rule is None or r.rule.amount is None or not r.missing:
        return None
    facts = [_fact_key(name, pid) for name in r.missing]
    if any(f is None or labels.get(f, {}).get("type") != "bool" for f in facts):
        return None
    key = (pid, frozenset(r.missing))
    if key not in cache:
        cache[key] = evaluate(_assume(household, pid, r.missing), on, standards=std,
                              explain=False)
    result = cache[key].get(r.standard_id, person=pid).to_dict()
    if result["status"] != "eligible" or result.get("amount") is None:
        return None
    return {"amount": result["amount"], "annual_amount": result.get("annual_amount"),
            "assuming": list(r.missing)}


def _fact_key(name: str, pid: str | None) -> tuple[str, str] | None:
    """``(entity, fact)`` of a missing-input name; household results name household facts only."""
    if name.startswith("household."):
        return ("household", name.removeprefix("household."))
    return ("person", name) if pid is not None else None


def _assume(household: Household, pid: str | None, names: tuple[str, ...]) -> Household:
    person = {n: True for n in names if not n.startswith("household.")}
    home = {n.removeprefix("household."): True for n in names if n.startswith("household.")}
    members = [m.model_copy(update=person) if m.id == pid else m for m in household.members]
    return household.model_copy(update={**home, "members": members})


def _figure(item: dict[str, Any]) -> Decimal | None:
    """The figure a result is ranked by: its yearly amount, else its amount (a one-off)."""
    text = item.get("annual_amount") or item.get("amount")
    return Decimal(text) if text is not None else None


def _rank(item: dict[str, Any]) -> tuple[int, Decimal]:
    figure = _figure(item)
    return (1, Decimal(0)) if figure is None else (0, -figure)


def _questions(may: list[dict[str, Any]],
               labels: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Each missing input, the standards it would help decide and the yearly sum at stake."""
    questions: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for item in may:
        for name in item.get("missing", ()):
            entity, fact = _fact_key(name, item["person"]) or ("person", name)
            pid = item["person"] if entity == "person" else None
            label = labels.get((entity, fact), {"type": "unknown", "zh": fact, "en": fact})
            q = questions.setdefault((entity, fact, pid), {
                "fact": fact, "entity": entity, "person": pid, "type": label["type"],
                "zh": label["zh"], "en": label["en"], "standards": [], "_stake": Decimal(0)})
            q["standards"].append(item["standard"])
            figure = _figure(item["potential"] or {})
            q["_stake"] += figure or 0
    out = sorted(questions.values(), key=lambda q: (-q["_stake"], -len(q["standards"])))
    for q in out:
        stake = q.pop("_stake")
        q["annual_amount_at_stake"] = f"{stake:.2f}" if stake else None
    return out


# --- facts -----------------------------------------------------------------------------------
def facts() -> list[dict[str, Any]]:
    """The built-in profile fields, then the fact registry, with labels and enum values."""
    out = [{"name": name, "entity": entity, "type": type_, "zh": zh, "en": en,
            "values": _choices(_BUILTIN_CHOICES.get(name)), "builtin": True}
           for name, entity, type_, zh, en in _BUILTINS]
    out += [{"name": s.name, "entity": s.entity, "type": s.type, "zh": s.zh, "en": s.en,
             "values": _choices(s.choices), "builtin": False} for s in fact_specs()]
    return out


def fact_labels() -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["entity"], f["name"]): f for f in facts()}


def _choices(choices: Any) -> list[dict[str, Any]] | None:
    return [{"value": v, "aliases": list(a)} for v, a in choices] if choices else None


# --- standards -------------------------------------------------------------------------------
def standard_summary(s: Standard) -> dict[str, Any]:
    return {"id": s.id, "name": s.name.model_dump(), "summary": s.summary.model_dump(),
            "domain": s.domain, "kind": s.kind, "entity": s.entity, "period": s.period,
            "unit": s.unit, "region_basis": s.region_basis, "scope": s.scope, "file": s.file,
            "versions": [_span(r.start, r.end) for r in s.rules]}


def standard_detail(std: StandardsSet, s: Standard, on: date | None) -> dict[str, Any]:
    """The rule and parameter values in force on ``on``, or (``on`` None) the whole history."""
    rules = [r for r in s.rules if on is None or r.in_force(on)]
    names = dict.fromkeys(p for r in (rules or s.rules) for p in r.params)
    parameters = []
    for name in names:
        p = std.parameter(s, name)
        values = [_value(region, e) for region, entries in p.timelines.items() for e in entries
                  if on is None or e.in_force(on)]
        parameters.append({"name": name, "description": p.description.model_dump(),
                           "unit": p.unit, "values": values})
    return {**standard_summary(s), "on": on.isoformat() if on else None,
            "rules": [_rule(r) for r in rules], "parameters": parameters}


def _rule(r: Rule) -> dict[str, Any]:
    return {**_span(r.start, r.end),
            "conditions": [{"test": c.test, "text": c.text.model_dump()} for c in r.conditions],
            "amount": r.amount[0] if r.amount else None,
            "amount_note": _text(r.amount_note), "quantity": plain(r.quantity),
            "quantity_unit": _text(r.quantity_unit),
            "per_year": r.per_year[0] if r.per_year else None,
            "sources": [_source(s) for s in r.sources], "change": _text(r.change),
            "set_locally": r.set_locally}


def _value(region: str, e: ValueEntry) -> dict[str, Any]:
    return {"region": region, **_span(e.start, e.end), "value": plain(e.value),
            "floor": e.floor, "below_floor": e.below_floor, "reliability": e.reliability,
            "source": _source(e.source), "note": e.note}


def _span(start: date, end: date | None) -> dict[str, Any]:
    return {"from": start.isoformat(), "to": end.isoformat() if end else None}


def _source(source: Any) -> dict[str, Any]:
    return source.model_dump(exclude_none=True)


def _text(text: Any) -> dict[str, str] | None:
    return text.model_dump() if text is not None else None


