"""Fuzzing what policy staff write: rule expressions and whole standards files.

An expression or a file either loads or is a StandardsError naming the file — never a crash or
a hang; a set that loads evaluates any profile to sound amounts (never negative, never NaN),
the same way twice.
"""

import copy
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import STANDARD, write
from fuzzing import assert_clean_error, assert_sound_amounts, fuzz, profiles
from hypothesis import given
from hypothesis import strategies as st

from gongfu_rules import GongfuError, StandardsError, evaluate, load_standards
from gongfu_rules.expr.parse import Env, ParamInfo, parse_expression
from gongfu_rules.expr.names import MAP, NUM

ENV = Env({"rate": ParamInfo(NUM), "table": ParamInfo(MAP, frozenset({"institutional", "scattered"}))})

atoms = st.one_of(
    st.sampled_from([
        "age", "sex", "orphan", "tekun", "disability_grade", "child_care_arrangement",
        "household.size", "household.tekun_deaths", "household.per_capita_monthly_income",
        "household.area_type", "p.rate", "p.table[child_care_arrangement]", "p.table['scattered']",
        "p.nothing", "'male'", "'scattered'", "'散居'", "True", "False", "None", "0", "1", "2.5",
        "0.0001", "-3", "10**13", "1e999", "0x" + "f" * 30, "9" * 40, "hukou_in('5301')",
        "residence_in('53')", "hukou_in('999999')", "ａｇｅ", "𝐚𝐠𝐞", "x", "lambda: 1", "[1]",
        "p", "household", "__import__('os')", "age.real"]),
    st.integers(-10**20, 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.text(max_size=6))


def _combine(inner):
    binary = st.tuples(inner, st.sampled_from(
        ["+", "-", "*", "/", "<", "<=", "==", "!=", ">=", " and ", " or ", " in ", " if True else "]),
        inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})")
    unary = st.tuples(st.sampled_from(["not ", "-", ""]), inner).map("".join)
    call = st.tuples(st.sampled_from(["min", "max", "ceil", "floor", "round", "count",
                                      "sum_members", "any_member", "abs", "hukou_in"]),
                     st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    choice = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
    return st.one_of(binary, unary, call, choice)


expressions = st.one_of(st.recursive(atoms, _combine, max_leaves=10), st.text(max_size=40),
                        st.sampled_from(["+".join(["1"] * 500), "not " * 500 + "orphan",
                                         "(" * 300 + "1" + ")" * 300, "p.rate + " + "x" * 5000]))


@fuzz(400)
@given(text=expressions, entity=st.sampled_from(["person", "household"]))
def test_any_expression_parses_or_is_an_expression_error(text, entity):
    env = Env(ENV.params, entity)
    try:
        parse_expression(text, env, source="x.yaml", loc=("amount",))
    except GongfuError as e:
        assert_clean_error(e)
        assert len(str(e)) < 3000


def _standard_with(where: str, expression: str) -> dict:
    s = copy.deepcopy(STANDARD)
    version = s["versions"]["2024-01-01"]
    if where == "amount":
        version["amount"] = expression
    else:
        version["eligibility"][0]["test"] = expression
    return s


def _load_and_evaluate(root: Path, profile) -> None:
    """Load ``root``: a clean StandardsError, or a set that evaluates soundly and repeatably."""
    try:
        std = load_standards(root)
    except StandardsError as e:
        assert_clean_error(e)
        return
    assert load_standards(root).digest == std.digest
    for on in ("2024-06-01", "2025-01-01"):
        try:
            result = evaluate(profile, on=on, standards=std)
        except GongfuError as e:
            assert_clean_error(e)
            continue
        assert_sound_amounts(result)
        assert result.to_dict() == evaluate(profile, on=on, standards=std).to_dict()
        result.to_json()


PEOPLE = st.one_of(st.just({"birth_date": "1950-01-01", "hukou_region": "530102"}),
                   st.just({"members": [{"birth_date": "1940-01-01", "hukou_region": "530102"}] * 3,
                            "per_capita_monthly_income": "100", "tekun_deaths": 2}),
                   profiles)


@fuzz(150)
@given(where=st.sampled_from(["amount", "test"]), expression=expressions, profile=PEOPLE)
def test_a_standard_with_any_expression_loads_soundly_or_not_at_all(where, expression, profile):
    with tempfile.TemporaryDirectory() as tmp:
        _load_and_evaluate(write(Path(tmp), _standard_with(where, expression)), profile)


TEXT = yaml.safe_dump(STANDARD, allow_unicode=True)
yaml_scalars = st.one_of(
    st.sampled_from(["1:30", "053", "0x35", "0o17", "1_000", ".inf", ".nan", "-1374", "1e999",
                     "1e26", "1e999999999", "'1e999999999'", "2025-02-30", "2024-13-01", "~",
                     "yes", "on", "null", "&a [1]", "*a", "!!python/object:os.system", "[", "{",
                     "'", '"', "|", ">", "- x", "? x", "%YAML 1.1", "\t", "1" * 5000, "'5301'",
                     "5301", "530100", "00", "!!int 0x1f", "!!float abc", "!!bool maybe",
                     "!!timestamp 2025-01-01T10:00:00", "!!binary xyz", "!!set {a, b}",
                     "9999-12-31", "0001-01-01", "1900-01-01"]),
    st.integers().map(str), st.decimals(allow_nan=False).map(str), st.text(max_size=10))


@st.composite
def mutated_files(draw) -> bytes:
    """The test standard's YAML with one to three edits: a scalar replaced, a line dropped or
    doubled, text inserted; then encoded as UTF-8, or now and then as something else."""
    lines = TEXT.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "value", "drop", "double", "insert"]))
        if action == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(yaml_scalars)}"
        elif action == "drop":
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        else:
            lines.insert(i, draw(yaml_scalars))
        if not lines:
            lines = ["{}"]
    text = "\n".join(lines) + "\n"
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-16", "gb18030", "latin-1"]))
    return text.encode(encoding, errors="replace")


@fuzz(150)
@given(content=mutated_files(), profile=PEOPLE)
def test_a_mutated_standards_file_loads_soundly_or_is_an_error_naming_it(content, profile):
    with tempfile.TemporaryDirectory() as tmp:
        root = write(Path(tmp))
        (root / "demo_allowance.yaml").write_bytes(content)
        try:
            load_standards(root)
        except StandardsError as e:
            assert all(d.source for d in e.details), e
        _load_and_evaluate(root, profile)


def test_the_fuzzed_standard_itself_loads():
    with tempfile.TemporaryDirectory() as tmp:
        assert len(load_standards(write(Path(tmp)))) == 1
