"""Start-up costs of a small batch: a file of a few rows is evaluated in one chunk, literals
and a one-chunk Parquet result are made without importing numpy or pyarrow, the fact registry
reads the same with libyaml's parser, and a loaded standards set is kept between runs: used
only for the same files and the same code, evaluating as the set built from the files."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from gongfu_rules import batch, bundled_standards_dir, evaluate, facts, load_standards
from gongfu_rules.batch import evaluate_table, household_chunks, run_batch
from gongfu_rules.load import cache
from gongfu_rules.load.build import Builder
from gongfu_rules.table import QUANTITY, _quantity

ROOT = Path(__file__).resolve().parent.parent
CASELOAD = ROOT / "examples" / "caseload.csv"


def _frames(*households: str) -> list[pl.DataFrame]:
    """One frame per string, a row per letter: the letter is the row's household."""
    return [pl.DataFrame({"household_id": list(h)}) for h in households]


def _households(chunks) -> list[str]:
    return ["".join(c.get_column("household_id")) for c in chunks]


# --- chunks ------------------------------------------------------------------------------------
def test_the_last_chunk_is_given_whole_not_cut_before_its_last_household():
    assert _households(household_chunks(iter(_frames("aabbb")), "household_id")) == ["aabbb"]


def test_a_household_across_two_chunks_goes_whole_into_the_second():
    chunks = list(household_chunks(iter(_frames("aabb", "bcc", "cd")), "household_id"))
    assert _households(chunks) == ["aa", "bbb", "cccd"]


def test_a_household_filling_every_chunk_grows_until_the_file_ends():
    assert _households(household_chunks(iter(_frames("aa", "aa", "a")), "household_id")) == \
        ["aaaaa"]


def test_a_small_caseload_is_evaluated_in_one_chunk(tmp_path, monkeypatch):
    sizes: list[int] = []
    real = batch._evaluate

    def counted(typed, *args, **kwargs):
        if threading.current_thread() is caller:  # not a batch job another test left running
            sizes.append(typed.height)
        return real(typed, *args, **kwargs)
    caller = threading.current_thread()
    monkeypatch.setattr(batch, "_evaluate", counted)
    report = run_batch(CASELOAD, tmp_path / "out.csv", on="2025-08-01", progress=False)
    assert sizes == [report.evaluated]
    assert pl.read_csv(CASELOAD).get_column("家庭编号").n_unique() > 1  # several households


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1000])
def test_the_results_do_not_depend_on_the_chunk_size(tmp_path, chunk_rows):
    whole = run_batch(CASELOAD, tmp_path / "whole.csv", on="2025-08-01", progress=False)
    cut = run_batch(CASELOAD, tmp_path / f"cut{chunk_rows}.csv", on="2025-08-01",
                    chunk_rows=chunk_rows, progress=False)
    assert pl.read_csv(cut.output, infer_schema=False).equals(
        pl.read_csv(whole.output, infer_schema=False))


# --- literals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [Decimal("2"), Decimal("2.5"), Decimal("0.000001"),
                                   Decimal("1234567.125")])
def test_a_quantity_literal_is_the_exact_decimal(value):
    got = pl.select(_quantity(value).alias("q")).get_column("q")
    assert (got.dtype, got.item()) == (QUANTITY, value)


def test_no_quantity_is_a_null_of_the_quantity_type():
    got = pl.select(_quantity(None).alias("q")).get_column("q")
    assert (got.dtype, got.item()) == (QUANTITY, None)


