"""Request envelopes and response shapes: the OpenAPI contract.

Requests: the envelope (``on``, ``period``, ``lang``, ``detail``) is validated strictly here
(``false`` is not a string, ``"1"`` is not a list); the profile inside it is validated by the
library itself (:func:`gongfu_rules.parse_household`), so its errors are the library's
``ProfileError`` details. Its schema is the library's ``Household`` / ``Person`` models.

Responses: the library's JSON (:meth:`gongfu_rules.Evaluation.to_dict`, full or compact) as
it is; the models below describe it for the OpenAPI document and are not re-validated per
request. Money is a
decimal string with two places (``"1374.00"``), never a JSON number, so no client parses it
into a binary float.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from ..load.schema import Source  # a citation, as the standards files write it

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
Money = Annotated[str, Field(pattern=MONEY_PATTERN, examples=["1374.00"])]
Status = Literal["eligible", "not_eligible", "undetermined", "not_in_force"]
Lang = Literal["zh", "en"]
Detail = Literal["full", "compact", "summary"]

#: Where a profile goes; the OpenAPI document puts the library's Household | Person there.
PROFILE_MARK = "x-gongfu-profile"
PROFILE_SCHEMA = {
    "anyOf": [{"$ref": "#/components/schemas/Household"}, {"$ref": "#/components/schemas/Person"}],
    "description": "A household (with `members`) or one person; see docs/profiles.md.",
}
Profile = Annotated[dict[str, Any], WithJsonSchema({PROFILE_MARK: True})]
_DATE = WithJsonSchema({"type": "string", "format": "date", "examples": ["2025-08-01"]})
_PERIOD = WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}(-[0-9]{2})?$",
                          "description": "a year (2025) or a month (2025-07), month by month",
                          "examples": ["2025"]})


# --- requests --------------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Options(_Request):
    on: Annotated[str | None, _DATE] = Field(
        default=None, description="evaluation date; give this or `period`")
    period: Annotated[str | None, _PERIOD] = None
    lang: Lang | None = Field(
        default=None, description="keep only this language in {zh, en} texts (default: both)")
    detail: Detail = Field(
        default="full", description="`summary` leaves out not_eligible results, parameters, "
        "sources and failed conditions; `compact` is the full evaluation with each source "
        "and standard listed once and cited by id (schema gongfu-rules/evaluation-compact/1)")


class EvaluateRequest(_Options):
    profile: Profile


class BatchRequest(_Options):
    households: list[Profile] = Field(description="at most the server's batch limit "
                                      "(1000 by default; more is a 413)")


class ScreenRequest(_Request):
    profile: Profile
    on: Annotated[str | None, _DATE] = Field(default=None, description="default: today")
    lang: Lang | None = None


# --- responses -------------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class LocalText(_Out):
    """A text in Chinese and English (one of them when the request asked for a ``lang``)."""

    zh: str | None = None
    en: str | None = None


Value = str | dict[str, str | None] | None


class ParameterUseOut(_Out):
    name: str
    description: LocalText
    unit: str
    value: Value
    region: str
    from_: str = Field(alias="from")
    to: str | None
    is_floor: bool
    floor: Value
    floor_region: str | None
    source: Source
    note: str | None
    below_floor: bool
    reliability: str
    date_source: Source | None = None
    possibly_outdated: bool | None = None


class MonthOut(_Out):
    month: str
    status: Status
    amount: Money | None


class _ResultFields(_Out):
    """What a result has in both forms, full and compact."""

    standard: str
    status: Status
    version: str | None
    amount: Money | None = None
    annual_amount: Money | None = None
    amount_at_least: Money | None = None
    amount_possibly_outdated: bool | None = None
    quantity: str | None = None
    quantity_unit: LocalText | None = None
    value_region: str | None = None
    is_floor: bool | None = None
    reliability: str | None = None
    amount_note: LocalText | None = None
    set_locally: bool | None = None
    weak_source: bool | None = None
    missing: list[str] | None = None
    unknown_parameters: list[str] | None = None
    failed: list[LocalText] | None = None
    reason: str | None = None
    excluded_by: str | None = None
    explanation: LocalText | None = None
    total: Money | None = None
    total_at_least: Money | None = None
    prorated: bool | None = None


class ResultOut(_ResultFields):
    """One standard's result: the keys of ``docs/results.md``."""

    name: LocalText
    domain: str
    kind: str
    period: str
    unit: str | None = None
    parameters: list[ParameterUseOut] | None = None
    sources: list[Source] | None = None
    months: list[MonthOut] | None = None


class StandardsSetOut(_Out):
    name: str
    version: str
    digest: str


class _Groups(_Out):
    entitlements: list[ResultOut]
    undetermined: list[ResultOut]
    not_eligible: list[ResultOut]
    not_in_force: list[ResultOut]


class HouseholdResultsOut(_Groups):
    id: str | None


class PersonResultsOut(_Groups):
    id: str


