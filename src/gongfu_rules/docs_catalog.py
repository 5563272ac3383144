"""The standards catalog of the documentation site (标准目录), generated from a standards set.

One page per standard in Chinese and English (``ID.zh.md``, ``ID.en.md``): who is eligible in
words, the amounts by region and date, the rule's version history, the sources with their
quotes and reliability, the plans' catalog entries it encodes, and its YAML test cases as
worked examples with the engine's own explanation. Beside them: an index, the standards by
domain and by region. The pages are never written by hand; the site's build hook
(``docs/hooks.py``) runs :func:`write_catalog` before every build::

    python -m gongfu_rules.docs_catalog docs/catalog     # the same, by hand

The output depends only on the standards set, so two runs give the same bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from .coverage import has_amount
from .facts import fact_specs
from .errors import GongfuError
from .evaluate import evaluate
from .load.loader import load_standards
from .load.schema import Case, Source
from .model import ParameterDef, Rule, Standard, StandardsSet, ValueEntry, weakest
from .regions import regions

LANGS = ("zh", "en")

# The nine domains of the national plan, with an English gloss for the English pages.
DOMAINS_EN = {
    "幼有所育": "care for young children", "学有所教": "education", "劳有所得": "employment",
    "病有所医": "health care", "老有所养": "care for the elderly", "住有所居": "housing",
    "弱有所扶": "support for vulnerable people", "优军服务保障": "services for veterans and "
    "military families", "文体服务保障": "culture and sports",
}
_KIND = {"cash": ("现金", "cash"), "service": ("服务", "service"), "in_kind": ("实物", "in kind"),
         "waiver": ("减免", "waiver"), "insurance": ("保险", "insurance")}
_PERIOD = {"once": ("一次性", "once"), "day": ("每天", "per day"), "month": ("每月", "per month"),
           "semester": ("每学期", "per semester"), "year": ("每年", "per year")}
_ENTITY = {"person": ("个人", "person"), "household": ("家庭", "household")}
_BASIS = {"hukou": ("户籍地", "place of household registration (hukou)"),
          "residence": ("居住地", "place of residence")}
_STATUS = {"eligible": ("可享受", "eligible"), "not_eligible": ("不符合", "not eligible"),
           "undetermined": ("待确定", "undetermined"), "not_in_force": ("未施行", "not in force")}
_STATE = {"amount": ("有金额或数量", "amount or quantity"),
          "screening": ("仅用于筛查（金额由地方确定）", "screening (amount set locally)"),
          "not_encoded": ("未编码", "not encoded")}

# Words of the pages, Chinese then English.
_W = {
    "catalog": ("标准目录", "Standards catalog"), "by_domain": ("按领域", "By domain"),
    "by_region": ("按地区", "By region"), "domain": ("领域", "domain"), "kind": ("类型", "kind"),
    "entity": ("对象", "for"), "period": ("周期", "period"), "unit": ("单位", "unit"),
    "basis": ("判断地区", "region tested"), "scope": ("适用范围", "applies in"), "file": ("文件", "file"),
    "excludes": ("优先于", "takes priority over"), "ends": ("废止日期", "repealed on"),
    "eligibility": ("申请条件", "Who is eligible"), "amounts": ("各地区金额", "Amounts by region and date"),
    "history": ("版本沿革", "Version history"), "sources": ("依据", "Sources"),
    "entries": ("规划目录条目", "Catalog entries"), "alternatives": ("未采用的解读", "Readings not chosen"),
    "examples": ("测试用例（示例）", "Worked examples (the standard's test cases)"), "from": ("起始", "from"),
    "to": ("截止", "to"), "region": ("地区", "region"), "value": ("金额", "value"),
    "floor": ("不低于", "floor"), "reliability": ("可靠性", "reliability"), "source": ("依据", "source"),
    "note": ("说明", "note"), "amount": ("金额", "amount"), "quantity": ("数量", "quantity"),
    "unknown": ("未知", "unknown"), "open": ("至今", "open"), "version": ("版本", "version"),
    "change": ("变化", "change"), "set_locally": ("金额由地方确定", "amount set locally"),
    "document": ("文件", "document"), "line": ("行", "line"), "name": ("名称", "name"),
    "entry": ("条目", "entry"), "question": ("问题", "question"), "chosen": ("采用", "chosen"),
    "alternative": ("其他解读", "alternative"), "on": ("评估日期", "on"), "over": ("评估期间", "over"),
    "expect": ("预期结果", "expected"), "engine": ("引擎的解释", "the engine's explanation"),
    "standard": ("标准", "standard"), "state": ("编码状态", "encoded as"), "why": ("列入原因", "why listed"),
    "scoped": ("适用范围为本地区", "scoped to this region"), "person": ("成员", "member"),
    "no_params": ("本标准的规则不引用参数。", "The rule reads no parameter."),
    "shared": ("共享参数", "shared parameter"), "by_document": ("按规划文件", "By planning document"),
    "issuer": ("印发机关", "issued by"), "issued": ("印发日期", "issued on"),
    "status": ("文本状态", "status of the text"), "outcome": ("编码结果", "what became of it"),
}


def catalog_pages(std: StandardsSet) -> dict[str, str]:
    """Every page of the catalog: its file name (``ID.zh.md`` ...) and its Markdown text."""
    examples = {s.id: [_example(std, s, c) for c in s.tests] for s in _sorted(std)}
    pages: dict[str, str] = {}
    for lang in LANGS:
        pages[f"index.{lang}.md"] = _index_page(std, lang)
        pages[f"by-domain.{lang}.md"] = _domain_page(std, lang)
        pages[f"by-region.{lang}.md"] = _region_page(std, lang)
        pages[f"by-document.{lang}.md"] = _document_page(std, lang)
        for s in _sorted(std):
            pages[f"{s.id}.{lang}.md"] = _standard_page(std, s, examples[s.id], lang)
    return pages


def write_catalog(std: StandardsSet, folder: str | Path) -> list[Path]:
    """Write :func:`catalog_pages` into ``folder`` and delete any other page there.

    A file whose text is unchanged is not rewritten, so ``mkdocs serve`` (which watches the
    folder) does not rebuild in a loop. Returns the pages written or kept.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pages = catalog_pages(std)
    for stale in folder.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    out = []
    for name, text in pages.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


