"""Profiles: the facts about a person and their household that standards are evaluated against.

Every fact is optional — ``None`` means *unknown* — so that a partial profile can be screened
("you may be entitled, if ..."). Unknown fields are rejected, never silently dropped: a typo in
a field name would otherwise read as "unknown" and change a result without anyone noticing.

Enumerations have English values and also accept the Chinese terms that forms use
(``"男"`` → :attr:`Sex.male`), case- and space-insensitively.

Entry point: :func:`parse_household` turns a dict (a household, or a lone person) into a
:class:`Household`, or raises a :class:`~gongfu_rules.errors.ProfileError` listing every
problem found.

Personal data: an ID number (公民身份号码) never appears in an error message or in
``ErrorDetail.input``; a placeholder such as ``"<18 characters, redacted>"`` stands in for it.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .errors import ErrorDetail, ProfileError, redact_value
from .facts import FactRegistryError, fact_specs
from .limits import (MAX_MEMBERS, MAX_NESTING, MAX_NUMBER, MAX_NUMBER_CHARS,
                     MAX_PROFILE_VALUES, MAX_YEAR, MIN_PROFILE_YEAR)
from .regions import regions

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")

__all__ = [
    "Sex", "Role", "HukouType", "UrbanRural", "CareArrangement", "DisabilityCategory",
    "SupportMode", "SelfCare", "StudentStage", "SchoolLocation", "OnlyChildStatus",
    "Person", "Household", "IdNumberInfo",
    "parse_id_number", "id_number_check_character",
    "parse_household", "parse_person", "to_profile_error", "OWN_CODES",
]


# --------------------------------------------------------------------------------------------
# Enumerations with Chinese aliases
# --------------------------------------------------------------------------------------------

def _key(text: str) -> str:
    """Matching key: case-folded, without spaces, hyphens or underscores."""
    return re.sub(r"[\s_\-]+", "", text.casefold())


class _Choice(str, Enum):
    """Base of the profile enumerations: English values; Chinese aliases accepted on input."""

    @classmethod
    def _missing_(cls, value: object) -> _Choice | None:
        # Enum lookup by value failed: try names, case/space variants and the aliases.
        return _lookup(cls).get(_key(value)) if isinstance(value, str) else None

    @classmethod
    def aliases(cls) -> dict[str, tuple[str, ...]]:
        """``{value: (alias, ...)}`` — the other spellings accepted for each value."""
        table = _ALIASES.get(cls, {})
        return {m.value: table.get(m.value, ()) for m in cls}

    @classmethod
    def describe(cls) -> str:
        """The allowed values with their aliases: ``"male (男, M), female (女, F)"``."""
        return ", ".join(f"{v} ({', '.join(a)})" if a else v for v, a in cls.aliases().items())


class Sex(_Choice):
    male = "male"
    female = "female"


class Role(_Choice):
    """Relationship to the head of household (与户主关系)."""

    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    other = "other"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _registry_enums() -> dict[str, type[_Choice]]:
    """One :class:`_Choice` enumeration per enum fact in the registry (``data/facts``)."""
    out: dict[str, type[_Choice]] = {}
    for spec in fact_specs():
        if spec.type == "enum":
            cls = _Choice(_camel(spec.name), [(v, v) for v in spec.values])  # type: ignore[call-overload]
            cls.__doc__ = f"{spec.zh} ({spec.en})."
            cls.__module__ = __name__
            _ALIASES[cls] = dict(spec.choices)
            out[spec.name] = cls
    return out


_ALIASES: dict[type[_Choice], dict[str, tuple[str, ...]]] = {
    Sex: {"male": ("男", "男性", "M"), "female": ("女", "女性", "F")},
    Role: {"head": ("户主",), "spouse": ("配偶",), "child": ("子女",), "parent": ("父母",),
           "other": ("其他",)},
}
#: The enumeration of each enum fact, by fact name.
ENUMS: dict[str, type[_Choice]] = _registry_enums()

# Names kept for the enumerations that code and tests refer to directly.
HukouType = ENUMS["hukou_type"]
UrbanRural = ENUMS["residence_area"]
CareArrangement = ENUMS["child_care_arrangement"]
DisabilityCategory = ENUMS["disability_category"]
SupportMode = ENUMS["tekun_support_mode"]
SelfCare = ENUMS["self_care"]
StudentStage = ENUMS["student_stage"]
SchoolLocation = ENUMS["school_location"]
OnlyChildStatus = ENUMS["only_child_status"]


@cache
def _lookup(cls: type[_Choice]) -> dict[str, _Choice]:
    """Every accepted spelling of ``cls``'s members, by :func:`_key`."""
    table: dict[str, _Choice] = {}
    for member in cls:
        for spelling in (member.value, member.name, *_ALIASES.get(cls, {}).get(member.value, ())):
            table[_key(spelling)] = member
    return table


