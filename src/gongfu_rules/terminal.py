"""The terminal view of an evaluation (``gongfu evaluate``): what each person gets, then what
they may get if they tell us more, then how many other standards there are.

Per person (and for the household): the entitlements with their amounts and explanations and
the monthly and yearly sums; then the undetermined standards grouped by the facts that would
decide them ("如补充……可能还可享受" / "may apply if you tell us ..."), the groups ranked by the
largest figure their standards pay; then a count of the rest. ``show_all`` lists every standard
with its explanation. Colour (ANSI) only when asked for: the CLI asks on a terminal without
``NO_COLOR``, never when the output is piped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from .errors import InputError
from .explain import explain
from .expr.names import input_label
from .model import StandardsSet
from .results import Evaluation

_PER = {"month": ("每月", "a month"), "year": ("每年", "a year"), "day": ("每天", "a day"),
        "semester": ("每学期", "a semester"), "once": ("一次性", "once")}
_SHORT = {"month": ("/月", " a month"), "year": ("/年", " a year"), "day": ("/天", " a day"),
          "semester": ("/学期", " a semester"), "once": ("", "")}
#: How many "may apply if you tell us" groups are listed before the rest are counted.
MAY_APPLY_GROUPS = 8
_BOLD, _GREEN, _YELLOW, _DIM, _RESET = "\033[1m", "\033[32m", "\033[33m", "\033[2m", "\033[0m"


def select(ev: Evaluation, std: StandardsSet, only: Iterable[str] | None = None,
           domain: str | None = None) -> Evaluation:
    """``ev`` with just the standards in ``only`` (ids) and in ``domain`` (e.g. 弱有所扶)."""
    ids = None if only is None else [i for i in only if i]
    unknown = [i for i in ids or () if i not in std.standards]
    if unknown:
        raise InputError.one("standard_unknown", f"no standard {', '.join(unknown)}; "
                             "gongfu standards list shows them", loc=("only",))
    domains = sorted({s.domain for s in std})
    if domain is not None and domain not in domains:
        raise InputError.one("domain_unknown", f"no domain {domain!r}; the domains are "
                             f"{', '.join(domains)}", loc=("domain",))
    if ids is None and domain is None:
        return ev

    def keep(r: Any) -> bool:
        return (ids is None or r.standard.id in ids) and (domain is None
                                                          or r.standard.domain == domain)
    return replace(ev, persons={p: [r for r in rs if keep(r)] for p, rs in ev.persons.items()},
                   household=[r for r in ev.household if keep(r)])


def render(ev: Evaluation, lang: str = "zh", *, show_all: bool = False,
           color: bool = False) -> str:
    """The evaluation as text for a terminal, in ``lang`` (``zh`` or ``en``)."""
    t = _Text(lang, color)
    when = ev.on.isoformat() if ev.on else ev.period
    blocks = [t.dim(t.pick(f"评估日期/期间：{when}    标准集：", f"Evaluated for: {when}    standards set: ")
                    + f"{ev.standards_set['version']} ({ev.standards_set['digest']})")]
    for pid, results in ev.persons.items():
        blocks.append(_block(t, t.pick(f"成员 {pid}", f"Person {pid}"), results, show_all))
    if ev.household:
        blocks.append(_block(t, t.pick("家庭", "Household"), ev.household, show_all))
    return "\n\n".join(blocks)


class _Text:
    def __init__(self, lang: str, color: bool):
        self.zh = lang == "zh"
        self.lang = lang
        self.color = color

    def pick(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def _paint(self, code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if self.color else s

    def bold(self, s: str) -> str:
        return self._paint(_BOLD, s)

    def green(self, s: str) -> str:
        return self._paint(_GREEN, s)

    def yellow(self, s: str) -> str:
        return self._paint(_YELLOW, s)

    def dim(self, s: str) -> str:
        return self._paint(_DIM, s)


def _block(t: _Text, title: str, results: list[Any], show_all: bool) -> str:
    eligible = sorted((r for r in results if r.status == "eligible"), key=_worth)
    undetermined = [r for r in results if r.status == "undetermined"]
    others = [r for r in results if r.status not in ("eligible", "undetermined")]
    lines = [t.bold(title), t.bold("=" * 60)]
    lines.append(t.green(t.pick(f"可享受 {len(eligible)} 项", f"Entitled to {len(eligible)}"))
                 + _sums(t, eligible))
    for r in eligible:
        lines.append(f"  • {_name(t, r)}{_amount(t, r)}")
        lines.append(f"      {t.dim(_explanation(r, t.lang))}")
    if show_all:
        for title_, group in ((t.pick("待确定", "Undetermined"), undetermined),
                              (t.pick("不符合", "Not eligible"), others)):
            if group:
                lines.append(t.yellow(f"{title_} ({len(group)})"))
            for r in group:
                lines.append(f"  • {_name(t, r)}")
                lines.append(f"      {t.dim(_explanation(r, t.lang))}")
        return "\n".join(lines)
    groups = _may_apply(undetermined, t.lang)
    if groups:
        lines.append(t.yellow(t.pick("如补充以下情况，可能还可享受：",
                                     "May apply if you tell us:")))
    for label, group in groups[:MAY_APPLY_GROUPS]:
        names = ("、" if t.zh else "; ").join(_name(t, r) for r in group)
        lines.append(f"  ? {label} → {names}")
    rest_undetermined = sum(len(g) for _, g in groups[MAY_APPLY_GROUPS:]) + \
        sum(1 for r in undetermined if not _detail(r).missing)
    lines.append(t.dim(t.pick(
        f"另有 {rest_undetermined} 项待确定、{len(others)} 项不适用（--all 显示全部）",
        f"Also {rest_undetermined} undetermined and {len(others)} not applicable "
        "(--all lists them all)")))
    return "\n".join(lines)


def _name(t: _Text, r: Any) -> str:
    return getattr(r.standard.name, t.lang)


def _explanation(r: Any, lang: str) -> str:
    """The result's explanation; one written here for a result made without one (a person
    deceased or not yet born on the date)."""
    text = r.explanation
    if text is None:
        d = _detail(r)
        text = explain(d.standard, d.status, result=d)
    return getattr(text, lang)


def _amount(t: _Text, r: Any) -> str:
    """`` — 每月1374元（全年16488元）``, a period's total, a quantity, or nothing."""
    if hasattr(r, "total"):
        if r.total is None:
            return ""
        return t.green(t.pick(f" — 期间合计{_num(r.total)}元", f" — {_num(r.total)} yuan over the period"))
    period = r.standard.period
    if r.amount is not None:
        per_zh, per_en = _PER[period]
        yearly = r.annual_amount is not None and period not in ("year", "once")
        zh = f" — {per_zh}{_num(r.amount)}元" + (f"（全年{_num(r.annual_amount)}元）" if yearly else "")
        en = f" — {_num(r.amount)} yuan {per_en}" + \
            (f" ({_num(r.annual_amount)} yuan a year)" if yearly else "")
        return t.green(t.pick(zh, en))
    at_least = getattr(r, "amount_at_least", None)
    if at_least is not None:
        zh_per, en_per = _SHORT[period]
        return t.green(t.pick(f" — 不低于{_num(at_least)}元{zh_per}",
                              f" — at least {_num(at_least)} yuan{en_per}"))
    if r.quantity is not None and r.rule is not None and r.rule.quantity_unit is not None:
        return t.pick(f" — {_num(r.quantity)}{r.rule.quantity_unit.zh}",
                      f" — {_num(r.quantity)} {r.rule.quantity_unit.en}")
    return ""


