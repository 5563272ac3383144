"""The app factory and its routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..dates import parse_date, parse_period
from ..errors import ErrorDetail, GongfuError, InputError
from ..evaluate import evaluate
from ..model import StandardsSet
from ..profile import Household, parse_household
from ..results import json_utf8
from ..reform.schema import ReformFile
from . import compare, models, views
from .jobs import Jobs
from .middleware import DIGEST_HEADER, VERSION_HEADER, StandardsHeaders
from .problems import (NotFound, PayloadTooLarge, UnsupportedMediaType, error_body, install,
                       options_error, prefixed)
from .state import Standards

log = logging.getLogger("gongfu_rules.service")
NDJSON = "application/x-ndjson"
API = "v1"


def create_app(standards: StandardsSet | str | Path | None = None, *,
               max_body_bytes: int = 1 << 20, max_batch: int = 1000,
               max_stream_bytes: int = 64 << 20, cors_origins: Sequence[str] = (),
               reload_on_sighup: bool = True, jobs: Jobs | None = None,
               gzip_level: int = 0) -> FastAPI:
    """The service as an ASGI app.

    ``standards``: a loaded set, a standards directory, or None for the bundled set; it is
    loaded now, once. ``max_body_bytes`` bounds a JSON body (and one NDJSON line),
    ``max_batch`` the households of one batch, ``max_stream_bytes`` an NDJSON body; over any
    of them the answer is a 413. ``cors_origins``: the origins a browser may call from (none
    by default). ``reload_on_sighup``: reload the set from its directory on SIGHUP.
    ``jobs``: the queue and store of reform comparisons (default: :class:`.jobs.Jobs` with
    its default bounds); a population has at most ``max_batch`` rows. ``gzip_level``: the
    gzip level (1-9) of a response of 1 kB or more to a client that accepts gzip; 0 (the
    default) for none, as behind a proxy that compresses. Level 1 takes a household's full
    JSON from 669 to 144 kB in a few ms of the server's time (an NDJSON stream is
    compressed line by line, each line sent as it is computed).
    """
    if not 0 <= gzip_level <= 9:
        raise ValueError(f"gzip_level must be 0 (none) to 9; got {gzip_level}")
    holder = Standards.load(standards)
    jobs = jobs if jobs is not None else Jobs()
    app = FastAPI(title="gongfu-rules", version=__version__, lifespan=_lifespan(
        holder, reload_on_sighup, jobs), description=_DESCRIPTION, openapi_url="/openapi.json",
        docs_url=None, redoc_url=None)  # their pages load scripts from a CDN
    app.state.standards = holder
    app.state.reform_jobs = jobs
    install(app)
    limits = _Limits(max_body_bytes, max_batch, max_stream_bytes)
    _routes(app, limits)
    compare.add_routes(app, jobs, max_body_bytes=max_body_bytes, max_rows=max_batch,
                       read_json=_json, check_time=_check_time, envelope=_envelope)
    app.add_middleware(StandardsHeaders, holder=holder)
    if gzip_level:
        app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=gzip_level)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                           expose_headers=[DIGEST_HEADER, VERSION_HEADER])
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


_DESCRIPTION = (
    "China's basic public-service standards (基本公共服务标准) evaluated for a household. Money "
    "is a decimal string (\"1374.00\"). Errors are `{\"errors\": [{code, loc, msg}]}`. Every "
    "response carries the standards set it used in `Gongfu-Standards-Digest` and "
    "`Gongfu-Standards-Version`. See docs/http-api.md.")


def _lifespan(holder: Standards, on_sighup: bool, jobs: Jobs):
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # Signal handlers can only be set from the main thread (not under an in-process
        # test client); the reload itself runs in a worker thread so requests keep flowing.
        installed = on_sighup and hasattr(signal, "SIGHUP") and \
            threading.current_thread() is threading.main_thread()
        if installed:
            loop.add_signal_handler(signal.SIGHUP,
                                    lambda: loop.run_in_executor(None, holder.reload))
        try:
            yield
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGHUP)
            jobs.close()
    return lifespan


class _Limits:
    def __init__(self, body: int, batch: int, stream: int):
        self.body, self.batch, self.stream = body, batch, stream


def _std(request: Request) -> StandardsSet:
    """The set this request started with (a reload mid-request does not change it)."""
    return request.scope["gongfu.standards"]


def _ok(data: Any) -> Response:
    return JSONResponse(data)


def _ok_json(body: bytes) -> Response:
    """A JSON body already written (the bytes :class:`JSONResponse` would write for it)."""
    return Response(body, media_type="application/json")


_ERRORS = {
    400: "a malformed body or an invalid option (date, period, lang, an unknown key)",
    404: "no such standard",
    413: "the body, the batch or a line is over its limit",
    415: "the Content-Type is not application/json",
    422: "the profile is invalid: each error's loc is its path in the body",
}


def _responses(model: type[BaseModel], *errors: int, media: str = "application/json"
               ) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    if media != "application/json":
        out[200] = {"content": {media: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                    "description": "one JSON object per line", "model": model}
    for code in errors:
        out[code] = {"model": models.ErrorsOut, "description": _ERRORS[code]}
    return out


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


# --- routes ----------------------------------------------------------------------------------
def _routes(app: FastAPI, limits: _Limits) -> None:

    @app.post(f"/{API}/evaluate", tags=["evaluate"], openapi_extra=_body(models.EvaluateRequest),
              responses=_responses(models.EvaluateOut, 400, 413, 415, 422))
    async def evaluate_one(request: Request) -> Response:
        """Evaluate one household (or person) on a date (`on`) or over a `period`."""
        req = _envelope(await _json(request, limits.body), models.EvaluateRequest)
        std = _std(request)
        household = _profile(req.profile, ("profile",))
        _check_time(req.on, req.period)
        return _ok_json(_evaluation(household, req, std, ("profile",)))

    @app.post(f"/{API}/evaluate/batch", tags=["evaluate"], openapi_extra=_body(models.BatchRequest),
              responses=_responses(models.BatchOut, 400, 413, 415))
    async def evaluate_batch(request: Request) -> Response:
        """Evaluate many households; a bad one is reported in its place and never stops the rest."""
        data = await _json(request, limits.body)
        if isinstance(data, dict) and isinstance(data.get("households"), list) \
                and len(data["households"]) > limits.batch:
            raise PayloadTooLarge.one(
                "batch_too_large", f"at most {limits.batch} households per batch; got "
                f"{len(data['households'])} (send more with POST /{API}/evaluate/stream)",
                loc=("households",))
        req = _envelope(data, models.BatchRequest)
        _check_time(req.on, req.period)
        std = _std(request)
        results = await run_in_threadpool(
            lambda: [_batch_item(i, p, req, std) for i, p in enumerate(req.households)])
        head = {"schema": views.EVALUATION_SCHEMA_BATCH, "standards_set": std.label,
                "count": len(results), "failed": sum(failed for failed, _ in results)}
        return _ok_json(json_utf8(head)[:-1] + b',"results":['
                        + b",".join(body for _, body in results) + b"]}")

    @app.post(f"/{API}/evaluate/stream", tags=["evaluate"],
              openapi_extra={"requestBody": {"required": True, "content": {NDJSON: {"schema": {
                  "type": "string", "description": "one profile (a JSON object) per line"}}}}},
              responses=_responses(models.StreamLineOut, 400, 413, 415, media=NDJSON))
    async def evaluate_stream(
            request: Request,
            on: str | None = Query(None, description="evaluation date (YYYY-MM-DD)"),
            period: str | None = Query(None, description="a year or a month"),
            lang: models.Lang | None = Query(None), detail: models.Detail = Query("full"),
    ) -> Response:
        """The NDJSON variant of the batch: a profile per line in, a result per line out, in order,
        streamed as they are computed. A line that is too long, or a body over the stream limit,
        ends the stream with an error line (`line` 0 for the body)."""
        _media(request, NDJSON)
        _declared_size(request, limits.stream)
        _check_time(on, period)
        opts = models.EvaluateRequest.model_construct(profile={}, on=on, period=period,
                                                      lang=lang, detail=detail)
        std = _std(request)
        return _BodyReadingStream(_stream(request, opts, std, limits), media_type=NDJSON)

    @app.post(f"/{API}/screen", tags=["evaluate"], openapi_extra=_body(models.ScreenRequest),
              responses=_responses(models.ScreenOut, 400, 413, 415, 422))
    async def screen(request: Request) -> Response:
        """A partial profile: what applies, and what may apply if the citizen tells us more,
        ranked by amount, with the questions to ask."""
        req = _envelope(await _json(request, limits.body), models.ScreenRequest)
        household = _profile(req.profile, ("profile",))
        on = parse_date(req.on) if req.on is not None else date.today()
        std = _std(request)
        try:
            return _ok(views.screen(household, on, std, req.lang))
        except GongfuError as e:
            raise _located(e, req.profile, ("profile",)) from None

    @app.get(f"/{API}/standards", tags=["standards"],
             responses=_responses(models.StandardListOut))
    async def standards_list(request: Request) -> Response:
        """Every standard in the set, with its rule versions."""
        std = _std(request)
        return _ok({"standards_set": std.label,
                    "standards": [views.standard_summary(s) for s in std]})

    @app.get(f"/{API}/standards/{{standard_id}}", tags=["standards"],
             responses=_responses(models.StandardDetailOut, 400, 404))
    async def standard_on(request: Request, standard_id: str,
                          on: str | None = Query(None, description="default: today")) -> Response:
        """One standard: its rule and its parameter values in force on a date."""
        std = _std(request)
        s = _standard(std, standard_id)
        day = parse_date(on) if on is not None else date.today()
        return _ok(views.standard_detail(std, s, day))

    @app.get(f"/{API}/standards/{{standard_id}}/history", tags=["standards"],
             responses=_responses(models.StandardDetailOut, 404))
    async def standard_history(request: Request, standard_id: str) -> Response:
        """One standard: every rule version and every dated value, with its source."""
        std = _std(request)
        return _ok(views.standard_detail(std, _standard(std, standard_id), None))

    @app.get(f"/{API}/facts", tags=["reference"], responses=_responses(models.FactsOut))
    async def facts() -> Response:
        """The facts a profile may give, with zh/en labels and enum values (for form builders)."""
        return _ok({"facts": views.facts()})

    @app.get(f"/{API}/version", tags=["reference"], responses=_responses(models.VersionOut))
    async def version(request: Request) -> Response:
        """The package version, the API version and the standards set in use."""
        return _ok({"package": __version__, "api": API, "standards_set": _std(request).label})

    @app.get("/healthz", tags=["reference"], responses=_responses(models.HealthOut))
    async def healthz(request: Request) -> Response:
        """Liveness: the process serves, with a loaded standards set."""
        return _ok({"status": "ok", "standards_set": _std(request).label})


class _BodyReadingStream(StreamingResponse):
    """A streamed response whose generator reads the request body as it goes.

    Starlette's StreamingResponse (for ASGI < 2.4 servers) also listens for a disconnect by
    calling ``receive()``, which would swallow the body chunks the generator is waiting for.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.stream_response(send)


