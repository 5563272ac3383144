"""The closed schema of a standards directory: one YAML file per standard, shared parameter
files, and the set's own ``gongfu.yaml``. Every model forbids unknown keys, so a misspelt key
is an error that names the file and the key, never a silently ignored line.

A standard file, in outline (``docs/standards-format.md`` has the full reference)::

    id: orphan_basic_living
    name: {zh: 孤儿基本生活费, en: Orphans' basic living allowance}
    domain: 弱有所扶          kind: cash      entity: person     period: month
    unit: 元/人·月            region_basis: hukou                 scope: "53"
    sources:
      yn_plan: {document: ..., section: ..., quote: ..., reliability: official}
    parameters:
      rate:
        description: {zh: ..., en: ...}
        unit: 元/人·月
        values:
          "53":                       # region code: its values by start date
            2022-07-01: {value: {institutional: 1990, scattered: 1290}, source: {...}}
    versions:                         # the rule itself, by start date
      2020-12-31:
        eligibility:
          - {test: "orphan", text: {zh: 孤儿, en: an orphan}}
        amount: p.rate[child_care_arrangement]
        sources: [yn_plan]
    tests: [...]
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Reliability = Literal["official", "mirror", "secondary", "derived", "unverified"]
Domain = Literal["幼有所育", "学有所教", "劳有所得", "病有所医", "老有所养", "住有所居", "弱有所扶",
                 "优军服务保障", "文体服务保障"]
Kind = Literal["cash", "service", "in_kind", "waiver", "insurance"]
Entity = Literal["person", "household"]
PeriodName = Literal["once", "day", "month", "semester", "year"]

#: Weakest first: a result is as reliable as the weakest source it rests on.
RELIABILITY_ORDER: tuple[str, ...] = ("unverified", "derived", "secondary", "mirror", "official")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Closed):
    """The same words in Chinese and English."""

    zh: str
    en: str


class Source(_Closed):
    """Where a figure or a rule comes from: the document, the article or 专栏 item, the words."""

    document: str
    section: str | None = None
    quote: str
    url: str | None = None
    reliability: Reliability
    note: str | None = None


SourceRef = str | Source


class Value(_Closed):
    """One dated value of a parameter for one region.

    ``value`` is a number, a table ``{key: number}``, or ``null`` when the source shows that a
    value was set but not what it is (``note`` then says so). ``floor: true`` marks a 不低于
    value: a lower bound for every region below, paid only where no local value is known.
    """

    value: Decimal | dict[str, Decimal | None] | None
    source: SourceRef
    date_source: SourceRef | None = None
    floor: bool = False
    below_floor: bool = False
    possibly_outdated: bool = False
    end: date | None = None
    note: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _exact(cls, v: Any) -> Any:
        # Money is exact: read numbers through their text, never through binary floats.
        if isinstance(v, float):
            return Decimal(repr(v))
        if isinstance(v, dict):
            return {str(k): (Decimal(repr(x)) if isinstance(x, float) else x) for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _unknown_needs_note(self) -> "Value":
        if self.value is None and not self.note:
            raise ValueError("a value of null (amount not known) needs a note saying why")
        return self


class Parameter(_Closed):
    """A named figure with its values by region and start date.

    Values are never negative, unless ``deduction: true`` says the figure is one that a rule
    subtracts and its sources give it with a sign. A table's keys each need a label in ``keys``
    (``{scattered: {zh: 散居, en: in scattered care}}``): explanations name a row by its label,
    never by its key.
    """

    description: Text
    unit: str
    values: dict[str, dict[date, Value]] = Field(min_length=1)
    keys: dict[str, Text] = {}
    note: str | None = None
    deduction: bool = False


class ParameterFile(Parameter):
    """A parameter shared by several standards (``standards/parameters/NAME.yaml``)."""

    id: str
    sources: dict[str, Source] = {}


class Condition(_Closed):
    """One eligibility condition: an expression and the words a citizen reads for it."""

    test: str
    text: Text


class RuleVersion(_Closed):
    """The rule in force from its start date: who is eligible and what they get.

    ``set_locally: true`` says the sources leave the amount (or quantity) to the county or
    city and give no figure: the standard is encoded for screening, and its results say so.
    """

    eligibility: list[Condition] = Field(min_length=1)
    amount: str | None = None
    amount_note: Text | None = None
    quantity: Decimal | None = None
    quantity_unit: Text | None = None
    per_year: str | None = None
    set_locally: bool = False
    sources: list[str] = Field(min_length=1)
    change: Text | None = None


class Alternative(_Closed):
    """A reading the standard did not choose, kept so a reviewer can see it."""

    question: str
    chosen: str
    alternative: str
    source: SourceRef | None = None


class AlreadyInForce(_Closed):
    """The standard was already in force before its first version: the plan states the rule
    as the one applied at present (现阶段执行标准), not as a new one.

    ``since`` is the earlier start date when a source gives it (then ``since_source`` cites
    it); when it is not known (``null``), the engine cannot say whether the standard was in
    force on a date before the first version, nor what it gave: results then are
    ``undetermined`` with reason ``earlier_rule_unknown``. Before ``since`` they are
    ``not_in_force``.
    """

    source: str
    since: date | None = None
    since_source: SourceRef | None = None
    note: Text

    @model_validator(mode="after")
    def _since_cited(self) -> "AlreadyInForce":
        if (self.since is None) != (self.since_source is None):
            raise ValueError("'since' (an earlier start date) and 'since_source' (its "
                             "citation) are given together or not at all")
        return self


class Expect(_Closed):
    status: Literal["eligible", "not_eligible", "undetermined", "not_in_force"]
    amount: Decimal | None = None
    amount_at_least: Decimal | None = None
    amount_possibly_outdated: bool | None = None
    reason: str | None = None
    annual_amount: Decimal | None = None
    quantity: Decimal | None = None
    value_region: str | None = None
    is_floor: bool | None = None
    missing: list[str] | None = None
    excluded_by: str | None = None


class Case(_Closed):
    """A test case beside the standard: a profile, a date or period, and what it must give."""

    name: str
    on: date | None = None
    period: str | None = None
    profile: dict[str, Any]
    person: str | None = None
    expect: Expect

    @model_validator(mode="after")
    def _one_time(self) -> "Case":
        if (self.on is None) == (self.period is None):
            raise ValueError("a test case gives exactly one of 'on' or 'period'")
        return self


class StandardFile(_Closed):
    """One standard: a benefit, who gets it, and what, by version and region."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    summary: Text
    domain: Domain
    kind: Kind
    entity: Entity
    period: PeriodName
    unit: str | None = None
    region_basis: Literal["hukou", "residence"]
    scope: str
    sources: dict[str, Source] = Field(min_length=1)
    parameters: dict[str, Parameter] = {}
    versions: dict[date, RuleVersion] = Field(min_length=1)
    already_in_force: AlreadyInForce | None = None
    end: date | None = None
    excludes: list[str] = []
    alternatives: list[Alternative] = []
    tests: list[Case] = []


