"""Batch evaluation: the vectorized path agrees with the single-profile evaluator, and files
with bad rows, Chinese headers, no rows, huge households and every format are handled."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongfu_rules import evaluate
from gongfu_rules.batch import evaluate_table, run_batch
from gongfu_rules.cli import main
from gongfu_rules.columns import map_headers, typed_frame
from gongfu_rules.errors import InputError
from gongfu_rules.evaluate import default_standards
from gongfu_rules.facts import fact_specs
from gongfu_rules.limits import MAX_MEMBERS
from gongfu_rules.profile import id_number_check_character
from gongfu_rules.expr.nodes import Aggregate, walk
from gongfu_rules.relations import DERIVED
from gongfu_rules.table import CASEWORKER, evaluate_frame, facts_read

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ["530102", "530111", "530181", "532301", "532328", "533422", "530402", "53", "5301",
           "110101", None]
COMPARED = ("status", "amount", "annual_amount", "amount_at_least", "quantity", "missing",
            "unknown_parameters", "reason", "excluded_by", "value_region", "is_floor",
            "amount_possibly_outdated", "reliability")


# --- generating caseloads --------------------------------------------------------------------
def _fact_value(spec):
    if spec.type == "bool":
        return st.sampled_from([True, False, None])
    if spec.type == "enum":
        return st.sampled_from([*spec.values, None])
    if spec.type == "count":
        return st.one_of(st.none(), st.integers(0, 60))
    return st.one_of(st.none(), st.decimals(0, 3000, places=2))


@st.composite
def persons(draw):
    person = {
        "birth_date": draw(st.one_of(st.none(), st.dates(date(1915, 1, 1), date(2025, 6, 1)))),
        "sex": draw(st.sampled_from(["male", "female", None])),
        "hukou_region": draw(st.sampled_from(REGIONS)),
        "residence_region": draw(st.sampled_from([None, None, *REGIONS])),
        "disability_grade": draw(st.sampled_from([1, 2, 3, 4, None])),
        # roles make relatives of members, whose records some facts are read from
        "role": draw(st.sampled_from(["head", "spouse", "child", "child", "parent", None])),
    }
    for spec in fact_specs():
        if spec.entity == "person":
            person[spec.name] = draw(_fact_value(spec))
    return {k: v for k, v in person.items() if v is not None}


@st.composite
def households(draw):
    members = draw(st.lists(persons(), min_size=1, max_size=5))
    household = {"members": members}
    region = draw(st.sampled_from(REGIONS))
    if region is not None:
        household["region"] = region
    for spec in fact_specs():
        if spec.entity == "household":
            value = draw(_fact_value(spec))
            if value is not None:
                household[spec.name] = value
    return household


def _rows(households: list[dict]) -> pl.DataFrame:
    """A caseload frame (every cell as text) from profile dicts."""
    rows = []
    for h, household in enumerate(households):
        facts = {f"household.{k}": v for k, v in household.items() if k != "members"}
        for i, member in enumerate(household["members"]):
            rows.append({"household_id": f"h{h}", "person_id": f"p{i + 1}", **member, **facts})
    columns = sorted({k for r in rows for k in r})
    return pl.DataFrame([{c: _text(r.get(c)) for c in columns} for r in rows],
                        schema={c: pl.String for c in columns})


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _each_result(evaluation):
    """``(person id, result)`` for every result of an evaluation; the household's have None."""
    for pid, results in [*evaluation.persons.items(), (None, evaluation.household)]:
        for r in results:
            yield pid, r


def _scalar(household: dict, on: date) -> dict[tuple[str | None, str], dict]:
    out = {}
    for pid, r in _each_result(evaluate(household, on=on, explain=False)):
        priced = r.status in ("eligible", "undetermined")
        out[pid, r.standard_id] = {
            "status": r.status, "amount": r.amount, "annual_amount": r.annual_amount,
            "amount_at_least": r.amount_at_least,
            "amount_possibly_outdated": r.amount_possibly_outdated if priced else None,
            "quantity": r.quantity if priced else None,
            "missing": ";".join(r.missing) or None,
            "unknown_parameters": ";".join(r.unknown_parameters) or None,
            "reason": r.reason, "excluded_by": r.excluded_by,
            "value_region": r.value_region if priced else None,
            "is_floor": r.is_floor if priced else None,
            "reliability": r.reliability if priced else None,
        }
    return out


