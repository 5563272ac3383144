"""A standards file that is malformed, ambiguous or too big is a load error naming the file —
never a crash, a hang, or a figure other than the one its author wrote."""

import copy
import time
from decimal import Decimal

import pytest
import yaml
from conftest import STANDARD, variant, write

from gongfu_rules import ExpressionError, StandardsError, evaluate, load_standards
from gongfu_rules.expr.parse import Env, parse_expression
from gongfu_rules.limits import MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH, MAX_YAML_BYTES

PERSON = {"birth_date": "1950-01-01", "hukou_region": "530102"}
TEXT = yaml.safe_dump(STANDARD, allow_unicode=True)


def errors_of(tmp_path, standard=None, raw=None):
    with pytest.raises(StandardsError) as e:
        load_standards(write(tmp_path, standard, raw))
    return e.value.details


def codes_of(tmp_path, standard=None, raw=None):
    return {d.code for d in errors_of(tmp_path, standard, raw)}


def with_amount(expression):
    s = copy.deepcopy(STANDARD)
    s["versions"]["2024-01-01"]["amount"] = expression
    return s


def with_test(expression):
    s = copy.deepcopy(STANDARD)
    s["versions"]["2024-01-01"]["eligibility"][0]["test"] = expression
    return s


def with_value(value, region="5301"):
    s = copy.deepcopy(STANDARD)
    s["parameters"]["rate"]["values"][region]["2024-01-01"]["value"] = value
    return s


# --- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1e999", 10**26, "1e26", "1e999999999", "-1e999999999"])
def test_a_parameter_value_past_the_number_limit_does_not_load(tmp_path, value):
    assert "value_too_large" in codes_of(tmp_path, with_value(value))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_value_that_is_not_a_finite_number_does_not_load(tmp_path, value):
    assert codes_of(tmp_path, with_value(value)) & {"value_too_large", "schema_finite_number"}


def test_a_negative_value_does_not_load(tmp_path):
    [d] = [d for d in errors_of(tmp_path, with_value(-1374)) if d.code == "value_negative"]
    assert d.loc == ("parameters", "rate", "values", "5301", "2024-01-01", "value")


def test_a_parameter_that_declares_a_deduction_may_be_negative(tmp_path):
    s = with_value(-20, region="53")
    s["parameters"]["rate"]["values"]["53"]["2024-01-01"]["floor"] = False
    s["parameters"]["rate"]["deduction"] = True
    s["versions"]["2024-01-01"]["amount"] = "max(0, p.rate)"
    assert load_standards(write(tmp_path, s))


@pytest.mark.parametrize("expression", [
    "p.rate * 1000000000000 * 1000000000000",
    "household.per_capita_monthly_income * household.per_capita_monthly_income",
    "min(p.rate, round(p.rate * 100000000 * 100000000 * 100000000, 2))"])
def test_an_amount_that_could_outgrow_exact_arithmetic_does_not_load(tmp_path, expression):
    [d] = errors_of(tmp_path, with_amount(expression))
    assert d.code == "amount_too_large" and d.loc[-1] == "amount"


def test_a_rate_times_a_count_is_within_the_limit(tmp_path):
    # 120 × a count of at most 10^12: 1.2 × 10^14, as the bundled funeral grant is.
    assert load_standards(write(tmp_path, with_amount("p.rate * household.tekun_deaths")))


@pytest.mark.parametrize("expression", ["0 - p.rate", "p.rate - age", "-p.rate",
                                        "p.rate - sum_members(age)", "p.rate * (1 - household.size)"])
def test_an_amount_that_can_be_negative_does_not_load(tmp_path, expression):
    [d] = errors_of(tmp_path, with_amount(expression))
    assert d.code == "amount_negative" and "max(0" in d.msg


def test_an_amount_that_says_it_is_never_negative_loads(tmp_path):
    std = load_standards(write(tmp_path, with_amount("max(0, p.rate - age)")))
    assert evaluate(PERSON, on="2025-01-01", standards=std).get("demo_allowance").amount == 45


def test_round_digits_are_bounded(tmp_path):
    [d] = errors_of(tmp_path, with_amount("round(p.rate, 999999999)"))
    assert d.code == "expression_invalid" and "round()" in d.msg


@pytest.mark.parametrize("literal", ["10**13", "1" + "0" * 13, "0x" + "f" * 40, "1e999"])
def test_a_huge_literal_is_refused_quickly(tmp_path, literal):
    start = time.perf_counter()
    assert "expression_invalid" in codes_of(tmp_path, with_amount(f"p.rate + {literal}"))
    assert time.perf_counter() - start < 5


def test_a_ten_million_digit_literal_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse_expression("0x" + "f" * 10**7, Env())
    assert time.perf_counter() - start < 2


