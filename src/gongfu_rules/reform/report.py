"""An impact as an offline HTML report, Markdown, CSV and JSON.

The HTML report is one self-contained file that fetches nothing: no script, no stylesheet or
font from a network, charts drawn here as inline SVG with their words kept as ``<text>`` (so
Chinese shows in the reader's own fonts, and can be searched and copied). It works on a closed
government network and prints. Every output carries the version stamp (package, standards,
reform and population digests).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from html import escape
from typing import Any

from .impact import Impact

_T = {
    "title": ("改革测算报告", "Reform impact report"),
    "reform": ("改革方案", "Reform"),
    "author": ("提出人", "Author"),
    "time": ("测算时间", "Time"),
    "period": ("期间", "period"),
    "on": ("日期（按当日金额折算全年）", "date (the day's amounts as a year)"),
    "weighted": ("已按 weight 列加权", "weighted by the weight column"),
    "unweighted": ("未加权（每行计为1人）", "unweighted (each row counts once)"),
    "total": ("总成本", "Total cost"),
    "baseline": ("现行", "Baseline"),
    "reformed": ("改革后", "Reform"),
    "change": ("变化", "Change"),
    "standard": ("标准", "Standard"),
    "by_standard": ("按标准的成本（元）", "Cost by standard (yuan)"),
    "beneficiaries": ("受益人数（现行 → 改革后）", "Beneficiaries (baseline → reform)"),
    "gained": ("新增受益", "gained"),
    "lost": ("不再受益", "lost"),
    "unpriced": ("符合条件但金额未知", "eligible, amount unknown"),
    "by_prefecture": ("各州（市）成本变化（元）", "Cost change by prefecture (yuan)"),
    "by_county": ("各县（市、区）成本（元）", "Cost by county (yuan)"),
    "region": ("地区", "Region"),
    "persons": ("人数", "Persons"),
    "households": ("家庭", "Households"),
    "gainers": ("增收家庭", "Gainers"),
    "losers": ("减收家庭", "Losers"),
    "gain": ("增收总额", "Total gained"),
    "loss": ("减收总额", "Total lost"),
    "deciles": ("按家庭人均收入十分位的增收与减收家庭", "Gainers and losers by per-capita income decile"),
    "decile": ("十分位", "Decile"),
    "unknown": ("收入未知", "income unknown"),
    "distribution": ("家庭变化金额分布（元）", "Distribution of household changes (yuan)"),
    "bands": ("相对收入的变化（五档）", "Change relative to income (five bands)"),
    "lose_more_5pct": ("减少超过5%", "lose more than 5%"),
    "lose_less_5pct": ("减少不超过5%", "lose less than 5%"),
    "no_change": ("无变化", "no change"),
    "gain_less_5pct": ("增加不超过5%", "gain less than 5%"),
    "gain_more_5pct": ("增加超过5%", "gain more than 5%"),
    "dibao": ("跨越当地低保线的家庭", "Households crossing the local 低保 line"),
    "above": ("升至低保线以上", "moved above"),
    "below": ("降至低保线以下", "moved below"),
    "compared": ("可比较", "compared"),
    "not_compared": ("无法比较", "not compared"),
    "not_computable": ("无法计算", "not computable"),
    "examples": ("示例家庭（输入行号）", "Example households (input rows)"),
    "rows": ("行", "rows"),
    "before": ("改革前", "before"),
    "after": ("改革后", "after"),
    "warnings": ("警告", "Warnings"),
    "none": ("无", "none"),
    "stamp": ("版本信息", "Version stamp"),
    "set_aside": ("因数据错误未计入的行", "rows set aside for bad data"),
    "target": ("目标成本求解", "Target cost search"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _T[key]
    return zh if lang == "zh" else en


def _name(row: dict[str, Any], lang: str) -> str:
    return row["name_zh"] if lang == "zh" else row["name_en"]


def _money(value: Any) -> str:
    d = Decimal(value)
    return f"{d:,.2f}"


def _count(value: Any) -> str:
    d = Decimal(value)
    return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"


# --- SVG -------------------------------------------------------------------------------------
def bar_chart(chart_id: str, title: str, labels: list[str],
              series: list[tuple[str, list[Decimal], str]], fmt=_money) -> str:
    """A horizontal bar chart as inline SVG: one group of bars per label, one bar per series,
    negative values to the left of a zero line. Every word is a ``<text>`` element."""
    values = [v for _, vs, _ in series for v in vs] or [Decimal(0)]
    lo, hi = min(min(values), Decimal(0)), max(max(values), Decimal(0))
    span = (hi - lo) or Decimal(1)
    label_w, plot_w, bar_h, gap, top = 190, 420, 14, 8, 44
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(len(labels), 1) + 24
    width = label_w + plot_w + 120
    x0 = label_w + float((-lo) / span) * plot_w
    out = [f'<svg id="{chart_id}" class="chart" role="img" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<title>{escape(title)}</title>',
           f'<text x="4" y="18" class="chart-title">{escape(title)}</text>']
    for i, (name, _, colour) in enumerate(series):
        out.append(f'<rect x="{label_w + i * 140}" y="26" width="10" height="10" '
                   f'fill="{colour}"/><text x="{label_w + 14 + i * 140}" y="35" '
                   f'class="legend">{escape(name)}</text>')
    for gi, label in enumerate(labels):
        y = top + gi * group_h
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h * len(series) / 2 + 4:.1f}" '
                   f'text-anchor="end" class="label">{escape(label)}</text>')
        for si, (name, vs, colour) in enumerate(series):
            v = vs[gi]
            w = float(abs(v) / span) * plot_w
            x = x0 - w if v < 0 else x0
            by = y + si * bar_h
            out.append(f'<rect class="bar" x="{x:.1f}" y="{by}" width="{max(w, 0.5):.1f}" '
                       f'height="{bar_h - 2}" fill="{colour}" data-value="{v}">'
                       f'<title>{escape(label)} {escape(name)}: {fmt(v)}</title></rect>')
            tx = (x - 4) if v < 0 else (x + w + 4)
            anchor = "end" if v < 0 else "start"
            out.append(f'<text x="{tx:.1f}" y="{by + bar_h - 4}" text-anchor="{anchor}" '
                       f'class="value">{fmt(v)}</text>')
    out.append(f'<line x1="{x0:.1f}" y1="{top - 4}" x2="{x0:.1f}" y2="{height - 20}" '
               'stroke="#444" stroke-width="1"/>')
    out.append("</svg>")
    return "".join(out)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Microsoft YaHei","PingFang SC",
"Noto Sans CJK SC",sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2}
.chart-title{font-size:14px;font-weight:bold}.label,.legend{font-size:12px}.value{font-size:11px;fill:#333}
.stamp{font-size:12px;color:#555}.warn{color:#a40}
@media print{.chart{page-break-inside:avoid}}
"""

