"""Readable explanations, in Chinese and English, of one standard's result for one person.

They are written for the citizen, from templates: what they get and how much (or at least how
much), which conditions they meet or miss, the figures used (the table row that applies, its
region and start date), the documents behind them, and a warning when a figure rests on a
source weaker than an official one. Every table key and unit is written through its label
(``keys`` of a parameter, ``data/units.yaml``), so no internal name reaches the text; English
text carries Chinese only inside brackets (a region's or a document's name).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from .compile.scalar import Ctx
from .expr.names import input_label
from .expr.nodes import Aggregate, HouseholdFact, InRegion, PersonFact, walk
from .load.schema import Text
from .regions import regions

if TYPE_CHECKING:
    from .model import Standard
    from .results import ParameterUse, PeriodResult, StandardResult

_PERIOD = {"month": ("每月", "a month"), "year": ("每年", "a year"), "day": ("每天", "a day"),
           "semester": ("每学期", "a semester"), "once": ("一次性", "once")}
_PER = {"month": ("/月", " a month"), "year": ("/年", " a year"), "day": ("/天", " a day"),
        "semester": ("/学期", " a semester"), "once": ("", "")}
_RELIABILITY = {
    "mirror": ("官方文件的转载", "a reprint of the official notice"),
    "secondary": ("二手资料（非官方原文）", "a secondary source, not the official text"),
    "derived": ("推算值", "a figure derived by calculation"),
    "unverified": ("未经核实的资料", "an unverified source"),
}
_LIFE = {"deceased": ("已故", "deceased"), "not_born": ("尚未出生", "not yet born")}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@cache
def unit_labels() -> dict[str, tuple[str, str]]:
    """Each unit's templates (zh, en), ``{v}`` standing for the number (``data/units.yaml``)."""
    text = (resources.files("gongfu_rules") / "data" / "units.yaml").read_text("utf-8")
    return {unit: (t["zh"], t["en"]) for unit, t in yaml.safe_load(text).items()}


def with_unit(value: Decimal | None, unit: str, lang: str) -> str:
    """``value`` written in ``unit``: ``1374元/人·月`` / ``1374 yuan per person per month``."""
    zh, en = unit_labels().get(unit, (f"{{v}}{unit}", f"{{v}} {unit}"))
    return (zh if lang == "zh" else en).format(v=_num(value))


def explain(s: "Standard", status: str, *, result: "StandardResult | None" = None,
            region: str | None = None, by: "Standard | None" = None) -> Text:
    """The explanation of a result of ``s`` with ``status`` (or ``outside_scope``, ``excluded``,
    ``not_in_force``)."""
    if status == "outside_scope":
        where = regions().name(region or "")
        return Text(zh=f"{s.name.zh}仅适用于{regions().name(s.scope)}，{where}不在适用范围内。",
                    en=f"{s.name.en} applies only in one region ({regions().name(s.scope)}); "
                       f"the person's region ({where}) is outside it.")
    if status == "earlier_rule_unknown":
        first = s.rules[0].start
        return Text(zh=f"{s.name.zh}在{_date_zh(first)}之前已经施行，但当时的条件和标准未收录，无法确定。",
                    en=f"{s.name.en} was already in force before {_date_en(first)}, but the rule "
                       "and figures of that time are not recorded, so this cannot be decided.")
    if status == "excluded" and by is not None:
        return Text(zh=f"已享受{by.name.zh}，不再同时享受{s.name.zh}。",
                    en=f"{by.name.en} is paid instead; the two are not paid together.")
    if status == "not_in_force" or (result is not None and result.reason == "not_in_force"):
        return _not_in_force(s)
    if result is not None and result.reason in _LIFE:
        zh, en = _LIFE[result.reason]
        return Text(zh=f"{s.name.zh}不适用：该日期{zh}。",
                    en=f"{s.name.en} does not apply: the person is {en} on that date.")
    assert result is not None
    if status == "not_eligible":
        return Text(zh=f"不符合{s.name.zh}的条件：" + "；".join(t.zh for t in result.failed) + "。",
                    en=f"Not eligible for {s.name.en}: not " + "; not ".join(
                        t.en for t in result.failed) + ".")
    if status == "undetermined":
        return _join([(f"尚不能确定是否符合{s.name.zh}。", f"Eligibility for {s.name.en} cannot "
                       "be decided yet."), *_asks(result), _weak_note(result)])
    return _join(_eligible(s, result))


