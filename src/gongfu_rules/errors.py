"""Errors, as data.

Every error the library raises on purpose derives from :class:`GongfuError` and carries a list
of :class:`ErrorDetail` records ``{code, loc, msg, input, source}`` — the same dicts that the CLI
prints, that a batch writes to its errors file and that the HTTP layer maps to a 4xx response.

Hierarchy::

    * GongfuError
      + ProfileError        a person or household profile is invalid     (HTTP 422)
      + InputError          a date, period or option given by the caller  (HTTP 400)
      + StandardsError      a standards directory does not load           (not a user error)
        - ExpressionError   an expression in a standard does not parse or type-check
      + InternalError       a bug: an exception the library did not expect (HTTP 500)

Codes are stable: tests and callers may match on them; ``docs/limits-and-errors.md`` lists them.

Personal data: every message, ``loc`` and ``input`` is passed through :func:`redact` when the
detail is made, so nothing shaped like an ID number (公民身份号码) — also with spaces, hyphens
or full-width digits, inside a longer text, a list or a key — reaches a user, a log or a file.
Messages and inputs are also cut to a bounded length (:mod:`.limits`).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from .limits import MAX_ERROR_INPUT_CHARS, MAX_ERROR_MESSAGE_CHARS

_F = TypeVar("_F", bound=Callable[..., Any])

# A run of digits (any script's, so full-width ０-９ too) that may be split by single spaces,
# hyphens or underscores, with an optional check character X at the end. Fifteen digits or more
# is treated as an ID number (15-digit first-generation, 18-character second-generation):
# broad on purpose, redacting a long number that is not an ID costs nothing.
_SEP = r"[\s\-\u2010-\u2015\u2212\uFF0D_]"
_DIGIT_RUN = re.compile(rf"\d(?:{_SEP}?\d)*(?:{_SEP}?[XxＸｘ])?")
_ID_MIN_DIGITS = 15


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem: a stable ``code``, where it is (``loc``), what is wrong (``msg``).

    ``loc`` is a path of field names and indexes (``("members", 0, "id_number")``);
    ``source`` names the file the problem is in, when there is one.
    """

    code: str
    msg: str
    loc: tuple[str | int, ...] = ()
    input: Any = None
    source: str | None = None

    def __post_init__(self) -> None:
        # Cut long before redacting (bounded work), redact, then cut to the limit.
        msg = redact(_cut(str(self.msg), 20 * MAX_ERROR_MESSAGE_CHARS))
        object.__setattr__(self, "msg", _cut(msg, MAX_ERROR_MESSAGE_CHARS))
        object.__setattr__(self, "loc", tuple(
            part if isinstance(part, int) and not isinstance(part, bool) and part.bit_length() < 64
            else _cut(redact(_cut(str(part) if isinstance(part, str) else _safe_repr(part), 1000)),
                      100)
            for part in self.loc))
        object.__setattr__(self, "input", redact_value(self.input))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "loc": list(self.loc),
            "msg": self.msg,
            "input": _jsonable(self.input),
            "source": self.source,
        }

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.loc)
        prefix = f"{self.source}: " if self.source else ""
        at = f"{where}: " if where else ""
        return f"{prefix}{at}{self.msg} [{self.code}]"


@dataclass
class GongfuError(Exception):
    """Base class: one or more :class:`ErrorDetail` records."""

    details: list[ErrorDetail] = field(default_factory=list)
    http_status = 400

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def code(self) -> str:
        return self.details[0].code if self.details else "error"

    def to_dicts(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.details]

    def __str__(self) -> str:
        if len(self.details) == 1:
            return str(self.details[0])
        lines = [f"{len(self.details)} errors:"]
        lines += [f"  - {d}" for d in self.details]
        return "\n".join(lines)

    @classmethod
    def one(cls, code: str, msg: str, loc: tuple[str | int, ...] = (), input: Any = None,
            source: str | None = None) -> "GongfuError":
        return cls([ErrorDetail(code=code, msg=msg, loc=loc, input=input, source=source)])


