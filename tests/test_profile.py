"""Profiles: parsing, ID numbers (GB 11643-1999), aliases, and errors that never leak an ID."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from pydantic import ValidationError

from gongfu_rules.errors import ProfileError
from gongfu_rules.profile import (
    CareArrangement,
    DisabilityCategory,
    Household,
    HukouType,
    OnlyChildStatus,
    Person,
    Role,
    SchoolLocation,
    SelfCare,
    Sex,
    StudentStage,
    SupportMode,
    UrbanRural,
    id_number_check_character,
    kept_15_digits,
    parse_household,
    parse_id_number,
    parse_person,
    to_profile_error,
)
from gongfu_rules.regions import regions

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "profiles.md"


def check_char(first17: str) -> str:
    """GB 11643-1999 check character, computed independently of the library."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def make_id(region6: str, born: date, sequence: str) -> str:
    first17 = f"{region6}{born:%Y%m%d}{sequence}"
    return first17 + check_char(first17)


def wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


# 五华区, 1990-03-07, sequence 123 (3 is odd: male).
MALE_ID = make_id("530102", date(1990, 3, 7), "123")
FEMALE_ID = make_id("530102", date(1990, 3, 7), "124")


def profile_error(data: dict) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        parse_household(data)
    return caught.value


def codes_at(error: ProfileError) -> dict[tuple, str]:
    return {d.loc: d.code for d in error.details}


# ---- ID numbers ---------------------------------------------------------------------------

def test_valid_id_number_gives_birth_date_sex_and_region():
    info = parse_id_number(MALE_ID)
    assert (info.birth_date, info.sex, info.region6) == (date(1990, 3, 7), Sex.male, "530102")


def test_even_seventeenth_digit_means_female():
    assert parse_id_number(FEMALE_ID).sex is Sex.female


def test_standard_example_with_x_check_character_parses():
    # The worked example in GB 11643-1999 itself (not a real person).
    assert check_char("11010519491231002") == "X"
    info = parse_id_number("11010519491231002X")
    assert (info.birth_date, info.sex, info.region6) == (date(1949, 12, 31), Sex.female, "110105")


def test_check_character_function_agrees_with_the_algorithm():
    assert id_number_check_character("11010519491231002") == "X"
    assert id_number_check_character(MALE_ID[:17]) == MALE_ID[17]


def test_lowercase_x_is_accepted_and_normalised_to_upper_case():
    person = parse_person({"id_number": "11010519491231002x"})
    assert person.id_number == "11010519491231002X"


def test_old_region_code_in_id_number_is_legitimate():
    assert regions().normalize("440524") is None  # abolished since; still valid in an ID
    assert parse_id_number("440524188001010014").region6 == "440524"


def test_id_number_with_wrong_check_digit_is_rejected_naming_the_field():
    error = profile_error({"members": [{"id_number": wrong_check(MALE_ID)}]})
    [detail] = error.details
    assert (detail.code, detail.loc) == ("id_number_check_digit", ("members", 0, "id_number"))
    assert f"first 17 digits give '{MALE_ID[17]}'" in detail.msg
    assert str(detail).startswith("members.0.id_number: check digit is ")


@pytest.mark.parametrize("number", ["5.30102E+17", "530102199001011000", "530102199001011008"])
def test_an_id_number_a_spreadsheet_stored_as_a_number_is_rejected_saying_so(number):
    error = profile_error({"members": [{"id_number": number}]})
    [detail] = error.details
    assert (detail.code, detail.loc) == ("id_number_as_number", ("members", 0, "id_number"))
    assert "15 digits" in detail.msg and number not in detail.msg


def test_id_number_with_impossible_birth_date_is_rejected():
    number = make_id("530102", date(1990, 2, 1), "123").replace("19900201", "19900230")
    number = number[:17] + check_char(number[:17])
    error = profile_error({"id_number": number})
    assert codes_at(error) == {("id_number",): "id_number_birth_date"}