def _asks(r: "StandardResult") -> list[tuple[str, str]]:
    """What would decide a result: the facts to tell us, the figures not yet recorded."""
    parts = []
    if r.missing:
        parts.append(("需要补充：" + "、".join(input_label(m, "zh") for m in r.missing) + "。",
                      "Please tell us: " + ", ".join(input_label(m, "en") for m in r.missing)
                      + "."))
    if r.unknown_parameters:
        parts.append(("当地标准尚未收录：" + "、".join(_figures(r, "zh")) + "。",
                      "The local figure is not yet recorded here: "
                      + ", ".join(_figures(r, "en")) + "."))
    return parts


def explain_period(p: "PeriodResult") -> Text:
    """A period's explanation: the total and each stretch of months at one rate, in place of
    the last month's rate; the rest (conditions, figures, sources) as the last month's."""
    r = p.detail
    if p.status != "eligible" or r.status != "eligible":
        return r.explanation or explain(p.standard, p.status, result=r)
    parts = _eligible(p.standard, r)
    if p.total is not None or r.rule.amount is not None:  # a service keeps its own words
        parts[1] = _period_amount(p)
    return _join(parts)


def _join(parts: list[tuple[str, str]]) -> Text:
    return Text(zh="".join(z for z, _ in parts if z), en=" ".join(e for _, e in parts if e))


def _not_in_force(s: "Standard") -> Text:
    start = s.rules[0].start if s.rules else None
    if start is None:
        return Text(zh=f"{s.name.zh}在该日期未施行。", en=f"{s.name.en} is not in force on that date.")
    zh = f"{s.name.zh}在该日期未施行：该标准自{_date_zh(start)}起施行"
    en = f"{s.name.en} is not in force on that date: in force from {_date_en(start)}"
    if s.end is not None:
        zh += f"，至{_date_zh(s.end)}止"
        en += f" until {_date_en(s.end)}"
    return Text(zh=zh + "。", en=en + ".")


def _eligible(s: "Standard", r: "StandardResult") -> list[tuple[str, str]]:
    """The parts of an eligible result's explanation: conditions, amount, figures, sources, note."""
    parts = [(f"符合{s.name.zh}的条件（" + "；".join(c.text.zh for c in r.rule.conditions) + "）。",
              f"Eligible for {s.name.en} (" + "; ".join(c.text.en for c in r.rule.conditions)
              + ")."), _amount(s, r)]
    for u in _shown(r):
        parts.append(_parameter(u, r))
    if getattr(r, "amount_possibly_outdated", False):
        parts.append(("该金额为当地最近一次公布的标准，之后可能已调整。",
                      "This is the last figure the local authority published; it may since have "
                      "been raised."))
    docs = _documents(r)
    parts.append(("依据：" + "；".join(f"{d}" for d in docs) + "。",
                  "Sources (in Chinese): " + "; ".join(f"《{d}》" for d in docs) + "."))
    parts.append(_weak_note(r))
    return parts


def _parameter(u: "ParameterUse", r: "StandardResult") -> tuple[str, str]:
    where = regions().name(u.region)
    zh = f"{u.description.zh}：{_value(u, r, 'zh')}（{where}，自{_date_zh(u.start)}起执行"
    en = f"{_cap(u.description.en)}: {_value(u, r, 'en')} ({where}, in force from " \
        f"{_date_en(u.start)}"
    if u.paid_floor:
        zh += "；当地标准未收录，按上级不低于标准"
        en += "; the local figure is not recorded, so the minimum (不低于) set above applies"
    if u.below_floor:
        zh += f"；低于上级不低于标准{_value_of(u.floor_value, u, 'zh')}，按当地公布的标准记录"
        en += (f"; below the minimum (不低于) of {_value_of(u.floor_value, u, 'en')} set above "
               "it, recorded as the local notice published it")
    return zh + "）。", en + ")."


def _shown(r: "StandardResult") -> list["ParameterUse"]:
    """The figures to show, of a table only the rows the amount comes from (a dispersed-support
    person reads the dispersed table, not the centralized one). A known amount did not come
    from a figure that is not recorded (the other branch of an ``if``, say the two-daughter
    rate for an only child's parent): such a figure is left out."""
    uses = [u for u in r.parameters if r.amount is None or u.value is not None]
    rows = _rows_used(r)
    if rows is None:
        return uses
    return [u for u in uses if not isinstance(u.value, dict) or rows.get(u.name)]