# --- expression size -------------------------------------------------------------------------
def test_a_500_term_sum_is_a_depth_error_not_a_recursion_error(tmp_path):
    [d] = errors_of(tmp_path, with_amount("+".join(["1"] * 500)))
    assert d.code == "expression_invalid" and f"{MAX_EXPRESSION_DEPTH} levels" in d.msg


def test_500_nested_nots_are_a_depth_error(tmp_path):
    [d] = errors_of(tmp_path, with_test("not " * 400 + "age >= 60"))
    assert d.code == "expression_invalid" and "levels deep" in d.msg


def test_an_overlong_expression_gets_a_short_message(tmp_path):
    huge = "p.rate + " + "x" * (MAX_EXPRESSION_CHARS * 50)
    [d] = errors_of(tmp_path, with_amount(huge))
    assert d.code == "expression_invalid" and len(str(d)) < 1000 and len(repr(d.input)) < 300


def test_a_bad_expression_points_at_its_column_within_a_short_window(tmp_path):
    text = "p.rate + " * 60 + "nonsense"
    [d] = errors_of(tmp_path, with_amount(text))
    shown, pointer = d.msg.splitlines()[-2:]
    assert "unknown name 'nonsense'" in d.msg and len(shown) < 100
    assert shown[pointer.index("^"):].startswith("nonsense")


# --- type errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("test", ["sex == child_care_arrangement",
                                  "child_care_arrangement != residence_area"])
def test_comparing_two_different_enumerations_is_a_type_error(tmp_path, test):
    [d] = errors_of(tmp_path, with_test(test))
    assert d.code == "expression_invalid" and "two different enumerations" in d.msg


@pytest.mark.parametrize("name", ["ａｇｅ >= 60", "𝐚𝐠𝐞 >= 60", "age >= ６０"])
def test_text_that_nfkc_would_change_is_an_error(tmp_path, name):
    [d] = errors_of(tmp_path, with_test(name))
    assert d.code == "expression_invalid" and "plain ASCII" in d.msg


def test_a_parameter_name_that_is_not_plain_ascii_is_an_error(tmp_path):
    s = copy.deepcopy(STANDARD)
    s["parameters"]["ｒａｔｅ"] = s["parameters"].pop("rate")
    assert "name_invalid" in codes_of(tmp_path, s)


# --- YAML 1.1 surprises ----------------------------------------------------------------------
@pytest.mark.parametrize("plain", ["1:30", "053", "0x35", "0o17", "1_000", ".inf"])
def test_a_plain_scalar_yaml_versions_read_differently_must_be_quoted(tmp_path, plain):
    [d] = errors_of(tmp_path, raw=TEXT.replace("value: 120", f"value: {plain}"))
    assert d.code == "yaml_ambiguous" and "quotes" in d.msg and "line" in d.msg


@pytest.mark.parametrize("tagged", ["!!int 0x1f", "!!float abc", "!!bool maybe", "!!binary x",
                                    "!!python/object:os.system x", "!!set {a, b}"])
def test_a_value_that_does_not_fit_its_explicit_tag_is_an_error(tmp_path, tagged):
    codes = codes_of(tmp_path, raw=TEXT.replace("value: 120", f"value: {tagged}"))
    assert codes and all(c == "yaml_invalid" or c.startswith("schema_") for c in codes)


def test_an_octal_looking_scope_is_refused_not_read_as_43(tmp_path):
    [d] = errors_of(tmp_path, raw=TEXT.replace("scope: '53'", "scope: 053"))
    assert d.code == "yaml_ambiguous" and "'053'" in d.msg


def test_numbers_are_read_exactly_as_written(tmp_path):
    std = load_standards(write(tmp_path, raw=TEXT.replace("value: 120", "value: 120.10")))
    r = evaluate(PERSON, on="2025-01-01", standards=std).get("demo_allowance")
    assert str(r.amount) == "120.10"


def test_yes_and_on_stay_text(tmp_path):
    # YAML 1.1 would make these booleans; the schema then says a source must be text.
    s = copy.deepcopy(STANDARD)
    s["sources"]["doc"]["section"] = "on"
    std = load_standards(write(tmp_path, raw=yaml.safe_dump(s, allow_unicode=True)
                               .replace("section: 'on'", "section: on")))
    assert std["demo_allowance"].sources["doc"].section == "on"


# --- duplicate keys after normalisation ------------------------------------------------------
def test_a_version_written_as_a_date_and_as_quoted_text_is_a_duplicate(tmp_path):
    extra = ("  '2024-01-01': {eligibility: [{test: 'age >= 1', text: {zh: a, en: b}}], "
             "amount: p.rate, sources: [doc]}\n")
    [d] = errors_of(tmp_path, raw=TEXT.replace("versions:\n", "versions:\n" + extra))
    assert d.code == "yaml_invalid" and "duplicate key '2024-01-01'" in d.msg