@pytest.mark.parametrize("text", ["53010219900307123", "5301021990030712345",
                                  "53010219900307123Y", "530102900307123",
                                  "53010219900307123\u0668"])  # Arabic-Indic 8
def test_id_number_of_the_wrong_shape_is_rejected(text):
    assert codes_at(profile_error({"id_number": text})) == {("id_number",): "id_number_format"}


def test_parse_id_number_raises_profile_error_at_id_number():
    with pytest.raises(ProfileError) as caught:
        parse_id_number(wrong_check(MALE_ID))
    assert caught.value.details[0].loc == ("id_number",)


def test_birth_date_and_sex_are_filled_from_id_number():
    person = parse_person({"id_number": FEMALE_ID})
    assert (person.birth_date, person.sex) == (date(1990, 3, 7), Sex.female)


def test_birth_date_conflicting_with_id_number_is_rejected_at_birth_date():
    error = profile_error({"id_number": MALE_ID, "birth_date": "1990-03-08"})
    assert codes_at(error) == {("birth_date",): "id_number_conflict"}


def test_sex_conflicting_with_id_number_is_rejected_at_sex():
    error = profile_error({"id_number": MALE_ID, "sex": "女"})
    assert codes_at(error) == {("sex",): "id_number_conflict"}


def test_matching_birth_date_and_sex_are_accepted():
    person = parse_person({"id_number": MALE_ID, "birth_date": "1990-03-07", "sex": "M"})
    assert person.sex is Sex.male


@given(born=st.dates(date(1900, 1, 1), date(2025, 12, 31)),
       region=st.from_regex(r"[0-9]{6}", fullmatch=True),
       sequence=st.from_regex(r"[0-9]{3}", fullmatch=True),
       replacement=st.sampled_from("0123456789X"))
def test_generated_id_numbers_round_trip_and_any_other_check_digit_is_rejected(
        born, region, sequence, replacement):
    number = make_id(region, born, sequence)
    info = parse_id_number(number)
    assert info.birth_date == born
    assert info.sex is (Sex.male if int(sequence[2]) % 2 else Sex.female)
    if replacement != number[17]:
        wrong = number[:17] + replacement
        with pytest.raises(ProfileError) as caught:
            parse_id_number(wrong)
        # a wrong one that is what a spreadsheet keeps of a number is reported as that
        assert caught.value.code == ("id_number_as_number" if kept_15_digits(wrong)
                                     else "id_number_check_digit")


# ---- personal data ------------------------------------------------------------------------

def test_errors_never_contain_the_id_number():
    bad = wrong_check(MALE_ID)
    error = profile_error({"members": [
        {"id_number": bad},
        {"id_number": MALE_ID, "sex": "female", "sfzh": FEMALE_ID},
        {"id_number": int(FEMALE_ID), "role": MALE_ID},
        FEMALE_ID,
    ]})
    dumped = str(error) + json.dumps(error.to_dicts(), ensure_ascii=False)
    assert len(error.details) >= 4
    for number in (bad, MALE_ID, FEMALE_ID):
        assert number[:17] not in dumped


def test_id_number_input_is_replaced_by_a_redacted_placeholder():
    error = profile_error({"id_number": wrong_check(MALE_ID)})
    assert error.details[0].input == "<18 characters, redacted>"


def test_pydantic_error_from_direct_construction_does_not_show_the_id_number():
    with pytest.raises(ValidationError) as caught:
        Person(id_number=wrong_check(MALE_ID), sfzh=MALE_ID)
    assert MALE_ID[:17] not in str(caught.value)


# ---- fields, aliases, errors --------------------------------------------------------------

def test_unknown_field_is_rejected_with_its_name_and_the_allowed_fields():
    [detail] = profile_error({"members": [{"xyz": 1}]}).details
    assert (detail.code, detail.loc) == ("field_unknown", ("members", 0, "xyz"))
    assert "unknown field 'xyz'" in detail.msg and "id_number" in detail.msg