def _rows_used(r: "StandardResult") -> dict[str, list[str]] | None:
    """The table rows the amount comes from, by table; None when that cannot be told.

    An amount computed from the parameters alone is computed again here with tables that
    record the rows read. Otherwise (it reads the profile, which an explanation does not see)
    a table's rows equal to the amount are the ones; a table holding no such row is left out
    when another holds one."""
    if r.amount is None or r.rule is None or r.rule.amount is None:
        return None
    _, node, fn = r.rule.amount
    if not any(isinstance(x, (PersonFact, HouseholdFact, InRegion, Aggregate))
               for x in walk(node)):
        params = {u.name: _Recorder(u.value) if isinstance(u.value, dict) else u.value
                  for u in r.parameters}
        try:
            fn(Ctx(None, None, r.rule.start, params))
        except Exception:  # a parameter not recorded: fall back to the amount's rows
            pass
        else:
            return {k: v.read for k, v in params.items() if isinstance(v, _Recorder)}
    found = {u.name: [k for k, v in u.value.items() if v == r.amount]
             for u in r.parameters if isinstance(u.value, dict)}
    return found if any(found.values()) else None


class _Recorder(dict):
    """A table that remembers which rows were read (the scalar executor reads with ``get``)."""

    def __init__(self, table: dict[str, Any]):
        super().__init__(table)
        self.read: list[str] = []

    def get(self, key: Any, default: Any = None) -> Any:
        if key not in self.read:
            self.read.append(key)
        return super().get(key, default)


def _value(u: "ParameterUse", r: "StandardResult", lang: str) -> str:
    """A figure in its unit; of a table, the rows the amount comes from (or every row)."""
    if isinstance(u.value, dict):
        rows = (_rows_used(r) or {}).get(u.name)
        if rows:
            return _rows(u, {k: u.value[k] for k in rows if k in u.value}, lang)
    return _value_of(u.value, u, lang)


def _value_of(value: Any, u: "ParameterUse", lang: str) -> str:
    if isinstance(value, dict):
        return _rows(u, value, lang)
    if isinstance(value, Decimal):
        return with_unit(value, u.unit, lang)
    return "未收录" if lang == "zh" else "not recorded"


def _rows(u: "ParameterUse", table: dict[str, Any], lang: str) -> str:
    keys = getattr(u, "keys", {}) or {}
    out = []
    for k, v in table.items():
        label = getattr(keys[k], lang) if k in keys else ("该档" if lang == "zh" else "this row")
        figure = with_unit(v, u.unit, lang) if v is not None else \
            ("未收录" if lang == "zh" else "not recorded")
        out.append(f"{label}{figure}" if lang == "zh" else f"{label}: {figure}")
    return ("、" if lang == "zh" else "; ").join(out)


def _weak_note(r: "StandardResult") -> tuple[str, str]:
    """The warning every result resting on a non-official source carries."""
    if r.reliability not in _RELIABILITY:
        return "", ""
    g_zh, g_en = _RELIABILITY[r.reliability]
    return (f"注意：部分数据来自{g_zh}，请以当地主管部门的最新文件为准。",
            f"Note: part of this rests on {g_en}; check the local authority's current notice.")


def _amount(s: "Standard", r: "StandardResult") -> tuple[str, str]:
    per_zh, per_en = _PERIOD[s.period]
    if r.amount is not None:
        yearly = r.annual_amount is not None and s.period not in ("year", "once")
        annual_zh = f"，全年{_num(r.annual_amount)}元" if yearly else ""
        annual_en = f", {_num(r.annual_amount)} yuan a year" if yearly else ""
        return (f"金额：{per_zh}{_num(r.amount)}元{annual_zh}。",
                f"Amount: {_num(r.amount)} yuan {per_en}{annual_en}.")
    at_least = getattr(r, "amount_at_least", None)
    if at_least is not None:
        zh_per, en_per = _PER[s.period]
        return (f"金额：不低于{_num(at_least)}元{zh_per}（当地具体标准未收录，按上级规定的下限）。",
                f"Amount: at least {_num(at_least)} yuan{en_per} (the local figure is not "
                "recorded; this is the minimum set above it).")
    if r.quantity is not None and r.rule.quantity_unit is not None:
        return (f"可享受{_num(r.quantity)}{r.rule.quantity_unit.zh}。",
                f"Provides {_quantity_en(r.quantity, r.rule.quantity_unit.en)}.")
    if r.rule.set_locally:
        return (f"金额由当地确定，规划未规定具体标准：{r.rule.amount_note.zh}。",
                f"The amount is set locally; the plans give no figure: {r.rule.amount_note.en}.")
    if r.rule.amount_note is not None:
        return (f"金额：{r.rule.amount_note.zh}。", f"Amount: {r.rule.amount_note.en}.")
    if r.rule.amount is not None:
        asks = _asks(r)
        return ("金额暂不能确定。" + "".join(z for z, _ in asks),
                " ".join(["The amount cannot be worked out yet.", *(e for _, e in asks)]))
    return ("", "")