class EvaluationOut(_Out):
    """``Evaluation.to_dict()``: schema ``gongfu-rules/evaluation/1``."""

    schema_: str = Field(alias="schema")
    standards_set: StandardsSetOut
    on: str | None
    period: str | None
    household: HouseholdResultsOut
    persons: list[PersonResultsOut]


# --- the compact form (detail=compact): each source and standard once, cited by id ---------
class CompactParameterUseOut(ParameterUseOut):
    # a key of the evaluation's `sources`, not the source itself
    source: str = Field(description="a key of the evaluation's `sources`")  # type: ignore
    date_source: str | None = None  # type: ignore[assignment]


class RunOut(_Out):
    """Consecutive months of a period with the same status and amount."""

    from_: str = Field(alias="from")
    to: str
    status: Status
    amount: Money | None


class CompactResultOut(_ResultFields):
    """One standard's result in the compact form: the standard's own fields (name, domain,
    kind, period, unit) are in the evaluation's `standards`, the sources in its `sources`."""

    standard: str = Field(description="a key of the evaluation's `standards`")
    parameters: list[CompactParameterUseOut] | None = None
    sources: list[str] | None = None
    runs: list[RunOut] | None = None


class _CompactGroups(_Out):
    entitlements: list[CompactResultOut]
    undetermined: list[CompactResultOut]
    not_eligible: list[CompactResultOut]
    not_in_force: list[CompactResultOut]


class CompactHouseholdResultsOut(_CompactGroups):
    id: str | None


class CompactPersonResultsOut(_CompactGroups):
    id: str


class StandardRefOut(_Out):
    name: LocalText
    domain: str
    kind: str
    period: str
    unit: str | None


class CompactEvaluationOut(_Out):
    """``Evaluation.to_dict("compact")``: schema ``gongfu-rules/evaluation-compact/1``."""

    schema_: str = Field(alias="schema")
    standards_set: StandardsSetOut
    on: str | None
    period: str | None
    household: CompactHouseholdResultsOut
    persons: list[CompactPersonResultsOut]
    standards: dict[str, StandardRefOut]
    sources: dict[str, Source] = Field(description="each source without its reviewer's note")


class EvaluateOut(RootModel[EvaluationOut | CompactEvaluationOut]):
    """An evaluation: the full form, or with ``detail=compact`` the compact form."""


class ErrorItem(_Out):
    code: str = Field(examples=["id_number_check_digit"])
    loc: list[str | int] = Field(examples=[["profile", "members", 0, "id_number"]])
    msg: str


class ErrorsOut(_Out):
    errors: list[ErrorItem]


class BatchItemOut(_Out):
    """One household of a batch: its evaluation, or why it was set aside."""

    index: int
    evaluation: EvaluationOut | CompactEvaluationOut | None = None
    status: int | None = Field(default=None, description="the status this household alone "
                               "would have had (422: its profile is invalid)")
    errors: list[ErrorItem] | None = None


class BatchOut(_Out):
    schema_: str = Field(alias="schema")
    standards_set: StandardsSetOut
    count: int
    failed: int
    results: list[BatchItemOut]


class StreamLineOut(_Out):
    """One line of the NDJSON response: an evaluation, or the errors of one input line."""

    line: int = Field(description="1-based line number in the request body (0: the stream itself)")
    evaluation: EvaluationOut | CompactEvaluationOut | None = None
    status: int | None = None
    errors: list[ErrorItem] | None = None


class PotentialOut(_Out):
    amount: Money | None
    annual_amount: Money | None
    assuming: list[str] = Field(description="the yes/no facts answered 'yes' to compute it")


class ScreenItemOut(ResultOut):
    person: str | None = Field(description="member id; null for a household standard")
    potential: PotentialOut | None = None


class QuestionOut(_Out):
    fact: str
    entity: Literal["person", "household"]
    person: str | None
    type: str
    zh: str
    en: str
    standards: list[str]
    annual_amount_at_stake: Money | None


class ScreenOut(_Out):
    schema_: str = Field(alias="schema")
    standards_set: StandardsSetOut
    on: str
    applies: list[ScreenItemOut]
    may_apply: list[ScreenItemOut]
    questions: list[QuestionOut]


class VersionSpanOut(_Out):
    from_: str = Field(alias="from")
    to: str | None


class StandardOut(_Out):
    id: str
    name: LocalText
    summary: LocalText
    domain: str
    kind: str
    entity: str
    period: str
    unit: str | None
    region_basis: str
    scope: str
    file: str
    versions: list[VersionSpanOut]


class StandardListOut(_Out):
    standards_set: StandardsSetOut
    standards: list[StandardOut]


class ConditionOut(_Out):
    test: str
    text: LocalText


class RuleOut(_Out):
    from_: str = Field(alias="from")
    to: str | None
    conditions: list[ConditionOut]
    amount: str | None = Field(description="the amount expression")
    amount_note: LocalText | None
    quantity: str | None
    quantity_unit: LocalText | None
    per_year: str | None
    sources: list[Source]
    change: LocalText | None
    set_locally: bool


class ValueOut(_Out):
    region: str
    from_: str = Field(alias="from")
    to: str | None
    value: Value
    floor: bool
    below_floor: bool
    reliability: str
    source: Source
    note: str | None