def test_unknown_household_field_lists_household_fields():
    [detail] = profile_error({"members": [{}], "incom": 5}).details
    assert detail.loc == ("incom",) and "per_capita_monthly_income" in detail.msg


def test_unknown_region_code_is_rejected_naming_the_code():
    [detail] = profile_error({"hukou_region": "539999"}).details
    assert (detail.code, detail.loc) == ("region_unknown", ("hukou_region",))
    assert "'539999'" in detail.msg and "GB/T 2260 (2023)" in detail.msg


@pytest.mark.parametrize("given_code, canonical", [
    ("530000", "53"), ("530100", "5301"), ("530102", "530102"), (530102, "530102"),
    ("000000", "000000")])
def test_region_codes_are_stored_in_canonical_form(given_code, canonical):
    assert parse_person({"residence_region": given_code}).residence_region == canonical


@pytest.mark.parametrize("enum, alias, member", [
    (Sex, "男", Sex.male), (Sex, "F", Sex.female),
    (Role, "户主", Role.head), (Role, "配偶", Role.spouse), (Role, "子女", Role.child),
    (HukouType, "农业户口", HukouType.agricultural),
    (HukouType, "非农业", HukouType.non_agricultural),
    (UrbanRural, "城镇", UrbanRural.urban), (UrbanRural, "农村", UrbanRural.rural),
    (CareArrangement, "社会散居", CareArrangement.scattered),
    (CareArrangement, "集中养育", CareArrangement.institutional),
    (DisabilityCategory, "肢体", DisabilityCategory.physical),
    (SupportMode, "分散供养", SupportMode.dispersed),
    (SelfCare, "完全丧失生活自理能力", SelfCare.unable),
    (StudentStage, "中职", StudentStage.secondary_vocational),
    (StudentStage, "幼儿园", StudentStage.preschool),
    (SchoolLocation, "县城", SchoolLocation.county_seat),
    (SchoolLocation, "农村", SchoolLocation.village_township),
    (OnlyChildStatus, "死亡", OnlyChildStatus.deceased),
])
def test_chinese_aliases_are_accepted(enum, alias, member):
    assert enum(alias) is member
    assert enum(f" {alias} ") is member


def test_chinese_aliases_are_accepted_in_a_profile():
    person = parse_person({"sex": "女", "role": "户主", "hukou_type": "农业",
                           "disability_category": "精神", "student_stage": "初中"})
    assert (person.sex, person.role, person.hukou_type) == (
        Sex.female, Role.head, HukouType.agricultural)
    assert person.student_stage is StudentStage.junior_secondary


def test_english_values_are_case_and_space_tolerant():
    person = parse_person({"hukou_type": " Non Agricultural ", "sex": "FEMALE"})
    assert (person.hukou_type, person.sex) == (HukouType.non_agricultural, Sex.female)


def test_invalid_enum_value_lists_the_allowed_values_with_aliases():
    [detail] = profile_error({"sex": "unknown"}).details
    assert detail.code == "value_invalid"
    assert "male (男" in detail.msg and "female (女" in detail.msg


@pytest.mark.parametrize("grade, expected", [("一级", 1), ("二级", 2), ("3", 3), (4, 4)])
def test_disability_grade_accepts_digits_and_chinese_grades(grade, expected):
    assert parse_person({"disability_grade": grade}).disability_grade == expected


@pytest.mark.parametrize("grade", [0, 5, "五级", True])
def test_disability_grade_outside_one_to_four_is_rejected(grade):
    assert codes_at(profile_error({"disability_grade": grade})) == {
        ("disability_grade",): "value_invalid"}


def test_impossible_date_is_reported_as_date_invalid():
    assert codes_at(profile_error({"death_date": "2024-02-30"})) == {
        ("death_date",): "date_invalid"}


def test_income_float_is_converted_exactly_to_decimal():
    household = parse_household({"members": [{}], "per_capita_monthly_income": 1234.5})
    assert household.per_capita_monthly_income == Decimal("1234.5")


