"""The HTTP service, against a real uvicorn server on a free 127.0.0.1 port, with httpx.

The server runs in a thread of the test process (so a test can also break the app on purpose);
SIGHUP reload and the ``gongfu serve`` command run in a subprocess: see test_service_process.py.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402
import uvicorn  # noqa: E402

from gongfu_rules import evaluate, load_standards  # noqa: E402
from gongfu_rules.facts import fact_specs  # noqa: E402
from gongfu_rules.service import create_app  # noqa: E402
from gongfu_rules.service import models, views  # noqa: E402
from gongfu_rules.service.app import openapi_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FAMILY = json.loads((ROOT / "examples" / "kunming_family.json").read_text(encoding="utf-8"))
ORPHAN = {"birth_date": "2015-05-01", "hukou_region": "530102", "orphan": True,
          "child_care_arrangement": "散居"}
BAD_ID = "530102198703070013"  # check digit should be 2
MONEY = models.MONEY_PATTERN


@pytest.fixture(scope="module")
def std():
    return load_standards()


class Server:
    """A uvicorn server on a free loopback port, in a thread, for as long as the fixture lives."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def app(std):
    return create_app(std, max_body_bytes=64_000, max_batch=5, max_stream_bytes=200_000,
                      gzip_level=1)


@pytest.fixture(scope="module")
def http(app):
    with Server(app) as client:
        yield client


def post(http, path, body, headers=None, **kw):
    return http.post(path, content=json.dumps(body, ensure_ascii=False).encode(),
                     headers={"Content-Type": "application/json", **(headers or {})}, **kw)


def codes(response) -> list[tuple[str, list]]:
    return [(e["code"], e["loc"]) for e in response.json()["errors"]]


def assert_named(response, std) -> None:
    assert response.headers["Gongfu-Standards-Digest"] == std.digest
    assert response.headers["Gongfu-Standards-Version"] == std.version