GAIN, LOSS, BASE, REF = "#2b8a3e", "#c92a2a", "#868e96", "#1c7ed6"


def to_html(impact: Impact, lang: str = "zh") -> str:
    """The report as one self-contained HTML page."""
    d = impact.to_dict()
    t = lambda k: _t(k, lang)  # noqa: E731
    parts = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
             '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
             f'<title>{escape(t("title"))} — {escape(d["stamp"]["reform"])}</title>'
             f'<style>{_STYLE}</style></head><body>',
             f'<h1>{escape(t("title"))}</h1>', _head(d, t), _totals(d, t)]
    parts.append(f'<h2>{escape(t("by_standard"))}</h2>' + _standards_table(d, t, lang))
    pref = d["by_prefecture"]
    parts.append(f'<h2>{escape(t("by_prefecture"))}</h2>' + bar_chart(
        "chart-region", t("by_prefecture"), [f'{r["name"]} {r["region"]}' for r in pref],
        [(t("change"), [Decimal(r["change"]) for r in pref], REF)]))
    parts.append(_region_table(d["by_county"], t, t("by_county")))
    dec = d["deciles"]
    dec_labels = [t("unknown") if r["decile"] == "unknown" else r["decile"] for r in dec]
    parts.append(f'<h2>{escape(t("deciles"))}</h2>' + bar_chart(
        "chart-deciles", t("deciles"), dec_labels,
        [(t("gainers"), [Decimal(r["gainers"]) for r in dec], GAIN),
         (t("losers"), [-Decimal(r["losers"]) for r in dec], LOSS)], fmt=_count))
    hist = d["bands"]["histogram"]
    parts.append(f'<h2>{escape(t("distribution"))}</h2>' + bar_chart(
        "chart-distribution", t("distribution"), [r["band"] for r in hist],
        [(t("households"), [Decimal(r["households"]) for r in hist], BASE)], fmt=_count))
    parts.append(_bands_table(d, t))
    parts.append(_dibao(d, t))
    parts.append(_examples(d, t, lang))
    if d.get("target"):
        parts.append(f'<h2>{escape(t("target"))}</h2><pre>'
                     f'{escape(json.dumps(d["target"], ensure_ascii=False, indent=1))}</pre>')
    parts.append(_stamp(d, t))
    parts.append("</body></html>")
    return "".join(parts)


