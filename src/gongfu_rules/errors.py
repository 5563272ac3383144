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

Codes are stable: tests and callers may match on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