def _sums(t: _Text, eligible: list[Any]) -> str:
    """The monthly and yearly sums of the cash entitlements (a period: its total)."""
    if any(hasattr(r, "total") for r in eligible):
        total = sum((r.total for r in eligible if r.total is not None), Decimal(0))
        return t.pick(f"，期间合计 {_num(total)} 元", f"; {_num(total)} yuan over the period")
    monthly = sum((r.amount for r in eligible
                   if r.standard.period == "month" and r.amount is not None), Decimal(0))
    yearly = sum((r.annual_amount for r in eligible if r.annual_amount is not None), Decimal(0))
    once = sum((r.amount for r in eligible
                if r.standard.period == "once" and r.amount is not None), Decimal(0))
    zh = f"：按月发放合计每月 {_num(monthly)} 元，全年合计 {_num(yearly)} 元"
    en = f": {_num(monthly)} yuan a month in monthly payments, {_num(yearly)} yuan a year in all"
    if once:
        zh += f"，另有一次性 {_num(once)} 元"
        en += f", and {_num(once)} yuan once"
    return t.pick(zh, en)


def _may_apply(undetermined: list[Any], lang: str) -> list[tuple[str, list[Any]]]:
    """Undetermined results grouped by the facts that would decide them, the groups ranked by
    the largest yearly figure their standards' parameters pay (then by size)."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for r in undetermined:
        if _detail(r).missing:
            groups.setdefault(tuple(_detail(r).missing), []).append(r)
    ranked = sorted(groups.items(), key=lambda kv: (-max(_potential(r) for r in kv[1]),
                                                    -len(kv[1])))
    sep = "、" if lang == "zh" else ", "
    return [(sep.join(input_label(m, lang) for m in key),
             sorted(group, key=lambda r: -_potential(r))) for key, group in ranked]


def _worth(r: Any) -> Decimal:
    """Sort key: the largest yearly (or period) sum first; results without an amount last."""
    if hasattr(r, "total"):
        return -(r.total or Decimal(0))
    return -(r.annual_amount if r.annual_amount is not None else r.amount or Decimal(0))


def _potential(r: Any) -> Decimal:
    """The largest yearly money figure among the parameters a result uses (0 when none): how
    much deciding it may be worth, for ranking only."""
    best = Decimal(0)
    for u in _detail(r).parameters:
        if "元" not in u.unit:
            continue
        values = u.value.values() if isinstance(u.value, dict) else [u.value]
        per_year = 12 if "月" in u.unit else 1
        for v in values:
            if isinstance(v, Decimal):
                best = max(best, v * per_year)
    return best


def _detail(r: Any) -> Any:
    """A date's result itself; a period's, the month that decided it."""
    return getattr(r, "detail", r)


def _num(x: Decimal) -> str:
    x = x.quantize(Decimal("0.01"))
    s = f"{x:f}"
    return s.rstrip("0").rstrip(".") if "." in s else s
