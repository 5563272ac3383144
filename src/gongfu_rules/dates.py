"""Dates, ages and evaluation periods.

Ages are 周岁: completed years on the evaluation date. A person turns N on the anniversary of
their birth; someone born on 29 February turns N on 1 March in a common year (their
anniversary does not exist, so the year is completed once 28 February has passed).

A period is a calendar year (``"2025"``) or month (``"2025-07"``). Evaluating over a period
means evaluating each of its months as of the month's first day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import InputError, redact_value
from .limits import FIRST_DAY, LAST_DAY, MAX_YEAR, MIN_YEAR

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def age_on(birth: date, on: date) -> int:
    """Completed years (周岁) of someone born on ``birth``, on ``on``.

    >>> age_on(date(2000, 2, 29), date(2018, 2, 28)), age_on(date(2000, 2, 29), date(2018, 3, 1))
    (17, 18)
    """
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar year or month; ``months`` lists the first day of each of its months."""

    text: str
    start: date
    months: tuple[date, ...]

    @property
    def end(self) -> date:
        """The day after the period (half-open)."""
        last = self.months[-1]
        return date(last.year + (last.month == 12), last.month % 12 + 1, 1)


def parse_period(text: str) -> Period:
    """``"2025"`` or ``"2025-07"`` → :class:`Period`; anything else is an :class:`InputError`."""
    raw = text if isinstance(text, str) else \
        str(text) if isinstance(text, int) and not isinstance(text, bool) and 0 <= text < 10**6 else ""
    m = _PERIOD.match(raw.strip())
    if not m or not (1 <= int(m.group(2) or 1) <= 12):
        raise InputError.one(
            "period_invalid",
            f"expected a period as a year ('2025') or a month ('2025-07'); got {raw[:40]!r}",
            loc=("period",), input=text)
    year = int(m.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputError.one("period_out_of_range", f"periods from {MIN_YEAR} to {MAX_YEAR} "
                             f"can be evaluated; got {text!r}", loc=("period",), input=text)
    if m.group(2):
        month = int(m.group(2))
        return Period(text, date(year, month, 1), (date(year, month, 1),))
    return Period(text, date(year, 1, 1), tuple(date(year, mo, 1) for mo in range(1, 13)))


def parse_date(value: date | str, field: str = "on") -> date:
    """An ISO date (``2025-07-01``) or a :class:`date` from :data:`~gongfu_rules.limits.MIN_YEAR`
    to ``MAX_YEAR``; otherwise an :class:`InputError`.

    A :class:`datetime` (or any other ``date`` subclass) stands for its calendar day.
    """
    if type(value) is date:
        day = value
    elif isinstance(value, date):
        day = date(value.year, value.month, value.day)
    else:
        try:
            day = date.fromisoformat(value.strip() if isinstance(value, str) else "?")
        except ValueError:
            raise InputError.one(
                "date_invalid", f"expected a date as YYYY-MM-DD, such as 2025-07-01; "
                f"got {redact_value(value)!r:.60}", loc=(field,), input=value) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError.one("date_out_of_range", f"dates from {FIRST_DAY} to {LAST_DAY} can be "
                             f"evaluated; got {day.isoformat()}", loc=(field,), input=day)
    return day