def _fen(x):
    return None if x is None else Decimal(x).quantize(Decimal("0.01"))


def _assert_same(vector: dict, scalar: dict, where: str) -> None:
    for field in COMPARED:
        a, b = vector[field], scalar[field]
        if field in ("amount", "annual_amount", "amount_at_least", "quantity"):
            a, b = _fen(a), _fen(b)
        assert a == b, f"{where}: {field} is {a!r} in batch but {b!r} one by one"


# --- parity ----------------------------------------------------------------------------------
def _born_by(caseload: list[dict], day: date) -> list[dict]:
    """The households whose members are all born by ``day`` (a later birth is an input error)."""
    return [h for h in caseload
            if all(m.get("birth_date") is None or m["birth_date"] <= day for m in h["members"])]


def _batch(caseload: list[dict], **when) -> dict[tuple, dict]:
    """Every result of the batch path, by (household, person, standard)."""
    table = evaluate_table(_rows(caseload), layout="long", keep_not_eligible=True, **when)
    return {(r["household_id"], r["person_id"], r["standard"]): r
            for r in table.iter_rows(named=True)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households(), min_size=1, max_size=8),
       st.dates(date(2020, 1, 1), date(2026, 6, 30)))
def test_batch_results_equal_single_profile_results(caseload, on):
    caseload = _born_by(caseload, on)
    if not caseload:
        return
    std = default_standards()
    got = _batch(caseload, on=on)
    for h, household in enumerate(caseload):
        for (pid, sid), expected in _scalar(household, on).items():
            person = pid if std[sid].entity == "person" else None
            row = got[f"h{h}", person, sid]
            _assert_same(row, expected, f"household h{h}, {pid}, {sid}")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households(), min_size=2, max_size=8), st.integers(1, 4))
def test_results_are_the_same_whatever_the_chunks_their_regions_arrive_in(caseload, rows):
    # each chunk brings regions the ones before lacked, so the cached region frames (and the
    # rule parts worked out on them) are rebuilt mid-run; nothing may depend on that order
    caseload = _born_by(caseload, date(2025, 8, 1))
    if not caseload:
        return
    frame = _rows(caseload)
    whole = evaluate_table(frame, on="2025-08-01", detail="full",
                           standards=dataclasses.replace(default_standards(), _cache={}))
    std = dataclasses.replace(default_standards(), _cache={})  # one cache for every chunk
    bounds = _household_chunks(frame, rows)
    chunked = pl.concat(
        evaluate_table(frame.slice(start, end - start), on="2025-08-01", detail="full",
                       standards=std).with_columns(pl.col("row") + start)
        for start, end in zip(bounds, bounds[1:]))
    assert chunked.equals(whole)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households(), min_size=1, max_size=8),
       st.dates(date(2020, 1, 1), date(2026, 6, 30)))
def test_narrow_and_caseworker_fields_are_those_of_full_detail(caseload, on):
    # each detail works out what it shows its own way (narrow without the unknown masks):
    # the fields they share must not differ
    caseload = _born_by(caseload, on)
    if not caseload:
        return
    raw = _rows(caseload)
    typed, _ = typed_frame(raw, map_headers(raw.columns)[0])
    std = default_standards()
    full = evaluate_frame(typed, on, std, detail="full")
    for detail in ("narrow", CASEWORKER):
        shown = evaluate_frame(typed, on, std, detail=detail)
        assert shown.equals(full.select(shown.columns)), detail


_IDS = sorted(default_standards().standards)


def _reads_members(s) -> bool:
    """Whether a standard reads a relative's fact (only_child_sex ...) or the members'."""
    nodes = [x for r in s.rules for c in r.conditions for x in walk(c.node)] + \
        [x for r in s.rules if r.amount for x in walk(r.amount[1])]
    return bool(facts_read(s) & set(DERIVED)) or any(isinstance(x, Aggregate) for x in nodes)


_READ_MEMBERS = sorted(s.id for s in default_standards() if _reads_members(s))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households(), min_size=1, max_size=8), st.sampled_from(_READ_MEMBERS),
       st.sets(st.sampled_from(_IDS), max_size=3))