class ProfileError(GongfuError):
    """A person or household profile is invalid (unknown field, bad ID number, ...)."""

    http_status = 422


class InputError(GongfuError):
    """A caller-supplied option is invalid: an evaluation date, a period, a language."""

    http_status = 400


class StandardsError(GongfuError):
    """A standards directory failed to load; ``details`` lists every problem found."""

    http_status = 500


class ExpressionError(StandardsError):
    """An expression in a standard does not parse or does not type-check."""


class InternalError(GongfuError):
    """An exception the library did not expect: a bug, reported as one (code ``internal_error``).

    The original exception is chained as ``__cause__``; its message is not repeated (it could
    hold personal data).
    """

    http_status = 500


def boundary(fn: _F) -> _F:
    """Let only :class:`GongfuError` out of a public entry point.

    Anything else is a bug; it leaves as an :class:`InternalError` naming the exception type,
    with the original chained for a debugger. A deep recursion or an exhausted memory is
    reported the same way: the limits (:mod:`.limits`) are meant to stop such input first.
    """
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GongfuError:
            raise
        except (Exception, RecursionError, MemoryError) as e:
            raise InternalError.one(
                "internal_error", f"{fn.__name__}() failed with {type(e).__name__}; this is a "
                "bug in gongfu-rules, please report it with the input that caused it") from e
    return guarded  # type: ignore[return-value]


def redact(text: str) -> str:
    """``text`` with every run of 15 or more digits (an ID number, however written) replaced.

    >>> redact("id 5301 0220 1505 0112 3X is wrong")
    'id <ID number, redacted> is wrong'
    """
    if not any(ch.isdigit() for ch in text):
        return text
    return _DIGIT_RUN.sub(_redact_run, text)


def _redact_run(m: re.Match[str]) -> str:
    run = m.group(0)
    return "<ID number, redacted>" if sum(ch.isdigit() for ch in run) >= _ID_MIN_DIGITS else run


def redact_value(value: Any, depth: int = 0) -> Any:
    """A value fit to show in an error: ID-like text redacted, long text and containers cut,
    huge numbers described rather than written out (``str`` of a 5,000-digit int fails)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (float, Decimal)):  # a spreadsheet reads an ID as 5.30102199001011e+17
        text = _cut(str(value), 20 * MAX_ERROR_INPUT_CHARS)
        return value if redact(text) == text else _cut(redact(text), MAX_ERROR_INPUT_CHARS)
    if isinstance(value, int):
        if value.bit_length() > 160:
            return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return value if abs(value) < 10 ** (_ID_MIN_DIGITS - 1) else redact(str(value))
    if isinstance(value, str):
        return _cut(redact(_cut(value, 20 * MAX_ERROR_INPUT_CHARS)), MAX_ERROR_INPUT_CHARS)
    if depth >= 3:
        return "…"
    if isinstance(value, (list, tuple)):
        items = [redact_value(v, depth + 1) for v in value[:20]]
        return items + ["…"] if len(value) > 20 else items
    if isinstance(value, dict):
        pairs = list(itertools.islice(value.items(), 20))
        out = {redact_value(k if isinstance(k, str) else _safe_repr(k), depth + 1):
               redact_value(v, depth + 1) for k, v in pairs}
        if len(value) > 20:
            out["…"] = "…"
        return out
    # Dates stay dates (they are never ID numbers); anything else is shown as its repr.
    return value if isinstance(value, date) else redact_value(_safe_repr(value), depth)


def _safe_repr(value: Any) -> str:
    try:
        return _cut(repr(value), 20 * MAX_ERROR_INPUT_CHARS)
    except (ValueError, RecursionError):  # an int too long for str(), a self-referencing list
        return f"<{type(value).__name__}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class Terminated(KeyboardInterrupt):
    """SIGTERM during a batch run, raised like Ctrl-C so the same clean-up runs (partial
    outputs and temporary copies removed); ``gongfu`` then exits with 143 (128 + SIGTERM)."""
