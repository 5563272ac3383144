"""Reforms: a proposal overlaid on the loaded standards, and its cost on a population.

A reform file (YAML, :mod:`.schema`) changes parameter values by region and date, switches a
standard off or on, or gives a standard a new rule version from a date. :func:`apply_reform`
checks it with the loader's own builder and returns a new :class:`~gongfu_rules.model.StandardsSet`
(the baseline is never touched). :func:`compare` evaluates a population under both sets with the
batch engine and :mod:`.report` writes the figures as JSON, CSV, Markdown and an offline HTML
report. :mod:`.population` makes a synthetic weighted caseload.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .apply import (Applied, Reform, ReformError, affected_by, apply_reform, parse_reform,
                        read_reform)


def __getattr__(name: str) -> Any:
    # Imported when first asked for: ``gongfu`` registers the reform commands at every start,
    # and the reform file models would cost every other command their import.
    if name in __all__:
        return getattr(import_module(".apply", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Applied", "Reform", "ReformError", "affected_by", "apply_reform", "parse_reform",
           "read_reform"]
