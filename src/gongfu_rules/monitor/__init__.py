"""The life-event monitor (免申即享): life events in, entitlement changes out.

Registers send events (birth, death, disability certified, 低保/特困 granted or ended, ...) as
JSON lines; :class:`Monitor` logs them in a SQLite household store, routes each through a
durable-rules ruleset generated from the standards (which standards can this event change?),
lets the engine (:func:`gongfu_rules.evaluate`) decide those standards for the household, and
records what started, stopped or changed, with the amount, rule version and reason, and whether
it is decided from the data held (免申即享) or needs facts from the citizen (快申快享).
``Monitor.tick(on)`` is the clock: birthdays at ages the standards test, and new rules or
figures, found by query rather than timers. Needs the ``monitor`` extra (durable-rules).
See docs/monitor.md.

    >>> from gongfu_rules.monitor import Monitor                        # doctest: +SKIP
    >>> m = Monitor("households.sqlite")
    >>> m.ingest([{"id": "e1", "type": "birth", "effective_date": "2025-03-01",
    ...            "household_id": "h1", "person_id": "c1", "hukou_region": "530102"}])
    >>> m.changes()
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Monitor, Report
    from .events import EVENT_TYPES, Event, MonitorError, parse_event

# Imported when first asked for: ``gongfu`` registers the monitor's commands at every start,
# and the event models would cost every other command their import.
_FROM = {"Monitor": ".core", "Report": ".core", "EVENT_TYPES": ".events", "Event": ".events",
         "MonitorError": ".events", "parse_event": ".events"}


def __getattr__(name: str) -> Any:
    if name in _FROM:
        return getattr(import_module(_FROM[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Monitor", "Report", "Event", "EVENT_TYPES", "MonitorError", "parse_event"]
