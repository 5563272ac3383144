"""Loading a standards directory: every problem is reported with its file and key."""

from datetime import date

import pytest
import yaml
from conftest import STANDARD, variant, write

from gongfu_rules import StandardsError, evaluate, load_standards



def errors_of(tmp_path, standard=None, raw=None):
    with pytest.raises(StandardsError) as e:
        load_standards(write(tmp_path, standard, raw))
    return e.value.details


def test_a_valid_set_loads_and_evaluates(tmp_path):
    std = load_standards(write(tmp_path))
    r = evaluate({"birth_date": "1950-01-01", "hukou_region": "530102"}, on="2025-01-01",
                 standards=std).get("demo_allowance")
    assert (r.status, r.amount, r.value_region) == ("eligible", 120, "5301")


def test_unknown_key_names_file_and_key(tmp_path):
    [d] = errors_of(tmp_path, variant(amout="p.rate"))
    assert d.source == "demo_allowance.yaml" and d.loc == ("amout",) and "unknown key" in d.msg


def test_a_missing_citation_does_not_load(tmp_path):
    s = variant()
    del s["parameters"]["rate"]["values"]["53"]["2024-01-01"]["source"]
    [d] = errors_of(tmp_path, s)
    assert d.loc[-1] == "source" and "missing" in d.msg