def _head(d: dict, t) -> str:
    when = f'{t("period")} {d["time"]["period"]}' if d["time"]["period"] else \
        f'{t("on")} {d["time"]["on"]}'
    warn = "".join(f'<li class="warn">{escape(w["msg"])} <code>{escape(".".join(map(str, w["loc"])))}'
                   f'</code></li>' for w in d["warnings"]) or f'<li>{escape(t("none"))}</li>'
    return (f'<p><b>{escape(t("reform"))}:</b> {escape(d["stamp"]["reform"])}<br>'
            f'<b>{escape(t("author"))}:</b> {escape(d["stamp"]["reform_author"])}<br>'
            f'<b>{escape(t("time"))}:</b> {escape(when)} · '
            f'{escape(t("weighted") if d["weighted"] else t("unweighted"))} · '
            f'{escape(t("set_aside"))}: {d["set_aside"]}</p>'
            + "".join(f"<p>{escape(note)}</p>" for note in d["notes"]) +
            f'<h3>{escape(t("warnings"))}</h3><ul>{warn}</ul>')


def _totals(d: dict, t) -> str:
    tot, hh = d["total"], d["households"]
    rows = [(t("baseline"), _money(tot["baseline"])), (t("reformed"), _money(tot["reform"])),
            (t("change"), _money(tot["change"])), (t("households"), _count(hh["households"])),
            (t("gainers"), _count(hh["gainers"])), (t("losers"), _count(hh["losers"])),
            (t("gain"), _money(hh["gain"])), (t("loss"), _money(hh["loss"]))]
    return (f'<h2>{escape(t("total"))}</h2><table>' +
            "".join(f'<tr><th>{escape(k)}</th><td class="n">{v}</td></tr>' for k, v in rows)
            + "</table>")


def _standards_table(d: dict, t, lang: str) -> str:
    head = [t("standard"), t("baseline"), t("reformed"), t("change"), t("beneficiaries"),
            t("gained"), t("lost"), t("unpriced")]
    body = "".join(
        f'<tr><td>{escape(_name(r, lang))} <code>{escape(r["standard"])}</code></td>'
        f'<td class="n">{_money(r["baseline"])}</td><td class="n">{_money(r["reform"])}</td>'
        f'<td class="n">{_money(r["change"])}</td><td class="n">{_count(r["beneficiaries_baseline"])}'
        f' → {_count(r["beneficiaries_reform"])}</td><td class="n">{_count(r["gained"])}</td>'
        f'<td class="n">{_count(r["lost"])}</td><td class="n">{_count(r["unpriced_baseline"])} → '
        f'{_count(r["unpriced_reform"])}</td></tr>' for r in d["by_standard"])
    return _table(head, body)


def _region_table(rows: list[dict], t, title: str) -> str:
    head = [t("region"), t("persons"), t("baseline"), t("reformed"), t("change")]
    body = "".join(f'<tr><td>{escape(r["name"])} {escape(r["region"])}</td>'
                   f'<td class="n">{_count(r["persons"])}</td><td class="n">{_money(r["baseline"])}'
                   f'</td><td class="n">{_money(r["reform"])}</td><td class="n">'
                   f'{_money(r["change"])}</td></tr>' for r in rows)
    return f'<h3>{escape(title)}</h3>' + _table(head, body)


def _bands_table(d: dict, t) -> str:
    b = d["bands"]["by_income_share"]
    body = "".join(f'<tr><td>{escape(t(k))}</td><td class="n">{_count(v)}</td></tr>'
                   for k, v in b.items())
    body += (f'<tr><td>{escape(t("unknown"))}</td><td class="n">'
             f'{_count(d["bands"]["income_unknown"])}</td></tr>')
    return f'<h3>{escape(t("bands"))}</h3>' + _table([t("bands"), t("households")], body)