def _quantity_en(n: Decimal, unit: str) -> str:
    """``1 times a year`` reads ``once a year``, ``2 times a year`` ``twice a year``."""
    if unit.startswith("times"):
        word = {Decimal(1): "once", Decimal(2): "twice"}.get(n)
        if word:
            return word + unit[len("times"):]
    if n == 1:
        return f"1 {unit}"
    return f"{_num(n)} {unit}"


def _period_amount(p: "PeriodResult") -> tuple[str, str]:
    """The period total and each stretch of months at one rate (or not eligible)."""
    monthly = p.standard.period == "month"
    runs: list[list[Any]] = []  # [first month, last month, status, amount, sum]
    for m in p.months:
        last = runs[-1] if runs else None
        if last and last[2] == m.status and (not monthly or last[3] == m.amount):
            last[1] = m.month
            last[4] = None if last[4] is None or m.amount is None else last[4] + m.amount
        else:
            runs.append([m.month, m.month, m.status, m.amount, m.amount])
    zh, en = [], []
    for first, last, status, amount, total in runs:
        span_zh = _month_zh(first) + ("" if first == last else f"至{_month_zh(last)}")
        span_en = _month_en(first) + ("" if first == last else f" to {_month_en(last)}")
        if status != "eligible":
            zh.append(f"{span_zh}不符合条件或标准未施行")
            en.append(f"{span_en}: not eligible or not in force")
        elif monthly and amount is not None:
            zh.append(f"{span_zh}每月{_num(amount)}元")
            en.append(f"{span_en}: {_num(amount)} yuan a month")
        elif total is not None:
            zh.append(f"{span_zh}共{_num(total)}元")
            en.append(f"{span_en}: {_num(total)} yuan in all")
        else:
            zh.append(f"{span_zh}金额暂不能确定")
            en.append(f"{span_en}: the amount cannot be worked out yet")
    if p.total is None:
        return ("期间合计暂不能确定：" + "；".join(zh) + "。",
                "The total for the period cannot be worked out yet: " + "; ".join(en) + ".")
    return (f"期间合计{_num(p.total)}元：" + "；".join(zh) + "。",
            f"Total for the period: {_num(p.total)} yuan ({'; '.join(en)}).")


def _figures(r: "StandardResult", lang: str) -> list[str]:
    """The figures not recorded, each by its description (never by its parameter id)."""
    described = {u.name: u.description for u in r.parameters}
    fallback = "当地标准" if lang == "zh" else "the local figure"
    return [getattr(described[p], lang) if p in described else fallback
            for p in r.unknown_parameters]


def _documents(r: "StandardResult") -> list[str]:
    seen: dict[str, None] = {}
    for src in [*r.rule.sources, *(u.source for u in r.parameters)]:
        seen[f"{src.document}{' ' + src.section if src.section else ''}"] = None
    return list(seen)


def _cap(text: str) -> str:
    """A sentence's first letter in upper case (descriptions are written as phrases)."""
    return text[:1].upper() + text[1:]


def _date_zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _date_en(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _month_zh(d: date) -> str:
    return f"{d.year}年{d.month}月"


def _month_en(d: date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.year}"


def _num(x: Decimal | None) -> str:
    if x is None:  # never shown: callers test for None first
        return ""
    x = x.quantize(Decimal("0.01"))
    return f"{x:f}".rstrip("0").rstrip(".") if "." in f"{x:f}" else f"{x:f}"