class ParameterOut(_Out):
    name: str
    description: LocalText
    unit: str
    values: list[ValueOut]


class StandardDetailOut(StandardOut):
    on: str | None = Field(description="the date asked for; null in a history")
    rules: list[RuleOut] = Field(description="the rule version in force on `on` (none if no "
                                 "version is), or every version in a history")
    parameters: list[ParameterOut]


class ChoiceOut(_Out):
    value: str
    aliases: list[str]


class FactOut(_Out):
    name: str
    entity: Literal["person", "household"]
    type: str
    zh: str
    en: str
    values: list[ChoiceOut] | None
    builtin: bool


class FactsOut(_Out):
    facts: list[FactOut]


class VersionOut(_Out):
    package: str
    api: str
    standards_set: StandardsSetOut


class HealthOut(_Out):
    status: Literal["ok"]
    standards_set: StandardsSetOut


# --- reform comparison jobs ------------------------------------------------------------------
#: Where the reform goes; the OpenAPI document puts the reform file's schema there.
REFORM_MARK = "x-gongfu-reform"
Row = dict[str, str | int | float | bool | None]


#: A whole request: the example reform (examples/reform_orphan_2100.yaml) on two persons.
_COMPARE_EXAMPLE = {
    "reform": {"name": "集中养育孤儿保障标准提高到2100元 (proposal)", "description": "proposal",
               "author": "policy desk", "sources": {"proposal": {
                   "document": "方案（示例）", "quote": "提高到2100元/人·月",
                   "reliability": "unverified"}},
               "changes": [{"parameter": "child_living_standard", "values": {"53": {
                   "2026-07-01": {"value": {"institutional": 2100, "scattered": 1370},
                                  "source": "proposal"}}}}]},
    "population": [{"household_id": "h1", "birth_date": "2015-05-01", "hukou_region": "532301",
                    "orphan": "是", "child_care_arrangement": "集中", "weight": "3"},
                   {"household_id": "h2", "birth_date": "1960-01-01", "hukou_region": "530102",
                    "weight": "2"}],
    "period": "2026"}


class ReformCompareRequest(_Request):
    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [_COMPARE_EXAMPLE]})

    reform: Annotated[dict[str, Any], WithJsonSchema({REFORM_MARK: True})] = Field(
        description="the content of a reform file (docs/reforms.md), as JSON")
    population: list[Row] = Field(
        min_length=1, description="the caseload inline: one object per person with the batch "
        "columns (docs/batch.md) and an optional `weight`; at most the server's batch limit "
        "(1000 by default; more is a 413)")
    on: Annotated[str | None, _DATE] = Field(
        default=None, description="the cost is that day's amounts as a year; give this or "
        "`period`")
    period: Annotated[str | None, _PERIOD] = Field(
        default=None, description="the cost is what is paid over the year or month")
    lang: Lang | None = Field(default=None, description="language of the HTML report "
                              "(default zh)")
    examples: int = Field(default=5, ge=0, le=20, description="example households explained")


class StandardImpactOut(_Out):
    standard: str
    name_zh: str
    name_en: str
    entity: str
    baseline: Money
    reform: Money
    change: Money
    beneficiaries_baseline: Money
    beneficiaries_reform: Money
    gained: Money
    lost: Money
    unpriced_baseline: Money
    unpriced_reform: Money


class RegionImpactOut(_Out):
    region: str
    name: str
    baseline: Money
    reform: Money
    change: Money
    persons: Money


class ImpactStampOut(_Out):
    package: str
    package_version: str
    standards: str
    standards_version: str
    standards_digest: str
    reformed_standards_digest: str
    reform: str
    reform_author: str
    reform_digest: str
    population_digest: str
    evaluated_standards: list[str]


class TotalOut(_Out):
    baseline: Money
    reform: Money
    change: Money


class ImpactOut(_Out):
    """The figures of ``gongfu reform compare --format json`` (docs/reforms.md). Counts are
    weighted, so they are decimal strings too."""

    stamp: ImpactStampOut
    time: dict[str, str | None]
    weighted: bool
    rows: int
    set_aside: int
    total: TotalOut
    by_standard: list[StandardImpactOut]
    by_prefecture: list[RegionImpactOut]
    by_county: list[RegionImpactOut]
    households: dict[str, Money]
    deciles: list[dict[str, str]]
    bands: dict[str, Any]
    dibao_line: dict[str, Any]
    examples: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    target: dict[str, Any] | None
    notes: list[str]


class ReformJobOut(_Out):
    """A comparison job, as PolicyEngine's API polls them: ``computing`` (queued or running),
    then ``ok`` with the ``result`` or ``error`` with the ``errors``."""

    id: str
    status: Literal["computing", "ok", "error"]
    submitted: str = Field(description="UTC, ISO 8601")
    finished: str | None
    expires: str | None = Field(description="when a finished job and its result are "
                                "forgotten (UTC, ISO 8601)")
    result: ImpactOut | None
    errors: list[ErrorItem] | None