def test_an_unknown_source_reference_is_an_error(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["53"]["2024-01-01"]["source"] = "nowhere"
    [d] = errors_of(tmp_path, s)
    assert d.code == "source_unknown" and "nowhere" in d.msg


def test_a_local_value_below_the_floor_is_an_error(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"]["value"] = 90
    [d] = errors_of(tmp_path, s)
    assert d.code == "floor_violated" and "昆明市" in d.msg and "不低于" in d.msg


@pytest.mark.parametrize("end, code", [("2025-06-01", "version_overlap"),
                                       ("2024-06-01", "version_gap")])
def test_versions_that_overlap_or_leave_a_gap_are_errors(tmp_path, end, code):
    s = variant()
    s["parameters"]["rate"]["values"]["53"]["2024-01-01"]["end"] = end
    s["parameters"]["rate"]["values"]["53"]["2025-01-01"] = {"value": 110, "source": "doc", "floor": True}
    codes = {d.code for d in errors_of(tmp_path, s)}
    assert code in codes


def test_a_duplicate_date_key_is_an_error(tmp_path):
    raw = yaml.safe_dump(STANDARD, allow_unicode=True).replace(
        "\nsources:\n", "\nsources:\n  doc: {document: x, quote: y, reliability: official}\n", 1)
    [d] = errors_of(tmp_path, raw=raw)
    assert d.code == "yaml_invalid" and "duplicate key" in d.msg


def test_a_bad_expression_names_file_field_and_column(tmp_path):
    s = variant()
    s["versions"]["2024-01-01"]["eligibility"][0]["test"] = "age >= 60 and sex == 'mael'"
    [d] = errors_of(tmp_path, s)
    assert d.source == "demo_allowance.yaml"
    assert d.loc == ("versions", "2024-01-01", "eligibility", 0, "test")
    assert "column 22" in d.msg


def test_an_unknown_region_code_is_an_error(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["539999"] = {"2024-01-01": {"value": 130, "source": "doc"}}
    [d] = errors_of(tmp_path, s)
    assert d.code == "region_unknown" and "539999" in d.msg


def test_all_errors_are_reported_together(tmp_path):
    s = variant(amout="x", scope="99")
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"]["value"] = 90
    details = errors_of(tmp_path, s)
    assert len(details) >= 1  # schema errors stop that file; other files still report
    s = variant(scope="99")
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"]["value"] = 90
    codes = {d.code for d in errors_of(tmp_path, s)}
    assert {"region_unknown", "floor_violated"} <= codes


def test_reading_on_as_a_key_is_not_a_boolean(tmp_path):
    s = variant(tests=[{"name": "a case", "on": "2025-01-01", "profile": {"birth_date": "1950-01-01"},
                        "expect": {"status": "undetermined", "missing": ["hukou_region"]}}])
    raw = yaml.safe_dump(s, allow_unicode=True).replace("'on'", "on")
    std = load_standards(write(tmp_path, raw=raw))
    assert std["demo_allowance"].tests[0].on == date(2025, 1, 1)


def test_two_sets_coexist_without_global_state(tmp_path):
    (tmp_path / "a").mkdir()
    a = load_standards(write(tmp_path / "a"))
    s = variant()
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"]["value"] = 150
    (tmp_path / "b").mkdir()
    b = load_standards(write(tmp_path / "b", s))
    profile = {"birth_date": "1950-01-01", "hukou_region": "530102"}
    assert evaluate(profile, on="2025-01-01", standards=a).get("demo_allowance").amount == 120
    assert evaluate(profile, on="2025-01-01", standards=b).get("demo_allowance").amount == 150
    assert a.digest != b.digest


def test_a_value_marked_possibly_outdated_must_repeat_the_previous_one(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["5301"]["2025-01-01"] = {
        "value": 130, "source": "doc", "possibly_outdated": True}
    [d] = errors_of(tmp_path, s)
    assert d.code == "outdated_not_carried" and d.loc[-1] == "2025-01-01"


def test_a_carried_value_gives_its_amount_flagged_possibly_outdated(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["53"]["2025-01-01"] = {
        "value": 110, "source": "doc", "floor": True}
    s["parameters"]["rate"]["values"]["5301"]["2025-01-01"] = {
        "value": 120, "source": "doc", "possibly_outdated": True}
    std = load_standards(write(tmp_path, s))
    person = {"birth_date": "1950-01-01", "hukou_region": "530102"}
    before = evaluate(person, on="2024-12-31", standards=std).get("demo_allowance")
    after = evaluate(person, on="2025-01-01", standards=std).get("demo_allowance")
    assert (before.amount, before.amount_possibly_outdated) == (120, False)
    assert (after.amount, after.amount_possibly_outdated) == (120, True)


def test_an_unknown_local_value_under_a_floor_has_the_floor_as_lower_bound(tmp_path):
    s = variant()
    s["parameters"]["rate"]["values"]["5301"]["2024-01-01"] = {
        "value": None, "source": "doc", "note": "raised, amount not published"}
    std = load_standards(write(tmp_path, s))
    r = evaluate({"birth_date": "1950-01-01", "hukou_region": "530102"}, on="2025-01-01",
                 standards=std).get("demo_allowance")
    assert (r.status, r.amount, r.amount_at_least) == ("eligible", None, 100)


def test_already_in_force_before_the_first_version_is_undetermined_not_absent(tmp_path):
    s = variant(already_in_force={"source": "doc", "note": {"zh": "现阶段执行", "en": "current"}})
    std = load_standards(write(tmp_path, s))
    r = evaluate({"birth_date": "1950-01-01", "hukou_region": "530102"}, on="2023-12-31",
                 standards=std).get("demo_allowance")
    assert (r.status, r.reason, r.missing) == ("undetermined", "earlier_rule_unknown", ())


def test_a_known_earlier_start_must_be_cited_and_before_the_first_version(tmp_path):
    late = variant(already_in_force={"source": "doc", "since": "2024-06-01", "since_source": "doc",
                                     "note": {"zh": "现阶段执行", "en": "current"}})
    assert [d.code for d in errors_of(tmp_path, late)] == ["already_in_force_since"]
    uncited = variant(already_in_force={"source": "doc", "since": "2020-01-01",
                                        "note": {"zh": "现阶段执行", "en": "current"}})
    assert "since_source" in errors_of(tmp_path, uncited)[0].msg


def test_before_a_known_earlier_start_the_standard_is_not_in_force(tmp_path):
    s = variant(already_in_force={"source": "doc", "since": "2020-01-01", "since_source": "doc",
                                  "note": {"zh": "现阶段执行", "en": "current"}})
    std = load_standards(write(tmp_path, s))
    person = {"birth_date": "1950-01-01", "hukou_region": "530102"}
    assert evaluate(person, on="2019-12-31", standards=std).get("demo_allowance").status \
        == "not_in_force"
    assert evaluate(person, on="2020-01-01", standards=std).get("demo_allowance").reason \
        == "earlier_rule_unknown"


def _table_gaining_a_row(second_version_from: str) -> dict:
    """The demo allowance as a table that gains a ``higher`` row on 2025-01-01, and a second
    rule version, from ``second_version_from``, that reads it."""
    s = variant()
    s["parameters"]["rate"] = {
        "description": {"zh": "标准", "en": "rate"}, "unit": "元/人·月",
        "keys": {"basic": {"zh": "基本", "en": "basic"}, "higher": {"zh": "提高", "en": "higher"}},
        "values": {"53": {"2024-01-01": {"value": {"basic": 100}, "source": "doc"},
                          "2025-01-01": {"value": {"basic": 100, "higher": 150},
                                         "source": "doc"}}}}
    first = {**s["versions"]["2024-01-01"], "amount": "p.rate['basic']"}
    s["versions"] = {"2024-01-01": first, second_version_from: {
        **first, "amount": "p.rate['higher']",
        "change": {"zh": "提高", "en": "raised"}}}
    return s


def test_a_rule_version_may_read_a_table_row_the_tables_in_force_while_it_is_all_have(tmp_path):
    std = load_standards(write(tmp_path, _table_gaining_a_row("2025-01-01")))
    r = evaluate({"birth_date": "1950-01-01", "hukou_region": "530102"}, on="2025-06-01",
                 standards=std).get("demo_allowance")
    assert (r.status, r.amount) == ("eligible", 150)


def test_a_rule_version_reading_a_row_an_earlier_table_lacks_is_an_error(tmp_path):
    [d] = errors_of(tmp_path, _table_gaining_a_row("2024-07-01"))
    assert d.code == "expression_invalid" and "higher" in d.msg