def _dibao(d: dict, t) -> str:
    line = d["dibao_line"]
    if not line["computable"]:
        return f'<h2>{escape(t("dibao"))}</h2><p>{escape(t("not_computable"))}: ' \
               f'{escape(line["reason"])}</p>'
    rows = "".join(f'<tr><th>{escape(t(k))}</th><td class="n">{_count(line[k])}</td></tr>'
                   for k in ("above", "below", "compared", "not_compared"))
    return (f'<h2>{escape(t("dibao"))}</h2><p>{escape(line["definition"])} ({line["date"]})</p>'
            f'<table>{rows}</table>')


def _examples(d: dict, t, lang: str) -> str:
    out = [f'<h2>{escape(t("examples"))}</h2>']
    for ex in d["examples"]:
        rows = ", ".join(map(str, ex["rows"]))
        out.append(f'<h3>{escape(t("rows"))} {rows} · {escape(ex["county"])} · '
                   f'{escape(t("change"))} {_money(ex["change"])}</h3><ul>')
        for r in ex["results"]:
            who = r["person"] or t("households")
            out.append(f'<li><code>{escape(r["standard"])}</code> ({escape(str(who))})<br>'
                       f'<b>{escape(t("before"))}:</b> {escape(r["before"][lang])}<br>'
                       f'<b>{escape(t("after"))}:</b> {escape(r["after"][lang])}</li>')
        out.append("</ul>")
    return "".join(out)


def _stamp(d: dict, t) -> str:
    rows = "".join(f'<tr><th>{escape(k)}</th><td><code>{escape(str(v))}</code></td></tr>'
                   for k, v in d["stamp"].items())
    return f'<h2>{escape(t("stamp"))}</h2><table class="stamp">{rows}</table>'


def _table(head: list[str], body: str) -> str:
    return ("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
            + body + "</table>")


# --- Markdown, CSV, JSON ---------------------------------------------------------------------
def to_markdown(impact: Impact, lang: str = "zh") -> str:
    """A short summary: totals, cost by standard and by prefecture, the stamp."""
    d = impact.to_dict()
    t = lambda k: _t(k, lang)  # noqa: E731
    lines = [f'# {t("title")}: {d["stamp"]["reform"]}', "",
             f'| | {t("baseline")} | {t("reformed")} | {t("change")} |', "|---|---:|---:|---:|",
             f'| {t("total")} | {_money(d["total"]["baseline"])} | {_money(d["total"]["reform"])} '
             f'| {_money(d["total"]["change"])} |']
    lines += [f'| {_name(r, lang)} | {_money(r["baseline"])} | {_money(r["reform"])} | '
              f'{_money(r["change"])} |' for r in d["by_standard"]]
    lines += ["", f'## {t("by_prefecture")}', "", f'| {t("region")} | {t("change")} |',
              "|---|---:|"]
    lines += [f'| {r["name"]} {r["region"]} | {_money(r["change"])} |' for r in d["by_prefecture"]]
    hh = d["households"]
    lines += ["", f'{t("gainers")}: {_count(hh["gainers"])} · {t("losers")}: '
              f'{_count(hh["losers"])}', "", f'## {t("stamp")}', ""]
    lines += [f"- {k}: `{v}`" for k, v in d["stamp"].items()]
    return "\n".join(lines) + "\n"


def to_csv(impact: Impact) -> str:
    """Cost by standard and by region, one table: ``section`` says which."""
    d = impact.to_dict()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "name", "baseline", "reform", "change", "beneficiaries_baseline",
                "beneficiaries_reform", "gained", "lost"])
    for r in d["by_standard"]:
        w.writerow(["standard", r["standard"], r["name_zh"], r["baseline"], r["reform"], r["change"],
                    r["beneficiaries_baseline"], r["beneficiaries_reform"], r["gained"], r["lost"]])
    for section in ("by_prefecture", "by_county"):
        for r in d[section]:
            w.writerow([section[3:], r["region"], r["name"], r["baseline"], r["reform"],
                        r["change"], "", "", "", ""])
    for k, v in d["stamp"].items():
        w.writerow(["stamp", k, v if isinstance(v, str) else ";".join(v), "", "", "", "", "", "", ""])
    return buf.getvalue()


def to_json(impact: Impact) -> str:
    return json.dumps(impact.to_dict(), ensure_ascii=False, indent=2)
