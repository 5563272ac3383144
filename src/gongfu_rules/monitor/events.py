"""Life events (JSON, one per line): what the registers send the monitor.

Every event has a unique ``id`` (it is applied once, by id), a ``type``, an ``effective_date``
(the day the fact changed, which may be long before the event arrives), a ``household_id`` and,
for events about one person, a ``person_id``. Each event knows which profile facts it changes
(:attr:`changes`) and how to change them (:meth:`apply`); age milestones and new figures are not
events, the clock finds them.

The facts a register owns start out *false* when a household or person first appears (not in
低保, not 特困, no disability certificate, not registered unemployed): the monitor is fed by those
registers, so the absence of an event is itself a fact. Everything else stays unknown until an
event says it, and a standard that needs it is reported as needing it from the citizen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import ErrorDetail, InputError
from ..profile import (DisabilityCategory, SchoolLocation, SelfCare, Sex, StudentStage,
                       SupportMode)
from ..regions import regions

#: Facts that the registers feeding the monitor own: false until an event says otherwise.
PERSON_DEFAULTS = {"tekun": False, "disability_certificate": False, "unemployed": False}
HOUSEHOLD_DEFAULTS = {"dibao": False}



class MonitorError(InputError):
    """The monitor cannot go on: a missing extra, an event no rule routes, an action that failed."""


Profile = dict[str, Any]  # {"id", "region", household facts..., "members": [{...}, ...]}


def _region_code(value: str) -> str:
    code = regions().normalize(value)
    if code is None:
        raise ValueError("not a GB/T 2260 region code")
    return code


RegionCode = Annotated[str, AfterValidator(_region_code)]


class Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    effective_date: date
    household_id: str = Field(min_length=1)
    person_id: str | None = None
    region: RegionCode | None = Field(default=None, description="the household's region code")
    birth_date: date | None = Field(default=None, description="the person's, as the register has it")

    label: ClassVar[tuple[str, str]] = ("", "")
    changes: ClassVar[frozenset[str]] = frozenset()
    needs_person: ClassVar[bool] = True


    def apply(self, profile: Profile) -> None:
        """Change ``profile`` (a household dict) as this event says."""
        for fact, value in HOUSEHOLD_DEFAULTS.items():
            profile.setdefault(fact, value)
        if self.region is not None:
            profile["region"] = self.region
        if self.person_id is not None:
            person = _person(profile, self.person_id)
            _set(person, birth_date=self.birth_date)
            self._apply_person(person)
        self._apply_household(profile)

    def _apply_person(self, person: dict[str, Any]) -> None:
        pass

    def _apply_household(self, profile: Profile) -> None:
        pass

    def adds_person(self, profile: Profile) -> bool:
        """Whether the event brings a member the household does not have yet."""
        return self.person_id is not None and not any(
            m["id"] == self.person_id for m in profile.get("members", ()))


def _person(profile: Profile, pid: str) -> dict[str, Any]:
    for m in profile.setdefault("members", []):
        if m["id"] == pid:
            return m
    member = {"id": pid, **PERSON_DEFAULTS}
    if profile.get("region"):
        member["hukou_region"] = profile["region"]  # replaced by the event's own hukou_region
    profile["members"].append(member)
    return member


def _set(target: dict[str, Any], **values: Any) -> None:
    """Set the given facts, leaving out those the event does not state (None)."""
    for k, v in values.items():
        if v is not None:
            target[k] = v.value if hasattr(v, "value") else str(v) if isinstance(v, (Decimal, date)) else v


class Birth(Event):
    type: Literal["birth"]
    sex: Sex | None = None
    hukou_region: RegionCode | None = None
    born_in_compliance: bool | None = None
    label = ("出生登记", "birth registered")
    changes = frozenset({"birth_date", "sex", "born_in_compliance", "*members", "household.size"})


    def _apply_person(self, person):
        _set(person, birth_date=self.effective_date, sex=self.sex, hukou_region=self.hukou_region,
             born_in_compliance=self.born_in_compliance)


class Death(Event):
    type: Literal["death"]
    label = ("死亡登记", "death registered")
    # the deceased's own entitlements all stop whatever the routing says (see core._point)
    changes = frozenset({"*members", "household.size", "household.tekun_deaths"})

    def apply(self, profile):
        super().apply(profile)
        person = _person(profile, self.person_id)  # type: ignore[arg-type]
        person["death_date"] = self.effective_date.isoformat()
        if person.get("tekun"):  # the funeral of a 特困 person is subsidised (丧葬费用补贴)
            profile["tekun_deaths"] = profile.get("tekun_deaths", 0) + 1


class DisabilityCertified(Event):
    type: Literal["disability_certified"]
    grade: int = Field(ge=1, le=4)
    category: DisabilityCategory | None = None
    label = ("残疾人证核发", "disability certified")
    changes = frozenset({"disability_certificate", "disability_grade", "disability_category"})

    def _apply_person(self, person):
        _set(person, disability_certificate=True, disability_grade=self.grade,
             disability_category=self.category)


class DisabilityRegraded(DisabilityCertified):
    type: Literal["disability_regraded"]  # type: ignore[assignment]
    label = ("残疾等级调整", "disability re-graded")


class DibaoGranted(Event):
    type: Literal["dibao_granted"]
    per_capita_monthly_income: Decimal | None = Field(default=None, ge=0)
    area_type: Literal["urban", "rural"] | None = None
    needs_person = False
    label = ("纳入最低生活保障", "低保 granted")
    changes = frozenset({"household.dibao", "household.per_capita_monthly_income",
                         "household.area_type"})

    def _apply_household(self, profile):
        _set(profile, dibao=True, per_capita_monthly_income=self.per_capita_monthly_income,
             area_type=self.area_type)


class DibaoEnded(Event):
    type: Literal["dibao_ended"]
    needs_person = False
    label = ("退出最低生活保障", "低保 ended")
    changes = frozenset({"household.dibao"})

    def _apply_household(self, profile):
        profile["dibao"] = False


class TekunGranted(Event):
    type: Literal["tekun_granted"]
    support_mode: SupportMode | None = None
    self_care: SelfCare | None = None
    label = ("认定特困人员", "特困 support granted")
    changes = frozenset({"tekun", "tekun_support_mode", "self_care"})

    def _apply_person(self, person):
        _set(person, tekun=True, tekun_support_mode=self.support_mode, self_care=self.self_care)


class TekunEnded(Event):
    type: Literal["tekun_ended"]
    label = ("终止特困人员供养", "特困 support ended")
    changes = frozenset({"tekun"})

    def _apply_person(self, person):
        person["tekun"] = False


class UnemploymentRegistered(Event):
    type: Literal["unemployment_registered"]
    insured_months: int | None = Field(default=None, ge=0)
    label = ("失业登记", "unemployment registered")
    changes = frozenset({"unemployed", "unemployment_insured_months", "employed"})

    def _apply_person(self, person):
        _set(person, unemployed=True, employed=False,
             unemployment_insured_months=self.insured_months)


class UnemploymentEnded(Event):
    type: Literal["unemployment_ended"]
    label = ("失业登记注销（就业）", "unemployment ended")
    changes = frozenset({"unemployed", "employed"})

    def _apply_person(self, person):
        _set(person, unemployed=False, employed=True)


class IncomeChange(Event):
    type: Literal["income_change"]
    per_capita_monthly_income: Decimal = Field(ge=0)
    needs_person = False
    label = ("家庭收入变化", "household income changed")
    changes = frozenset({"household.per_capita_monthly_income"})

    def _apply_household(self, profile):
        _set(profile, per_capita_monthly_income=self.per_capita_monthly_income)


class HukouMove(Event):
    type: Literal["hukou_move"]
    hukou_region: RegionCode
    label = ("户籍迁移", "hukou moved")
    changes = frozenset({"hukou_region"})


    def _apply_person(self, person):
        person["hukou_region"] = self.hukou_region


class ResidenceMove(Event):
    """A member's residence moves (``person_id``), or the whole household's (no ``person_id``)."""

    type: Literal["residence_move"]
    residence_region: RegionCode
    needs_person = False
    label = ("居住地变更", "residence moved")
    changes = frozenset({"residence_region", "household.region"})


    def _apply_person(self, person):
        person["residence_region"] = self.residence_region

    def _apply_household(self, profile):
        if self.person_id is None:
            profile["region"] = self.residence_region


class SchoolEnrolment(Event):
    type: Literal["school_enrolment"]
    stage: StudentStage
    school_location: SchoolLocation | None = None
    label = ("入学", "enrolled in school")
    changes = frozenset({"student_stage", "school_location", "full_time_student"})

    def _apply_person(self, person):
        _set(person, student_stage=self.stage, school_location=self.school_location,
             full_time_student=True)


class SchoolLeaving(Event):
    type: Literal["school_leaving"]
    label = ("离校", "left school")
    changes = frozenset({"student_stage", "school_location", "full_time_student"})

    def _apply_person(self, person):
        # The stage is then unknown, not "none": the enumeration has no value for it.
        person.pop("student_stage", None)
        person.pop("school_location", None)
        person["full_time_student"] = False


AnyEvent = Annotated[Union[
    Birth, Death, DisabilityCertified, DisabilityRegraded, DibaoGranted, DibaoEnded, TekunGranted,
    TekunEnded, UnemploymentRegistered, UnemploymentEnded, IncomeChange, HukouMove,
    ResidenceMove, SchoolEnrolment, SchoolLeaving], Field(discriminator="type")]
EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in AnyEvent.__origin__.__args__}  # type: ignore[attr-defined]
_ADAPTER: TypeAdapter[Event] = TypeAdapter(AnyEvent)


def _field(loc: tuple) -> tuple:
    """The field's path, without the event type pydantic puts first."""
    return loc[1:] if loc and loc[0] in EVENT_TYPES else loc


def parse_event(data: dict[str, Any] | Event, line: int | None = None) -> Event:
    """An event from its JSON form; :class:`InputError` naming the field (and line) if invalid.

    Values are never echoed: an event carries personal data (income, disability).
    """
    if isinstance(data, Event):
        return data
    try:
        event = _ADAPTER.validate_python(data)
    except ValidationError as e:
        head = () if line is None else ("line", line)
        raise InputError([ErrorDetail(f"event_{err['type']}", err["msg"],
                                      loc=(*head, *_field(err["loc"]))) for err in e.errors()]) from None
    if event.needs_person and event.person_id is None:
        raise InputError.one("event_person_missing", f"a {event.type} event needs a person_id",
                             loc=(*(() if line is None else ("line", line)), "person_id"))
    return event