# --- one standard -----------------------------------------------------------------------------
def _standard_page(std: StandardsSet, s: Standard, examples: list[dict[str, Any]],
                   lang: str) -> str:
    i = _i(lang)
    other = s.name.en if lang == "zh" else s.name.zh
    out = [f"# {_t(s.name, lang)} ({other})", "", _t(s.summary, lang).strip(), ""]
    facts = [
        (_w("domain", lang), _domain(s.domain, lang)),
        (_w("kind", lang), _KIND[s.kind][i]),
        (_w("entity", lang), _ENTITY[s.entity][i]),
        (_w("period", lang), _PERIOD[s.period][i]),
        (_w("unit", lang), s.unit or "—"),
        (_w("basis", lang), _BASIS[s.region_basis][i]),
        (_w("scope", lang), _region(s.scope)),
        (_w("file", lang), f"`standards/{s.file}`"),
        ("id", f"`{s.id}`"),
    ]
    if s.excludes:
        facts.append((_w("excludes", lang), ", ".join(_link(std[x], lang) for x in s.excludes)))
    if s.end:
        facts.append((_w("ends", lang), s.end.isoformat()))
    out += ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in facts] + [""]
    out += _eligibility(s, lang) + _amounts(std, s, lang) + _history(s, lang)
    out += _sources(s, lang) + _entries(std, s, lang) + _alternatives(s, lang)
    out += _examples(examples, lang)
    return "\n".join(out).rstrip() + "\n"


def _eligibility(s: Standard, lang: str) -> list[str]:
    out = [f"## {_w('eligibility', lang)}", ""]
    for rule in s.rules:
        out += [f"### {_span(rule.start, rule.end, lang)}", ""]
        out += [f"- {_t(c.text, lang)} — `{c.test}`" for c in rule.conditions]
        out += [""] + _what(rule, lang) + [""]
    return out


def _what(rule: Rule, lang: str) -> list[str]:
    lines = []
    if rule.amount:
        lines.append(f"{_w('amount', lang)}: `{rule.amount[0]}`")
    if rule.quantity is not None:
        unit = _t(rule.quantity_unit, lang) if rule.quantity_unit else ""
        lines.append(f"{_w('quantity', lang)}: {rule.quantity} {unit}".rstrip())
    if rule.amount_note:
        lines.append(f"{_w('note', lang)}: {_t(rule.amount_note, lang)}")
    if rule.set_locally:
        lines.append(f"({_w('set_locally', lang)})")
    return [line + "  " for line in lines[:-1]] + lines[-1:]  # a Markdown line break between