def test_negative_income_is_rejected():
    error = profile_error({"members": [{}], "per_capita_monthly_income": "-1"})
    assert codes_at(error) == {("per_capita_monthly_income",): "value_invalid"}


def test_negative_insured_months_are_rejected():
    error = profile_error({"unemployment_insured_months": -3})
    assert codes_at(error) == {("unemployment_insured_months",): "value_invalid"}


def test_yes_no_facts_accept_chinese():
    person = parse_person({"orphan": "是", "tekun": "否"})
    assert (person.orphan, person.tekun) == (True, False)


def test_all_errors_are_collected():
    error = profile_error({"sex": "x", "hukou_region": "999999", "xyz": 1})
    assert set(codes_at(error).values()) == {"value_invalid", "region_unknown", "field_unknown"}


def test_missing_members_of_a_household_model_is_field_missing():
    with pytest.raises(ValidationError) as caught:
        Household.model_validate({"region": "53"})
    error = to_profile_error(caught.value, Household)
    assert codes_at(error) == {("members",): "field_missing"}


def test_household_with_no_members_is_rejected():
    assert codes_at(profile_error({"members": []})) == {("members",): "value_invalid"}


def test_non_dict_input_is_rejected():
    with pytest.raises(ProfileError):
        parse_household(["not", "a", "profile"])  # type: ignore[arg-type]


# ---- households ---------------------------------------------------------------------------

def test_members_without_ids_get_positional_ids():
    household = parse_household({"members": [{}, {"id": "mum"}, {}]})
    assert [m.id for m in household.members] == ["p1", "mum", "p3"]


def test_duplicate_member_ids_are_rejected_at_the_later_member():
    error = profile_error({"members": [{"id": "a"}, {"id": "a"}]})
    assert codes_at(error) == {("members", 1, "id"): "member_id_duplicate"}


def test_single_person_dict_becomes_a_one_person_household():
    household = parse_household({"id_number": MALE_ID, "residence_region": "530102"})
    assert household.size == 1
    assert household.members[0].id == "p1"
    assert household.region == "530102"


def test_single_person_errors_are_located_at_the_person_fields():
    assert codes_at(profile_error({"id_number": wrong_check(MALE_ID)})) == {
        ("id_number",): "id_number_check_digit"}


def test_household_of_person_and_size():
    household = Household.of(Person(sex="男"))
    assert household.size == 1 and household.members[0].sex is Sex.male


def test_parse_household_returns_a_household_unchanged():
    household = parse_household({"members": [{}]})
    assert parse_household(household) is household


def test_profiles_are_frozen():
    person = parse_person({"sex": "male"})
    with pytest.raises(ValidationError):
        person.sex = Sex.female  # type: ignore[misc]


# ---- documentation ------------------------------------------------------------------------

def test_docs_describe_every_field_and_every_alias():
    text = DOCS.read_text(encoding="utf-8")
    for name in (*Person.model_fields, *Household.model_fields):
        assert f"`{name}`" in text, name
    for enum in (Sex, Role, HukouType, UrbanRural, CareArrangement, DisabilityCategory,
                 SupportMode, SelfCare, StudentStage, SchoolLocation, OnlyChildStatus):
        for value, aliases in enum.aliases().items():
            assert value in text and all(a in text for a in aliases), (enum, value)


def test_docs_json_examples_parse():
    text = DOCS.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    assert len(blocks) >= 2
    for block in blocks:
        parse_household(json.loads(block))


def test_id_numbers_at_the_edges_of_the_date_range_parse():
    for born in (date(1900, 1, 1), date(2025, 12, 31), date(2000, 2, 29)):
        assert parse_id_number(make_id("530102", born, "001")).birth_date == born


def test_docs_list_the_fact_registry_as_generated():
    from gongfu_rules.facts import facts_markdown
    assert facts_markdown() in DOCS.read_text(encoding="utf-8")