def test_a_region_written_as_a_number_and_as_text_is_a_duplicate(tmp_path):
    extra = "      5301: {2024-01-01: {value: 1, source: doc}}\n"
    [d] = errors_of(tmp_path, raw=TEXT.replace("    values:\n", "    values:\n" + extra))
    assert d.code == "yaml_invalid" and "duplicate key '5301'" in d.msg


def test_two_spellings_of_one_region_are_a_duplicate(tmp_path):
    s = copy.deepcopy(STANDARD)
    s["parameters"]["rate"]["values"]["530100"] = {"2024-01-01": {"value": 130, "source": "doc"}}
    assert "region_duplicate" in codes_of(tmp_path, s)


# --- files -------------------------------------------------------------------------------------
def test_an_impossible_date_names_the_file_and_line(tmp_path):
    [d] = errors_of(tmp_path, raw=TEXT.replace("'2024-01-01'", "2025-02-30", 1))
    assert d.code == "date_invalid" and d.source == "demo_allowance.yaml" and "line" in d.msg


@pytest.mark.parametrize("encoding", ["utf-16", "gb18030"])
def test_a_file_not_in_utf8_is_an_error_naming_it(tmp_path, encoding):
    write(tmp_path)
    (tmp_path / "demo_allowance.yaml").write_bytes(TEXT.encode(encoding))
    [d] = _load_errors(tmp_path)
    assert d.code == "file_encoding" and d.source == "demo_allowance.yaml"


def test_a_directory_named_like_a_yaml_file_is_an_error(tmp_path):
    write(tmp_path)
    (tmp_path / "x.yaml").mkdir()
    [d] = _load_errors(tmp_path)
    assert d.code == "file_not_regular" and d.source == "x.yaml"


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    write(tmp_path)
    (tmp_path / "big.yaml").write_text("a: '" + "x" * MAX_YAML_BYTES + "'\n")
    [d] = _load_errors(tmp_path)
    assert d.code == "file_too_large" and d.source == "big.yaml"


def bomb(indent: str, levels: int = 9) -> str:
    """A billion laughs: each level a list of ten aliases of the level below."""
    lines = [f"{indent}l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    start = time.perf_counter()
    [d] = errors_of(tmp_path, raw=TEXT + bomb(""))
    assert d.code == "yaml_too_large" and time.perf_counter() - start < 5


def test_an_alias_bomb_in_a_test_profile_is_refused_quickly(tmp_path):
    raw = TEXT + "tests:\n- name: t\n  on: 2025-01-01\n  expect: {status: eligible}\n  profile:\n"
    start = time.perf_counter()
    [d] = errors_of(tmp_path, raw=raw + bomb("    "))
    assert d.code == "yaml_too_large" and time.perf_counter() - start < 5


def test_deep_nesting_is_a_load_error(tmp_path):
    assert "yaml_too_deep" in codes_of(tmp_path, raw=TEXT + "deep: " + "[" * 40 + "]" * 40)


def test_5000_deep_nesting_is_a_load_error_not_a_recursion_error(tmp_path):
    codes = codes_of(tmp_path, raw=TEXT + "deep: " + "[" * 5000 + "]" * 5000)
    assert codes & {"yaml_too_deep", "yaml_invalid"}


def _load_errors(root):
    with pytest.raises(StandardsError) as e:
        load_standards(root)
    return e.value.details


def test_the_bundled_standards_load_under_the_strict_rules():
    assert len(load_standards()) > 0


def test_a_standard_within_every_limit_evaluates_as_before(tmp_path):
    std = load_standards(write(tmp_path, variant()))
    assert evaluate(PERSON, on="2025-01-01", standards=std).get("demo_allowance").amount == 120


@pytest.mark.parametrize("expression", ["age", "household.size", "count(age >= 0) * p.rate",
                                        "household.tekun_deaths"])
def test_an_amount_read_from_a_count_or_an_age_is_money(tmp_path, expression):
    std = load_standards(write(tmp_path, with_amount(expression)))
    result = evaluate({"members": [PERSON], "tekun_deaths": 1}, on="2025-01-01", standards=std)
    r = result.get("demo_allowance", "p1")
    assert isinstance(r.amount, Decimal) and r.amount > 0 and result.to_json()


def test_an_alias_inside_the_value_it_names_is_an_error(tmp_path):
    [d] = errors_of(tmp_path, raw=TEXT + "loop: &a [1, *a]\n")
    assert d.code == "yaml_recursive" and d.source == "demo_allowance.yaml"