def _amounts(std: StandardsSet, s: Standard, lang: str) -> list[str]:
    out = [f"## {_w('amounts', lang)}", ""]
    names = list(dict.fromkeys(p for r in s.rules for p in r.params))
    if not names:
        return out + [_w("no_params", lang), ""]
    for name in names:
        p = std.parameter(s, name)
        shared = f" — {_w('shared', lang)} `standards/{p.file}`" if name not in s.parameters else ""
        out += [f"### `p.{name}`: {_t(p.description, lang)} ({p.unit}){shared}", ""]
        out += _value_table(p, lang) + [""]
    return out


def _value_table(p: ParameterDef, lang: str) -> list[str]:
    keys = list(dict.fromkeys(k for es in p.timelines.values() for e in es
                              if isinstance(e.value, dict) for k in e.value))
    value_cols = [f"`{k}`" + (f" {_value_words().get(k, '')}" if lang == "zh" else "")
                  for k in keys] or [_w("value", lang)]
    head = [_w("region", lang), _w("from", lang), _w("to", lang), *value_cols,
            _w("floor", lang), _w("reliability", lang), _w("source", lang)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for region in sorted(p.timelines, key=lambda r: (len(r.rstrip("0")), r)):
        for e in p.timelines[region]:
            values = _values(e, keys, lang)
            row = [_region(region), e.start.isoformat(), e.end.isoformat() if e.end else
                   _w("open", lang), *values, "✔" if e.floor else "", e.reliability,
                   _source_line(e.source) + (f" ({e.note})" if e.note else "")]
            out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return out


def _values(e: ValueEntry, keys: list[str], lang: str) -> list[str]:
    unknown = _w("unknown", lang)
    if not keys:
        return [unknown if e.value is None else _num(e.value)]
    table = e.value if isinstance(e.value, dict) else {}
    return [unknown if table.get(k) is None else _num(table[k]) for k in keys]


def _history(s: Standard, lang: str) -> list[str]:
    head = [_w("version", lang), _w("change", lang), _w("sources", lang)]
    out = [f"## {_w('history', lang)}", "", "| " + " | ".join(head) + " |", "|---|---|---|"]
    for rule in s.rules:
        change = _t(rule.change, lang) if rule.change else ""
        docs = "; ".join(src.document for src in rule.sources)
        out.append(f"| {_span(rule.start, rule.end, lang)} | {_cell(change)} | {_cell(docs)} |")
    return out + [""]


def _sources(s: Standard, lang: str) -> list[str]:
    out = [f"## {_w('sources', lang)}", ""]
    for key, src in sorted(s.sources.items()):
        out += [f"### `{key}` — {src.reliability}", "", f"**{src.document}**" +
                (f", {src.section}" if src.section else ""), ""]
        out += ["> " + line for line in src.quote.strip().splitlines()] + [""]
        if src.url:
            out += [f"<{src.url}>", ""]
        if src.note:
            out += [f"{_w('note', lang)}: {src.note.strip()}", ""]
    return out


def _entries(std: StandardsSet, s: Standard, lang: str) -> list[str]:
    found = [(k, e) for k, e in sorted(std.catalog.items()) if e.standard == s.id]
    if not found:
        return []
    head = [_w("entry", lang), _w("name", lang), _w("document", lang), _w("region", lang),
            _w("line", lang)]
    out = [f"## {_w('entries', lang)}", "", "| " + " | ".join(head) + " |", "|" + "---|" * 5]
    for k, e in found:
        row = [f"`{k}`", _t(e.name, lang), std.documents[e.document].title, _region(e.region),
               str(e.line or "")]
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return out + [""]


def _alternatives(s: Standard, lang: str) -> list[str]:
    if not s.alternatives:
        return []
    out = [f"## {_w('alternatives', lang)}", ""]
    for a in s.alternatives:
        out += [f"- **{_w('question', lang)}**: {_flat(a.question)}  ",
                f"  **{_w('chosen', lang)}**: {_flat(a.chosen)}  ",
                f"  **{_w('alternative', lang)}**: {_flat(a.alternative)}"]
    return out + [""]


def _example(std: StandardsSet, s: Standard, case: Case) -> dict[str, Any]:
    """A test case evaluated by the engine, for the worked examples."""
    try:
        ev = evaluate(case.profile, case.on, period=case.period, standards=std, explain=True)
    except GongfuError as e:  # a broken case is `gongfu validate`'s to report; show it plainly
        return {"case": case, "status": None, "explanation": None, "error": str(e)}
    result = ev.get(s.id, None if s.entity == "household" else case.person)
    detail = getattr(result, "detail", result)  # a period result explains its last month
    return {"case": case, "status": result.status, "explanation": detail.explanation,
            "error": None}


def _examples(examples: list[dict[str, Any]], lang: str) -> list[str]:
    if not examples:
        return []
    out = [f"## {_w('examples', lang)}", ""]
    for n, ex in enumerate(examples, 1):
        case: Case = ex["case"]
        when = (f"{_w('on', lang)} {case.on.isoformat()}" if case.on else
                f"{_w('over', lang)} {case.period}")
        out += [f"### {n}. {case.name}", "", f"{when}" +
                (f" · {_w('person', lang)} `{case.person}`" if case.person else ""), "",
                "```json", json.dumps(case.profile, ensure_ascii=False, default=_json_default),
                "```", "", f"{_w('expect', lang)}: " + _expect(case, lang), ""]
        if ex["error"]:
            out += [f"!!! failure\n    {_flat(ex['error'])}", ""]
        elif ex["explanation"]:
            out += [f"> {_w('engine', lang)} ({_STATUS[ex['status']][_i(lang)]}): "
                    f"{_flat(_t(ex['explanation'], lang))}", ""]
    return out


def _expect(case: Case, lang: str) -> str:
    e = case.expect
    parts = [_STATUS[e.status][_i(lang)]]
    for key in ("amount", "annual_amount", "quantity", "value_region", "is_floor", "missing",
                "excluded_by"):
        if key in e.model_fields_set:
            value = getattr(e, key)
            shown = "null" if value is None else (", ".join(value) if isinstance(value, list)
                                                  else str(value).lower()
                                                  if isinstance(value, bool) else str(value))
            parts.append(f"`{key}` = {shown}")
    return " · ".join(parts)


# --- the indexes ------------------------------------------------------------------------------
def _index_page(std: StandardsSet, lang: str) -> str:
    amounts = sum(has_amount(s) for s in std)
    if lang == "zh":
        intro = [f"本目录由 `standards/` 自动生成（标准集 {std.name} {std.version}，"
                 f"摘要 `{std.digest}`），共 {len(std)} 项标准，其中 {amounts} 项给出金额或数量。"
                 "每页列出申请条件、各地区各时期的金额、版本沿革、依据原文及其可靠性、"
                 "对应的规划目录条目，以及作为示例的测试用例。",
                 "", "- [按领域](by-domain.md)", "- [按地区](by-region.md)",
                 "- [按规划文件](by-document.md)：五份规划文件列出的每项待遇及其编码结果",
                 "- [覆盖情况](../coverage.md)：规划目录中哪些条目已编码、哪些未编码及原因"]
    else:
        intro = [f"Generated from `standards/` (set {std.name} {std.version}, digest "
                 f"`{std.digest}`): {len(std)} standards, {amounts} of them with an amount or "
                 "a quantity. Each page gives who is eligible, the amounts by region and date, "
                 "the version history, the sources with their quotes and reliability, the "
                 "plans' catalog entries, and the test cases as worked examples.",
                 "", "- [By domain](by-domain.md)", "- [By region](by-region.md)",
                 "- [By planning document](by-document.md): every benefit the five plans name, "
                 "and what became of it",
                 "- [Coverage](../coverage.md): which of the plans' catalog entries are "
                 "encoded, which are not, and why"]
    return "\n".join([f"# {_w('catalog', lang)}", "", *intro, ""])


def _domain_page(std: StandardsSet, lang: str) -> str:
    out = [f"# {_w('catalog', lang)}: {_w('by_domain', lang).lower()}", ""]
    head = [_w("standard", lang), _w("kind", lang), _w("period", lang), _w("scope", lang),
            _w("state", lang), _w("reliability", lang)]
    for domain in sorted({s.domain for s in std}):
        group = [s for s in _sorted(std) if s.domain == domain]
        out += [f"## {_domain(domain, lang)}", "", "| " + " | ".join(head) + " |",
                "|" + "---|" * len(head)]
        for s in group:
            i = _i(lang)
            row = [_link(s, lang), _KIND[s.kind][i], _PERIOD[s.period][i], _region(s.scope),
                   _STATE[_state(s)][i], _reliability(s)]
            out.append("| " + " | ".join(_cell(c) for c in row) + " |")
        out.append("")
    return "\n".join(out)


def _region_page(std: StandardsSet, lang: str) -> str:
    by_region: dict[str, dict[str, list[str]]] = {}
    for s in _sorted(std):
        by_region.setdefault(s.scope, {}).setdefault(s.id, []).append(_w("scoped", lang))
        for name in dict.fromkeys(p for r in s.rules for p in r.params):
            for region, entries in std.parameter(s, name).timelines.items():
                starts = ", ".join(e.start.isoformat() for e in entries)
                by_region.setdefault(region, {}).setdefault(s.id, []).append(
                    f"`p.{name}` ({starts})")
    out = [f"# {_w('catalog', lang)}: {_w('by_region', lang).lower()}", ""]
    out += ["各地区列出适用范围为该地区的标准，以及在该地区有本地金额的标准（参数及其起始日期）。"
            if lang == "zh" else "Each region lists the standards scoped to it and the "
            "standards with figures of its own there (the parameter and its start dates).", ""]
    for region in sorted(by_region, key=lambda r: (len(r.rstrip("0")), r)):
        out += [f"## {_region(region)}", "", f"| {_w('standard', lang)} | "
                f"{_w('why', lang)} |", "|---|---|"]
        for sid, why in by_region[region].items():
            out.append(f"| {_link(std[sid], lang)} | {_cell('; '.join(why))} |")
        out.append("")
    return "\n".join(out)


def _document_page(std: StandardsSet, lang: str) -> str:
    """The plans, each with every benefit it names and what became of it: the standard that
    encodes it, or why it is not an individual entitlement."""
    out = [f"# {_w('catalog', lang)}: {_w('by_document', lang).lower()}", ""]
    head = [_w("line", lang), _w("entry", lang), _w("name", lang), _w("outcome", lang)]
    for key, doc in sorted(std.documents.items()):
        out += [f"## {doc.title}", "", f"- {_w('region', lang)}: {_region(doc.region)}"]
        out += [f"- {_w(k, lang)}: {v}" for k, v in (("issuer", doc.issuer), ("issued", doc.issued),
                                                    ("status", doc.status)) if v]
        out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        entries = sorted(((e.line or 0, k, e) for k, e in std.catalog.items() if e.document == key),
                         key=lambda t: (t[0], t[1]))
        for line, k, e in entries:
            outcome = _link(std[e.standard], lang) if e.standard else \
                f"{_STATE['not_encoded'][_i(lang)]}: {e.not_encoded}"
            out.append("| " + " | ".join(_cell(c) for c in (str(line or ""), f"`{k}`",
                                                            _t(e.name, lang), outcome)) + " |")
        out.append("")
    return "\n".join(out)


# --- small helpers ----------------------------------------------------------------------------
def _sorted(std: StandardsSet) -> list[Standard]:
    return sorted(std, key=lambda s: (s.domain, s.id))


def _state(s: Standard) -> str:
    return "amount" if has_amount(s) else "screening"


@cache
def _value_words() -> dict[str, str]:
    """The Chinese word for each enumeration value (``unable`` → 完全丧失生活自理能力), to label
    the columns of a table indexed by a fact."""
    words: dict[str, str] = {}
    for spec in fact_specs():
        for value, aliases in spec.choices:
            if aliases:
                words.setdefault(value, aliases[0])
    return words


def _reliability(s: Standard) -> str:
    return weakest(src.reliability for r in s.rules for src in r.sources)


def _i(lang: str) -> int:
    return LANGS.index(lang)


def _w(key: str, lang: str) -> str:
    return _W[key][_i(lang)]


def _t(text: Any, lang: str) -> str:
    return getattr(text, lang)


def _domain(domain: str, lang: str) -> str:
    return domain if lang == "zh" else f"{domain} ({DOMAINS_EN.get(domain, domain)})"


def _region(code: str) -> str:
    return f"{regions().name(code)} ({code})"


def _link(s: Standard, lang: str) -> str:
    return f"[{_t(s.name, lang)}]({s.id}.md)"


def _span(start: date, end: date | None, lang: str) -> str:
    return f"{start.isoformat()} — {end.isoformat() if end else _w('open', lang)}"


def _source_line(src: Source) -> str:
    return src.document + (f", {src.section}" if src.section else "")


def _num(v: Any) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _flat(text).replace("|", "\\|")


def _json_default(v: Any) -> str:
    return v.isoformat() if isinstance(v, date) else str(v)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m gongfu_rules.docs_catalog [FOLDER]`` (default ``docs/catalog``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    written = write_catalog(load_standards(), args[0] if args else "docs/catalog")
    print(f"{len(written)} catalog pages in {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
