"""The caseworker's layout of batch results (``--headers zh``): a sheet a 民政 clerk reads.

Headers are Chinese (each standard by its Chinese name; a household standard marked
``（户）``); statuses are 符合 / 不符合 / 待确定 / 未施行; amounts say their period
(``金额（元/月）``, ``年度金额（元）``); ``需补充`` names, by their Chinese labels (the fact
registry's, as the input headers), the facts that would decide the row's 待确定 results and
whose column the file has (cells left blank), and ``需补充（文件中无此列）`` those it has no
column for (the same on most rows: kept apart so that the first stays short enough to act
on); a household standard's result is on every member's row. The errors and summary files get
Chinese headers and messages too. The English layout (``--headers en``) is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import polars as pl

from .columns import COLUMNS, HOUSEHOLD, PERSON, ROW, label_zh
from .explain import _RELIABILITY
from .model import Standard, StandardsSet
from .regions import regions
from .table import STATUS, fields

STATUS_ZH = {"eligible": "符合", "not_eligible": "不符合", "undetermined": "待确定",
             "not_in_force": "未施行"}
#: The period an amount is for, as a header says it.
PER_ZH = {"month": "元/月", "year": "元/年", "semester": "元/学期", "once": "元/次",
          "day": "元/日"}
FIELD_ZH = {
    "row": "行号", HOUSEHOLD: "家庭编号", PERSON: "人员编号", "standard": "标准",
    "status": "状态", "amount": "金额", "annual_amount": "年度金额（元）", "quantity": "数量",
    "missing": "需补充信息", "unknown_parameters": "未知标准值", "failed": "不符合的条件",
    "reason": "原因", "excluded_by": "被替代为", "value_region": "标准所属地区",
    "is_floor": "是否保底标准", "reliability": "来源可靠性", "version": "规则版本",
    "total": "期间合计（元）", "months_eligible": "符合月数", "prorated": "是否按月折算",
    "errors": "错误", "amount_at_least": "金额不低于", "total_at_least": "期间合计不低于（元）",
    "amount_possibly_outdated": "金额可能已过时",
}
#: Coded values of the ``--detail full`` fields, in Chinese.
REASON_ZH = {"not_in_force": "该日期无有效版本", "outside_scope": "不在适用地区或范围",
             "deceased": "已故", "not_born": "尚未出生", "excluded": "被其他标准替代",
             "earlier_rule_unknown": "此前已施行，当时的标准未收录"}
RELIABILITY_ZH = {"official": "官方文件", **{k: zh for k, (zh, _) in _RELIABILITY.items()}}
YES_NO_ZH = {True: "是", False: "否"}
_CODED = {"reason": REASON_ZH, "reliability": RELIABILITY_ZH, "is_floor": YES_NO_ZH,
          "prorated": YES_NO_ZH, "amount_possibly_outdated": YES_NO_ZH}
#: The statuses in Chinese, in the order of the status type's categories (its codes).
_STATUS_ZH = pl.lit(pl.Series([STATUS_ZH[c] for c in STATUS.categories], dtype=pl.String))
MISSING = "需补充"
MISSING_ABSENT = "需补充（文件中无此列）"
HOUSEHOLD_MARK = "（户）"


def _status(status: str, reason: str, columns: list[str]) -> pl.Expr:
    """The column ``status`` (a :data:`~gongfu_rules.table.STATUS`) in Chinese, taken by its
    code rather than matched as text; not in force on the date (a status of its own, or not
    eligible for that reason, the column ``reason`` where ``columns`` has it) is 未施行."""
    zh = _STATUS_ZH.gather(pl.col(status).to_physical())
    if reason in columns:
        zh = pl.when(pl.col(reason) == "not_in_force") \
            .then(pl.lit(STATUS_ZH["not_in_force"])).otherwise(zh)
    return zh


def _missing_zh(names: str | None, given: frozenset[str] | None = None
                ) -> tuple[str | None, str | None]:
    """The facts ``names`` names (``;``-separated), once each, by Chinese label, joined by
    、 (None when none is left): with ``given`` (the facts the file has a column for), those
    among them and those not among them; without it, all of them and None."""
    once = dict.fromkeys((names or "").split(";"))
    once.pop("", None)
    if given is None:
        return _joined(once), None
    return _joined([n for n in once if n in given]), _joined([n for n in once if n not in given])


def _joined(names: Iterable[str]) -> str | None:
    labels = _labels()
    return "、".join(dict.fromkeys(map(labels.get, names, names))) or None


def _missing_column(column: str, values: pl.Series) -> pl.Expr:
    """``column`` (facts' names, ``;``-separated) by Chinese labels, worked out once for each
    of its distinct ``values`` (a standard's missing facts take a few)."""
    distinct = values.drop_nulls().unique().to_list()
    return pl.col(column).replace_strict(distinct, [_missing_zh(v)[0] for v in distinct],
                                         default=None, return_dtype=pl.String)


def _needed(wide: pl.DataFrame, parts: list[pl.Expr], given: frozenset[str] | None
            ) -> list[pl.Expr]:
    """``需补充`` and ``需补充（文件中无此列）``: the facts named in ``parts`` on each row. A
    row's names run to a couple of kilobytes, but rows share them (a chunk of 50,000 has a
    few thousand distinct): each distinct list is labelled once, in Python, and the rows
    take theirs by number."""
    if wide.height == 0:  # the columns of a file with no rows
        return [pl.lit(None, dtype=pl.String).alias(name) for name in (MISSING, MISSING_ABSENT)]
    names = wide.select(pl.concat_str(parts, separator=";", ignore_nulls=True)).to_series()
    distinct = names.unique()
    which = names.replace_strict(distinct, pl.int_range(distinct.len(), dtype=pl.UInt32,
                                                        eager=True))
    texts = [_missing_zh(n, given) for n in distinct]
    return [pl.lit(pl.Series([t[i] for t in texts], dtype=pl.String).gather(which)).alias(name)
            for i, name in enumerate((MISSING, MISSING_ABSENT))]


@cache
def _labels() -> dict[str, str]:
    return {c.name: label_zh(c.name) for c in COLUMNS}


def wide_zh(wide: pl.DataFrame, std: StandardsSet, full: bool,
            given: frozenset[str] | None = None) -> pl.DataFrame:
    """A wide result frame (evaluated with every field) in the caseworker's layout; ``full``
    keeps every field (``--detail full``), else those ``--detail narrow`` shows. ``given``:
    the facts the input file has a column for (default: every fact), which sorts the facts
    to add between ``需补充`` and ``需补充（文件中无此列）``."""
    columns = wide.columns
    ids = [c.removesuffix(".status") for c in columns if c.endswith(".status")]
    head = [pl.col(c).alias(FIELD_ZH.get(c, c)) for c in columns
            if c in (ROW, HOUSEHOLD, PERSON, "errors")]
    body: list[pl.Expr] = []
    undetermined: list[pl.Expr] = []
    for sid in ids:
        s = std[sid]
        name = s.name.zh + (HOUSEHOLD_MARK if s.entity == "household" else "")

        def member(value: pl.Expr) -> pl.Expr:  # a household's result on every member's row
            return value.first().over(HOUSEHOLD) if s.entity == "household" else value
        if f"{sid}.missing" in columns:
            undetermined.append(member(pl.when(pl.col(f"{sid}.status") == "undetermined")
                                       .then(pl.col(f"{sid}.missing"))))
        for field in _shown(s, _fields(sid, columns), full, std):
            value = _status(f"{sid}.status", f"{sid}.reason", columns) if field == "status" \
                else _value(f"{sid}.{field}", field, wide)
            body.append(member(value).alias(f"{name}.{_header(field, s.period)}"))
    need = _needed(wide, undetermined, given) if undetermined else []
    return wide.select(*head, *need, *body)


def _value(column: str, field: str, frame: pl.DataFrame) -> pl.Expr:
    """A result field of ``frame`` as the Chinese layout shows it: missing facts by their
    labels, coded values (reasons, reliability, yes/no) in words."""
    if field == "missing":
        return _missing_column(column, frame.get_column(column))
    if field in _CODED:
        return pl.col(column).replace_strict(_CODED[field], default=pl.col(column).cast(pl.String),
                                             return_dtype=pl.String)
    return pl.col(column)


def _fields(sid: str, columns: list[str]) -> list[str]:
    return [c.removeprefix(f"{sid}.") for c in columns if c.startswith(f"{sid}.")]


def _shown(s: Standard, present: list[str], full: bool, std: StandardsSet) -> list[str]:
    """The fields shown, status first: all of them with ``full``; else on a date those of
    ``--detail narrow``, over a period the status, total, months eligible, the total's lower
    bound and quantity."""
    if full:
        return ["status", *(f for f in present if f != "status")]
    narrow = fields(s, "narrow", std)
    if "total" in present:
        narrow = ("status", "total", "months_eligible", "total_at_least",
                  *(f for f in narrow if f == "quantity"))
    return [f for f in narrow if f in present]


def _header(field: str, period: str) -> str:
    if field in ("amount", "amount_at_least"):
        return f"{FIELD_ZH[field]}（{PER_ZH.get(period, '元')}）"
    return FIELD_ZH.get(field, field)


def long_zh(long: pl.DataFrame, std: StandardsSet) -> pl.DataFrame:
    """A long result frame with Chinese headers, standard names, statuses and missing facts."""
    if long.height == 0 and not long.columns:
        return long
    names = {s.id: s.name.zh + (HOUSEHOLD_MARK if s.entity == "household" else "") for s in std}
    out = long.with_columns(
        pl.col("standard").replace(names),
        _status("status", "reason", long.columns).alias("status"),
        *(_value(f, f, long).alias(f) for f in ("missing", *_CODED) if f in long.columns))
    return out.rename({c: FIELD_ZH.get(c, c) for c in out.columns})


# --- the errors and summary files ------------------------------------------------------------
ERROR_HEADERS_ZH = {"row": "行号", "column": "列", "code": "代码", "message": "说明"}
#: The errors' messages in Chinese: fixed ones by their English text, the rest by pattern.
_MESSAGES_ZH = {
    "expected true or false (是/否)": "应为是或否（true/false、是/否、有/无、1/0）",
    "expected a whole number 0 or more": "应为 0 或更大的整数",
    "expected an amount in 元, 0 or more, below 10^12": "应为以元计的金额，不小于 0，小于 10^12",
    "expected a disability grade 1-4 (一级 to 四级)": "应为残疾等级 1-4（一级至四级）",
    "expected a date as YYYY-MM-DD, such as 1990-03-07": "应为 YYYY-MM-DD 格式的日期，如 1990-03-07",
    "not a GB/T 2260 (2023) region code; give a province, prefecture or county code such as "
    "'53', '5301' or '530102'": "不是 GB/T 2260（2023）行政区划代码；请填写省、市或县级代码，"
                                "如 53、5301 或 530102",
    "expected 18 characters: 17 digits, then a check character 0-9 or X":
        "应为 18 位：17 位数字加 1 位校验码（0-9 或 X）",
    "the check digit does not match the first 17 digits; the number is mistyped":
        "校验码与前 17 位不符，号码有误",
    "characters 7-14 should be the birth date as YYYYMMDD but are not a real date":
        "第 7-14 位应为出生日期（YYYYMMDD），但不是有效日期",
    "the birth date does not match the birth date in the ID number (characters 7-14)":
        "出生日期与身份证号中的出生日期（第 7-14 位）不符",
    "the sex does not match the sex in the ID number (the 17th digit is odd for male, even "
    "for female)": "性别与身份证号中的性别不符（第 17 位奇数为男，偶数为女）",
    "the household id is empty; every row needs one when the file has the column":
        "家庭编号为空；文件有此列时每行都须填写",
    "the rows of this household are not consecutive; sort the file by household id":
        "该家庭的行不连续；请按家庭编号排序",
    "this person id is used twice in the household": "该人员编号在家庭中重复",
    "members of this household give different values for this household fact":
        "该家庭成员对这一家庭信息填写的值不一致",
    "not evaluated: another member of this household has an error":
        "未测算：该家庭另一成员的行有错误",
}
_PATTERNS_ZH = (
    (r"^expected one of (.*)$", r"应为以下之一：$1"),
    (r"^the birth date is after the evaluation date (.*)$", r"出生日期晚于测算日期 $1"),
    (r"^a computed amount is too large.*$", "计算出的金额超出批量引擎的范围（最多约 4×10^12 元）；"
                                            "请核对该家庭的金额和人数"),
)


def errors_zh(errors: pl.DataFrame) -> pl.DataFrame:
    """An errors frame with Chinese headers and messages (a message not known here stays as
    it is)."""
    message = pl.col("message").replace(_MESSAGES_ZH)
    for pattern, to in _PATTERNS_ZH:
        message = message.str.replace(pattern, to)
    return errors.with_columns(message).rename(ERROR_HEADERS_ZH)


SUMMARY_HEADERS_ZH = {
    "standard": "标准编号", "name": "标准", "region": "地区代码",
    "eligible": "符合（人或户）", "undetermined": "待确定（人或户）",
    "not_eligible": "不符合（人或户）", "not_in_force": "未施行（人或户）",
    "amount_total": "金额合计（元）",
    "annual_total": "年度金额合计（元）", "months_eligible": "符合月数合计",
    "eligible_amount_unknown": "符合但金额未知（人或户）", "region_name": "地区",
}


def summary_zh(summary: pl.DataFrame, period: bool) -> pl.DataFrame:
    """The summary with Chinese headers, the standard's name first and each region's name
    beside its code (over a period, the amount total is the period's)."""
    names = SUMMARY_HEADERS_ZH | ({"amount_total": "期间合计（元）"} if period else {})
    if "region" in summary.columns:
        table = regions()
        codes = summary.get_column("region").unique().to_list()
        region_names = {c: table.name(c) if c in table else "" for c in codes}
        summary = summary.with_columns(
            pl.col("region").replace_strict(region_names, return_dtype=pl.String)
            .alias("region_name"))
        first = [c for c in ("name", "standard", "region", "region_name") if c in summary.columns]
        summary = summary.select(*first, pl.exclude(first))
    return summary.rename({c: names.get(c, c) for c in summary.columns})


def error_schema_zh(schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    return {ERROR_HEADERS_ZH.get(c, c): t for c, t in schema.items()}