def test_a_standards_results_do_not_depend_on_the_others_evaluated_with_it(caseload, one,
                                                                            others):
    # a subset works out only what its standards read (relatives' facts, aggregates)
    only = {one, *others}
    caseload = _born_by(caseload, date(2025, 8, 1))
    if not caseload:
        return
    raw = _rows(caseload)
    typed, _ = typed_frame(raw, map_headers(raw.columns)[0])
    std, day = default_standards(), date(2025, 8, 1)
    for detail in ("narrow", "full"):
        some = evaluate_frame(typed, day, std, standards=sorted(only), detail=detail)
        every = evaluate_frame(typed, day, std, detail=detail)
        assert some.equals(every.select(some.columns)), detail


def test_a_standard_evaluated_alone_still_reads_facts_from_the_relatives():
    # the reward's rate depends on the only child's sex, read from the child's row
    def reward(child_sex: str, only: list[str] | None) -> list:
        household = {"region": "530102", "members": [
            {"role": "head", "birth_date": date(1955, 3, 1), "sex": "male",
             "hukou_region": "530102", "hukou_type": "agricultural", "only_child_parent": True},
            {"role": "child", "birth_date": date(1985, 3, 1), "sex": child_sex,
             "hukou_region": "530102"}]}
        raw = _rows([household])
        typed, _ = typed_frame(raw, map_headers(raw.columns)[0])
        out = evaluate_frame(typed, date(2025, 8, 1), default_standards(), standards=only)
        return out.get_column("family_planning_reward.amount").to_list()
    alone = reward("female", ["family_planning_reward"])
    assert alone == reward("female", None)
    assert alone != reward("male", ["family_planning_reward"])


def _household_chunks(frame: pl.DataFrame, rows: int) -> list[int]:
    """The bounds of chunks of about ``rows`` rows that do not split a household."""
    ids, bounds = frame.get_column("household_id").to_list(), [0]
    for i in range(1, len(ids)):
        if i - bounds[-1] >= rows and ids[i] != ids[i - 1]:
            bounds.append(i)
    return [*bounds, len(ids)]


def test_a_huge_household_is_evaluated_whole_across_chunks(tmp_path):
    household = {"region": "530102", "members": [
        {"birth_date": "1940-01-01", "hukou_region": "530102", "sex": "female"}
        for _ in range(MAX_MEMBERS)]}  # the largest a household may be: three chunks
    path = tmp_path / "big.csv"
    _rows([household]).write_csv(path)
    run_batch(path, tmp_path / "out.csv", on="2025-08-01", chunk_rows=40, layout="long",
              progress=False)
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.filter(pl.col("standard") == "elderly_allowance").height == MAX_MEMBERS


# --- bad rows --------------------------------------------------------------------------------
def test_bad_rows_go_to_the_errors_file_with_row_column_and_reason(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date,hukou_region,orphan\n"
                    "h1,2015-01-01,530102,true\n"
                    "h2,2015-13-01,530102,true\n"
                    "h3,2015-01-01,999999,perhaps\n", encoding="utf-8")
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", progress=False)
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert errors.select("row", "column", "code").rows() == [
        ("2", "birth_date", "date_invalid"), ("3", "hukou_region", "region_unknown"),
        ("3", "orphan", "value_invalid")]
    assert (report.rows, report.evaluated, report.failed_rows) == (3, 1, 2)


def test_a_bad_member_sets_its_whole_household_aside_and_says_so(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date\nh1,1950-01-01\nh1,not a date\nh2,1950-01-01\n",
                    encoding="utf-8")
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", progress=False)
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert errors.select("row", "code").rows() == [("1", "household_set_aside"),
                                                   ("2", "date_invalid")]
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.get_column("household_id").to_list() == ["h2"]


