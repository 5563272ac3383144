"""Readable explanations, in Chinese and English, of one standard's result for one person.

They are written for the citizen: what they get and how much, which conditions they meet or
miss, the figures used (region and start date), the document behind them, and a warning when a
figure rests on a source weaker than an official one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .expr.names import input_label
from .load.schema import Text
from .regions import regions

if TYPE_CHECKING:
    from .model import Standard
    from .results import StandardResult

_PERIOD = {"month": ("每月", "a month"), "year": ("每年", "a year"), "day": ("每天", "a day"),
           "semester": ("每学期", "a semester"), "once": ("一次性", "once")}
_RELIABILITY = {
    "mirror": ("官方文件的转载", "a reprint of the official notice"),
    "secondary": ("二手资料（非官方原文）", "a secondary source, not the official text"),
    "derived": ("推算值", "a figure derived by calculation"),
    "unverified": ("未经核实的资料", "an unverified source"),
}


def explain(s: "Standard", status: str, *, result: "StandardResult | None" = None,
            region: str | None = None, by: "Standard | None" = None) -> Text:
    if status == "outside_scope":
        where = regions().name(region or "")
        return Text(zh=f"{s.name.zh}仅适用于{regions().name(s.scope)}，{where}不在适用范围内。",
                    en=f"{s.name.en} applies only in {regions().name(s.scope)}; "
                       f"{where} is outside it.")
    if status == "not_in_force":
        return Text(zh=f"{s.name.zh}在该日期未施行。",
                    en=f"{s.name.en} is not in force on that date.")
    if status == "earlier_rule_unknown":
        first = s.rules[0].start.isoformat()
        return Text(zh=f"{s.name.zh}在{first}之前已经施行，但当时的条件和标准未收录，无法确定。",
                    en=f"{s.name.en} was already in force before {first}, but the rule and "
                       "figures of that time are not recorded, so this cannot be decided.")
    if status == "excluded" and by is not None:
        return Text(zh=f"已享受{by.name.zh}，不再同时享受{s.name.zh}。",
                    en=f"{by.name.en} is paid instead; the two are not paid together.")
    assert result is not None
    if status == "not_eligible":
        return Text(zh=f"不符合{s.name.zh}的条件：" + "；".join(t.zh for t in result.failed) + "。",
                    en=f"Not eligible for {s.name.en}: not " + "; not ".join(
                        t.en for t in result.failed) + ".")
    if status == "undetermined":
        zh, en = _weak_note(result)
        return Text(zh=f"尚不能确定是否符合{s.name.zh}，需要补充：{_missing(result, 'zh')}。{zh}",
                    en=f"Eligibility for {s.name.en} cannot be decided yet; "
                       f"it needs: {_missing(result, 'en')}.{' ' + en if en else ''}")
    return _eligible(s, result)


def _eligible(s: "Standard", r: "StandardResult") -> Text:
    zh, en = [f"符合{s.name.zh}的条件（" + "；".join(c.text.zh for c in r.rule.conditions) + "）。"], \
        [f"Eligible for {s.name.en} (" + "; ".join(c.text.en for c in r.rule.conditions) + ")."]
    amount_zh, amount_en = _amount(s, r)
    zh.append(amount_zh)
    en.append(amount_en)
    for u in r.parameters:
        floor_zh = "，为不低于标准（当地标准未知，按保底标准）" if u.paid_floor else ""
        floor_en = " (a 不低于 floor: the local figure is not known, so the floor applies)" \
            if u.paid_floor else ""
        if u.below_floor:
            floor_zh = f"，低于上级不低于标准{_value(u.floor_value)}，按当地公布的标准记录"
            floor_en = (f"; below the 不低于 floor {_value(u.floor_value)} set above it, "
                        "recorded as the local notice published it")
        zh.append(f"{u.description.zh}：{_value(u.value)}{u.unit}（{regions().name(u.region)}，"
                  f"自{u.start.isoformat()}起执行{floor_zh}）。")
        en.append(f"{u.description.en}: {_value(u.value)} {u.unit} ({regions().name(u.region)}, "
                  f"in force from {u.start.isoformat()}{floor_en}).")
    docs = _documents(r)
    zh.append("依据：" + "；".join(docs) + "。")
    en.append("Sources: " + "; ".join(docs) + ".")
    note_zh, note_en = _weak_note(r)
    if note_zh:
        zh.append(note_zh)
        en.append(note_en)
    return Text(zh="".join(zh), en=" ".join(en))


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
        annual_zh = f"，全年{_num(r.annual_amount)}元" if r.annual_amount is not None and \
            s.period != "year" else ""
        annual_en = f", {_num(r.annual_amount)} yuan a year" if r.annual_amount is not None and \
            s.period != "year" else ""
        old_zh, old_en = ("（当地最后公布的标准，此后可能已提高）",
                          " (the last figure published locally; it may have been raised since)") \
            if r.amount_possibly_outdated else ("", "")
        return (f"金额：{per_zh}{_num(r.amount)}元{annual_zh}{old_zh}。",
                f"Amount: {_num(r.amount)} yuan {per_en}{annual_en}{old_en}.")
    if r.amount_at_least is not None:
        return (f"金额：当地标准未公布，{per_zh}不低于{_num(r.amount_at_least)}元。",
                f"Amount: the local figure is not published; at least "
                f"{_num(r.amount_at_least)} yuan {per_en}.")
    if r.quantity is not None and r.rule.quantity_unit is not None:
        return (f"可享受{_num(r.quantity)}{r.rule.quantity_unit.zh}。",
                f"Provides {_num(r.quantity)} {r.rule.quantity_unit.en}.")
    if r.rule.set_locally:
        return (f"金额由当地确定，规划未规定具体标准：{r.rule.amount_note.zh}。",
                f"The amount is set locally; the plans give no figure: {r.rule.amount_note.en}.")
    if r.rule.amount_note is not None:
        return (f"金额：{r.rule.amount_note.zh}。", f"Amount: {r.rule.amount_note.en}.")
    if r.rule.amount is not None:
        return (f"金额暂不能确定，需要补充：{_missing(r, 'zh')}。",
                f"The amount cannot be computed yet; it needs: {_missing(r, 'en')}.")
    return ("", "")


def _missing(r: "StandardResult", lang: str) -> str:
    names = [input_label(m, lang) for m in r.missing]
    if r.unknown_parameters:
        names += [("当地标准（" if lang == "zh" else "the local figure for ") + p +
                  ("）" if lang == "zh" else "") for p in r.unknown_parameters]
    return ("、" if lang == "zh" else ", ").join(names)


def _documents(r: "StandardResult") -> list[str]:
    seen: dict[str, None] = {}
    for src in [*r.rule.sources, *(u.source for u in r.parameters)]:
        seen[f"{src.document}{' ' + src.section if src.section else ''}"] = None
    return list(seen)


def _num(x: Decimal | None) -> str:
    if x is None:
        return "?"
    x = x.quantize(Decimal("0.01"))
    return f"{x:f}".rstrip("0").rstrip(".") if "." in f"{x:f}" else f"{x:f}"


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return "、".join(f"{k} {_num(x)}" for k, x in v.items())
    return _num(v) if isinstance(v, Decimal) else str(v)
