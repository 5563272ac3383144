"""The caseworker's layout (``--headers zh``) and period batches: Chinese headers, statuses,
amounts with their period, 需补充 by the registry's labels, household results on every
member's row, Chinese errors and summary; period totals that are empty when unknown, months
eligible, and summaries that agree with the rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from gongfu_rules import evaluate
from gongfu_rules.batch import evaluate_table, run_batch
from gongfu_rules.evaluate import default_standards
from gongfu_rules.facts import fact_specs
from gongfu_rules.columns import label_zh, map_headers
from gongfu_rules.layout import RELIABILITY_ZH, wide_zh

ROOT = Path(__file__).resolve().parent.parent
CASELOAD = ROOT / "examples" / "caseload.csv"
DIBAO, ORPHAN, ELDERLY = "dibao_household_allowance", "orphan_basic_living", "elderly_allowance"
STD = default_standards()
ZH = {sid: STD[sid].name.zh for sid in (DIBAO, ORPHAN, ELDERLY)}
HOUSEHOLD_ZH = ZH[DIBAO] + "（户）"


def _run(tmp_path: Path, source: Path = CASELOAD, **options) -> tuple[pl.DataFrame, ...]:
    options.setdefault("on", "2025-08-01")
    report = run_batch(source, tmp_path / "out.csv", progress=False, **options)
    return tuple(pl.read_csv(p, infer_schema=False)
                 for p in (report.output, report.errors, report.summary))


def _zh(tmp_path: Path, source: Path = CASELOAD, **options) -> tuple[pl.DataFrame, ...]:
    return _run(tmp_path, source, headers="zh", only=[DIBAO, ORPHAN, ELDERLY], **options)


def _two_member_dibao(tmp_path: Path) -> Path:
    path = tmp_path / "dibao.csv"
    path.write_text("家庭编号,出生日期,户籍地区划代码,家庭月人均收入,家庭城乡类别（城市/农村）\n"
                    "a,1970-01-01,530102,600,城市\na,1972-01-01,530102,600,城市\n",
                    encoding="utf-8")
    return path


# --- the caseworker's layout ----------------------------------------------------------------
def test_statuses_are_written_in_chinese(tmp_path):
    out, _, _ = _zh(tmp_path)
    statuses = {v for c in out.columns if c.endswith(".状态") for v in out.get_column(c)}
    assert statuses <= {"符合", "不符合", "待确定", "未施行", None}
    assert {"符合", "不符合", "待确定"} <= statuses


def test_a_standard_not_in_force_on_the_date_is_shown_as_not_in_force(tmp_path):
    table = evaluate_table(CASELOAD, on="2010-01-01", only=[ELDERLY], detail="full")
    assert set(table.get_column(f"{ELDERLY}.reason").drop_nulls()) == {"not_in_force"}
    out, _, _ = _zh(tmp_path, on="2010-01-01")
    assert set(out.get_column(f"{ZH[ELDERLY]}.状态").drop_nulls()) == {"未施行"}


def test_amount_headers_say_the_period_they_are_for(tmp_path):
    out, _, _ = _zh(tmp_path)
    assert f"{ZH[ORPHAN]}.金额（元/月）" in out.columns
    assert f"{ZH[ORPHAN]}.年度金额（元）" in out.columns


def test_a_household_standard_is_on_every_members_row_and_marked_so(tmp_path):
    out, _, _ = _zh(tmp_path, _two_member_dibao(tmp_path))
    amounts = out.get_column(f"{HOUSEHOLD_ZH}.金额（元/月）").to_list()
    assert len(amounts) == 2 and amounts[0] is not None and amounts[0] == amounts[1]
    assert out.get_column(f"{HOUSEHOLD_ZH}.状态").to_list() == ["符合", "符合"]


def test_the_household_amount_is_counted_once_in_the_summary(tmp_path):
    out, _, summary = _zh(tmp_path, _two_member_dibao(tmp_path))
    row = summary.filter(pl.col("标准编号") == DIBAO)
    assert row.get_column("符合（人或户）").to_list() == ["1"]
    assert row.get_column("金额合计（元）").to_list() == \
        [out.get_column(f"{HOUSEHOLD_ZH}.金额（元/月）")[0]]


def _label(name: str) -> str:
    return next(s.zh for s in fact_specs() if s.name == name)


def test_missing_facts_are_named_by_their_registry_labels(tmp_path):
    out, _, _ = _zh(tmp_path)
    first = out.row(0, named=True)
    assert first[f"{HOUSEHOLD_ZH}.状态"] == "待确定"
    assert _label("area_type") in first["需补充（文件中无此列）"].split("、")


def _child_with_a_blank_orphan_cell(tmp_path: Path) -> Path:
    path = tmp_path / "child.csv"
    path.write_text("家庭编号,出生日期,户籍地区划代码,是否孤儿\nc,2015-03-02,530102,\n",
                    encoding="utf-8")
    return path


def test_a_blank_cell_of_a_column_the_file_has_is_in_the_facts_to_add(tmp_path):
    out, _, _ = _run(tmp_path, _child_with_a_blank_orphan_cell(tmp_path), headers="zh",
                     only=[ORPHAN])
    row = out.row(0, named=True)
    assert row[f"{ZH[ORPHAN]}.状态"] == "待确定"
    assert _label("orphan") in row["需补充"].split("、")
    assert _label("orphan") not in (row["需补充（文件中无此列）"] or "").split("、")


def test_a_fact_the_file_has_no_column_for_is_kept_apart(tmp_path):
    out, _, _ = _zh(tmp_path)
    first = out.row(0, named=True)
    assert _label("area_type") not in (first["需补充"] or "").split("、")


def test_the_two_columns_of_facts_to_add_split_the_facts_and_lose_none():
    table = evaluate_table(CASELOAD, on="2025-08-01", detail="full")
    given, _ = map_headers(pl.read_csv(CASELOAD, n_rows=0).columns)
    whole = wide_zh(table, STD, full=False)  # every fact counted as given: one column
    split = wide_zh(table, STD, full=False, given=frozenset(given.values()))

    def facts(cell: str | None) -> set[str]:
        return set(cell.split("、")) if cell else set()
    assert whole.get_column("需补充（文件中无此列）").null_count() == whole.height
    assert split.get_column("需补充").drop_nulls().len() > 0  # the test has both kinds
    assert split.get_column("需补充（文件中无此列）").drop_nulls().len() > 0
    for one, two in zip(whole.iter_rows(named=True), split.iter_rows(named=True)):
        blank, absent = facts(two["需补充"]), facts(two["需补充（文件中无此列）"])
        assert not blank & absent
        assert blank | absent == facts(one["需补充"])


def test_missing_facts_are_named_once_however_many_standards_need_them(tmp_path):
    out, _, _ = _run(tmp_path, headers="zh")
    for column in ("需补充", "需补充（文件中无此列）"):
        for cell in out.get_column(column).drop_nulls():
            names = cell.split("、")
            assert len(names) == len(set(names))


@pytest.mark.parametrize("detail", ["narrow", "full"])
def test_a_file_with_no_rows_gets_the_caseworkers_columns(tmp_path, detail):
    empty = tmp_path / "empty.csv"
    empty.write_text(CASELOAD.read_text(encoding="utf-8").splitlines()[0] + "\n",
                     encoding="utf-8")
    report = run_batch(empty, tmp_path / "out.parquet", on="2025-08-01", headers="zh",
                       detail=detail, progress=False)
    out = pl.read_parquet(report.output)
    assert out.height == 0
    assert {"需补充", "需补充（文件中无此列）", f"{ZH[ORPHAN]}.状态"} <= set(out.columns)


def test_a_persons_facts_to_add_are_those_their_undetermined_results_miss():
    table = evaluate_table(CASELOAD, on="2025-08-01", detail="full")
    zh = wide_zh(table, STD, full=False)
    households = {s.id for s in STD if s.entity == "household"}
    first = {}  # a household standard's result is on its first member's row
    for row, out in zip(table.iter_rows(named=True), zh.iter_rows(named=True)):
        first.setdefault(row["household_id"], row)
        names = set()
        for s in STD:
            source = first[row["household_id"]] if s.id in households else row
            if source[f"{s.id}.status"] == "undetermined" and source[f"{s.id}.missing"]:
                names |= set(source[f"{s.id}.missing"].split(";"))
        # (a label may hold 、 itself: the text is compared whole, not split)
        expected = {label_zh(n) for n in names}
        text = out["需补充"] or ""
        assert all(label in text for label in expected)
        assert len(text) == sum(map(len, expected)) + max(len(expected) - 1, 0)


def test_on_a_date_the_layout_is_what_every_field_evaluated_would_give(tmp_path):
    # gongfu batch evaluates only the fields the layout reads (table.CASEWORKER)
    report = run_batch(CASELOAD, tmp_path / "out.parquet", on="2025-08-01", headers="zh",
                       progress=False)
    written = pl.read_parquet(report.output)
    every = evaluate_table(CASELOAD, on="2025-08-01", detail="full")
    given, _ = map_headers(pl.read_csv(CASELOAD, n_rows=0).columns)
    expected = wide_zh(every, STD, full=False, given=frozenset(given.values()))
    expected = expected.filter(pl.col("行号").is_in(written.get_column("行号").implode())) \
        .drop("错误")
    assert written.height > 0 and written.select(expected.columns).equals(expected)


def test_the_errors_file_is_in_chinese(tmp_path):
    _, errors, _ = _zh(tmp_path)
    assert errors.columns == ["行号", "列", "代码", "说明"]
    bad = errors.filter(pl.col("代码") == "date_invalid").row(0, named=True)
    assert bad["列"] == "出生日期" and bad["说明"].startswith("应为 YYYY-MM-DD")


def test_the_summary_is_in_chinese_with_the_region_names(tmp_path):
    _, _, summary = _zh(tmp_path)
    assert summary.columns[:4] == ["标准", "标准编号", "地区代码", "地区"]
    wuhua = summary.filter(pl.col("地区代码") == "530102").get_column("地区").unique()
    assert wuhua.to_list() == ["五华区"]


def test_the_long_layout_names_standards_and_statuses_in_chinese(tmp_path):
    out, _, _ = _zh(tmp_path, layout="long")
    assert {"行号", "标准", "状态"} <= set(out.columns)
    assert set(out.get_column("标准")) <= {*ZH.values(), HOUSEHOLD_ZH}
    assert set(out.get_column("状态")) <= {"符合", "待确定"}


def test_full_detail_codes_are_written_in_words(tmp_path):
    out, _, _ = _zh(tmp_path, on="2010-01-01", detail="full")
    assert set(out.get_column(f"{ZH[ELDERLY]}.原因").drop_nulls()) == {"该日期无有效版本"}
    out, _, _ = _zh(tmp_path, detail="full")
    assert set(out.get_column(f"{HOUSEHOLD_ZH}.是否保底标准").drop_nulls()) <= {"是", "否"}
    grades = set(out.get_column(f"{HOUSEHOLD_ZH}.来源可靠性").drop_nulls())
    assert grades and grades <= set(RELIABILITY_ZH.values())


def test_kept_columns_lead_the_chinese_layout(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("姓名,家庭编号,出生日期,户籍地区划代码\n张三,a,1940-01-01,530102\n",
                    encoding="utf-8")
    out, _, _ = _zh(tmp_path, path, keep=["姓名"])
    assert out.columns[:2] == ["姓名", "行号"] and out.get_column("姓名").to_list() == ["张三"]


def test_the_english_layout_is_unchanged_by_default(tmp_path):
    out, errors, _ = _run(tmp_path, only=[ORPHAN])
    assert out.columns == ["row", "household_id", "person_id", f"{ORPHAN}.status",
                           f"{ORPHAN}.amount", f"{ORPHAN}.annual_amount"]
    assert set(out.get_column(f"{ORPHAN}.status")) == {"eligible", "not_eligible"}
    assert errors.columns == ["row", "column", "code", "message"]


# --- period batches ----------------------------------------------------------------------------
def test_an_undetermined_period_total_is_empty_not_zero(tmp_path):
    out, _, _ = _run(tmp_path, on=None, period="2024", only=[DIBAO])
    undetermined = out.filter(pl.col(f"{DIBAO}.status") == "undetermined")
    assert undetermined.height > 0
    assert undetermined.get_column(f"{DIBAO}.total").null_count() == undetermined.height


def test_a_household_standards_period_total_is_on_its_first_members_row_only(tmp_path):
    out, _, _ = _run(tmp_path, on=None, period="2024", only=[DIBAO])
    others = out.filter(pl.col(f"{DIBAO}.status").is_null())
    assert others.height > 0 and others.get_column(f"{DIBAO}.total").null_count() == others.height


def test_a_period_total_with_an_undetermined_month_is_unknown_one_by_one_too():
    # Income is unknown: 低保 is undetermined every month, and the total cannot be known.
    household = {"region": "530102", "area_type": "urban",
                 "members": [{"birth_date": "1970-01-01", "hukou_region": "530102"}]}
    result = next(r for r in evaluate(household, period="2024", explain=False).household
                  if r.standard_id == DIBAO)
    assert (result.status, result.total) == ("undetermined", None)


def test_the_months_eligible_are_counted_per_standard(tmp_path):
    out, _, _ = _run(tmp_path, on=None, period="2024", only=[ELDERLY])
    months = dict(out.select("row", f"{ELDERLY}.months_eligible").rows())
    # Row 1 is 80 or more all 2024; row 2 turns 80 in September 2024 (as of each 1st).
    assert months["1"] == "12" and months["2"] == "3"


@pytest.mark.parametrize("period", ["2024", "2025-07"])
def test_period_summary_totals_agree_with_the_rows(tmp_path, period):
    out, _, summary = _run(tmp_path, on=None, period=period)
    assert "annual_total" not in summary.columns
    for sid in {c.removesuffix(".total") for c in out.columns if c.endswith(".total")}:
        rows = summary.filter(pl.col("standard") == sid)
        total = sum(Decimal(x) for x in out.get_column(f"{sid}.total").drop_nulls())
        summed = sum(Decimal(x) for x in rows.get_column("amount_total").drop_nulls())
        assert summed == total, sid
        months = out.get_column(f"{sid}.months_eligible").drop_nulls().cast(pl.Int64).sum()
        assert rows.get_column("months_eligible").cast(pl.Int64).sum() == months, sid
        eligible = out.filter(pl.col(f"{sid}.status") == "eligible").height
        assert rows.get_column("eligible").cast(pl.Int64).sum() == eligible, sid


def test_a_summary_total_of_eligible_persons_whose_amounts_are_all_unknown_is_empty(tmp_path):
    out, _, summary = _run(tmp_path, on=None, period="2024", only=[ORPHAN])
    # The orphan in 楚雄市 is eligible all 2024, but the amount of some month is not known.
    assert out.filter(pl.col(f"{ORPHAN}.status") == "eligible") \
        .get_column(f"{ORPHAN}.total").to_list() == [None]
    row = summary.filter(pl.col("region") == "532301").row(0, named=True)
    assert (row["eligible"], row["eligible_amount_unknown"], row["amount_total"]) == \
        ("1", "1", None)


def test_period_headers_are_translated(tmp_path):
    out, _, summary = _zh(tmp_path, on=None, period="2024")
    assert f"{ZH[ELDERLY]}.期间合计（元）" in out.columns
    assert f"{ZH[ELDERLY]}.符合月数" in out.columns
    assert not any(c.endswith(".total") for c in out.columns)
    assert {"期间合计（元）", "符合月数合计"} <= set(summary.columns)


def test_a_date_summary_has_annual_totals_and_no_months(tmp_path):
    _, _, summary = _run(tmp_path, only=[ELDERLY])
    assert "annual_total" in summary.columns and "months_eligible" not in summary.columns