def money_strings(node):
    """Every value under an ``amount``-like key, anywhere in a response."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("amount", "annual_amount", "total", "annual_amount_at_stake") and v is not None:
                yield v
            else:
                yield from money_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from money_strings(v)


# --- evaluate --------------------------------------------------------------------------------
def test_evaluate_returns_the_library_json_for_the_same_household(http, std):
    r = post(http, "/v1/evaluate", {"profile": FAMILY, "on": "2025-08-01"})
    assert r.status_code == 200
    assert r.json() == evaluate(FAMILY, "2025-08-01", standards=std).to_dict()
    models.EvaluationOut.model_validate(r.json())
    assert_named(r, std)


def test_money_is_a_decimal_string_with_two_places(http):
    r = post(http, "/v1/evaluate", {"profile": ORPHAN, "on": "2024-03-01"})
    person = r.json()["persons"][0]
    orphan = next(x for x in person["entitlements"] if x["standard"] == "orphan_basic_living")
    assert orphan["amount"] == "1374.00"
    amounts = list(money_strings(r.json()))
    assert amounts and all(isinstance(a, str) for a in amounts)
    assert all(__import__("re").fullmatch(MONEY, a) for a in amounts)


def test_evaluate_over_a_period_gives_months_and_a_total(http):
    r = post(http, "/v1/evaluate", {"profile": ORPHAN, "period": "2024"})
    orphan = next(x for x in r.json()["persons"][0]["entitlements"]
                  if x["standard"] == "orphan_basic_living")
    assert len(orphan["months"]) == 12
    assert Decimal(orphan["total"]) == sum(Decimal(m["amount"]) for m in orphan["months"])


def test_lang_keeps_one_language_and_summary_drops_the_detail(http):
    r = post(http, "/v1/evaluate", {"profile": FAMILY, "on": "2025-08-01", "lang": "en",
                                     "detail": "summary"})
    body = r.json()
    father = next(p for p in body["persons"] if p["id"] == "father")
    assert father["not_eligible"] == []
    result = father["entitlements"][0]
    assert set(result["name"]) == {"en"} and set(result["explanation"]) == {"en"}
    assert "parameters" not in result and "sources" not in result
    models.EvaluationOut.model_validate(body)


@pytest.mark.parametrize("lang", [None, "zh", "en"])
@pytest.mark.parametrize("detail", ["full", "summary", "compact"])
def test_the_body_is_the_library_json_shaped_for_lang_and_detail(http, std, lang, detail):
    body = {"profile": FAMILY, "on": "2025-08-01", "detail": detail,
            **({"lang": lang} if lang else {})}
    form = "compact" if detail == "compact" else "full"
    for _ in range(2):  # the second answer is written from the results' kept texts
        r = post(http, "/v1/evaluate", body)
        expected = views.shape(evaluate(FAMILY, "2025-08-01", standards=std).to_dict(form),
                               lang, detail)
        assert r.content == json.dumps(expected, ensure_ascii=False,
                                       separators=(",", ":")).encode()


@pytest.mark.parametrize("when", [{"on": "2025-08-01"}, {"period": "2025"}], ids=["date", "period"])
def test_detail_compact_lists_each_source_once_as_its_schema_says(http, when):
    r = post(http, "/v1/evaluate", {"profile": FAMILY, "detail": "compact", **when})
    body = models.CompactEvaluationOut.model_validate(r.json())
    assert body.schema_ == "gongfu-rules/evaluation-compact/1"
    cited = {s for p in body.persons for r in p.entitlements + p.undetermined
             for s in r.sources or []}
    assert cited and cited <= body.sources.keys()
    assert len(r.content) < 0.8 * len(post(http, "/v1/evaluate", {"profile": FAMILY,
                                                                     **when}).content)


def test_a_large_answer_is_gzipped_for_a_client_that_accepts_it(http, std):
    body = {"profile": FAMILY, "on": "2025-08-01"}
    zipped = post(http, "/v1/evaluate", body, headers={"Accept-Encoding": "gzip"})
    plain = post(http, "/v1/evaluate", body, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert "content-encoding" not in plain.headers
    assert zipped.content == plain.content  # httpx decodes it


def test_no_gzip_by_default(std):
    with Server(create_app(std)) as client:
        r = post(client, "/v1/evaluate", {"profile": FAMILY, "on": "2025-08-01"},
                 headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers


def test_a_gzip_level_out_of_range_is_refused(std):
    with pytest.raises(ValueError, match="gzip_level"):
        create_app(std, gzip_level=10)


# --- batch and stream ------------------------------------------------------------------------
def test_batch_reports_a_bad_household_in_its_place_and_evaluates_the_others(http, std):
    households = [ORPHAN, {"members": [{"id_number": BAD_ID}]}, FAMILY]
    r = post(http, "/v1/evaluate/batch", {"households": households, "on": "2025-08-01"})
    assert r.status_code == 200
    body = models.BatchOut.model_validate(r.json())
    assert (body.count, body.failed) == (3, 1)
    assert [i.index for i in body.results] == [0, 1, 2]
    assert r.json()["results"][2]["evaluation"] == evaluate(FAMILY, "2025-08-01",
                                                            standards=std).to_dict()
    bad = r.json()["results"][1]
    assert bad["status"] == 422
    assert codes_of(bad) == [("id_number_check_digit", ["households", 1, "members", 0,
                                                        "id_number"])]
    assert BAD_ID not in r.text


def codes_of(item) -> list[tuple[str, list]]:
    return [(e["code"], e["loc"]) for e in item["errors"]]


def test_stream_answers_each_line_in_order_as_ndjson(http, std):
    lines = [json.dumps(ORPHAN), "{not json", "", json.dumps({"id_number": BAD_ID}),
             json.dumps(FAMILY)]
    r = http.post("/v1/evaluate/stream", params={"on": "2025-08-01"},
                  content="\n".join(lines).encode(),
                  headers={"Content-Type": "application/x-ndjson", "Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.headers["content-encoding"] == "gzip"  # line by line, each flushed
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 4, 5]
    assert out[0]["evaluation"] == evaluate(ORPHAN, "2025-08-01", standards=std).to_dict()
    assert (out[1]["status"], out[1]["errors"][0]["code"]) == (400, "json_invalid")
    assert (out[2]["status"], out[2]["errors"][0]["loc"]) == (422, ["id_number"])
    assert "evaluation" in out[3]
    assert_named(r, std)


# --- screen ----------------------------------------------------------------------------------
def test_screen_lists_what_applies_ranked_by_amount(http):
    r = post(http, "/v1/screen", {"profile": ORPHAN, "on": "2024-03-01"})
    assert r.status_code == 200
    body = models.ScreenOut.model_validate(r.json()).model_dump(by_alias=True)
    assert "orphan_basic_living" in [i["standard"] for i in body["applies"]]
    figures = [Decimal(i["annual_amount"] or i["amount"]) for i in body["applies"]
               if (i["annual_amount"] or i["amount"]) is not None]
    assert figures == sorted(figures, reverse=True)


def test_screen_prices_what_may_apply_if_the_citizen_answers_yes(http, std):
    elder = {"birth_date": "1950-01-01", "hukou_region": "530102"}
    r = post(http, "/v1/screen", {"profile": elder, "on": "2025-08-01"})
    may = r.json()["may_apply"]
    priced = [i for i in may if i["potential"] is not None]
    assert priced, "some undetermined standard should be priced"
    figures = [Decimal(i["potential"]["annual_amount"] or i["potential"]["amount"]) for i in priced]
    assert figures == sorted(figures, reverse=True)
    assert may[:len(priced)] == priced  # priced results come first
    top = priced[0]
    answered = {**elder, **{name: True for name in top["potential"]["assuming"]}}
    truth = evaluate(answered, "2025-08-01", standards=std).get(top["standard"])
    assert truth.status == "eligible"
    assert Decimal(top["potential"]["amount"]) == truth.amount


def test_screen_questions_carry_the_fact_registry_labels(http):
    r = post(http, "/v1/screen", {"profile": {"birth_date": "1950-01-01",
                                              "hukou_region": "530102"}, "on": "2025-08-01"})
    registry = {(s.entity, s.name): s for s in fact_specs()}
    questions = r.json()["questions"]
    assert questions
    for q in questions:
        if (q["entity"], q["fact"]) in registry:
            assert q["zh"] == registry[q["entity"], q["fact"]].zh
    stakes = [Decimal(q["annual_amount_at_stake"] or 0) for q in questions]
    assert stakes == sorted(stakes, reverse=True)


# --- standards, facts, version ---------------------------------------------------------------
def test_standards_lists_every_standard_of_the_set(http, std):
    r = http.get("/v1/standards")
    body = models.StandardListOut.model_validate(r.json())
    assert sorted(s.id for s in body.standards) == sorted(std.standards)
    assert body.standards_set.digest == std.digest


def test_a_standard_on_a_date_shows_the_rule_and_the_values_in_force(http, std):
    r = http.get("/v1/standards/orphan_basic_living", params={"on": "2024-03-01"})
    assert r.status_code == 200
    body = models.StandardDetailOut.model_validate(r.json())
    assert len(body.rules) == 1 and body.rules[0].from_ <= "2024-03-01"
    values = [v for p in body.parameters for v in p.values]
    assert values
    assert all(v.from_ <= "2024-03-01" and (v.to is None or "2024-03-01" < v.to) for v in values)


def test_a_standard_history_has_every_version_and_every_dated_value(http, std):
    s = std["orphan_basic_living"]
    r = http.get("/v1/standards/orphan_basic_living/history")
    body = r.json()
    assert len(body["rules"]) == len(s.rules)
    expected = sum(len(entries) for name in dict.fromkeys(p for rule in s.rules for p in rule.params)
                   for entries in std.parameter(s, name).timelines.values())
    assert sum(len(p["values"]) for p in body["parameters"]) == expected


def test_facts_list_the_registry_and_the_built_in_fields_with_labels(http):
    r = http.get("/v1/facts")
    facts = {(f["entity"], f["name"]): f for f in models.FactsOut.model_validate(
        r.json()).model_dump()["facts"]}
    for spec in fact_specs():
        f = facts[spec.entity, spec.name]
        assert (f["zh"], f["en"], f["builtin"]) == (spec.zh, spec.en, False)
        if spec.type == "enum":
            assert [c["value"] for c in f["values"]] == list(spec.values)
    assert facts["person", "birth_date"]["builtin"] is True


def test_version_and_health_name_the_standards_set(http, std):
    v = http.get("/v1/version").json()
    assert v["standards_set"] == std.label and v["api"] == "v1"
    h = http.get("/healthz")
    assert h.json() == {"status": "ok", "standards_set": std.label}
    assert_named(h, std)


def test_gongfu_serve_exports_the_openapi_document_in_docs(tmp_path):
    from gongfu_rules.cli import main
    assert main(["serve", "--export-openapi", str(tmp_path / "openapi.json")]) == 0
    assert (tmp_path / "openapi.json").read_text(encoding="utf-8") == \
        (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")


def test_the_running_app_serves_the_openapi_document_in_docs(http, app):
    served = http.get("/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")), \
        "docs/openapi.json is stale: gongfu serve --export-openapi docs/openapi.json"
    assert json.loads(openapi_json(app)) == served


# --- errors ----------------------------------------------------------------------------------
def test_a_bad_profile_is_a_422_with_its_path_in_the_body_and_no_id_number(http, std):
    r = post(http, "/v1/evaluate", {"profile": {"members": [{"id_number": BAD_ID}]},
                                     "on": "2025-08-01"})
    assert r.status_code == 422
    assert codes(r) == [("id_number_check_digit", ["profile", "members", 0, "id_number"])]
    assert BAD_ID not in r.text
    assert_named(r, std)


def test_a_birth_after_the_date_is_located_at_the_persons_field(http):
    r = post(http, "/v1/evaluate", {"profile": {"birth_date": "2030-01-01"}, "on": "2025-08-01"})
    assert r.status_code == 422
    assert codes(r) == [("birth_after_evaluation", ["profile", "birth_date"])]


def test_malformed_json_is_a_400(http):
    r = http.post("/v1/evaluate", content=b'{"profile": ', headers={"Content-Type": "application/json"})
    assert (r.status_code, codes(r)) == (400, [("json_invalid", ["body"])])


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"on": NaN}', b"\xff\xfe{}", b"",
                                  b"1" * 5000])
def test_pathological_json_is_a_400_not_a_500(http, body):
    r = http.post("/v1/evaluate", content=body, headers={"Content-Type": "application/json"})
    assert (r.status_code, codes(r)[0][0]) == (400, "json_invalid")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_a_415(http, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    r = http.post("/v1/evaluate", content=b'{"profile": {}, "on": "2025-01-01"}', headers=headers)
    assert (r.status_code, codes(r)[0][0]) == (415, "content_type_unsupported")


@pytest.mark.parametrize("body, expected", [
    ({"profile": ORPHAN, "on": "2025-08-01", "colour": "red"}, ("field_unknown", ["colour"])),
    ({"profile": ORPHAN, "on": False}, ("value_invalid", ["on"])),
    ({"profile": ORPHAN, "on": "2025-08-01", "lang": "fr"}, ("value_invalid", ["lang"])),
    ({"on": "2025-08-01"}, ("field_missing", ["profile"])),
    ({"profile": ORPHAN, "on": "2025-13-01"}, ("date_invalid", ["on"])),
    ({"profile": ORPHAN, "period": "0000"}, ("period_out_of_range", ["period"])),
    ({"profile": ORPHAN, "period": "9999"}, ("period_out_of_range", ["period"])),
    ({"profile": ORPHAN, "on": "2025-08-01", "period": "2025"}, ("time_invalid", ["on"])),
    ({"profile": ORPHAN}, ("time_invalid", ["on"])),
])
def test_an_invalid_option_is_a_400_naming_it(http, body, expected):
    r = post(http, "/v1/evaluate", body)
    assert r.status_code == 400
    assert codes(r)[0] == expected


def test_a_body_that_is_not_an_object_is_a_400(http):
    r = post(http, "/v1/evaluate", [ORPHAN])
    assert (r.status_code, codes(r)) == (400, [("value_invalid", ["body"])])


def test_an_unknown_standard_is_a_404_that_does_not_repeat_the_path(http, std):
    r = http.get(f"/v1/standards/{BAD_ID}")
    assert (r.status_code, codes(r)) == (404, [("standard_unknown", ["path", "standard_id"])])
    assert BAD_ID not in r.text
    assert_named(r, std)


def test_an_unknown_route_and_a_wrong_method_are_json_errors(http):
    assert (http.get("/v2/nothing").status_code, codes(http.get("/v2/nothing"))[0][0]) == \
        (404, "route_unknown")
    r = http.get("/v1/evaluate")
    assert (r.status_code, codes(r)[0][0]) == (405, "method_not_allowed")


def test_a_bad_date_on_a_standard_is_a_400(http):
    r = http.get("/v1/standards/orphan_basic_living", params={"on": "yesterday"})
    assert (r.status_code, codes(r)) == (400, [("date_invalid", ["on"])])


def test_an_internal_bug_is_a_json_500_that_quotes_nothing(http, monkeypatch, caplog):
    from gongfu_rules.service import views

    def broken():
        raise RuntimeError(f"secret {BAD_ID}")
    monkeypatch.setattr(views, "facts", broken)
    r = http.get("/v1/facts")
    assert (r.status_code, codes(r)) == (500, [("internal_error", [])])
    assert BAD_ID not in r.text
    assert BAD_ID not in caplog.text


# --- limits ----------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_a_413(http):
    big = {"profile": {**ORPHAN, "id": "x" * 70_000}, "on": "2025-08-01"}
    r = post(http, "/v1/evaluate", big)
    assert (r.status_code, codes(r)) == (413, [("body_too_large", ["body"])])


def test_a_chunked_body_over_the_limit_is_a_413(http):
    def chunks():
        yield b'{"profile": {"id": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}, "on": "2025-08-01"}'
    r = http.post("/v1/evaluate", content=chunks(), headers={"Content-Type": "application/json"})
    assert (r.status_code, codes(r)[0][0]) == (413, "body_too_large")


def test_a_batch_over_the_limit_is_a_413(http):
    r = post(http, "/v1/evaluate/batch", {"households": [ORPHAN] * 6, "on": "2025-08-01"})
    assert (r.status_code, codes(r)) == (413, [("batch_too_large", ["households"])])


def test_a_stream_over_the_limit_ends_with_a_413_line(http):
    line = (json.dumps({**ORPHAN, "id": "y" * 1000}) + "\n").encode()

    def body():
        for _ in range(300):  # 300 kB > 200 kB, sent without a Content-Length
            yield line
    r = http.post("/v1/evaluate/stream", params={"on": "2025-08-01", "detail": "summary"},
                  content=body(), headers={"Content-Type": "application/x-ndjson"})
    out = [json.loads(x) for x in r.text.splitlines()]
    assert (out[-1]["line"], out[-1]["status"], out[-1]["errors"][0]["code"]) == \
        (0, 413, "body_too_large")
    # How many lines were answered first depends on how the server received the chunks.
    assert all("evaluation" in o for o in out[:-1])


def test_a_stream_line_over_the_body_limit_ends_the_stream_with_its_line_number(http):
    body = (json.dumps(ORPHAN) + "\n" + json.dumps({"id": "z" * 70_000})).encode()
    r = http.post("/v1/evaluate/stream", params={"on": "2025-08-01", "detail": "summary"},
                  content=body, headers={"Content-Type": "application/x-ndjson"})
    out = [json.loads(x) for x in r.text.splitlines()]
    assert "evaluation" in out[0]
    assert (out[-1]["line"], out[-1]["status"], out[-1]["errors"][0]["code"]) == \
        (2, 413, "line_too_long")


def test_a_stream_with_a_declared_length_over_the_limit_is_refused_up_front(http):
    r = http.post("/v1/evaluate/stream", params={"on": "2025-08-01"}, content=b"x" * 200_001,
                  headers={"Content-Type": "application/x-ndjson"})
    assert (r.status_code, codes(r)[0][0]) == (413, "body_too_large")


# --- CORS and the missing extra ----------------------------------------------------------------
def test_cors_is_off_by_default(http):
    r = http.get("/v1/version", headers={"Origin": "https://portal.example.gov.cn"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_the_configured_origin_and_exposes_the_digest(std):
    origin = "https://portal.example.gov.cn"
    with Server(create_app(std, cors_origins=[origin], reload_on_sighup=False)) as client:
        r = client.get("/v1/version", headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
        assert "gongfu-standards-digest" in r.headers["access-control-expose-headers"].lower()
        other = client.get("/v1/version", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_serve_without_the_extra_says_what_to_install(monkeypatch, capsys):
    from gongfu_rules.cli import main
    for name in [m for m in sys.modules if m.startswith("gongfu_rules.service")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["serve"]) == 2
    assert "pip install 'gongfu-rules[service]'" in capsys.readouterr().err