def test_an_id_number_gives_birth_date_and_sex_and_is_never_in_the_errors(tmp_path):
    first17 = "53010219500101002"
    good = first17 + id_number_check_character(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    path = tmp_path / "in.csv"
    path.write_text(f"身份证号,户籍地区划代码\n{good},530102\n{bad},530102\n", encoding="utf-8")
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", layout="long", progress=False)
    text = report.errors.read_text(encoding="utf-8-sig")
    assert "id_number_check_digit" in text and bad not in text and good not in text
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    elderly = out.filter(pl.col("standard") == "elderly_health_management")
    assert elderly.height == 1  # born 1950: 75 on the date, from the ID number alone


def test_an_unknown_column_is_an_error_naming_it_unless_ignored(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date,phone\nh1,1950-01-01,123\n", encoding="utf-8")
    with pytest.raises(InputError, match="phone"):
        run_batch(path, tmp_path / "out.csv", on="2025-08-01", progress=False)
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", progress=False,
                       ignore_extra_columns=True)
    assert report.ignored_columns == ["phone"]


def test_the_exit_code_says_whether_any_row_failed(tmp_path, capsys):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("birth_date\n1950-01-01\n", encoding="utf-8")
    bad.write_text("birth_date\n1950-02-30\n", encoding="utf-8")
    assert main(["batch", str(good), "-o", str(tmp_path / "a.csv"), "--on", "2025-08-01",
                 "--no-progress"]) == 0
    assert main(["batch", str(bad), "-o", str(tmp_path / "b.csv"), "--on", "2025-08-01",
                 "--no-progress"]) == 3


# --- headers, empty files, formats ----------------------------------------------------------
def test_chinese_headers_are_read_and_can_be_written(tmp_path):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.csv",
                       on="2025-08-01", headers="zh", progress=False)
    header = next(csv.reader(open(report.output, encoding="utf-8-sig")))
    assert header[:3] == ["行号", "家庭编号", "人员编号"]
    assert "孤儿基本生活费.金额（元/月）" in header


def test_the_example_orphan_in_chuxiong_gets_the_provincial_rate(tmp_path):
    table = evaluate_table(ROOT / "examples" / "caseload.csv", on="2025-08-01", detail="full")
    orphan = table.filter((pl.col("household_id") == "h002") & (pl.col("person_id") == "p2"))
    assert orphan.get_column("orphan_basic_living.status").item() == "eligible"
    assert orphan.get_column("orphan_basic_living.value_region").item() == "53"


def test_a_file_of_headers_only_gives_empty_outputs_not_an_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date\n", encoding="utf-8")
    report = run_batch(path, tmp_path / "out.parquet", on="2025-08-01", progress=False)
    assert (report.rows, report.failed_rows) == (0, 0)
    assert pl.read_parquet(report.output).height == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".jsonl"])
def test_every_format_reads_and_writes_the_same_results(tmp_path, suffix):
    source = pl.read_csv(ROOT / "examples" / "caseload.csv", infer_schema=False)
    path = tmp_path / f"in{suffix}"
    _write(source, path)
    report = run_batch(path, tmp_path / f"out{suffix}", on="2025-08-01", layout="long",
                       progress=False)
    out = _read(report.output).select("household_id", "person_id", "standard", "status",
                                      "amount")
    reference = evaluate_table(source, on="2025-08-01", layout="long").filter(
        pl.col("standard").is_not_null())
    assert sorted(map(_plain, out.rows())) == sorted(map(_plain, reference.select(
        "household_id", "person_id", "standard", "status", "amount").rows()))


def _write(frame: pl.DataFrame, path: Path) -> None:
    {".csv": frame.write_csv, ".xlsx": frame.write_excel, ".parquet": frame.write_parquet,
     ".jsonl": frame.write_ndjson}[path.suffix](path)


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_ndjson(path, infer_schema_length=None)


def _plain(row: tuple) -> tuple:
    return tuple("" if v is None or v == "" else str(_fen(v) if _is_number(v) else v)
                 for v in row)


def _is_number(v) -> bool:
    try:
        Decimal(str(v))
        return not isinstance(v, bool)
    except Exception:  # noqa: BLE001
        return False


# --- interruption ----------------------------------------------------------------------------
def test_an_interrupted_run_leaves_no_output_file(tmp_path, monkeypatch):
    import gongfu_rules.batch as batch
    calls = {"n": 0}
    real = batch.evaluate_frame

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "evaluate_frame", failing)
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date\n" + "".join(f"h{i},1950-01-01\n" for i in range(50)),
                    encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        run_batch(path, tmp_path / "out.parquet", on="2025-08-01", chunk_rows=10, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_evaluate_table_keeps_every_input_row(tmp_path):
    frame = pl.DataFrame({"household_id": ["a", "b"], "birth_date": ["1950-01-01", "oops"]})
    table = evaluate_table(frame, on="2025-08-01")
    assert table.get_column("row").to_list() == [1, 2]
    assert table.get_column("errors").to_list()[0] is None
    assert "birth_date" in table.get_column("errors").to_list()[1]


def test_json_output_has_no_binary_floats(tmp_path):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.jsonl",
                       on="2025-08-01", layout="long", progress=False)
    for line in report.output.read_text(encoding="utf-8").splitlines():
        row = json.loads(line, parse_float=Decimal)
        if row["amount"] is not None:
            assert Decimal(str(row["amount"])) == _fen(row["amount"])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(households(), min_size=1, max_size=4),
       st.sampled_from(["2023", "2024-02", "2025"]))
