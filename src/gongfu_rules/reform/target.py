"""Budget targeting: the value of one reformed parameter that meets a cost, by bisection.

``--vary PARAM`` (or ``PARAM[key]`` for one entry of a table) names a parameter the reform
already changes; every value the reform gives it is set to the same whole number of yuan. The
cost searched is the reform's cost against the baseline (the change in the evaluated
standards' spending), assumed to grow with the value: the answer is the largest whole-yuan
value whose cost does not exceed the target, reported with the cost one yuan above it. The
baseline is evaluated once and reused for every step (PolicyEngine's advice for sweeps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..model import StandardsSet
from .apply import Applied, Reform, ReformError, apply_reform, parse_reform
from .impact import Population, cost_change, evaluate_baseline

MAX_STEPS = 60


@dataclass(frozen=True)
class TargetResult:
    parameter: str
    key: str | None
    target: Decimal
    value: Decimal
    cost: Decimal
    next_cost: Decimal | None
    steps: int
    applied: Applied

    def to_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "key": self.key, "target": str(self.target),
                "value": str(self.value), "cost": str(self.cost),
                "cost_at_value_plus_1": None if self.next_cost is None else str(self.next_cost),
                "steps": self.steps}


def with_value(reform: Reform, vary: str, value: Decimal) -> Reform:
    """The reform with every value it gives ``vary`` (``PARAM`` or ``PARAM[key]``) set to
    ``value``; its name says so, so its digest differs from the original's."""
    name, key = _split(vary)
    data = reform.spec.model_dump(by_alias=True, exclude_none=True)
    found = False
    for change in data["changes"]:
        if change.get("parameter") != name:
            continue
        for by_date in change["values"].values():
            for v in by_date.values():
                found = True
                if key is None:
                    if isinstance(v["value"], dict):
                        raise ReformError.one("vary_table", f"'{name}' is a table: say which "
                                              f"entry to vary, e.g. {name}[{next(iter(v['value']))}]",
                                              loc=("vary",))
                    v["value"] = value
                else:
                    if not isinstance(v["value"], dict) or key not in v["value"]:
                        raise ReformError.one("vary_key", f"the reform's values of '{name}' have "
                                              f"no entry '{key}'", loc=("vary",))
                    v["value"] = {**v["value"], key: value}
    if not found:
        raise ReformError.one("vary_unknown", f"the reform changes no parameter '{name}'; "
                              "--vary names a parameter the reform file sets", loc=("vary",))
    data["name"] = f"{data['name']} [{vary} = {value}]"
    return parse_reform(data, reform.file)


def _split(vary: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"([a-z][a-z0-9_.]*)(?:\[([^\]]+)\])?", vary.strip())
    if m is None:
        raise ReformError.one("vary_invalid", f"--vary takes PARAM or PARAM[key], not '{vary}'",
                              loc=("vary",))
    return m[1], m[2]


def find_value(population: Population, baseline: StandardsSet, reform: Reform, vary: str,
               target: Decimal, *, on: date | str | None = None, period: str | None = None
               ) -> TargetResult:
    """Bisection over whole yuan for the value of ``vary`` whose cost meets ``target``."""
    first = apply_reform(baseline, with_value(reform, vary, Decimal(0)))
    base = evaluate_baseline(population, baseline, first, on=on, period=period)
    steps = 0

    def cost(value: int) -> tuple[Decimal, Applied]:
        nonlocal steps
        steps += 1
        applied = apply_reform(baseline, with_value(reform, vary, Decimal(value)))
        return cost_change(population, base, applied, on=on, period=period), applied

    lo, (lo_cost, lo_applied) = 0, cost(0)
    if lo_cost > target:
        raise ReformError.one("target_unreachable", f"even a value of 0 costs {lo_cost}, more "
                              f"than the target {target}", loc=("target_cost",))
    hi = 1
    hi_cost, hi_applied = cost(hi)
    while hi_cost <= target:
        if steps >= MAX_STEPS:
            raise ReformError.one("target_unreachable", f"a value of {hi} costs only {hi_cost}; "
                                  f"the target {target} is out of reach", loc=("target_cost",))
        lo, lo_cost, lo_applied = hi, hi_cost, hi_applied
        hi *= 2
        hi_cost, hi_applied = cost(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        mid_cost, mid_applied = cost(mid)
        if mid_cost <= target:
            lo, lo_cost, lo_applied = mid, mid_cost, mid_applied
        else:
            hi, hi_cost = mid, mid_cost
    name, key = _split(vary)
    return TargetResult(name, key, target, Decimal(lo), lo_cost, hi_cost, steps, lo_applied)
