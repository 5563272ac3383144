"""The gongfu command, as a user runs it."""

import json

from gongfu_rules.cli import main

EXAMPLE = "examples/kunming_family.json"


def test_evaluate_prints_a_chinese_table(capsys):
    assert main(["evaluate", EXAMPLE, "--on", "2025-03-01"]) == 0
    out = capsys.readouterr().out
    assert "孤儿基本生活费 — 每月1374元（全年16488元）" in out and "成员 niece" in out


def test_evaluate_json_is_the_documented_schema(capsys):
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "gongfu-rules/evaluation-compact/1"
    assert [p["id"] for p in data["persons"]] == ["grandmother", "father", "niece"]


def test_evaluate_json_in_full_detail_is_the_service_schema(capsys):
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01", "--json", "--detail", "full"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "gongfu-rules/evaluation/1"


def test_evaluate_over_a_period_in_english(capsys):
    assert main(["evaluate", EXAMPLE, "--period", "2025", "--lang", "en"]) == 0
    assert "yuan over the period" in capsys.readouterr().out


def test_a_bad_profile_exits_2_naming_the_field(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"birth_date": "2015-01-01", "hukou_region": "999999"}))
    assert main(["evaluate", str(bad), "--on", "2025-01-01"]) == 2
    err = capsys.readouterr().err
    assert "hukou_region" in err and "region_unknown" in err


def test_a_wrong_id_check_digit_never_echoes_the_number(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id_number": "530102198703070013"}))
    assert main(["evaluate", str(bad), "--on", "2025-01-01"]) == 2
    err = capsys.readouterr().err
    assert "id_number_check_digit" in err and "530102198703070013" not in err


def test_invalid_json_is_reported(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["evaluate", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_standards_list_and_show(capsys):
    assert main(["standards", "list"]) == 0
    assert "orphan_basic_living" in capsys.readouterr().out
    assert main(["standards", "show", "orphan_basic_living", "--history"]) == 0
    out = capsys.readouterr().out
    assert "昆明市 (5301)" in out and "1980" in out


def test_show_an_unknown_standard_is_an_input_error(capsys):
    assert main(["standards", "show", "no_such_thing"]) == 2
    assert "standard_unknown" in capsys.readouterr().err


def test_validate_the_bundled_standards_is_clean(capsys):
    assert main(["validate"]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_validate_a_broken_directory_exits_1(tmp_path, capsys):
    (tmp_path / "gongfu.yaml").write_text("name: x\nversion: '1'\n")
    (tmp_path / "broken.yaml").write_text("id: broken\nkind: cash\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "missing" in err


def test_show_lists_the_catalog_entries_a_standard_encodes(capsys):
    assert main(["standards", "show", "orphan_basic_living"]) == 0
    out = capsys.readouterr().out
    assert "catalog entries it encodes" in out and "orphan_basic_living_allowance" in out