def test_period_totals_equal_single_profile_period_totals(caseload, period):
    last = date(int(period[:4]), 12, 31) if len(period) == 4 else date(2024, 2, 29)
    caseload = _born_by(caseload, last)
    if not caseload:
        return
    std = default_standards()
    got = _batch(caseload, period=period)
    for h, household in enumerate(caseload):
        for pid, r in _each_result(evaluate(household, period=period, explain=False)):
            person = pid if std[r.standard_id].entity == "person" else None
            row = got[f"h{h}", person, r.standard_id]
            where = f"household h{h}, {pid}, {r.standard_id}"
            assert row["status"] == r.status, where
            assert _fen(row["total"]) == _fen(r.total), where
            assert _fen(row["total_at_least"]) == _fen(r.total_at_least), where
            eligible = sum(m.status == "eligible" for m in r.months)
            assert row["months_eligible"] == eligible, where
            assert (row["missing"] or None) == (";".join(r.detail.missing) or None), where


def test_a_period_batch_writes_totals(tmp_path):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.csv", period="2024",
                       progress=False)
    header = next(csv.reader(open(report.output, encoding="utf-8-sig")))
    assert "elderly_allowance.total" in header and "elderly_allowance.amount" not in header


def test_a_household_whose_rows_are_not_together_is_evaluated_whole_in_row_order(tmp_path):
    frame = pl.DataFrame({"household_id": ["a", "b", "a"],
                          "birth_date": ["1950-01-01", "1950-01-01", "1960-01-01"]})
    table = evaluate_table(frame, on="2025-08-01")
    assert table.get_column("errors").to_list() == [None, None, None]
    assert table.select("row", "person_id").rows() == [(1, "p1"), (2, "p1"), (3, "p2")]


def test_only_limits_the_standards_evaluated(tmp_path):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.csv", on="2025-08-01",
                       only=["elderly_allowance"], progress=False)
    header = next(csv.reader(open(report.output, encoding="utf-8-sig")))
    assert [h for h in header if h.endswith(".status")] == ["elderly_allowance.status"]
    with pytest.raises(InputError, match="no standard nope"):
        run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "x.csv", on="2025-08-01",
                  only=["nope"], progress=False)


def test_typed_parquet_columns_are_used_as_they_are_and_checked(tmp_path):
    frame = pl.DataFrame({"household_id": ["a", "b"],
                          "birth_date": [date(2015, 1, 1), date(2015, 1, 1)],
                          "hukou_region": [530102, 530102], "orphan": [True, True],
                          "child_care_arrangement": ["散居", "散居"],
                          "disability_grade": [2, 7]})
    path = tmp_path / "typed.parquet"
    frame.write_parquet(path)
    report = run_batch(path, tmp_path / "out.csv", on="2024-03-01", layout="long",
                       progress=False)
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert errors.select("row", "column").rows() == [("2", "disability_grade")]
    out = pl.read_csv(report.output, infer_schema=False)
    orphan = out.filter(pl.col("standard") == "orphan_basic_living")
    assert orphan.select("household_id", "amount").rows() == [("a", "1374.00")]


def test_the_summary_counts_and_totals_match_the_results(tmp_path):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.csv", on="2025-08-01",
                       chunk_rows=2, progress=False)
    out = pl.read_csv(report.output, infer_schema=False)
    summary = pl.read_csv(report.summary, infer_schema=False)
    for sid in ("elderly_allowance", "orphan_basic_living", "dibao_household_allowance"):
        rows = summary.filter(pl.col("standard") == sid)
        eligible = out.filter(pl.col(f"{sid}.status") == "eligible")
        assert rows.get_column("eligible").cast(pl.Int64).sum() == eligible.height
        total = sum(Decimal(x) for x in eligible.get_column(f"{sid}.amount").drop_nulls())
        assert sum(Decimal(x) for x in rows.get_column("amount_total")) == total


def test_the_summary_of_many_chunks_is_folded_without_loss(tmp_path):
    rows = "".join(f"h{i},1940-01-01,530102\n" for i in range(60))
    path = tmp_path / "in.csv"
    path.write_text("household_id,birth_date,hukou_region\n" + rows, encoding="utf-8")
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", chunk_rows=2, progress=False)
    summary = pl.read_csv(report.summary, infer_schema=False)
    elderly = summary.filter(pl.col("standard") == "elderly_allowance")
    assert elderly.get_column("eligible").to_list() == ["60"]


