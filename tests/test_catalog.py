"""The catalog and the format's newer keys: below_floor, date_source, set_locally, weak sources."""

from pathlib import Path

import pytest
import yaml

from conftest import SOURCE, variant, write
from gongfu_rules import evaluate, load_standards
from gongfu_rules.cli import main
from gongfu_rules.coverage import STATES, coverage, coverage_markdown, state
from gongfu_rules.errors import StandardsError

ROOT = Path(__file__).resolve().parent.parent
KUNMING_OLD = {"birth_date": "1940-01-01", "hukou_region": "530102"}


def _with_local(tmp_path, value, **flags):
    s = variant()
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"] = {"value": value, "source": "doc",
                                                               **flags}
    return load_standards(write(tmp_path, s))


def test_a_local_value_below_the_floor_does_not_load_unless_marked(tmp_path):
    with pytest.raises(StandardsError, match="below_floor: true"):
        _with_local(tmp_path, 90)


def test_a_value_marked_below_floor_loads_is_paid_as_published_and_flagged(tmp_path):
    std = _with_local(tmp_path, 90, below_floor=True)
    r = evaluate(KUNMING_OLD, on="2024-06-01", standards=std).get("demo_allowance")
    assert r.amount == 90 and r.parameters[0].below_floor
    assert "低于上级不低于标准100" in r.explanation.zh


def test_below_floor_on_a_value_that_is_not_below_is_an_error(tmp_path):
    with pytest.raises(StandardsError, match="not below any floor"):
        _with_local(tmp_path, 130, below_floor=True)


def test_a_weak_date_source_makes_the_result_weak_and_says_so(tmp_path):
    weak = {**SOURCE, "reliability": "unverified", "quote": "2024年1月起执行"}
    std = _with_local(tmp_path, 120, date_source=weak)
    r = evaluate(KUNMING_OLD, on="2024-06-01", standards=std).get("demo_allowance")
    assert r.reliability == "unverified" and r.to_dict()["weak_source"] is True
    assert "未经核实" in r.explanation.zh


def test_set_locally_results_say_the_amount_is_set_locally(tmp_path):
    s = variant()
    s["versions"]["2024-01-01"] = {**s["versions"]["2024-01-01"], "set_locally": True,
                                   "amount_note": {"zh": "由县级人民政府确定", "en": "set by the county"}}
    del s["versions"]["2024-01-01"]["amount"]
    r = evaluate(KUNMING_OLD, on="2024-06-01", standards=load_standards(write(tmp_path, s))) \
        .get("demo_allowance")
    assert r.to_dict()["set_locally"] is True and "金额由当地确定" in r.explanation.zh


def test_set_locally_with_an_amount_is_an_error(tmp_path):
    s = variant()
    s["versions"]["2024-01-01"]["set_locally"] = True
    with pytest.raises(StandardsError, match="set_locally"):
        load_standards(write(tmp_path, s))


def test_every_catalog_entry_is_decided_and_points_to_a_real_standard():
    std = load_standards()
    assert len(std.catalog) == 296
    for entry_id, entry in std.catalog.items():
        assert entry.standard in std.standards or entry.not_encoded, entry_id
        assert (entry.not_encoded or "").strip().lower() != "undecided", entry_id


def test_coverage_counts_add_up_to_the_catalog():
    std = load_standards()
    rows = coverage(std, "domain")
    assert sum(r["total"] for r in rows) == len(std.catalog)
    assert all(r["total"] == sum(r[s] for s in STATES) for r in rows)
    encoded = [e for e in std.catalog.values() if e.standard is not None]
    assert all(state(e, std) in ("amount", "screening") for e in encoded)


def test_docs_coverage_page_is_the_generated_one():
    text = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert text == coverage_markdown(load_standards())


def test_coverage_command_prints_the_totals(capsys):
    assert main(["standards", "coverage"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].split()[-1] == "296"


def test_the_catalog_documents_are_the_five_seeds():
    docs = yaml.safe_load((ROOT / "standards" / "catalog" / "documents.yaml").read_text("utf-8"))
    assert sorted(docs["documents"]) == ["000", "001", "002", "003", "004"]