def _imported_by_a_small_batch(output: Path, module: str) -> bool:
    """Whether a fresh process running a batch of the example caseload imports ``module``."""
    code = ("import sys; from gongfu_rules.batch import run_batch; "
            f"run_batch({str(CASELOAD)!r}, {str(output)!r}, on='2025-08-01', progress=False); "
            f"print({module!r} in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_a_small_batch_does_not_import_numpy_to_evaluate(tmp_path):
    # numpy's import costs a tenth of a second (when installed: the bench extra brings it).
    assert not _imported_by_a_small_batch(tmp_path / "out.csv", "numpy")


# --- the fact registry ---------------------------------------------------------------------------
def test_the_fact_registry_reads_the_same_with_the_python_yaml_parser(monkeypatch):
    fast = facts.fact_specs()
    monkeypatch.setattr(facts, "_YAML_LOADER", yaml.SafeLoader)
    facts.fact_specs.cache_clear()
    try:
        assert facts.fact_specs() == fast
    finally:
        facts.fact_specs.cache_clear()


# --- writing Parquet ---------------------------------------------------------------------------
def test_a_parquet_result_of_one_chunk_reads_as_one_of_many_chunks(tmp_path):
    one = run_batch(CASELOAD, tmp_path / "one.parquet", on="2025-08-01", progress=False)
    many = run_batch(CASELOAD, tmp_path / "many.parquet", on="2025-08-01", chunk_rows=2,
                     progress=False)
    assert pl.read_parquet(one.output).equals(pl.read_parquet(many.output))
    assert pl.read_parquet(one.output).schema == pl.read_parquet(many.output).schema
    import pyarrow.parquet as pq
    assert pq.read_schema(one.output).remove_metadata().equals(
        pq.read_schema(many.output).remove_metadata())


def test_a_small_parquet_batch_does_not_import_pyarrow(tmp_path):
    assert not _imported_by_a_small_batch(tmp_path / "out.parquet", "pyarrow")
    assert pl.read_parquet(tmp_path / "out.parquet").height > 0


# --- the kept standards set ----------------------------------------------------------------------
@pytest.fixture
def kept(tmp_path, monkeypatch):
    """A cache folder of its own, and a count of the sets built from files."""
    monkeypatch.setenv("GONGFU_RULES_CACHE", str(tmp_path / "cache"))
    built: list[int] = []
    real = Builder.standards

    def counted(self, *args, **kwargs):
        built.append(1)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Builder, "standards", counted)
    return built


def _sets(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "cache").glob("set-*.pickle"))


def test_a_second_load_is_the_kept_set_not_built_again(kept, tmp_path):
    first = load_standards()
    second = load_standards()
    assert len(kept) == 1 and len(_sets(tmp_path)) == 1
    assert (second.digest, list(second.standards)) == (first.digest, list(first.standards))


def test_the_kept_set_evaluates_as_the_set_built_from_files(kept):
    built, kept_set = load_standards(), load_standards()
    assert len(kept) == 1
    profile = json.loads((ROOT / "examples" / "kunming_family.json").read_text("utf-8"))
    for on in ("2024-03-01", "2025-08-01"):
        assert evaluate(profile, on, standards=kept_set).to_dict() == \
            evaluate(profile, on, standards=built).to_dict()
    assert evaluate_table(CASELOAD, on="2025-08-01", detail="full", standards=kept_set).equals(
        evaluate_table(CASELOAD, on="2025-08-01", detail="full", standards=built))


def test_the_kept_set_holds_the_same_rules_values_and_typed_expressions(kept):
    built, kept_set = load_standards(), load_standards()
    assert len(kept) == 1
    for sid, s in built.standards.items():
        other = kept_set.standards[sid]
        assert other.parameters == s.parameters and other.sources == s.sources
        for rule, again in zip(s.rules, other.rules, strict=True):
            nodes = [c.node for c in rule.conditions] + [x[1] for x in (rule.amount,
                                                                         rule.per_year) if x]
            kept_nodes = [c.node for c in again.conditions] + [
                x[1] for x in (again.amount, again.per_year) if x]
            assert kept_nodes == nodes  # (a node's type is not compared by ==)
            assert [repr(n.type) for n in kept_nodes] == [repr(n.type) for n in nodes]
    assert kept_set.parameters == built.parameters


def test_the_kept_set_takes_the_folder_it_is_loaded_from(kept, tmp_path):
    copy = tmp_path / "standards"
    shutil.copytree(bundled_standards_dir(), copy)
    load_standards()
    assert load_standards(copy).root == str(copy)
    assert len(kept) == 1  # the same files: the same set


def test_a_changed_standards_file_is_a_new_set(kept, tmp_path):
    copy = tmp_path / "standards"
    shutil.copytree(bundled_standards_dir(), copy)
    before = load_standards(copy)
    some = sorted((copy / "parameters").glob("*.yaml"))[0]
    some.write_text(some.read_text("utf-8") + "\n# edited\n", encoding="utf-8")
    after = load_standards(copy)
    assert after.digest != before.digest and len(kept) == 2


def test_a_set_kept_by_other_code_is_not_used(kept, monkeypatch):
    load_standards()
    monkeypatch.setattr(cache, "code_digest", lambda: "another version")
    load_standards()
    assert len(kept) == 2


