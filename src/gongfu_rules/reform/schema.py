"""The closed schema of a reform file (YAML). Unknown keys are errors, as in ``standards/``.

A reform, in outline (``docs/reforms.md`` has the full reference)::

    name: 孤儿基本生活费提高到2100元
    description: 散居孤儿保障标准自2026年7月起提高到每人每月2100元（方案，非已公布标准）
    author: 省民政厅社会救助处
    sources:
      proposal: {document: ..., quote: ..., reliability: unverified, note: a proposal}
    changes:
      - parameter: child_living_standard          # shared, or STANDARD.PARAMETER
        values:                                   # the same shape as in standards/
          "53":
            2026-07-01: {value: {institutional: 2010, scattered: 2100}, source: proposal}
      - standard: tekun_care_subsidy
        enabled: false
        from: 2026-01-01
      - standard: elderly_allowance
        from: 2026-07-01
        eligibility: [{test: "age >= 75", text: {zh: 75周岁以上, en: aged 75 or over}}]
        amount: "p.rate"
        sources: [proposal]
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ..load.schema import Condition, Source, Text, Value


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ValueChange(_Closed):
    """New values of a parameter, by region and start date, each citing a source.

    A value runs from its date to its ``end`` (or to the next date given, or open-ended) and
    replaces the baseline's values for that region over that span only; the baseline's values
    before and after it are kept.
    """

    parameter: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
    values: dict[str, dict[date, Value]] = Field(min_length=1)
    #: Labels for the table keys the values add (``age_70_79: {zh: ..., en: ...}``), shown in
    #: explanations as the baseline's own keys' labels are; the baseline's keys keep theirs.
    keys: dict[str, Text] = {}


class SwitchChange(_Closed):
    """A standard switched off (``enabled: false``) from a date, or back on (``enabled: true``):
    its last rule version then runs on with no end."""

    standard: str
    enabled: bool
    start: date | None = Field(default=None, alias="from")


class RuleChange(_Closed):
    """A new version of a standard's rule from a date (to ``end``, else open-ended).

    Eligibility or amount, or both; what is not given is the baseline's rule in force on the
    start date. The expressions are type-checked as a standard's are.
    """

    standard: str
    start: date = Field(alias="from")
    end: date | None = None
    eligibility: list[Condition] | None = Field(default=None, min_length=1)
    amount: str | None = None
    sources: list[str] = Field(min_length=1)
    change: Text | None = None

    @model_validator(mode="after")
    def _something(self) -> "RuleChange":
        if self.eligibility is None and self.amount is None:
            raise ValueError("a rule change gives 'eligibility', 'amount' or both")
        return self


def _kind(change: Any) -> str:
    """Which kind of change a mapping is, by its keys (one clear error instead of three)."""
    if isinstance(change, BaseModel):
        return {ValueChange: "value", SwitchChange: "switch"}.get(type(change), "rule")
    if isinstance(change, dict) and "parameter" in change:
        return "value"
    if isinstance(change, dict) and "enabled" in change:
        return "switch"
    return "rule"


Change = Annotated[Annotated[ValueChange, Tag("value")] | Annotated[SwitchChange, Tag("switch")]
                   | Annotated[RuleChange, Tag("rule")], Discriminator(_kind)]


class ReformFile(_Closed):
    """A reform: who proposes it, why, its sources, and its changes, applied in order."""

    name: str
    description: str
    author: str
    sources: dict[str, Source] = Field(min_length=1)
    changes: list[Change] = Field(min_length=1)
