"""The names an expression can read: person facts, household facts, their types and labels.

This is the one place that says what a rule may look at. Labels (zh, en) name a fact in
explanations and in the list of missing inputs that screening returns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Type:
    """An expression type: ``bool``, ``num``, ``str`` (optionally one of ``choices``), ``map``."""

    name: str
    choices: frozenset[str] | None = None

    def __str__(self) -> str:
        if self.choices:
            return f"one of {sorted(self.choices)}"
        return self.name


BOOL = Type("bool")
NUM = Type("num")
STR = Type("str")
MAP = Type("map")


def enum(*values: str) -> Type:
    return Type("str", frozenset(values))


@dataclass(frozen=True, slots=True)
class Fact:
    """A profile fact readable by rules. ``inputs`` are the profile fields it is computed from."""

    type: Type
    zh: str
    en: str
    inputs: tuple[str, ...] = ()


SEX = enum("male", "female")

PERSON_FACTS: dict[str, Fact] = {
    "age": Fact(NUM, "年龄（周岁）", "age in completed years", ("birth_date",)),
    "sex": Fact(SEX, "性别", "sex"),
    "role": Fact(enum("head", "spouse", "child", "parent", "other"), "家庭关系", "role in the household"),
    "hukou_type": Fact(enum("agricultural", "non_agricultural"), "户口性质", "hukou type"),
    "residence_area": Fact(enum("urban", "rural"), "城乡居住类别", "urban or rural residence"),
    "orphan": Fact(BOOL, "是否孤儿", "orphan"),
    "de_facto_unsupported_child": Fact(BOOL, "是否事实无人抚养儿童", "de facto unsupported child"),
    "hiv_infected_child": Fact(BOOL, "是否艾滋病病毒感染儿童", "HIV-infected child"),
    "child_care_arrangement": Fact(enum("institutional", "scattered"), "养育方式（集中/散居）",
                                   "care arrangement (institutional or scattered)"),
    "disability_category": Fact(
        enum("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"),
        "残疾类别", "disability category"),
    "disability_grade": Fact(NUM, "残疾等级", "disability grade"),
    "disability_certificate": Fact(BOOL, "是否持有残疾人证", "holds a disability certificate"),
    "tekun": Fact(BOOL, "是否特困人员", "extremely poor person (特困人员)"),
    "tekun_support_mode": Fact(enum("centralized", "dispersed"), "特困供养方式（集中/分散）",
                               "特困 support mode (centralized or dispersed)"),
    "self_care": Fact(enum("unable", "partial", "able"), "生活自理能力", "self-care ability"),
    "student_stage": Fact(
        enum("preschool", "primary", "junior_secondary", "senior_secondary", "secondary_vocational",
             "higher"), "就读学段", "stage of schooling"),
    "school_location": Fact(enum("village_township", "county_seat", "city"), "学校所在地",
                            "school location"),
    "nutrition_pilot_area": Fact(BOOL, "学校是否在营养改善计划试点地区",
                                 "school in a nutrition-programme pilot area"),
    "unemployed": Fact(BOOL, "是否失业", "unemployed"),
    "unemployment_insured_months": Fact(NUM, "失业保险缴费月数", "months of unemployment insurance"),
    "only_child_parent": Fact(BOOL, "是否独生子女父母", "parent of an only child"),
    "only_child_sex": Fact(SEX, "独生子女性别", "sex of the only child"),
    "only_child_status": Fact(enum("living", "disabled", "deceased"), "独生子女状况",
                              "status of the only child"),
    "pregnant": Fact(BOOL, "是否怀孕", "pregnant"),
}

HOUSEHOLD_FACTS: dict[str, Fact] = {
    "size": Fact(NUM, "家庭人口数", "household size"),
    "per_capita_monthly_income": Fact(NUM, "家庭月人均收入", "monthly income per household member"),
    "dibao": Fact(BOOL, "是否低保家庭", "household receives 低保 (minimum living allowance)"),
    "dibao_edge": Fact(BOOL, "是否低保边缘家庭", "household on the 低保 margin (低保边缘)"),
}

# Region facts are tested only through functions (hukou_in, residence_in), never read raw.
REGION_INPUTS = {"hukou": "hukou_region", "residence": "residence_region"}

INPUT_LABELS: dict[str, tuple[str, str]] = {
    "birth_date": ("出生日期或身份证号", "birth date or ID number"),
    "hukou_region": ("户籍地区划代码", "hukou region code"),
    "residence_region": ("居住地区划代码", "residence region code"),
    "household.region": ("家庭居住地区划代码", "household region code"),
    **{name: (f.zh, f.en) for name, f in PERSON_FACTS.items() if not f.inputs},
    **{f"household.{name}": (f.zh, f.en) for name, f in HOUSEHOLD_FACTS.items()},
}


def input_label(name: str, lang: str) -> str:
    """A readable name for a profile input, in ``zh`` or ``en``."""
    zh, en = INPUT_LABELS.get(name, (name, name))
    return zh if lang == "zh" else en