def test_a_corrupt_kept_set_is_ignored_and_replaced(kept, tmp_path):
    digest = load_standards().digest
    (path,) = _sets(tmp_path)
    for content in (b"\x80\x05 not a pickle", pickle.dumps({"digest": digest, "set": "x"})):
        path.write_bytes(content)
        assert cache.load_set(digest) is None
        assert load_standards().digest == digest
        assert cache.load_set(digest) is not None  # written again, whole


# --- lazy imports ------------------------------------------------------------------------------
def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}; import sys; print(*sorted(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_command_line_does_not_import_the_monitor_or_reforms_until_asked():
    loaded = _modules_after("from gongfu_rules.cli import _parser; _parser()")
    assert {"gongfu_rules.monitor.cli", "gongfu_rules.reform.cli"} <= loaded
    assert not {"gongfu_rules.monitor.core", "gongfu_rules.monitor.events",
                "gongfu_rules.reform.apply", "gongfu_rules.reform.schema"} & loaded


@pytest.mark.parametrize("package, names", [
    ("gongfu_rules.monitor", ["Monitor", "Report", "Event", "EVENT_TYPES", "MonitorError",
                              "parse_event"]),
    ("gongfu_rules.reform", ["Applied", "Reform", "ReformError", "affected_by", "apply_reform",
                             "parse_reform", "read_reform"]),
])
def test_every_public_name_of_a_lazy_package_still_imports(package, names):
    loaded = _modules_after(f"from {package} import {', '.join(names)}")
    assert package in loaded
    module = __import__(package, fromlist=names)
    assert sorted(module.__all__) == sorted(names)
    assert all(getattr(module, name) is not None for name in names)


def test_a_name_a_lazy_package_does_not_have_is_an_attribute_error():
    import gongfu_rules.monitor
    import gongfu_rules.reform
    for package in (gongfu_rules.monitor, gongfu_rules.reform):
        with pytest.raises(AttributeError):
            package.not_a_name  # noqa: B018


# --- the columns of a file with no rows ----------------------------------------------------------
def _header(path: Path) -> list[str]:
    return pl.read_csv(path, n_rows=0, infer_schema=False).columns


@pytest.mark.parametrize("headers", ["en", "zh"])
@pytest.mark.parametrize("layout, detail", [("wide", "narrow"), ("wide", "full"),
                                            ("long", "narrow")])
def test_a_file_of_no_rows_has_the_columns_of_one_with_rows(tmp_path, headers, layout, detail):
    empty = tmp_path / "empty.csv"
    empty.write_text(CASELOAD.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    options = {"on": "2025-08-01", "headers": headers, "layout": layout, "detail": detail,
               "progress": False}
    rows = run_batch(CASELOAD, tmp_path / "rows.csv", **options)
    none = run_batch(empty, tmp_path / "none.csv", **options)
    assert none.rows == 0 and rows.rows > 0
    assert _header(none.output) == _header(rows.output)


@pytest.mark.parametrize("options", [{}, {"detail": "full"}, {"layout": "long"},
                                     {"headers": "zh"}, {"layout": "long", "headers": "zh"},
                                     {"only": ["orphan_basic_living"]}])
def test_a_parquet_file_of_no_rows_has_the_column_types_of_one_with_rows(tmp_path, options):
    empty = tmp_path / "empty.csv"
    empty.write_text(CASELOAD.read_text("utf-8").splitlines()[0] + "\n", encoding="utf-8")
    rows = run_batch(CASELOAD, tmp_path / "rows.parquet", on="2025-08-01", progress=False,
                     **options)
    none = run_batch(empty, tmp_path / "none.parquet", on="2025-08-01", progress=False,
                     **options)
    assert pl.read_parquet(none.output).schema == pl.read_parquet(rows.output).schema
    assert pl.read_parquet(none.output).height == 0


def test_a_file_with_rows_takes_its_columns_from_its_rows(tmp_path, monkeypatch):
    def unneeded(*args, **kwargs):
        raise AssertionError("worked out the columns of a file with no rows")
    monkeypatch.setattr(batch, "_empty_schema", unneeded)
    report = run_batch(CASELOAD, tmp_path / "out.csv", on="2025-08-01", headers="zh",
                       progress=False)
    assert "孤儿基本生活费.金额（元/月）" in _header(report.output)