# --------------------------------------------------------------------------------------------
# ID numbers (公民身份号码, GB 11643-1999)
# --------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: \d also matches ٠-٩ etc.
#: An ID number that a spreadsheet stored as a number, shown in scientific notation
#: (``5.30102E+17``); see also :func:`kept_15_digits`.
_ID_AS_NUMBER = re.compile(r"[0-9](?:\.[0-9]+)?E\+?1[67]")
ID_AS_NUMBER_MESSAGE = (
    "the ID number looks stored as a number (as a spreadsheet does in a cell not formatted as "
    "text): a number keeps only 15 digits, so its last digits are lost; format the column "
    "as text (文本) and enter the ID numbers again")
_ID_LIKE = re.compile(r"\d{15}|\d{17}[\dXx]")  # broad on purpose: redact more, not less


@dataclass(frozen=True, slots=True)
class IdNumberInfo:
    """What an ID number says: birth date, sex and the region of first registration.

    ``region6`` is the six-digit code the number was issued under; it may be an old code that
    the current GB/T 2260 table no longer lists, which is legitimate.
    """

    birth_date: date
    sex: Sex
    region6: str


class _IdProblem(Exception):
    """An ID number is invalid; ``msg`` never contains the number."""

    def __init__(self, code: str, msg: str):
        super().__init__(msg)
        self.code, self.msg = code, msg


