"""``POST /v1/reform/compare`` as a job resource: submit, poll, fetch.

    POST /v1/reform/compare              {reform, population, on | period, lang?, examples?}
                                         -> 202, Location: /v1/reform/jobs/{id}
    GET  /v1/reform/jobs/{id}            -> {id, status: computing | ok | error, result, errors}
    GET  /v1/reform/jobs/{id}/result     -> the figures (JSON), or ?format=html the offline report

Everything a client can get wrong is checked when the job is submitted, so it is a 4xx then
and there: the body, the reform (its schema, and whether it applies to the standards set in
service), the population's size and weights, the date or period. The reform is the content
of a reform file as JSON; the population comes inline (never a server path: a client must not
name the server's files). The job is evaluated against the standards set the submission saw,
by :func:`gongfu_rules.reform.impact.compare`, as ``gongfu reform compare`` does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..errors import GongfuError, InputError
from ..model import StandardsSet
from . import models
from .jobs import Job, Jobs
from .problems import NotFound, PayloadTooLarge, error_body, prefixed

API = "v1"


class ExtraMissing(InputError):
    """The server was installed without the ``batch`` extra that comparisons run on."""

    http_status = 501


class NotFinished(InputError):
    """The job has no result (yet, or ever: it failed)."""

    http_status = 409


def add_routes(app: FastAPI, jobs: Jobs, *, max_body_bytes: int, max_rows: int,
               read_json: Any, check_time: Any, envelope: Any) -> None:
    """Register the three routes; ``read_json``, ``check_time`` and ``envelope`` are the app's
    own body reader and checks, so the limits and messages are those of every endpoint."""
    from .app import _body, _responses  # the app's OpenAPI helpers

    @app.post(f"/{API}/reform/compare", tags=["reform"], status_code=202,
              openapi_extra=_body(models.ReformCompareRequest),
              responses={**_errors(_responses(models.ReformJobOut, 400, 413, 415)),
                         202: {"model": models.ReformJobOut, "description": "queued; poll the "
                               "Location", "headers": {"Location": {"schema": {"type": "string"},
                               "description": "the job: /v1/reform/jobs/{id}"}}},
                         429: {"model": models.ErrorsOut, "description": "the job queue is "
                               "full; submit again once a job has finished"},
                         501: {"model": models.ErrorsOut, "description": "the server lacks the "
                               "batch extra (pip install 'gongfu-rules[batch]')"}})
    async def reform_compare(request: Request) -> Response:
        """Submit a reform and a population: the cost of the reform against the standards in
        service, computed in the background. Poll the job; fetch its result."""
        data = await read_json(request, max_body_bytes)
        if isinstance(data, dict) and isinstance(data.get("population"), list) \
                and len(data["population"]) > max_rows:
            raise PayloadTooLarge.one(
                "population_too_large", f"at most {max_rows} rows (persons) per population; "
                f"got {len(data['population'])}", loc=("population",))
        req = envelope(data, models.ReformCompareRequest)
        check_time(req.on, req.period)
        work = _prepare(req, request.scope["gongfu.standards"])
        job = jobs.submit(work, lang=req.lang or "zh")
        return JSONResponse(_job(job, jobs), status_code=202,
                            headers={"Location": f"/{API}/reform/jobs/{job.id}"})

    @app.get(f"/{API}/reform/jobs/{{job_id}}", tags=["reform"],
             responses=_job_unknown(_responses(models.ReformJobOut, 404)))
    async def reform_job(job_id: str) -> Response:
        """A job's status: `computing` (queued or running), `ok` with its `result`, or `error`
        with its `errors`. Finished jobs are kept for an hour (`expires`)."""
        return JSONResponse(_job(_find(jobs, job_id), jobs))

    @app.get(f"/{API}/reform/jobs/{{job_id}}/result", tags=["reform"],
             responses={**_job_unknown(_responses(models.ImpactOut, 400, 404)),
                        200: {"model": models.ImpactOut, "description": "the figures; "
                              "`format=html`: the offline report", "content": {
                                  "text/html": {"schema": {"type": "string"}}}},
                        409: {"model": models.ErrorsOut, "description": "the job is still "
                              "computing, or failed (its errors are in the job)"}})
    async def reform_result(
            job_id: str, format: Literal["json", "html"] = Query("json"),
            lang: models.Lang | None = Query(None, description="of the HTML report (default: "
                                             "the job's)")) -> Response:
        """A finished job's figures, as `gongfu reform compare --format json` prints them, or
        the offline HTML report (`format=html`)."""
        job = _find(jobs, job_id)
        if job.status != "ok":
            raise NotFinished.one(
                "job_not_finished" if job.status == "computing" else "job_failed",
                "the job is still computing; poll it" if job.status == "computing" else
                "the job failed; its errors are in the job", loc=("path", "job_id"))
        if format == "html":
            from ..reform import report
            return HTMLResponse(report.to_html(job.result, lang or job.meta["lang"]))
        return JSONResponse(job.result.to_dict())


def _errors(responses: dict[int | str, Any]) -> dict[int | str, Any]:
    """The error responses alone (a submission never answers 200)."""
    return {code: r for code, r in responses.items() if code != 200}


def _job_unknown(responses: dict[int | str, Any]) -> dict[int | str, Any]:
    return {**responses, 404: {**responses[404], "description": "no such job, or its result "
                               "has expired"}}


def _prepare(req: models.ReformCompareRequest, baseline: StandardsSet) -> Any:
    """Check the reform and the population now (each error located in the body) and return
    the comparison to run."""
    try:
        from ..reform.apply import apply_reform, parse_reform
        from ..reform.impact import compare, read_population
    except ImportError:
        raise ExtraMissing.one("extra_missing", "reform comparison needs the batch extra on the "
                               "server: pip install 'gongfu-rules[batch]'", loc=("body",)) \
            from None
    try:
        applied = apply_reform(baseline, parse_reform(req.reform, "reform"))
    except GongfuError as e:
        raise prefixed(e, "reform") from None
    try:
        population = read_population(_frame(req.population))
    except GongfuError as e:
        raise prefixed(e, "population") from None
    if not population.columns:
        raise InputError.one("population_columns_missing", "no row has a profile column "
                             "(birth_date, hukou_region, ...; docs/batch.md lists them)",
                             loc=("population",))
    return lambda: compare(population, baseline, applied, on=req.on, period=req.period,
                           examples=req.examples)


def _frame(rows: list[dict[str, Any]]) -> Any:
    """The rows as a table of text cells, as a CSV file is read: a column per key, in the
    order keys first appear; a row without a key has an empty cell there."""
    import polars as pl

    columns: dict[str, list[str | None]] = {}
    for i, row in enumerate(rows):
        for key in row:
            columns.setdefault(key, [None] * i)
        for key, cells in columns.items():
            cells.append(_cell(row.get(key)))
    return pl.DataFrame(columns, schema={k: pl.String for k in columns})


def _cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _find(jobs: Jobs, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        # The id is not repeated: a client may have put anything in the path.
        raise NotFound.one("job_unknown", "no job with this id: it never existed or its "
                           "result has expired", loc=("path", "job_id"))
    return job


def _job(job: Job, jobs: Jobs) -> dict[str, Any]:
    expires = job.finished + timedelta(seconds=jobs.keep) if job.finished else None
    return {"id": job.id, "status": job.status, "submitted": job.submitted.isoformat(),
            "finished": job.finished.isoformat() if job.finished else None,
            "expires": expires.isoformat() if expires else None,
            "result": job.result.to_dict() if job.status == "ok" else None,
            "errors": error_body(job.errors)["errors"] if job.status == "error" else None}
