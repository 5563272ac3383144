"""Fuzzing caseload files through the batch API (``run_batch``), CSV and Parquet.

Whatever the cells — good values, bad dates, incomes of 1e40, ``household.tekun_deaths`` of
10^13, ID numbers written every way a form writes them (as member ids, inside lists) — and
however the file is cut into chunks: only a GongfuError escapes; every input row is in the
results or in the errors file, exactly once; no amount is negative or NaN; the same file
gives the same three outputs, byte for byte; and nothing shaped like an ID number is written
anywhere but the id columns the user gave (``household_id``, ``person_id``).
"""

import tempfile
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
import pytest
from fuzzing import assert_clean_error, fuzz, ids_written, looks_like_id, plausible
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gongfu_rules import GongfuError
from gongfu_rules.batch import run_batch
from gongfu_rules.evaluate import default_standards

STD = default_standards()
#: The columns a fuzzed caseload may carry: identity, facts that reach amounts (orphans,
#: 特困, 低保), and the money and count columns whose huge values once aborted a batch.
FIELDS = ["id_number", "birth_date", "sex", "hukou_region", "residence_region", "orphan",
          "child_care_arrangement", "disability_grade", "disability_certificate", "tekun",
          "unemployment_insured_months", "household.tekun_deaths",
          "household.per_capita_monthly_income", "household.dibao", "household.region"]
#: Columns the user gives to link rows: kept as written in the results (ID-like or not).
KEPT = {"household_id", "person_id"}
junk_cells = st.one_of(
    st.sampled_from(["", " ", "2025-02-30", "0000-01-01", "99999-01-01", "1e40", "1e13",
                     "10000000000000", "-5", "-0.01", "NaN", "inf", "1e999", "是", "否", "x",
                     "１２", "3.5", "2025/08/01"]),
    ids_written, st.text(max_size=8))


def _cell(field: str) -> st.SearchStrategy:
    return st.one_of(plausible(field).map(str), plausible(field).map(str), junk_cells,
                     st.none())


ids = st.one_of(st.sampled_from(["h1", "h2", "户3", ""]), ids_written)


@st.composite
def caseloads(draw) -> pl.DataFrame:
    """Households of 1-4 members on consecutive rows (a household id now and then reused
    further down: a scattered household), every cell text."""
    columns = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=8))
    with_household = draw(st.booleans())
    rows: list[dict[str, str | None]] = []
    for _ in range(draw(st.integers(0, 5) | st.integers(1, 5))):
        household = draw(ids)
        for _ in range(draw(st.integers(1, 4))):
            row = {f: draw(_cell(f)) for f in columns}
            row["person_id"] = draw(st.one_of(ids, st.none()))
            if with_household:
                row["household_id"] = household
            rows.append(row)
    names = [*(["household_id"] if with_household else []), "person_id", *columns]
    extra = draw(st.one_of(st.none(), st.none(), st.none(), ids_written,
                           st.text(min_size=1, max_size=6)))
    if extra is not None and extra not in names:  # a column no profile has (a stray ID number)
        names.append(extra)
        for row in rows:
            row[extra] = draw(st.one_of(st.none(), ids_written))
    return pl.DataFrame(rows, schema={n: pl.String for n in names}, orient="row")


def _typed(frame: pl.DataFrame, draw) -> pl.DataFrame:
    """Some Parquet columns typed as a register's export types them: huge counts as Int64,
    incomes as floats (1e40, NaN), a fact as a list of texts (an ID number inside)."""
    values = st.one_of(st.none(), st.integers(-5, 50), st.just(10**13), st.just(2**62))
    if "household.tekun_deaths" in frame.columns and draw(st.booleans()):
        frame = frame.with_columns(pl.Series("household.tekun_deaths",
                                             [draw(values) for _ in range(frame.height)],
                                             dtype=pl.Int64))
    income = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from([1e40, 1e13, -1.0, 1234.5]))
    if "household.per_capita_monthly_income" in frame.columns and draw(st.booleans()):
        frame = frame.with_columns(pl.Series("household.per_capita_monthly_income",
                                             [draw(income) for _ in range(frame.height)],
                                             dtype=pl.Float64))
    listed = [c for c in ("orphan", "tekun", "sex") if c in frame.columns]
    if listed and draw(st.booleans()):
        cells = st.one_of(st.none(), st.lists(st.one_of(ids_written, st.sampled_from(["是"])),
                                              max_size=2))
        frame = frame.with_columns(pl.Series(listed[0], [draw(cells) for _ in range(frame.height)],
                                             dtype=pl.List(pl.String)))
    return frame