def test_the_summary_counts_each_status_of_a_region_with_more_rows_than_a_count_slot_holds():
    # the statuses are counted in 21-bit slots of one sum: a larger frame is summed in parts
    from gongfu_rules.batch import _Summary
    from gongfu_rules.table import FIELD_TYPES

    n = (1 << 21) + 3
    statuses = ["eligible"] * (n - 2) + ["undetermined", "not_in_force"]
    wide = pl.DataFrame({"elderly_allowance.status": statuses},
                        schema={"elderly_allowance.status": FIELD_TYPES["status"]})
    typed = pl.DataFrame({"hukou_region": ["530102"] * n, "residence_region": ["530102"] * n,
                          "household.region": [None] * n}, schema_overrides={
                              "household.region": pl.String})
    summary = _Summary(default_standards())
    summary.add(wide, typed)
    row = summary.table().filter(pl.col("standard") == "elderly_allowance")
    assert row.select("region", "eligible", "undetermined", "not_eligible", "not_in_force"
                      ).rows() == [("530102", n - 2, 1, 0, 1)]


def test_the_progress_bar_counts_every_row(tmp_path, capsys):
    report = run_batch(ROOT / "examples" / "caseload.csv", tmp_path / "out.csv", on="2025-08-01",
                       chunk_rows=3, progress=True)
    err = capsys.readouterr().err
    assert report.rows == 7 and "100%" in err and "7.00/7.00" in err and "rows/s" in err


def test_evaluating_a_subset_first_does_not_change_the_whole_sets_results():
    from gongfu_rules import load_standards
    from gongfu_rules.columns import map_headers, typed_frame
    from gongfu_rules.table import evaluate_frame
    raw = pl.read_csv(ROOT / "examples" / "caseload.csv", infer_schema=False)
    typed, _ = typed_frame(raw, map_headers(raw.columns)[0])
    day = date(2025, 8, 1)
    expected = evaluate_frame(typed, day, load_standards())
    std = load_standards()  # a fresh set: its caches start empty
    evaluate_frame(typed, day, std, standards=[list(std.standards)[-1]])
    assert evaluate_frame(typed, day, std).equals(expected)


def test_a_gbk_csv_from_excel_is_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("家庭编号,出生日期,户籍地区划代码\nh1,1940-01-01,530102\n".encode("gbk"))
    report = run_batch(path, tmp_path / "out.csv", on="2025-08-01", layout="long",
                       progress=False)
    out = pl.read_csv(report.output, infer_schema=False)
    assert "elderly_allowance" in out.get_column("standard").to_list()
    assert not list(tmp_path.glob("*.partial"))