def id_number_check_character(first17: str) -> str:
    """The GB 11643-1999 check character (``0``-``9`` or ``X``) for 17 digits."""
    if not (len(first17) == 17 and first17.isascii() and first17.isdigit()):
        raise ValueError("expected exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def kept_15_digits(number: str) -> bool:
    """Whether 18 digits are what a spreadsheet keeps of a number: its 15 significant digits
    and ``000`` (as Excel exports it), or the binary number nearest that (``…008``, as the
    stored value reads). About one typed ID number in 500 is one of those by chance."""
    if not (number.isascii() and number.isdigit()):
        return False
    n = int(number)
    kept = (n + 500) // 1000 * 1000
    return n in (kept, int(float(kept)))


def _inspect_id(value: object) -> tuple[str, IdNumberInfo]:
    """``(normalised number, info)`` for a valid ID number, else :class:`_IdProblem`."""
    if not isinstance(value, str):
        raise _IdProblem("id_number_format",
                         f"expected the ID number as a string; got a {type(value).__name__}")
    number = value.strip().upper()
    if _ID_AS_NUMBER.fullmatch(number):
        raise _IdProblem("id_number_as_number", ID_AS_NUMBER_MESSAGE)
    if not _ID_SHAPE.fullmatch(number):
        raise _IdProblem("id_number_format", _shape_message(number))
    expected = id_number_check_character(number[:17])
    if number[17] != expected and kept_15_digits(number):
        raise _IdProblem("id_number_as_number", ID_AS_NUMBER_MESSAGE)
    if number[17] != expected:
        raise _IdProblem("id_number_check_digit",
                         f"check digit is '{number[17]}' but the first 17 digits give "
                         f"'{expected}'; the number is mistyped")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _IdProblem("id_number_birth_date",
                         "characters 7-14 should be the birth date as YYYYMMDD "
                         "but are not a real date") from None
    if not MIN_PROFILE_YEAR <= born.year <= MAX_YEAR:
        raise _IdProblem("id_number_birth_date",
                         f"characters 7-10 should be the birth year, from {MIN_PROFILE_YEAR} to "
                         f"{MAX_YEAR}, but are not")
    sex = Sex.male if int(number[16]) % 2 else Sex.female
    return number, IdNumberInfo(birth_date=born, sex=sex, region6=number[:6])


def _shape_message(number: str) -> str:
    """Why ``number`` is not shaped like an ID number, without repeating it."""
    base = "expected 18 characters: 17 digits, then a check character 0-9 or X"
    if len(number) == 15 and number.isdigit():
        return f"{base}; got a 15-digit first-generation number, give the 18-character one"
    if len(number) != 18:
        return f"{base}; got {len(number)} characters"
    return f"{base}; got 18 characters that are not of that form"


def parse_id_number(text: str) -> IdNumberInfo:
    """Check an ID number and read its birth date, sex and region of first registration.

    Accepts a lower-case ``x`` check character. Raises :class:`ProfileError` (loc
    ``("id_number",)``) with code ``id_number_format``, ``id_number_check_digit`` or
    ``id_number_birth_date``.
    """
    try:
        return _inspect_id(text)[1]
    except _IdProblem as problem:
        raise ProfileError.one(problem.code, problem.msg, loc=("id_number",),
                               input=_redacted(text)) from None


# --------------------------------------------------------------------------------------------
# Field-level input parsers (run before pydantic's own validation)
# --------------------------------------------------------------------------------------------

def _shown(value: object) -> str:
    """``value`` as it may appear in an error message: ID-like values redacted, long ones cut,
    huge numbers described (``repr`` of a 5,000-digit int fails)."""
    if _looks_like_id(value):
        return _redacted(value)
    digits = _digits(value)
    if digits is not None and digits >= 15:
        return f"a number of {digits} digits"
    shown = redact_value(value)
    text = shown if isinstance(shown, str) and shown.startswith("<") else repr(shown)
    return text if len(text) <= 60 else text[:57] + "..."


def _digits(value: object) -> int | None:
    """How many digits an int (or a text of digits) has; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        bits = abs(value).bit_length()
        return len(str(abs(value))) if bits < 3000 else int(bits * 0.30103) + 1
    if isinstance(value, str) and value.strip().isdigit():
        return len(value.strip())
    return None


def _too_long(value: object) -> bool:
    """Whether a number is written with more than :data:`MAX_NUMBER_CHARS` characters."""
    if isinstance(value, int):
        return value.bit_length() > 3.33 * MAX_NUMBER_CHARS
    return isinstance(value, str) and len(value.strip()) > MAX_NUMBER_CHARS


def _region(value: object) -> str | None:
    """A GB/T 2260 code (string or int) in canonical form."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or _too_long(value):
        raise PydanticCustomError(
            "value_invalid", f"expected a region code such as '530102'; got {_shown(value)}")
    canonical = regions().normalize(str(value))
    if canonical is None:
        raise PydanticCustomError(
            "region_unknown",
            f"{_shown(str(value))} is not a GB/T 2260 (2023) region code; give a province, "
            "prefecture or county code such as '53', '5301' or '530102'")
    return canonical


def _date(value: object) -> object:
    """A :class:`date` or an ISO ``YYYY-MM-DD`` string (not a timestamp number)."""
    if value is None:
        return None
    day: date | None = None
    if isinstance(value, date):  # a datetime, or another date subclass: its calendar day
        day = date(value.year, value.month, value.day)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if day is None:
        raise PydanticCustomError(
            "date_invalid",
            f"expected a date as YYYY-MM-DD, such as 1990-03-07; got {_shown(value)}")
    if not MIN_PROFILE_YEAR <= day.year <= MAX_YEAR:
        raise PydanticCustomError(
            "date_out_of_range", f"expected a date from {MIN_PROFILE_YEAR} to {MAX_YEAR}; "
            f"got {day.isoformat()}")
    return day


_YES = {"true", "yes", "y", "1", "是", "有"}
_NO = {"false", "no", "n", "0", "否", "无", "没有"}


def _flag(value: object) -> object:
    """A yes/no fact: ``true``/``false`` (also ``是``/``否``, ``有``/``无``)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = _key(str(value))
        if text in _YES:
            return True
        if text in _NO:
            return False
    raise PydanticCustomError(
        "value_invalid", f"expected true or false (是/否); got {_shown(value)}")


def _count(value: object) -> object:
    """A whole number >= 0 (booleans are not numbers here)."""
    if value is None:
        return None
    if _too_long(value):
        raise _number_too_large(value)
    number = value.strip() if isinstance(value, str) else value
    if isinstance(number, str) and number.isascii() and number.isdigit():
        number = int(number)
    if isinstance(number, int) and not isinstance(number, bool) and number >= 0:
        if number > MAX_NUMBER:
            raise _number_too_large(value)
        return number
    raise PydanticCustomError(
        "value_invalid", f"expected a whole number 0 or more; got {_shown(value)}")


def _number_too_large(value: object) -> PydanticCustomError:
    return PydanticCustomError("number_too_large", f"a number in a profile is at most "
                               f"{MAX_NUMBER:,}; got {_shown(value)}")


_GRADES = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def _grade(value: object) -> object:
    """残疾等级 1-4: ``1``, ``"1"``, ``"1级"`` or ``"一级"``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    if isinstance(value, str):
        text = value.strip().removesuffix("级").strip()
        if text in _GRADES:
            return _GRADES[text]
    raise PydanticCustomError(
        "value_invalid",
        f"expected a disability grade 1-4 (一级 to 四级); got {_shown(value)}")


def _money(value: object) -> object:
    """元 amount >= 0, to the fen (四舍五入: 743.9999995 is 744.00, in a profile and in a
    batch alike); floats go through ``str`` so that 1234.5 stays ``Decimal('1234.50')``."""
    if value is None:
        return None
    if _too_long(value) or (isinstance(value, Decimal) and value.is_finite()
                            and value.adjusted() > MAX_NUMBER_CHARS):
        raise _number_too_large(value)
    amount: Decimal | None = None
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise PydanticCustomError(
            "value_invalid", f"expected an amount in 元, 0 or more; got {_shown(value)}")
    if amount > MAX_NUMBER:
        raise _number_too_large(value)
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


FEN = Decimal("0.01")


Region = Annotated[str | None, BeforeValidator(_region)]
Day = Annotated[date | None, BeforeValidator(_date)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

_CONFIG = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True,
                     coerce_numbers_to_str=True)


class _PersonCore(BaseModel):
    """One person's facts; every field optional (``None`` = unknown).

    The built-in fields are declared here; every other fact comes from the fact registry
    (``data/facts/*.yaml``, see :mod:`gongfu_rules.facts`).

    ``birth_date`` and ``sex`` are filled in from ``id_number`` when not given, and must agree
    with it when they are.
    """

    model_config = _CONFIG

    id: str | None = None
    role: Role | None = None
    id_number: str | None = None
    # validate_default: the validators below fill these from id_number when absent.
    birth_date: Day = Field(default=None, validate_default=True)
    sex: Sex | None = Field(default=None, validate_default=True)
    death_date: Day = None
    hukou_region: Region = None
    residence_region: Region = None
    disability_grade: Annotated[int | None, BeforeValidator(_grade)] = None

    @field_validator("id_number")
    @classmethod
    def _valid_id_number(cls, value: str | None) -> str | None:
        """Normalised (upper-case ``X``) if valid; the errors never repeat the number."""
        if value is None:
            return None
        try:
            return _inspect_id(value)[0]
        except _IdProblem as problem:
            raise PydanticCustomError(problem.code, problem.msg) from None

    @field_validator("birth_date")
    @classmethod
    def _birth_date_agrees(cls, value: date | None, info: ValidationInfo) -> date | None:
        """From the ID number when missing; a conflict with it is an error."""
        derived = _id_info(info)
        if derived is None:
            return value
        if value is None:
            return derived.birth_date
        if value != derived.birth_date:
            raise PydanticCustomError(
                "id_number_conflict",
                f"birth_date {value.isoformat()} does not match the birth date in id_number "
                "(characters 7-14)")
        return value

    @field_validator("sex")
    @classmethod
    def _sex_agrees(cls, value: Sex | None, info: ValidationInfo) -> Sex | None:
        """From the ID number when missing; a conflict with it is an error."""
        derived = _id_info(info)
        if derived is None:
            return value
        if value is None:
            return derived.sex
        if value != derived.sex:
            raise PydanticCustomError(
                "id_number_conflict",
                f"sex '{value.value}' does not match the sex in id_number (the 17th digit is "
                "odd for male, even for female)")
        return value


def _id_info(info: ValidationInfo) -> IdNumberInfo | None:
    """The already-validated ID number's info (fields validate in order), if there is one."""
    number = info.data.get("id_number")
    if number is None:
        return None
    try:
        return _inspect_id(number)[1]
    except _IdProblem:
        return None


_TYPES: dict[str, Any] = {
    "bool": Flag,
    "count": Annotated[int | None, BeforeValidator(_count)],
    "money": Annotated[Decimal | None, BeforeValidator(_money)],
}


def _registry_fields(entity: str, core: type[BaseModel]) -> dict[str, Any]:
    """pydantic field definitions for the registry's facts of ``entity``."""
    fields: dict[str, Any] = {}
    for spec in fact_specs():
        if spec.entity != entity:
            continue
        if spec.name in core.model_fields:
            raise FactRegistryError(f"data/facts/{spec.file}: fact '{spec.name}' is a built-in "
                                    "profile field already")
        kind = ENUMS[spec.name] | None if spec.type == "enum" else _TYPES[spec.type]
        fields[spec.name] = (kind, Field(default=None, description=f"{spec.zh} ({spec.en})"))
    return fields


Person = create_model("Person", __base__=_PersonCore, __module__=__name__,
                      **_registry_fields("person", _PersonCore))
Person.__doc__ = _PersonCore.__doc__


class _HouseholdCore(BaseModel):
    """A household (家庭): its members and household-level facts.

    Members without an ``id`` get ``"p1"``, ``"p2"``, ... by position; ids must be unique.
    """

    model_config = _CONFIG

    id: str | None = None
    region: Region = None
    members: list[Person] = Field(max_length=MAX_MEMBERS)

    @field_validator("members")
    @classmethod
    def _members_named(cls, members: list[Person]) -> list[Person]:
        """At least one member; give positional ids to members without one; no duplicates."""
        if not members:
            raise PydanticCustomError("value_invalid", "a household needs at least one member")
        named = [m if m.id is not None else m.model_copy(update={"id": f"p{i}"})
                 for i, m in enumerate(members, 1)]
        problems = _duplicate_ids(named, given=[m.id is not None for m in members])
        if problems:
            raise ValidationError.from_exception_data("Household", problems)
        return named

    @property
    def size(self) -> int:
        """Number of members (家庭人口数)."""
        return len(self.members)

    @classmethod
    def of(cls, person: Person) -> Household:
        """A one-person household; its region is the person's residence region."""
        return cls(region=person.residence_region, members=[person])


Household = create_model("Household", __base__=_HouseholdCore, __module__=__name__,
                         **_registry_fields("household", _HouseholdCore))
Household.__doc__ = _HouseholdCore.__doc__


def _duplicate_ids(members: list[Person], given: list[bool]) -> list[InitErrorDetails]:
    """Errors at ``(i, "id")`` for each member whose id an earlier member already uses."""
    first: dict[str, int] = {}
    problems: list[InitErrorDetails] = []
    for i, member in enumerate(members):
        assert member.id is not None
        if member.id not in first:
            first[member.id] = i
            continue
        how = "" if given[i] else " (given by position because the member had no id)"
        msg = (f"member id {member.id!r}{how} is already used by members.{first[member.id]}; "
               "member ids must be unique")
        problems.append(InitErrorDetails(type=PydanticCustomError("member_id_duplicate", msg),
                                         loc=(i, "id"), input=member.id))
    return problems


# --------------------------------------------------------------------------------------------
# Parsing and error conversion
# --------------------------------------------------------------------------------------------

#: Error codes this module raises itself; pydantic's own types are mapped by :data:`_CODES`.
OWN_CODES = frozenset({
    "value_invalid", "date_invalid", "region_unknown", "id_number_format",
    "id_number_check_digit", "id_number_as_number", "id_number_birth_date", "id_number_conflict",
    "member_id_duplicate", "date_out_of_range", "number_too_large",
})
_CODES = {
    "extra_forbidden": "field_unknown",
    "missing": "field_missing",
    "date_parsing": "date_invalid",
    "date_from_datetime_parsing": "date_invalid",
    "date_from_datetime_inexact": "date_invalid",
    "date_type": "date_invalid",
    "too_long": "household_too_large",
}


def parse_household(data: dict[str, Any] | Household | Person) -> Household:
    """A :class:`Household` from a dict, a household or a person.

    A dict with ``"members"`` is a household; any other dict is one person (a one-person
    household; error locations then start at the person's fields, e.g. ``("id_number",)``).
    Raises :class:`ProfileError` listing every problem.
    """
    if isinstance(data, Household):
        return data
    if isinstance(data, Person):
        return Household.of(data)
    if not isinstance(data, dict):
        raise ProfileError.one(
            "value_invalid",
            f"expected a profile object (a household with 'members', or a person); "
            f"got a {type(data).__name__}")
    _check_size(data)
    if "members" in data:
        return _validate(Household, data)
    return Household.of(parse_person(data))


def _check_size(data: dict[str, Any]) -> None:
    """Refuse, before any work, a household over :data:`MAX_MEMBERS`, a profile over
    :data:`MAX_PROFILE_VALUES` values or :data:`MAX_NESTING` levels (walked without recursion),
    or an integer too long to write out."""
    members = data.get("members")
    if isinstance(members, (list, tuple)) and len(members) > MAX_MEMBERS:
        raise ProfileError.one(
            "household_too_large", f"a household has at most {MAX_MEMBERS} members; got "
            f"{len(members)} (evaluate a caseload with gongfu batch)", loc=("members",))
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    seen = 1
    while stack:  # only containers are pushed: a flat profile is one pass over its fields
        value, loc = stack.pop()
        if len(loc) > MAX_NESTING:
            raise ProfileError.one("profile_too_deep", f"a profile nests at most {MAX_NESTING} "
                                   "levels deep", loc=loc[:MAX_NESTING])
        seen += len(value)  # counted before the items are looked at: a huge list costs nothing
        if seen > MAX_PROFILE_VALUES:
            raise ProfileError.one("profile_too_large", f"a profile holds at most "
                                   f"{MAX_PROFILE_VALUES:,} values (fields, list items)")
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            if isinstance(item, (dict, list, tuple)):
                stack.append((item, (*loc, key if isinstance(key, (str, int)) else "?")))
            elif isinstance(item, int) and _too_long(item):
                # Refused here: pydantic's str() of such an int fails inside validation.
                raise ProfileError([ErrorDetail("number_too_large", str(_number_too_large(item)),
                                                loc=(*loc, key), input=item)])


def parse_person(data: dict[str, Any] | Person) -> Person:
    """A :class:`Person` from a dict; raises :class:`ProfileError` listing every problem."""
    if isinstance(data, Person):
        return data
    return _validate(Person, data)


def _validate(model: type[_M], data: object) -> _M:
    """``model.model_validate(data)``, with pydantic's errors turned into a ProfileError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise to_profile_error(error, model) from None


def to_profile_error(error: ValidationError, model: type[BaseModel]) -> ProfileError:
    """Translate a pydantic error raised validating ``model`` into a :class:`ProfileError`.

    Codes: ``field_unknown``, ``field_missing``, ``date_invalid``, ``value_invalid`` and this
    module's own (:data:`OWN_CODES`). ``loc`` is pydantic's; ``input`` is the offending value,
    with ID numbers redacted.
    """
    return ProfileError([_detail(e, model) for e in error.errors(include_url=False)])


def _detail(error: Any, model: type[BaseModel]) -> ErrorDetail:
    """One pydantic error dict as an :class:`ErrorDetail`."""
    kind: str = error["type"]
    loc = tuple(error["loc"])
    code = kind if kind in OWN_CODES else _CODES.get(kind, "value_invalid")
    sensitive = bool(loc) and loc[-1] == "id_number"
    value = None if kind == "missing" else _redact(error.get("input"), sensitive)
    return ErrorDetail(code=code, msg=_message(kind, error, loc, model, sensitive),
                       loc=loc, input=value)


def _message(kind: str, error: Any, loc: tuple[str | int, ...], model: type[BaseModel],
             sensitive: bool) -> str:
    """A message a portal developer can act on; never repeats an ID number."""
    name = str(loc[-1]) if loc else ""
    owner = _owner(model, loc)
    if kind in OWN_CODES:
        return str(error["msg"])
    if kind == "extra_forbidden":
        allowed = ", ".join(owner.model_fields) if owner else "?"
        return f"unknown field '{name}'; allowed fields are {allowed}"
    if kind == "missing":
        return f"field '{name}' is required"
    if kind == "enum" and owner is not None:
        choice = _choice_of(owner, name)
        if choice is not None:
            return f"expected one of {choice.describe()}; got {_shown(error.get('input'))}"
    value = error.get("input")
    if sensitive or isinstance(value, (dict, list, tuple, BaseModel)):
        return str(error["msg"])
    return f"{error['msg']}; got {_shown(value)}"


def _owner(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that has the field ``loc[-1]`` (following nested models and lists)."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        inner = _find_in(field.annotation, BaseModel) if field else None
        if inner is None:
            return None
        current = inner
    return current


def _choice_of(model: type[BaseModel], name: str) -> type[_Choice] | None:
    """The enumeration that field ``name`` of ``model`` takes, if any."""
    field = model.model_fields.get(name)
    return _find_in(field.annotation, _Choice) if field else None


def _find_in(annotation: Any, base: type[_T]) -> type[_T] | None:
    """The first subclass of ``base`` inside a type annotation (``list[X] | None`` → X)."""
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias) \
            and issubclass(annotation, base):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_in(arg, base)
        if found is not None:
            return found
    return None


def _looks_like_id(value: object) -> bool:
    """Whether ``value`` could be an ID number (15 or 18 characters of the right shape)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or _too_long(value):
        return False
    return _ID_LIKE.fullmatch(str(value).strip()) is not None


def _redacted(value: object) -> str:
    """The placeholder shown instead of an ID number."""
    return f"<{len(str(value).strip())} characters, redacted>"


def _redact(value: Any, sensitive: bool = False) -> Any:
    """``value`` with every ID number (an ``id_number`` entry, or anything ID-shaped) hidden."""
    if sensitive and value is not None:
        return _redacted(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _redact(v, k == "id_number") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return _redacted(value) if _looks_like_id(value) else value