class SetFile(_Closed):
    """``standards/gongfu.yaml``: the set's name and version, recorded in every result."""

    name: str
    version: str
    description: str | None = None


class CatalogEntry(_Closed):
    """One benefit a plan names, and what became of it: a standard, or why it is not one.

    ``standard`` names the standard that encodes the entry; ``not_encoded`` says why the entry
    is not an individual entitlement (a facility target, a payment to an institution, ...).
    Exactly one of the two is given.
    """

    name: Text
    kind: str
    document: str
    line: int | None = None
    region: str
    family: str | None = None
    standard: str | None = None
    not_encoded: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _decided(self) -> "CatalogEntry":
        if (self.standard is None) == (self.not_encoded is None):
            raise ValueError("a catalog entry gives exactly one of 'standard' (the standard "
                             "that encodes it) or 'not_encoded' (why it is not one)")
        return self


class CatalogFile(_Closed):
    """``standards/catalog/DOMAIN.yaml``: the catalog entries of one domain."""

    domain: str
    entries: dict[str, CatalogEntry]


class CatalogDocument(_Closed):
    title: str
    issuer: str | None = None
    issued: date | None = None
    level: Literal["national", "province", "prefecture"]
    region: str
    status: str | None = None


class DocumentsFile(_Closed):
    """``standards/catalog/documents.yaml``: the plans the catalog entries come from."""

    documents: dict[str, CatalogDocument]
