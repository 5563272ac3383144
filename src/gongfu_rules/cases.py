"""Run the YAML test cases written beside each standard (its ``tests:`` list).

Each case gives a profile, a date (``on``) or a ``period``, and what the standard must give:
status (``not_in_force`` included), amount, its known lower bound (``amount_at_least``) and
whether it may be outdated, annual amount, quantity, the region whose value applied, whether a
floor was paid, the reason, the missing inputs, or the standard that excluded it. pytest runs every case
(``tests/test_standard_cases.py``) and so does ``gongfu validate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import GongfuError
from .evaluate import evaluate
from .load.schema import Case
from .model import Standard, StandardsSet


@dataclass(frozen=True)
class CaseOutcome:
    standard: Standard
    case: Case
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def title(self) -> str:
        return f"{self.standard.file}: {self.case.name}"


def all_cases(standards: StandardsSet) -> list[tuple[Standard, Case]]:
    return [(s, c) for s in standards for c in s.tests]


def run_case(standards: StandardsSet, s: Standard, case: Case) -> CaseOutcome:
    try:
        ev = evaluate(case.profile, case.on, period=case.period, standards=standards, explain=True)
        result = ev.get(s.id, None if s.entity == "household" else case.person)
    except GongfuError as e:
        return CaseOutcome(s, case, (f"evaluation failed: {e}",))
    return CaseOutcome(s, case, tuple(_compare(case, result)))


def run_cases(standards: StandardsSet) -> list[CaseOutcome]:
    return [run_case(standards, s, c) for s, c in all_cases(standards)]


def _compare(case: Case, result: Any) -> list[str]:
    e = case.expect
    got = result.to_dict()
    problems = []
    if got["status"] != e.status:
        problems.append(f"status: expected {e.status}, got {got['status']} "
                        f"({_why(got)})")
    checks = {
        "amount": (e.amount, got.get("total" if case.period else "amount")),
        "amount_at_least": (e.amount_at_least, got.get("amount_at_least")),
        "amount_possibly_outdated": (e.amount_possibly_outdated,
                                     got.get("amount_possibly_outdated", False)),
        "reason": (e.reason, got.get("reason")),
        "annual_amount": (e.annual_amount, got.get("annual_amount")),
        "quantity": (e.quantity, got.get("quantity")),
        "value_region": (e.value_region, got.get("value_region")),
        "is_floor": (e.is_floor, got.get("is_floor")),
        "excluded_by": (e.excluded_by, got.get("excluded_by")),
    }
    for name, (want, have) in checks.items():
        if name not in e.model_fields_set:
            continue
        if isinstance(want, Decimal) or (want is None and name in ("amount", "annual_amount",
                                                               "amount_at_least")):
            have = None if have is None else Decimal(have)
        if want != have:
            problems.append(f"{name}: expected {want}, got {have}")
    if e.missing is not None and sorted(e.missing) != sorted(got.get("missing", [])):
        problems.append(f"missing: expected {sorted(e.missing)}, got {got.get('missing', [])}")
    return problems


def _why(got: dict[str, Any]) -> str:
    for key in ("failed", "missing", "reason", "excluded_by"):
        if got.get(key):
            return f"{key}: {got[key]}"
    return "no detail"
