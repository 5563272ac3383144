"""How much of the plans' catalog the standards encode (``gongfu standards coverage``).

Every catalog entry (``standards/catalog/``) is in one of three states:

- ``amount``: encoded by a standard that computes an amount or states a quantity;
- ``screening``: encoded for screening only: who is eligible and what kind of benefit, the
  amount being set locally or not stated by the plans;
- ``not_encoded``: not an individual entitlement; the entry says why.
"""

from __future__ import annotations

from typing import Any

from .model import Standard, StandardsSet
from .regions import regions

STATES = ("amount", "screening", "not_encoded")


def state(entry: Any, std: StandardsSet) -> str:
    if entry.standard is None:
        return "not_encoded"
    return "amount" if _has_amount(std[entry.standard]) else "screening"


def _has_amount(s: Standard) -> bool:
    return any(r.amount is not None or r.quantity is not None for r in s.rules)


def coverage(std: StandardsSet, by: str = "domain") -> list[dict[str, Any]]:
    """One row per domain (or region): counts of entries in each state, and the total."""
    groups: dict[str, dict[str, int]] = {}
    for entry_id, entry in std.catalog.items():
        key = _domain(entry_id, std) if by == "domain" else entry.region
        row = groups.setdefault(key, dict.fromkeys(STATES, 0))
        row[state(entry, std)] += 1
    out = [{by: key, **counts, "total": sum(counts.values())} for key, counts in sorted(groups.items())]
    if by == "region":
        for row in out:
            row["name"] = regions().name(row["region"])
    return out


def _domain(entry_id: str, std: StandardsSet) -> str:
    return std.catalog_domains.get(entry_id, "?")


def coverage_table(rows: list[dict[str, Any]], by: str) -> str:
    lines = [f"{by:14} {'amount':>7} {'screening':>9} {'not_enc.':>8} {'total':>6}"]
    totals = dict.fromkeys((*STATES, "total"), 0)
    for row in rows:
        label = row[by] if by == "domain" else f"{row['region']} {row['name']}"
        lines.append(f"{label:14} {row['amount']:>7} {row['screening']:>9} "
                     f"{row['not_encoded']:>8} {row['total']:>6}")
        for k in totals:
            totals[k] += row[k]
    lines.append(f"{'all':14} {totals['amount']:>7} {totals['screening']:>9} "
                 f"{totals['not_encoded']:>8} {totals['total']:>6}")
    return "\n".join(lines)
