"""The OpenAPI contract, checked by schemathesis against the app (in-process, over ASGI).

Every generated request, valid or not by the schema, must get a documented status that is not
a 5xx, with the documented content type, headers and body schema.
"""

import json

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gongfu_rules import load_standards  # noqa: E402
from gongfu_rules.service import create_app  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):
    # The stream's body is text: one profile per line, whatever the generator made of it.
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@schemathesis.deserializer("application/x-ndjson")
def _ndjson_lines(ctx, response):
    return [json.loads(line) for line in response.content.splitlines() if line]


app = create_app(load_standards(), reload_on_sighup=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# The coverage phase enumerates boundary values of every field of the ~100-field profile
# schema (about 30 s of CPU); random positive and negative examples stay within a few seconds.
schema.config.phases.coverage.enabled = False


# Schemathesis 4.32 cannot always build random bodies for the reform job: its generator finds
# the three kinds of `changes` (an anyOf of allOf-wrapped models) unsatisfiable ("Cannot
# generate an array with 1 demanded elements") for this app's document, though not for one
# equal to it but for key order and one maxItems — not yet pinned down. That operation is
# checked below with its documented example, and its errors by tests/test_service_reform.py.
REFORM_JOBS = "/v1/reform/compare"


@schema.exclude(path=REFORM_JOBS).parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_generated_request_gets_a_documented_non_5xx_answer(case):
    case.call_and_validate(checks=CHECKS)


def test_the_reform_jobs_documented_example_gets_a_documented_answer():
    example = app.openapi()["components"]["schemas"]["ReformCompareRequest"]["examples"][0]
    case = schema[REFORM_JOBS]["POST"].Case(body=example, media_type="application/json")
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == 202