# --- request reading -------------------------------------------------------------------------
def _media(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise UnsupportedMediaType.one(
            "content_type_unsupported",
            f"send the body as {expected}; got {given or 'no Content-Type'}",
            loc=("header", "content-type"))


def _declared_size(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge.one("body_too_large", f"the body is over {limit} bytes",
                               loc=("body",))


async def _json(request: Request, limit: int) -> Any:
    """The body as JSON: 415 unless application/json, 413 over ``limit``, 400 if malformed."""
    _media(request, "application/json")
    _declared_size(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return _loads(bytes(body), ("body",))


def _loads(raw: bytes, loc: tuple[str | int, ...]) -> Any:
    if not raw.strip():
        raise InputError.one("json_invalid", "the body is empty; send a JSON object", loc=loc)
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        msg = f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
    except UnicodeDecodeError:
        msg = "not valid JSON: the body is not UTF-8 text"
    except (ValueError, RecursionError) as e:  # NaN, 10,000-digit numbers, deep nesting
        msg = f"not valid JSON: {e.__class__.__name__}: {str(e)[:120]}"
    raise InputError.one("json_invalid", msg, loc=loc)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _envelope(data: Any, model: type[BaseModel]) -> Any:
    if not isinstance(data, dict):
        raise InputError.one("value_invalid", f"expected a JSON object with the keys of "
                             f"{model.__name__}; got a JSON {_kind(data)}", loc=("body",))
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise options_error(e, model) from None


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _check_time(on: str | None, period: str | None) -> None:
    """The library's own date and period checks, before any household is evaluated."""
    if (on is None) == (period is None):
        raise InputError.one("time_invalid", "give exactly one of 'on' (a date) or 'period'",
                             loc=("on",))
    if on is not None:
        parse_date(on)
    else:
        parse_period(period)  # type: ignore[arg-type]


def _profile(profile: Any, loc: tuple[str | int, ...]) -> Household:
    try:
        return parse_household(profile)
    except GongfuError as e:
        raise prefixed(e, *loc) from None


def _located(error: GongfuError, profile: Any, loc: tuple[str | int, ...]) -> GongfuError:
    """``error`` with its locs under the profile's path; a lone person's ``members.0.x`` is ``x``."""
    if isinstance(profile, dict) and "members" not in profile:
        error = type(error)([ErrorDetail(d.code, d.msg, d.loc[2:] if d.loc[:2] == ("members", 0)
                                         else d.loc, d.input, d.source) for d in error.details])
    return prefixed(error, *loc)


def _evaluation(household: Household, req: Any, std: StandardsSet,
                loc: tuple[str | int, ...]) -> bytes:
    """The evaluation's JSON (UTF-8)."""
    try:
        result = evaluate(household, req.on, period=req.period, standards=std)
    except GongfuError as e:
        raise _located(e, req.profile, loc) from None
    return views.evaluation_json(result, req.lang, req.detail)


def _batch_item(index: int, profile: Any, req: Any, std: StandardsSet) -> tuple[bool, bytes]:
    """``(failed, the item's JSON)``."""
    loc = ("households", index)
    try:
        household = _profile(profile, loc)
        body = _evaluation(household, _with(req, profile), std, loc)
        return False, b'{"index":%d,"evaluation":%b}' % (index, body)
    except GongfuError as e:
        return True, json_utf8({"index": index, "status": e.http_status, **error_body(e.details)})


def _with(req: Any, profile: Any) -> Any:
    return models.EvaluateRequest.model_construct(profile=profile, on=req.on, period=req.period,
                                                  lang=req.lang, detail=req.detail)


async def _stream(request: Request, opts: Any, std: StandardsSet,
                  limits: _Limits) -> AsyncIterator[bytes]:
    """Evaluate each complete line as it arrives; a line's errors never stop the others."""
    pending, size, number = b"", 0, 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.stream:
            yield _line(0, _too_large(limits.stream))
            return
        *complete, pending = (pending + chunk).split(b"\n")
        if complete:
            lines = list(enumerate(complete, number + 1))
            number += len(complete)
            for out in await run_in_threadpool(lambda: [_stream_item(n, raw, opts, std)
                                                        for n, raw in lines if raw.strip()]):
                yield out
        if len(pending) > limits.body:
            yield _line(number + 1, PayloadTooLarge.one(
                "line_too_long", f"a line is over {limits.body} bytes", loc=("line",)))
            return
    if pending.strip():
        yield _stream_item(number + 1, pending, opts, std)


def _stream_item(number: int, raw: bytes, opts: Any, std: StandardsSet) -> bytes:
    try:
        profile = _loads(raw, ())
        household = _profile(profile, ())
        evaluation = _evaluation(household, _with(opts, profile), std, ())
    except GongfuError as e:
        return _line(number, e)
    return b'{"line":%d,"evaluation":%b}\n' % (number, evaluation)


def _line(number: int, error: GongfuError) -> bytes:
    return json_utf8({"line": number, "status": error.http_status,
                  **error_body(error.details)}) + b"\n"


def _standard(std: StandardsSet, standard_id: str) -> Any:
    if standard_id not in std.standards:
        # The id is not repeated: a client may have put anything in the path.
        raise NotFound.one("standard_unknown", f"no standard with this id in set {std.version}; "
                           f"GET /{API}/standards lists them", loc=("path", "standard_id"))
    return std[standard_id]


# --- OpenAPI ---------------------------------------------------------------------------------
_HEADERS = {
    DIGEST_HEADER: {"description": "digest of the standards set that answered",
                    "schema": {"type": "string"}},
    VERSION_HEADER: {"description": "version of the standards set that answered",
                     "schema": {"type": "string"}},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request bodies (read by hand, so that the library validates
    the profile) and the standards headers; FastAPI's default 422 is not what we send."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (models.EvaluateRequest, models.BatchRequest, models.ScreenRequest, Household,
                  models.ReformCompareRequest, ReformFile):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = _with_profiles(schema)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path in doc["paths"].values():
        for op in path.values():
            responses = op["responses"]
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                del responses["422"]
                responses["400"] = {"description": _ERRORS[400], "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorsOut"}}}}
            content = responses.get("200", {}).get("content", {})
            if NDJSON in content:  # FastAPI adds the JSON media type of the line model too
                content.pop("application/json", None)
            for response in responses.values():
                response["headers"] = {**response.get("headers", {}), **_HEADERS}
    app.openapi_schema = doc
    return doc


def _with_profiles(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get(models.PROFILE_MARK):
            return dict(models.PROFILE_SCHEMA)
        if node.get(models.REFORM_MARK):
            return {"$ref": "#/components/schemas/ReformFile",
                    "description": "the content of a reform file (docs/reforms.md), as JSON"}
        return {k: _with_profiles(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_profiles(v) for v in node]
    return node


def openapi_json(app: FastAPI) -> str:
    """The OpenAPI document as written to ``docs/openapi.json``."""
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
