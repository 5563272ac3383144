"""The evaluation's JSON: compact by default (each source once, by id), full on request."""

import json

import pytest

from gongfu_rules import evaluate

PROFILE = json.load(open("examples/kunming_family.json", encoding="utf-8"))


@pytest.fixture(scope="module", params=[{"on": "2025-08-01"}, {"period": "2025"}],
                ids=["date", "period"])
def ev(request):
    return evaluate(PROFILE, **request.param)


def results(d):
    for group in [d["household"], *d["persons"]]:
        for key in ("entitlements", "undetermined", "not_eligible"):
            yield from group[key]


def cited(r):
    yield from r.get("sources", [])
    for p in r.get("parameters", []):
        yield p["source"]
        if "date_source" in p:
            yield p["date_source"]


def without_note(src):
    """A source as compact JSON lists it: its reviewer's note left to ``detail="full"``."""
    return {k: v for k, v in src.items() if k != "note"}


def test_compact_json_leaves_reviewers_notes_to_full_detail(ev):
    compact, full = ev.to_json(), ev.to_json(detail="full")
    assert "Seed 00" in full and "Seed 00" not in compact


def test_compact_json_lists_each_source_once_and_results_cite_it_by_id(ev):
    d = json.loads(ev.to_json())
    assert d["schema"] == "gongfu-rules/evaluation-compact/1"
    ids = [i for r in results(d) for i in cited(r)]
    assert ids and all(isinstance(i, str) for i in ids)
    assert set(ids) == set(d["sources"])  # every cited source listed, none listed uncited


def test_compact_json_resolves_to_the_full_json(ev):
    compact, full = json.loads(ev.to_json()), json.loads(ev.to_json(detail="full"))
    assert full["schema"] == "gongfu-rules/evaluation/1" and "sources" not in full
    for c, f in zip(results(compact), results(full), strict=True):
        assert [compact["sources"][i] for i in c.get("sources", [])] == \
            [without_note(src) for src in f.get("sources", [])]
        for cp, fp in zip(c.get("parameters", []), f.get("parameters", []), strict=True):
            assert compact["sources"][cp["source"]] == without_note(fp["source"])
            assert {k: v for k, v in cp.items() if "source" not in k} == \
                {k: v for k, v in fp.items() if "source" not in k}


def test_a_source_has_the_same_id_in_every_evaluation(ev):
    other = evaluate(PROFILE, on="2024-03-01")
    a, b = json.loads(ev.to_json())["sources"], json.loads(other.to_json())["sources"]
    shared = set(a) & set(b)
    assert shared and all(a[i] == b[i] for i in shared)


def test_compact_json_is_smaller_than_full(ev):
    assert len(ev.to_json()) < 0.8 * len(ev.to_json(detail="full"))


def test_to_dict_stays_the_full_schema_the_service_serves(ev):
    assert ev.to_dict()["schema"] == "gongfu-rules/evaluation/1"
    assert json.loads(ev.to_json(detail="full")) == json.loads(json.dumps(ev.to_dict(),
                                                                          ensure_ascii=False))


def test_compact_json_lists_each_standard_once_with_the_fields_results_leave_out(ev):
    compact, full = json.loads(ev.to_json()), json.loads(ev.to_json(detail="full"))
    for c, f in zip(results(compact), results(full), strict=True):
        listed = compact["standards"][c["standard"]]
        assert "name" not in c and listed["name"] == f["name"] and listed["kind"] == f["kind"]
        assert listed["period"] == f["period"] and listed["domain"] == f["domain"]


def test_compact_period_months_come_as_runs_that_cover_every_month():
    ev = evaluate(PROFILE, period="2025")
    compact, full = json.loads(ev.to_json()), json.loads(ev.to_json(detail="full"))
    for c, f in zip(results(compact), results(full), strict=True):
        expanded = []
        for run in c["runs"]:
            first, last = int(run["from"][5:]), int(run["to"][5:])
            expanded += [{"month": f"2025-{m:02d}", "status": run["status"],
                          "amount": run["amount"]} for m in range(first, last + 1)]
        assert expanded == f["months"]
