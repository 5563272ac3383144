"""Faults on the `gongfu evaluate` path: every bad file, option or failure is one line of error
and the documented exit code (docs/limits-and-errors.md) — never a traceback unless --debug."""

import io
import json
import subprocess
import sys

import pytest

import gongfu_rules.cli as cli
from gongfu_rules.cli import main
from gongfu_rules.profile import id_number_check_character

PERSON = {"birth_date": "1950-01-01", "hukou_region": "530102"}
FIRST17 = "53010219900101123"
ID = FIRST17 + id_number_check_character(FIRST17)


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def profile_file(tmp_path, content: bytes | str):
    path = tmp_path / "profile.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


@pytest.mark.parametrize("content, code", [
    ('{"birth_date": "1950-01-01"}'.encode("utf-16"), "file_encoding"),
    ('{"name": "张三"}'.encode("gb18030"), "file_encoding"),
    (b'{"x": ' + b"1" * 5000 + b"}", "json_invalid"),
    (b'{"x": ' + b"1." + b"1" * 5000 + b"}", "json_invalid"),
    (b'{"per_capita_monthly_income": NaN}', "json_invalid"),
    (b"[" * 5000 + b"]" * 5000, "profile_too_deep"),
    (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "profile_too_deep"),
    (b"", "json_invalid"),
], ids=["utf16", "gb18030", "long-int", "long-float", "nan", "deep-list", "deep-object", "empty"])
def test_a_bad_profile_file_exits_2_with_its_code(tmp_path, capsys, content, code):
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, content), "--on", "2025-01-01")
    assert exit_code == 2 and f"[{code}]" in err


@pytest.mark.parametrize("where", ["missing.json", "."], ids=["missing", "directory"])
def test_an_unreadable_profile_path_exits_2(tmp_path, capsys, where):
    exit_code, err = run(capsys, "evaluate", str(tmp_path / where), "--on", "2025-01-01")
    assert exit_code == 2 and "[file_unreadable]" in err


def test_a_profile_without_read_permission_exits_2(tmp_path, capsys, monkeypatch):
    # Tests may run as root, who reads any file: the denial is injected where the file opens.
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(cli, "open", denied, raising=False)
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)),
                         "--on", "2025-01-01")
    assert exit_code == 2 and "[file_unreadable]" in err and "Permission denied" in err


def test_a_non_utf8_profile_on_stdin_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"x": "\xff"}')))
    exit_code, err = run(capsys, "evaluate", "-", "--on", "2025-01-01")
    assert exit_code == 2 and "[file_encoding]" in err


def test_a_missing_standards_directory_exits_1(tmp_path, capsys):
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)),
                         "--on", "2025-01-01", "--standards", str(tmp_path / "nowhere"))
    assert exit_code == 1 and "[set_missing]" in err


@pytest.mark.parametrize("when", [["--period", "9999"], ["--period", "0000"],
                                  ["--on", "9999-12-31"], ["--on", "2025-02-30"]])
def test_an_unsupported_date_or_period_exits_2(tmp_path, capsys, when):
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)), *when)
    assert exit_code == 2 and ("period" in err or "date" in err)


def test_numbers_in_a_profile_file_are_read_exactly(tmp_path, capsys):
    household = {"region": "530102", "per_capita_monthly_income": 100.10, "members": [PERSON]}
    path = profile_file(tmp_path, json.dumps(household))
    assert cli._read_profile(path)["per_capita_monthly_income"] == cli.Decimal("100.10")


def test_a_profile_file_in_utf8_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = profile_file(tmp_path, b"\xef\xbb\xbf" + json.dumps(PERSON).encode())
    assert run(capsys, "evaluate", path, "--on", "2025-01-01")[0] == 0


def test_an_id_number_in_a_bad_profile_file_is_never_printed(tmp_path, capsys):
    path = profile_file(tmp_path, json.dumps({"members": [{"id": ID}, {"id": ID, "x": ID}]}))
    exit_code, err = run(capsys, "evaluate", path, "--on", "2025-01-01")
    assert exit_code == 2 and FIRST17[:15] not in err


def test_an_internal_error_exits_4_without_a_traceback(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("secret " + ID)
    monkeypatch.setattr(cli, "evaluate", broken)
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)),
                         "--on", "2025-01-01")
    assert exit_code == 4 and "internal error" in err and "--debug" in err and ID not in err


def test_debug_shows_the_internal_error(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")
    monkeypatch.setattr(cli, "evaluate", broken)
    with pytest.raises(KeyError):
        main(["--debug", "evaluate", profile_file(tmp_path, json.dumps(PERSON)), "--on", "2025-01-01"])


def test_a_failed_write_exits_2_naming_the_failure(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cli.terminal, "render", full)
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)),
                         "--on", "2025-01-01")
    assert exit_code == 2 and "[io_failed]" in err and "No space left" in err


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "evaluate", interrupted)
    exit_code, err = run(capsys, "evaluate", profile_file(tmp_path, json.dumps(PERSON)),
                         "--on", "2025-01-01")
    assert exit_code == 130 and "interrupted" in err


def test_the_installed_command_prints_no_traceback_for_a_non_utf8_file(tmp_path):
    path = profile_file(tmp_path, b'{"x": "\xff\xfe"}')
    done = subprocess.run([sys.executable, "-m", "gongfu_rules.cli", "evaluate", path,
                           "--on", "2025-01-01"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "file_encoding" in done.stderr and "profile.json" in done.stderr