@st.composite
def files(draw) -> tuple[str, pl.DataFrame]:
    frame = draw(caseloads())
    fmt = draw(st.sampled_from(["csv", "parquet"]))
    return fmt, _typed(frame, draw) if fmt == "parquet" else frame


def _run(path: Path, out: Path, **options) -> dict[str, bytes]:
    report = run_batch(path, out, standards=STD, progress=False, **options)
    assert not any(looks_like_id(h) for h in report.ignored_columns)  # the command prints them
    return {p.name.removeprefix(out.stem): p.read_bytes()
            for p in (report.output, report.errors, report.summary)}


def _text(frame: pl.DataFrame, skip: set[str] = set()) -> list[str]:
    return [str(v) for c in frame.columns if c not in skip
            for v in frame.get_column(c).cast(pl.String).to_list() if v is not None]


@settings(fuzz(40), deadline=timedelta(seconds=20))  # a hang is a failure too
@given(file=files(), when=st.sampled_from([{"on": date(2025, 8, 1)}, {"on": date(2024, 3, 1)},
                                            {"period": "2024-02"}]),
       chunk_rows=st.integers(1, 7), ignore=st.booleans())
def test_a_batch_accounts_for_every_row_and_writes_no_id_number(file, when, chunk_rows, ignore):
    fmt, frame = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"caseload.{fmt}"
        frame.write_csv(path) if fmt == "csv" else frame.write_parquet(path)
        options = dict(**when, chunk_rows=chunk_rows, ignore_extra_columns=ignore)
        try:
            first = _run(path, Path(tmp) / "a.csv", **options)
        except GongfuError as e:
            assert_clean_error(e)
            event(f"{fmt}: refused, {e.code}")
            with pytest.raises(GongfuError) as again:
                _run(path, Path(tmp) / "b.csv", **options)
            assert again.value.to_dicts() == e.to_dicts()
            return
        assert _run(path, Path(tmp) / "b.csv", **options) == first  # determinism
        results = pl.read_csv(Path(tmp) / "a.csv", infer_schema=False)
        errors = pl.read_csv(Path(tmp) / "a.errors.csv", infer_schema=False)
        summary = pl.read_csv(Path(tmp) / "a.summary.csv", infer_schema=False)

    evaluated = results.get_column("row").cast(pl.Int64).to_list()
    set_aside = set(errors.get_column("row").cast(pl.Int64).to_list())
    assert len(evaluated) == len(set(evaluated)), "a row written twice"
    assert not set_aside & set(evaluated), "a row both evaluated and set aside"
    assert set(evaluated) | set_aside == set(range(1, frame.height + 1)), "a row lost"
    event(f"{fmt}: rows evaluated {bool(evaluated)}, set aside {bool(set_aside)}")

    money = [c for c in results.columns if c.endswith((".amount", ".annual_amount", ".total"))]
    money += [c for c in summary.columns if c.endswith("_total")]
    for column in money:
        source = results if column in results.columns else summary
        for value in source.get_column(column).drop_nulls().to_list():
            try:
                amount = Decimal(value)
            except InvalidOperation:
                pytest.fail(f"{column}: {value!r} is not a number")
            assert amount.is_finite() and amount >= 0, (column, value)

    for text in _text(results, KEPT) + _text(errors) + _text(summary):
        assert not looks_like_id(text), text
