"""The names an expression can read: person facts, household facts, their types and labels.

This is the one place that says what a rule may look at: a few built-in facts, and the
fact registry (``data/facts/*.yaml``, :mod:`gongfu_rules.facts`). Labels (zh, en) name a fact in
explanations and in the list of missing inputs that screening returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import FactSpec, household_facts, person_facts


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

_KINDS = {"bool": BOOL, "count": NUM, "money": NUM}


def _from_registry(spec: FactSpec) -> Fact:
    kind = enum(*spec.values) if spec.type == "enum" else _KINDS[spec.type]
    return Fact(kind, spec.zh, spec.en)


PERSON_FACTS: dict[str, Fact] = {
    "age": Fact(NUM, "年龄（周岁）", "age in completed years", ("birth_date",)),
    "sex": Fact(SEX, "性别", "sex"),
    "role": Fact(enum("head", "spouse", "child", "parent", "other"), "家庭关系", "role in the household"),
    "disability_grade": Fact(NUM, "残疾等级", "disability grade"),
    **{spec.name: _from_registry(spec) for spec in person_facts()},
}

HOUSEHOLD_FACTS: dict[str, Fact] = {
    "size": Fact(NUM, "家庭人口数", "household size"),
    **{spec.name: _from_registry(spec) for spec in household_facts()},
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
