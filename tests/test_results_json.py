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


# --- the JSON text, written from each result's kept text -------------------------------------
def _dumps(d):
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("detail", ["full", "compact"])
@pytest.mark.parametrize("explain", [True, False])
def test_json_text_is_the_text_of_the_dict_for_households_that_share_results(detail, explain):
    households = [PROFILE, *({"members": [m]} for m in PROFILE["members"]), PROFILE]
    for on in ("2025-08-01", "2024-03-01"):
        for household in households:  # later ones reuse the earlier ones' results
            ev = evaluate(household, on, explain=explain)
            assert ev.json_text(detail) == _dumps(ev.to_dict(detail))


def test_json_text_over_a_period_is_the_text_of_the_dict():
    ev = evaluate(PROFILE, period="2025")
    for detail in ("full", "compact"):
        assert ev.json_text(detail) == _dumps(ev.to_dict(detail))


def test_to_json_on_one_line_is_the_json_text_and_indented_is_the_same_data(ev):
    assert ev.to_json() == ev.json_text()
    assert json.loads(ev.to_json(indent=2)) == json.loads(ev.to_json())


def test_a_shared_result_is_written_once_for_every_evaluation_that_reaches_it(monkeypatch):
    from gongfu_rules import results as module
    first = evaluate(PROFILE, "2025-08-01")
    first.json_text("full")
    written = []
    original = module.StandardResult.to_dict
    monkeypatch.setattr(module.StandardResult, "to_dict",
                        lambda self, refs=None: written.append(self) or original(self, refs))
    again = evaluate(PROFILE, "2025-08-01")
    assert again.json_text("full") == first.json_text("full")
    # (results decided anew each time, or set aside by an exclusion, are new objects)
    shared = {id(r) for r in _all(first)} & {id(r) for r in _all(again)}
    assert len(shared) > 0.5 * len({id(r) for r in _all(again)})
    assert not shared & {id(r) for r in written}


def _all(ev):
    return [r for rs in (ev.household, *ev.persons.values()) for r in rs]


def test_the_kept_texts_are_bounded(monkeypatch):
    from gongfu_rules import results as module
    monkeypatch.setattr(module, "TEXT_CACHE_SIZE", 50)
    monkeypatch.setattr(module, "_texts", {})
    for on in ("2025-08-01", "2024-03-01", "2023-03-01"):
        ev = evaluate(PROFILE, on)
        assert ev.json_text("compact") == _dumps(ev.to_dict("compact"))
        assert len(module._texts) <= 50


def test_json_bytes_are_the_json_text_in_utf8(ev):
    for detail in ("full", "compact"):
        assert ev.json_bytes(detail) == ev.json_text(detail).encode()