def test_a_malformed_csv_is_an_input_error_that_quotes_no_cell(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('household_id,birth_date\nh1,"1950-01-01\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        run_batch(path, tmp_path / "out.csv", on="2025-08-01", progress=False)
    assert e.value.code == "file_unreadable" and "1950" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


# --- statuses and facts the batch must read as the single-profile evaluator does --------------
def _assert_paths_agree(caseload: list[dict], on: date) -> dict[tuple, dict]:
    """Both paths give the same result for every standard; the batch rows, by key."""
    std = default_standards()
    got = _batch(caseload, on=on)
    for h, household in enumerate(caseload):
        for (pid, sid), expected in _scalar(household, on).items():
            person = pid if std[sid].entity == "person" else None
            _assert_same(got[f"h{h}", person, sid], expected, f"household h{h}, {pid}, {sid}")
    return got


def test_not_in_force_and_an_unrecorded_earlier_rule_agree_in_both_paths():
    parent = {"birth_date": "1950-03-01", "sex": "male", "hukou_region": "530112",
              "hukou_type": "农业", "only_child_parent": True, "only_child_sex": "女"}
    dead = {**parent, "death_date": "2021-01-01"}
    got = _assert_paths_agree([{"members": [parent]}, {"members": [dead]}], date(2022, 7, 28))
    assert got["h0", "p1", "cervical_cancer_screening"]["status"] == "not_in_force"
    assert got["h0", "p1", "family_planning_reward"]["reason"] == "earlier_rule_unknown"
    assert got["h1", "p1", "family_planning_reward"]["reason"] == "deceased"


def test_facts_read_from_relatives_agree_in_both_paths():
    def couple(wife_birth: str) -> dict:
        return {"members": [
            {"role": "head", "sex": "male", "birth_date": "1960-01-01", "hukou_region": "532301",
             "only_child_parent": True, "only_child_status": "disabled"},
            {"role": "spouse", "sex": "female", "birth_date": wife_birth,
             "hukou_region": "532301"},
            {"role": "child", "sex": "female", "birth_date": "2006-01-01",
             "hukou_region": "530102", "disability_certificate": False,
             "student_stage": "higher"}]}
    absent = {"members": [{"role": "head", "sex": "male", "birth_date": "1960-01-01",
                           "hukou_region": "532301", "only_child_parent": True,
                           "only_child_status": "disabled", "disability_certificate": True}]}
    caseload = [couple("1975-05-10"), couple("1975-05-11"), absent]
    got = _assert_paths_agree(caseload, date(2024, 5, 10))
    statuses = [got[h, "p1", "family_planning_special_assistance"]["status"]
                for h in ("h0", "h1", "h2")]
    assert statuses == ["eligible", "not_eligible", "undetermined"]


def test_a_member_not_yet_born_is_not_a_relative_in_either_path():
    # A head whose one child member is born in the middle of the year: before the birth there
    # is no only child yet and the head's own answer (a son) stands; from August the daughter
    # is read. Both paths agree (hypothesis found the single-profile path counting the unborn).
    household = {"members": [
        {"role": "head", "sex": "male", "birth_date": "1950-03-01", "hukou_region": "530112",
         "hukou_type": "农业", "only_child_parent": True, "only_child_status": "living",
         "only_child_sex": "男"},
        {"role": "child", "sex": "female", "birth_date": "2024-07-15",
         "hukou_region": "530112"}]}
    reward = "family_planning_reward"
    got = _batch([household], period="2024")[("h0", "p1", reward)]
    result = next(r for r in evaluate(household, period="2024", explain=False).persons["p1"]
                  if r.standard_id == reward)
    assert _fen(got["total"]) == _fen(result.total)
    assert result.months[6].amount != result.months[7].amount  # July: unborn; August: born


def test_lower_bounds_and_carried_values_agree_in_both_paths():
    disabled = {"region": "530102", "dibao": True, "members": [
        {"birth_date": "1980-01-01", "hukou_region": "530102", "disability_certificate": True,
         "disability_grade": 2}]}
    orphan = {"members": [{"birth_date": "2015-05-01", "hukou_region": "530102",
                           "orphan": True, "child_care_arrangement": "institutional"}]}
    floor_paid = {**disabled, "region": "532301", "members": [
        {**disabled["members"][0], "hukou_region": "532301"}]}
    got = _assert_paths_agree([disabled, orphan, floor_paid], date(2025, 8, 1))
    assert _fen(got["h0", "p1", "severe_disability_care_subsidy"]["amount_at_least"]) == 70
    assert got["h0", "p1", "severe_disability_care_subsidy"]["amount"] is None
    assert _fen(got["h1", "p1", "orphan_basic_living"]["amount"]) == 2074
    assert got["h1", "p1", "orphan_basic_living"]["amount_possibly_outdated"] is True
    assert _fen(got["h2", "p1", "severe_disability_care_subsidy"]["amount_at_least"]) == 70


def test_the_narrow_output_has_a_lower_bound_column_only_where_a_floor_can_bind():
    table = evaluate_table(_rows([{"members": [{"birth_date": "1980-01-01"}]}]),
                           on=date(2025, 8, 1))
    assert "severe_disability_care_subsidy.amount_at_least" in table.columns
    assert "orphan_basic_living.amount_at_least" not in table.columns
    assert "orphan_basic_living.amount_possibly_outdated" not in table.columns


def test_a_period_total_unknown_under_a_floor_has_its_lower_bound_in_both_paths():
    disabled = {"members": [{"birth_date": "1980-01-01", "hukou_region": "530102",
                             "disability_certificate": True, "disability_grade": 1}]}
    got = _batch([disabled], period="2024")
    [r] = [r for r in evaluate(disabled, period="2024", explain=False).persons["p1"]
           if r.standard_id == "severe_disability_care_subsidy"]
    row = got["h0", "p1", "severe_disability_care_subsidy"]
    assert r.total is None and r.total_at_least == 80 * 12
    assert row["total"] is None and _fen(row["total_at_least"]) == 80 * 12
