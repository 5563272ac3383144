"""Errors to HTTP responses, in one place.

Every rejection is a :class:`~gongfu_rules.errors.GongfuError` whose class gives the status
(``http_status``): :class:`~gongfu_rules.errors.ProfileError` 422, ``InputError`` 400, and the
service's own subclasses below (404, 413, 415). The body is always
``{"errors": [{"code", "loc", "msg"}]}``; ``input`` is left out so that no personal data (an
income, an ID number) is sent back or ends up in a proxy's log.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from ..errors import ErrorDetail, GongfuError, InputError
from ..profile import to_profile_error

log = logging.getLogger("gongfu_rules.service")


class NotFound(InputError):
    """No such standard (or route)."""

    http_status = 404


class PayloadTooLarge(InputError):
    """The body, a batch or a stream line is over its documented limit."""

    http_status = 413


class UnsupportedMediaType(InputError):
    """The request's Content-Type is not the one the endpoint reads."""

    http_status = 415


def error_body(details: list[ErrorDetail]) -> dict[str, Any]:
    return {"errors": [{"code": d.code, "loc": list(d.loc), "msg": d.msg} for d in details]}


def error_response(error: GongfuError) -> JSONResponse:
    return JSONResponse(error_body(error.details), status_code=error.http_status)


def options_error(error: ValidationError, model: type[BaseModel]) -> InputError:
    """A request envelope that does not validate, as an :class:`InputError` (400).

    The library's own translation gives the codes (``field_unknown``, ``field_missing``,
    ``value_invalid``) and messages, with ID numbers redacted.
    """
    return InputError(to_profile_error(error, model).details)


def prefixed(error: GongfuError, *prefix: str | int) -> GongfuError:
    """The same error with every ``loc`` under ``prefix`` (where the profile sits in the body)."""
    details = [ErrorDetail(d.code, d.msg, (*prefix, *d.loc), d.input, d.source)
               for d in error.details]
    return type(error)(details)


_HTTP_CODES = {404: "route_unknown", 405: "method_not_allowed"}


def install(app: FastAPI) -> None:
    """Register the handlers for library errors and routing errors; anything else is caught by
    the outermost middleware (:mod:`.middleware`), before Starlette would log its message."""

    @app.exception_handler(GongfuError)
    async def _gongfu(request: Request, exc: GongfuError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body([ErrorDetail(code, str(exc.detail))]),
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Parameters are plain strings checked by the library, so this is a safety net only.
        details = [ErrorDetail("value_invalid", str(e.get("msg")), tuple(e.get("loc", ())))
                   for e in exc.errors()]
        return JSONResponse(error_body(details), status_code=400)


def log_internal_error(scope: dict[str, Any], exc: BaseException) -> None:
    """Log a bug (not a client error) by its type and frames, never its message or the body:
    an exception's message may quote an input."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("internal error on %s %s: %s\n%s", scope.get("method"), scope.get("path"),
              type(exc).__name__, frames)


INTERNAL_ERROR = error_body([ErrorDetail("internal_error", "internal error")])
