"""Fuzzing profiles through the Python API and the `gongfu evaluate` command.

Whatever the profile and the date: only a GongfuError escapes (never a bug's internal_error);
no amount is negative or NaN; the same input gives the same result or the same error; and no
error holds anything shaped like an ID number.
"""

import json
import tempfile
from pathlib import Path

import pytest
from fuzzing import (assert_clean_error, assert_sound_amounts, evaluation_times, fuzz,
                     looks_like_id, profiles)
from hypothesis import given
from hypothesis import strategies as st

import gongfu_rules.cli as cli
from gongfu_rules import GongfuError, evaluate
from gongfu_rules.evaluate import default_standards

STD = default_standards()


@fuzz(150)
@given(profile=profiles, when=evaluation_times)
def test_evaluate_answers_any_profile_with_a_result_or_a_clean_error(profile, when):
    try:
        result = evaluate(profile, standards=STD, **when)
    except GongfuError as e:
        assert_clean_error(e)
        with pytest.raises(GongfuError) as again:
            evaluate(profile, standards=STD, **when)
        assert again.value.to_dicts() == e.to_dicts()
        return
    assert_sound_amounts(result)
    assert result.to_dict() == evaluate(profile, standards=STD, **when).to_dict()
    json.loads(result.to_json(indent=None))


def _as_json(profile) -> bytes:
    return json.dumps(profile, default=str, ensure_ascii=False).encode()


profile_files = st.one_of(
    profiles.filter(lambda p: not _has_huge_int(p)).map(_as_json), st.binary(max_size=200),
    st.text(max_size=100).map(lambda t: t.encode("utf-8")),
    profiles.filter(lambda p: not _has_huge_int(p)).map(
        lambda p: json.dumps(p, default=str, ensure_ascii=False).encode("utf-16")))
options = st.one_of(
    st.dates().map(lambda d: ["--on", d.isoformat()]),
    st.sampled_from([["--on", "2025-08-01"], ["--period", "2025-07"], ["--period", "9999"],
                     ["--on", "2025-02-30"], ["--period", "0000"], ["--on", "x"]]),
    st.text(max_size=12).map(lambda t: ["--period", t]))


def _has_huge_int(value) -> bool:  # json.dumps cannot write a 5,000-digit int either
    if isinstance(value, int):
        return value.bit_length() > 10_000
    if isinstance(value, dict):
        return any(_has_huge_int(k) or _has_huge_int(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_huge_int(v) for v in value)
    return False


@fuzz(60)
@given(content=profile_files, when=options, fmt=st.sampled_from(["table", "json"]))
def test_the_evaluate_command_exits_0_or_2_with_no_traceback(capsys, content, when, fmt):
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        # The bundled set, loaded once: the command's own reading and printing are under test.
        mp.setattr(cli, "load_standards", lambda path: STD)
        path = Path(tmp) / "profile.json"
        path.write_bytes(content)
        try:
            code = cli.main(["evaluate", str(path), *when, "--format", fmt])
        except SystemExit as e:  # argparse refusing an option (a period like "-x"): exit 2
            code = e.code
    captured = capsys.readouterr()
    assert code in (0, 2), captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    assert not looks_like_id(captured.err), captured.err
    if code == 0 and fmt == "json":
        json.loads(captured.out)
