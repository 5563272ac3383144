"""The batch engine's fixed-point money, overflow, narrow output, column choice, reader and
start-up cache (docs/batch.md)."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongfu_rules import evaluate
from gongfu_rules.batch import evaluate_table, read_chunks, run_batch
from gongfu_rules.cli import main
from gongfu_rules.load import cache
from gongfu_rules.load.loader import load_standards

ON = date(2025, 8, 1)
DIBAO, FUNERAL = "dibao_household_allowance", "tekun_funeral_subsidy"


def _household_rows(income: object = None, deaths: object = None, hid: str = "h1",
                    members: int = 1) -> list[dict]:
    facts = {"household.region": "530102", "household.area_type": "urban"}
    if income is not None:
        facts["household.per_capita_monthly_income"] = str(income)
    if deaths is not None:
        facts["household.tekun_deaths"] = str(deaths)
    return [{"household_id": hid, "person_id": f"p{i + 1}", "hukou_region": "530102",
             "birth_date": "1950-01-01", **facts} for i in range(members)]


def _frame(rows: list[dict]) -> pl.DataFrame:
    columns = sorted({k for r in rows for k in r})
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows],
                        schema={c: pl.String for c in columns})


def _scalar(income: object = None, deaths: object = None, members: int = 1):
    household = {"region": "530102", "area_type": "urban", "members": [
        {"hukou_region": "530102", "birth_date": "1950-01-01"} for _ in range(members)]}
    if income is not None:
        household["per_capita_monthly_income"] = str(income)
    if deaths is not None:
        household["tekun_deaths"] = deaths
    return {r.standard_id: r for r in evaluate(household, on=ON, explain=False).household}


# --- money read to the fen, the same in both paths -------------------------------------------
def test_an_income_a_hair_under_the_standard_is_read_to_the_fen_in_both_paths():
    table = evaluate_table(_frame(_household_rows("743.9999995")), on=ON, only=[DIBAO])
    scalar = _scalar("743.9999995")[DIBAO]
    assert table.get_column(f"{DIBAO}.status").item() == scalar.status
    assert table.get_column(f"{DIBAO}.amount").item() == scalar.amount


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 200_000), st.sampled_from(["0", "4", "5", "5000001", "4999999", "995"]),
       st.integers(1, 5))
def test_incomes_at_half_a_fen_round_the_same_in_batch_and_one_by_one(fen, tail, members):
    income = f"{fen // 100}.{fen % 100:02d}{tail}"
    table = evaluate_table(_frame(_household_rows(income, members=members)), on=ON, only=[DIBAO])
    first = table.row(0, named=True)
    scalar = _scalar(income, members=members)[DIBAO]
    assert first[f"{DIBAO}.status"] == scalar.status
    assert first[f"{DIBAO}.amount"] == scalar.amount


def test_money_columns_are_exact_decimals_to_the_fen():
    table = evaluate_table(_frame(_household_rows("100.005", deaths=1)), on=ON,
                           only=[DIBAO, FUNERAL])
    assert table.schema[f"{DIBAO}.amount"] == pl.Decimal(18, 2)
    assert table.get_column(f"{FUNERAL}.amount").item() == _scalar(deaths=1)[FUNERAL].amount


# --- overflow: an error row, never a wrong number or a stopped batch --------------------------
def test_a_computed_amount_too_large_sets_the_household_aside_with_an_error_row():
    # 10^11 deaths is a count the profile limits allow (MAX_NUMBER); times the subsidy it is
    # past what the engine's fixed-point integers hold
    rows = _household_rows(deaths=10**11, members=2) + _household_rows(deaths=2, hid="h2")
    table = evaluate_table(_frame(rows), on=ON, only=[FUNERAL])
    errors = table.select("row", "errors").rows()
    assert errors[0][1] is not None and "too large" in errors[0][1]
    assert errors[1][1] is not None and "another member" in errors[1][1]
    last = table.row(2, named=True)
    assert last["errors"] is None
    assert last[f"{FUNERAL}.amount"] == _scalar(deaths=2)[FUNERAL].amount


def test_an_income_too_large_to_read_is_an_error_row_naming_the_column(tmp_path):
    rows = _household_rows(income="1" + "0" * 15) + _household_rows(income="500", hid="h2")
    path = tmp_path / "in.csv"
    _frame(rows).write_csv(path)
    report = run_batch(path, tmp_path / "out.csv", on=ON, only=[DIBAO], progress=False)
    errors = pl.read_csv(report.errors, infer_schema=False)
    assert errors.select("row", "column", "code").rows() == [
        ("1", "household.per_capita_monthly_income", "value_invalid")]
    assert (report.rows, report.evaluated, report.failed_rows) == (2, 1, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 10**22)),
                          st.one_of(st.none(), st.integers(0, 10**19)), st.integers(1, 4)),
                min_size=1, max_size=5))
def test_huge_amounts_and_incomes_give_error_rows_not_crashes_or_wrong_numbers(households):
    rows = [r for i, (income, deaths, size) in enumerate(households)
            for r in _household_rows(income, deaths, f"h{i}", size)]
    table = evaluate_table(_frame(rows), on=ON, only=[DIBAO, FUNERAL])
    assert table.height == len(rows)  # no row dropped
    first_rows = [1 + sum(size for _, _, size in households[:i]) for i in range(len(households))]
    for (income, deaths, size), row in zip(households, first_rows):
        first = table.filter(pl.col("row") == row).row(0, named=True)
        if first["errors"] is not None:
            continue  # set aside, and said why
        scalar = _scalar(income, deaths, size)
        for sid in (DIBAO, FUNERAL):
            assert first[f"{sid}.status"] == scalar[sid].status, (sid, income, deaths)
            assert first[f"{sid}.amount"] == scalar[sid].amount, (sid, income, deaths)


# --- what is read and what is written -----------------------------------------------------------
def test_the_default_wide_output_is_status_and_amounts_and_full_detail_adds_provenance():
    frame = _frame(_household_rows("500"))
    narrow = evaluate_table(frame, on=ON, only=[DIBAO, "elderly_health_management"])
    assert [c for c in narrow.columns if "." in c] == [
        f"{DIBAO}.status", f"{DIBAO}.amount", f"{DIBAO}.annual_amount",
        f"{DIBAO}.amount_at_least",  # the 低保 lines have 不低于 floors
        "elderly_health_management.status", "elderly_health_management.quantity"]
    full = evaluate_table(frame, on=ON, only=[DIBAO], detail="full")
    assert {f"{DIBAO}.missing", f"{DIBAO}.value_region", f"{DIBAO}.reliability",
            f"{DIBAO}.amount_possibly_outdated"} <= set(full.columns)


def test_the_cli_writes_provenance_columns_only_with_detail_full(tmp_path):
    path = tmp_path / "in.csv"
    _frame(_household_rows("500")).write_csv(path)
    for detail, expected in (("narrow", False), ("full", True)):
        out = tmp_path / f"{detail}.csv"
        assert main(["batch", str(path), "-o", str(out), "--on", "2025-08-01", "--no-progress",
                     "--only", DIBAO, "--detail", detail]) == 0
        header = pl.read_csv(out, infer_schema=False).columns
        assert (f"{DIBAO}.value_region" in header) is expected


def test_only_the_columns_the_chosen_standards_read_are_read_and_checked(tmp_path):
    path = tmp_path / "in.csv"
    rows = [{**r, "orphan": "perhaps"} for r in _household_rows("500")]
    _frame(rows).write_csv(path)
    report = run_batch(path, tmp_path / "out.csv", on=ON, only=[DIBAO], progress=False)
    assert report.failed_rows == 0  # 'orphan' is not read for the 低保 standard
    report = run_batch(path, tmp_path / "out.csv", on=ON, only=["orphan_basic_living"],
                       progress=False)
    assert report.failed_rows == 1


def test_a_parquet_file_is_read_in_chunks_of_the_chosen_columns(tmp_path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"household_id": [f"h{i}" for i in range(1000)],
                  "birth_date": [date(1950, 1, 1)] * 1000, "orphan": [True] * 1000}) \
        .write_parquet(path, row_group_size=300)
    chunks = list(read_chunks(path, 128, lambda headers: [h for h in headers if h != "orphan"]))
    assert max(c.height for c in chunks) <= 128 and sum(c.height for c in chunks) == 1000
    assert all(c.columns == ["household_id", "birth_date"] for c in chunks)


# --- the start-up cache -----------------------------------------------------------------------
def test_the_standards_load_from_the_cache_the_same_as_from_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GONGFU_RULES_CACHE", str(tmp_path))
    first = load_standards()
    kept = list(tmp_path.glob("standards-*.pickle"))
    assert len(kept) == 1
    monkeypatch.setattr("gongfu_rules.load.loader.yaml.load", _no_yaml)
    second = load_standards()  # every file from the cache: no YAML parsed
    assert second.digest == first.digest
    assert list(second.standards) == list(first.standards)


def _no_yaml(*args, **kwargs):
    raise AssertionError("parsed YAML although the cache has the files")


def test_a_corrupt_or_foreign_cache_file_means_a_normal_load(tmp_path, monkeypatch):
    monkeypatch.setenv("GONGFU_RULES_CACHE", str(tmp_path))
    digest = load_standards().digest
    (kept,) = tmp_path.glob("standards-*.pickle")
    for content in (b"\x80\x05 not a pickle", pickle.dumps({"digest": "other", "files": {}})):
        kept.write_bytes(content)
        assert cache.load(digest) is None
        assert load_standards().digest == digest


def test_an_unwritable_cache_directory_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("GONGFU_RULES_CACHE", str(Path(blocker) / "sub"))
    assert len(load_standards()) > 0


def test_rows_with_no_column_a_standard_reads_are_still_returned_one_for_one():
    frame = pl.DataFrame({"note": ["a", "b", "c"]})
    table = evaluate_table(frame, on=ON, only=[FUNERAL], ignore_extra_columns=True)
    assert table.get_column("row").to_list() == [1, 2, 3]


@given(st.lists(st.tuples(st.integers(1, 6), st.integers(-5, 5)), max_size=30))
def test_household_sums_give_every_member_the_sum_over_their_household(runs):
    from gongfu_rules.table import household_sums

    key = pl.Series([i for i, (n, _) in enumerate(runs) for _ in range(n)], dtype=pl.UInt32)
    values = pl.DataFrame({"x": [v for n, v in runs for _ in range(n)]}, schema={"x": pl.Int64})
    expected = [n * v for n, v in runs for _ in range(n)]
    assert household_sums(key, values)["x"].to_list() == expected


def test_an_amount_read_from_the_parameters_alone_is_worked_out_per_region_not_per_person():
    import dataclasses

    std = dataclasses.replace(load_standards(), _cache={})  # nothing cached yet
    caseload = pl.DataFrame({"household_id": ["h1", "h2"], "person_id": ["a", "b"],
                             "birth_date": ["2024-05-01", "2024-06-01"],
                             "hukou_region": ["530102", "532301"]})
    evaluate_table(caseload, on=ON, standards=std, only=["childcare_subsidy_under3"])
    hoisted = frozenset().union(*(entry[4] for key, entry in std._tables._entries.items()
                                  if key[0] == "regions"))
    assert "childcare_subsidy_under3.__amount" in hoisted  # the national rate
    assert "childcare_subsidy_under3.__failed" not in hoisted  # reads the child's age


def test_region_values_that_no_expression_reads_are_not_joined_onto_the_persons():
    from gongfu_rules.table import _join_regions, _Regions

    frame = pl.DataFrame({"__region": ["530102", "532301"], "x": [1, 2], "y": [3, 4]})
    regions = _Regions([("code", frame, {})], {"z": 5, "w": 6},
                       {"z": pl.lit(5).alias("z"), "w": pl.lit(6).alias("w")}, frozenset())
    persons = pl.DataFrame({"code": ["532301", "530102", "532301"]})
    joined = _join_regions(persons, regions, frozenset({"x", "z"}))
    assert joined.columns == ["code", "z", "x"]
    assert joined.get_column("x").to_list() == [2, 1, 2]


def test_region_columns_the_same_in_every_region_are_joined_once_and_each_read_under_its_name():
    from gongfu_rules.table import _join_regions, _Regions, _twins

    frame = pl.DataFrame({"__region": ["530102", "532301"], "a.known": [True, False],
                          "b.known": [True, False], "c.known": [True, None], "x": [1, 2],
                          "y": [1, 2], "z": pl.Series([1, 2], dtype=pl.Int32)})
    twins = _twins(frame)
    # the same values in another type (z) or with a null (c.known) are not twins
    assert twins == {"b.known": "a.known", "y": "x"}
    persons = pl.DataFrame({"code": ["532301", "530102"]})
    joined = _join_regions(persons, _Regions([("code", frame, twins)], {}, {}, frozenset()),
                           frozenset({"b.known", "c.known", "x", "y"}))
    assert sorted(joined.columns) == ["b.known", "c.known", "code", "x", "y"]
    assert joined.select("b.known", "c.known", "x", "y").rows() == [(False, None, 2, 2),
                                                                  (True, True, 1, 1)]


@given(st.dictionaries(st.integers(0, 2**64 - 1), st.none() | st.text(max_size=5), min_size=1,
                       max_size=12), st.data())
def test_masks_are_decoded_to_their_texts_whatever_the_masks(table, data):
    from gongfu_rules.table import _lookup

    masks = data.draw(st.lists(st.sampled_from(sorted(table)), min_size=1, max_size=40))
    frame = pl.DataFrame({"m": masks}, schema={"m": pl.UInt64})
    texts = frame.with_columns(_lookup("m", table).alias("t")).get_column("t")
    assert texts.to_list() == [table[m] for m in masks]
