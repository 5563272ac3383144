"""POST /v1/reform/compare as a job resource, against a real uvicorn server (test_service.Server).

The figures a job returns are checked against :func:`gongfu_rules.reform.impact.compare` run
in-process on the same rows; the queue's limits are reached by holding its one worker with a
job submitted straight to the app's :class:`~gongfu_rules.service.jobs.Jobs`.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

pytest.importorskip("fastapi")
pl = pytest.importorskip("polars")

from test_service import Server, codes, post  # noqa: E402

from gongfu_rules import load_standards  # noqa: E402
from gongfu_rules.errors import InputError  # noqa: E402
from gongfu_rules.reform import apply_reform, parse_reform  # noqa: E402
from gongfu_rules.reform.impact import compare, read_population  # noqa: E402
from gongfu_rules.service import create_app  # noqa: E402
from gongfu_rules.service.jobs import Jobs  # noqa: E402

#: The content of examples/reform_orphan_2100.yaml, as a client sends it: JSON.
REFORM = {
    "name": "集中养育孤儿保障标准提高到2100元 (proposal)",
    "description": "institutional care from 2010 to 2100 元/人·月 from 2026-07-01",
    "author": "tests",
    "sources": {"proposal": {"document": "方案（示例）", "quote": "提高到2100元/人·月",
                             "reliability": "unverified"}},
    "changes": [{"parameter": "child_living_standard", "values": {"53": {"2026-07-01": {
        "value": {"institutional": 2100, "scattered": 1370}, "source": "proposal"}}}}],
}
#: Persons: an orphan in institutional care and one in scattered care, in two counties; an
#: adult; weighted.
ROWS = [
    {"household_id": "h1", "birth_date": "2015-05-01", "hukou_region": "532301",
     "orphan": "是", "child_care_arrangement": "集中", "weight": "3"},
    {"household_id": "h2", "birth_date": "2016-01-01", "hukou_region": "530102",
     "orphan": "是", "child_care_arrangement": "散居", "weight": "2"},
    {"household_id": "h3", "birth_date": "1960-01-01", "hukou_region": "530102",
     "orphan": "", "child_care_arrangement": "", "weight": "2"},
]


@pytest.fixture(scope="module")
def std():
    return load_standards()


@pytest.fixture(scope="module")
def jobs():
    return Jobs(max_pending=2, max_finished=50, keep_seconds=600)


@pytest.fixture(scope="module")
def http(std, jobs):
    with Server(create_app(std, max_batch=5, jobs=jobs, reload_on_sighup=False)) as client:
        yield client


def submit(http, **changes):
    return post(http, "/v1/reform/compare",
                {"reform": REFORM, "population": ROWS, "period": "2026", **changes})


def finished(http, location: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = http.get(location).json()
        if job["status"] != "computing":
            return job
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)


class Held:
    """``count`` jobs that wait for the end of the ``with`` block: the first holds the queue's
    one worker, the others wait behind it."""

    def __init__(self, jobs: Jobs, count: int = 1):
        self.jobs, self.count, self.gate = jobs, count, threading.Event()

    def __enter__(self):
        self.held = [self.jobs.submit(self.gate.wait) for _ in range(self.count)]
        return self

    def __exit__(self, *exc):
        self.gate.set()
        deadline = time.monotonic() + 10
        while any(self.jobs.get(j.id).status == "computing" for j in self.held):
            assert time.monotonic() < deadline
            time.sleep(0.01)


def test_a_submitted_comparison_answers_202_with_the_job_in_location(http):
    r = submit(http)
    assert r.status_code == 202
    body = r.json()
    assert r.headers["Location"] == f"/v1/reform/jobs/{body['id']}"
    assert body["status"] in ("computing", "ok")
    assert finished(http, r.headers["Location"])["status"] == "ok"


def test_the_result_equals_the_in_process_comparison_of_the_same_rows(http, std):
    location = submit(http).headers["Location"]
    job = finished(http, location)
    frame = pl.DataFrame({k: [row[k] for row in ROWS] for k in ROWS[0]})
    expected = compare(read_population(frame), std, apply_reform(std, parse_reform(REFORM)),
                       period="2026").to_dict()
    got = http.get(location + "/result")
    assert got.status_code == 200
    assert got.json() == expected == job["result"]
    assert expected["total"]["change"] != "0.00"  # the rows do exercise the reform


def test_the_result_is_stamped_with_the_package_standards_reform_and_population(http, std):
    stamp = finished(http, submit(http).headers["Location"])["result"]["stamp"]
    assert stamp["standards_digest"] == std.digest
    assert stamp["reform_digest"] == parse_reform(REFORM).digest
    assert stamp["package_version"] and stamp["population_digest"]


def test_money_in_the_result_is_a_decimal_string(http):
    result = finished(http, submit(http, on="2026-08-01", period=None).headers["Location"])["result"]
    assert result["time"]["on"] == "2026-08-01"
    for row in result["by_standard"]:
        for key in ("baseline", "reform", "change"):
            assert isinstance(row[key], str) and row[key].count(".") == 1


def test_the_result_as_html_is_the_offline_report_in_the_jobs_language(http):
    location = submit(http, lang="en").headers["Location"]
    finished(http, location)
    page = http.get(location + "/result", params={"format": "html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text and REFORM["name"] in page.text
    assert '<html lang="zh-CN">' in http.get(location + "/result",
                                             params={"format": "html", "lang": "zh"}).text


def test_a_reform_with_an_unknown_key_is_a_400_at_submission_located_in_the_reform(http):
    r = submit(http, reform={**REFORM, "budget": 1})
    assert r.status_code == 400
    assert ("schema_extra_forbidden", ["reform", "budget"]) in codes(r)


def test_a_reform_naming_an_unknown_parameter_is_a_400_at_submission(http):
    change = {**REFORM["changes"][0], "parameter": "no_such_parameter"}
    r = submit(http, reform={**REFORM, "changes": [change]})
    assert r.status_code == 400
    assert all(loc[:3] == ["reform", "changes", 0] for _, loc in codes(r))


def test_a_bad_weight_is_a_400_naming_the_row(http):
    rows = [ROWS[0], {**ROWS[1], "weight": "-1"}]
    r = submit(http, population=rows)
    assert r.status_code == 400
    assert codes(r) == [("weight_invalid", ["population", "weight", 2])]


def test_neither_on_nor_period_is_a_400(http):
    r = post(http, "/v1/reform/compare", {"reform": REFORM, "population": ROWS})
    assert r.status_code == 400 and codes(r)[0][0] == "time_invalid"


@pytest.mark.parametrize("rows", [[{}], [{"budget": "1"}]])
def test_a_population_without_a_profile_column_is_a_400(http, rows):
    r = submit(http, population=rows)
    assert r.status_code == 400
    assert codes(r) == [("population_columns_missing", ["population"])]


def test_a_server_path_is_not_a_population(http):
    r = submit(http, population="/etc/passwd")
    assert r.status_code == 400 and codes(r)[0][1][0] == "population"


def test_a_population_over_the_batch_limit_is_a_413(http):
    r = submit(http, population=[ROWS[2]] * 6)
    assert r.status_code == 413
    assert codes(r) == [("population_too_large", ["population"])]


def test_a_server_without_the_batch_extra_answers_501_saying_what_to_install(http, monkeypatch):
    monkeypatch.setitem(sys.modules, "gongfu_rules.reform.impact", None)  # as if not installed
    r = submit(http)
    assert r.status_code == 501
    assert codes(r) == [("extra_missing", ["body"])]
    assert "pip install 'gongfu-rules[batch]'" in r.json()["errors"][0]["msg"]


def test_an_unknown_job_is_a_404_for_its_status_and_its_result(http):
    for path in ("/v1/reform/jobs/nope", "/v1/reform/jobs/nope/result"):
        r = http.get(path)
        assert r.status_code == 404 and codes(r) == [("job_unknown", ["path", "job_id"])]


def test_a_full_queue_refuses_a_submission_with_429_and_takes_one_again_after(http, jobs):
    with Held(jobs, count=2):
        r = submit(http)
        assert r.status_code == 429
        assert codes(r)[0][0] == "jobs_queue_full"
    r = submit(http)
    assert r.status_code == 202
    finished(http, r.headers["Location"])


def test_the_result_of_a_job_still_computing_is_a_409_and_its_status_says_computing(http, jobs):
    with Held(jobs):
        r = submit(http)
        location = r.headers["Location"]
        assert http.get(location).json()["status"] == "computing"
        got = http.get(location + "/result")
        assert got.status_code == 409 and codes(got)[0][0] == "job_not_finished"
    assert finished(http, location)["status"] == "ok"


def test_a_job_that_fails_when_it_runs_shows_status_error_with_its_errors(http, jobs):
    def fails():
        raise InputError.one("weight_invalid", "no weight", loc=("weight", 3))
    job = jobs.submit(fails)
    got = finished(http, f"/v1/reform/jobs/{job.id}")
    assert got["status"] == "error" and got["result"] is None
    assert got["errors"] == [{"code": "weight_invalid", "loc": ["weight", 3], "msg": "no weight"}]
    r = http.get(f"/v1/reform/jobs/{job.id}/result")
    assert r.status_code == 409 and codes(r)[0][0] == "job_failed"


def test_a_job_that_breaks_shows_an_internal_error_without_its_message(http, jobs):
    def breaks():
        raise ValueError("530102198703070012")
    job = jobs.submit(breaks)
    got = finished(http, f"/v1/reform/jobs/{job.id}")
    assert got["errors"] == [{"code": "internal_error", "loc": [], "msg": "internal error"}]


def test_finished_jobs_are_kept_up_to_the_store_bound_oldest_first():
    store = Jobs(max_pending=5, max_finished=2, keep_seconds=600)
    ids = [store.submit(lambda: 1).id for _ in range(3)]
    deadline = time.monotonic() + 10
    while store.pending:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [store.get(i) is None for i in ids] == [True, False, False]
    store.close()


def test_finished_jobs_expire():
    store = Jobs(keep_seconds=0.05)
    job = store.submit(lambda: 1)
    deadline = time.monotonic() + 10
    while store.get(job.id) is not None and store.get(job.id).status == "computing":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.1)
    assert store.get(job.id) is None
    store.close()


def test_jobs_still_queued_when_the_app_stops_end_as_cancelled_and_new_ones_run():
    store = Jobs()
    gate = threading.Event()
    running = store.submit(gate.wait)
    queued = store.submit(lambda: 1)
    store.close()
    assert store.get(queued.id).status == "error"
    assert [e.code for e in store.get(queued.id).errors] == ["job_cancelled"]
    gate.set()
    later = store.submit(lambda: 2)
    deadline = time.monotonic() + 10
    while store.pending:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert (store.get(running.id).status, store.get(later.id).result) == ("ok", 2)
    store.close()
