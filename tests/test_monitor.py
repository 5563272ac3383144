"""The life-event monitor: event sequences in, change records out, amounts from the engine."""

from __future__ import annotations

import json
import sys
from datetime import date

import pytest

from gongfu_rules import InputError, default_standards, evaluate
from gongfu_rules.cli import main
from gongfu_rules.monitor import Monitor, MonitorError, parse_event
from gongfu_rules.monitor import routing
from gongfu_rules.monitor.store import Store
from gongfu_rules.results import money

CHUXIONG = "532301"  # 楚雄市: the disability subsidies have published amounts there
KUNMING = "530102"  # 五华区


@pytest.fixture
def monitor(tmp_path):
    m = Monitor(tmp_path / "store.sqlite", default_standards())
    yield m
    m.close()


def ev(id, type, on, household="h1", person=None, **fields):
    return {"id": id, "type": type, "effective_date": on, "household_id": household,
            **({"person_id": person} if person else {}), **fields}


def of(m, standard, kind=None):
    return [c for c in m.changes() if c["standard"] == standard and (kind is None or c["kind"] == kind)]


def engine_amount(profile, standard, on, person=None):
    return money(evaluate(profile, on=on, explain=False).get(standard, person).amount)


def standing(m):
    """The changes that stand (not revoked, not revocations), as comparable tuples."""
    return sorted((c["household_id"], c["person_id"] or "", c["standard"], c["kind"],
                   c["old_amount"] or "", c["new_amount"] or "", c["effective_date"])
                  for c in m.changes()
                  if c["kind"] != "revoke" and not c["revoked"])


# --- the event sequences ---------------------------------------------------------------
def test_a_birth_starts_the_childcare_subsidy_and_it_stops_at_three(monitor):
    monitor.ingest([ev("b1", "birth", "2025-03-01", person="c1", region=KUNMING,
                       hukou_region=KUNMING, born_in_compliance=True)])
    [start] = of(monitor, "childcare_subsidy_under3")
    child = {"birth_date": "2025-03-01", "hukou_region": KUNMING, "born_in_compliance": True}
    assert (start["kind"], start["effective_date"], start["mode"]) == ("start", "2025-03-01", "免申即享")
    assert start["new_amount"] == engine_amount(child, "childcare_subsidy_under3", "2025-03-01")
    assert start["rule_version"] == "2025-01-01" and "育儿补贴" in start["reason"]["zh"]

    monitor.tick("2028-06-01")
    [stop] = of(monitor, "childcare_subsidy_under3", "stop")
    assert (stop["effective_date"], stop["cause"], stop["old_amount"]) == (
        "2028-03-01", "clock:age:3", start["new_amount"])


def test_a_birth_without_the_compliance_fact_asks_the_citizen_for_it(monitor):
    monitor.ingest([ev("b1", "birth", "2025-03-01", person="c1", region=KUNMING,
                       hukou_region=KUNMING)])
    [start] = of(monitor, "childcare_subsidy_under3")
    assert (start["mode"], start["decidable"]) == ("快申快享", False)
    assert [n["input"] for n in start["needs"]] == ["born_in_compliance"]


def test_a_grade_1_disability_in_a_dibao_household_starts_living_and_care_subsidies(monitor):
    monitor.ingest([
        ev("d1", "dibao_granted", "2025-04-01", region=CHUXIONG, per_capita_monthly_income="300",
           area_type="urban"),
        ev("c1", "disability_certified", "2025-05-01", person="p1", grade=1)])
    profile = {"region": CHUXIONG, "dibao": True, "per_capita_monthly_income": "300",
               "area_type": "urban", "members": [{"id": "p1", "hukou_region": CHUXIONG,
                                                  "disability_certificate": True,
                                                  "disability_grade": 1}]}
    for standard in ("disability_living_subsidy", "severe_disability_care_subsidy"):
        [start] = of(monitor, standard)
        assert (start["kind"], start["effective_date"], start["person_id"]) == ("start", "2025-05-01", "p1")
        assert start["new_amount"] == engine_amount(profile, standard, "2025-05-01", "p1") is not None
        assert start["cause"] == "c1" and start["decidable"]


def test_without_a_dibao_event_the_household_is_not_in_dibao(monitor):
    monitor.ingest([ev("c1", "disability_certified", "2025-05-01", person="p1", region=CHUXIONG,
                       grade=1)])
    assert not of(monitor, "disability_living_subsidy")  # needs a 低保 household: decided no
    assert [c["mode"] for c in of(monitor, "severe_disability_care_subsidy")] == ["免申即享"]


def test_dibao_granted_starts_the_dibao_payment(monitor):
    monitor.ingest([
        ev("m1", "hukou_move", "2025-01-01", person="p1", region=KUNMING, hukou_region=KUNMING),
        ev("d1", "dibao_granted", "2025-04-01", per_capita_monthly_income="300", area_type="urban")])
    # on moving in, 低保 is possible but needs the income (快申快享); granted, it is paid
    asked, paid = of(monitor, "dibao_household_allowance")
    assert (asked["kind"], asked["mode"], asked["effective_date"]) == ("start", "快申快享", "2025-01-01")
    assert {n["input"] for n in asked["needs"]} >= {"household.per_capita_monthly_income"}
    profile = {"region": KUNMING, "dibao": True, "per_capita_monthly_income": "300",
               "area_type": "urban", "members": [{"id": "p1", "hukou_region": KUNMING}]}
    assert (paid["new_status"], paid["effective_date"], paid["person_id"], paid["mode"]) == (
        "eligible", "2025-04-01", None, "免申即享")
    assert paid["new_amount"] == engine_amount(profile, "dibao_household_allowance", "2025-04-01")


def test_a_tekun_member_dies_allowances_stop_and_the_funeral_subsidy_appears(monitor):
    monitor.ingest([
        ev("t1", "tekun_granted", "2025-01-10", person="p1", region=KUNMING,
           support_mode="dispersed", self_care="able"),
        ev("x1", "death", "2025-09-10", person="p1")])
    for standard in ("tekun_basic_living", "tekun_care_subsidy"):
        records = of(monitor, standard)  # started, re-figured on 2025-07-01 on the way, stopped
        start, stop = records[0], records[-1]
        assert (start["kind"], stop["kind"], stop["effective_date"]) == ("start", "stop", "2025-09-10")
        assert stop["old_amount"] == records[-2]["new_amount"] is not None
        assert "已故" in stop["reason"]["zh"] and stop["cause"] == "x1"
    [funeral] = of(monitor, "tekun_funeral_subsidy")
    profile = {"region": KUNMING, "tekun_deaths": 1, "members": [{"hukou_region": KUNMING}]}
    assert (funeral["kind"], funeral["effective_date"]) == ("start", "2025-09-10")
    assert funeral["new_amount"] == engine_amount(profile, "tekun_funeral_subsidy", "2025-09-10") is not None


def test_a_figure_changes_on_its_date(monitor):
    monitor.ingest([
        ev("m1", "hukou_move", "2025-01-01", person="p1", region=KUNMING, hukou_region=KUNMING),
        ev("d1", "dibao_granted", "2025-04-01", per_capita_monthly_income="300", area_type="urban")])
    monitor.tick("2025-12-31")
    profile = {"region": KUNMING, "dibao": True, "per_capita_monthly_income": "300",
               "area_type": "urban", "members": [{"id": "p1", "hukou_region": KUNMING}]}
    before = engine_amount(profile, "dibao_household_allowance", "2025-06-30")
    after = engine_amount(profile, "dibao_household_allowance", "2025-07-01")
    assert before != after  # the bundled urban 低保 standard rises on 2025-07-01
    [change] = [c for c in of(monitor, "dibao_household_allowance", "change")
                if c["effective_date"] == "2025-07-01"]
    assert (change["effective_date"], change["old_amount"], change["new_amount"], change["cause"]) \
        == ("2025-07-01", before, after, "clock:date:2025-07-01")


# --- once, in order ----------------------------------------------------------------------------
SEQUENCE = [
    ev("m1", "hukou_move", "2025-01-01", person="p1", region=KUNMING, hukou_region=KUNMING),
    ev("d1", "dibao_granted", "2025-04-01", per_capita_monthly_income="300", area_type="urban"),
    ev("i1", "income_change", "2025-06-01", per_capita_monthly_income="500"),
    ev("b1", "birth", "2025-08-01", person="c1", born_in_compliance=True),
]


def test_a_duplicate_event_is_applied_once(monitor):
    first = monitor.ingest(SEQUENCE + [SEQUENCE[1]])
    again = monitor.ingest(SEQUENCE)
    assert (first.applied, first.duplicates) == (4, 1)
    assert (again.applied, again.duplicates, again.changes) == (0, 4, 0)
    assert len(of(monitor, "dibao_household_allowance", "start")) == 1


def test_a_late_event_is_applied_in_date_order(tmp_path, monitor):
    monitor.ingest([e for e in SEQUENCE if e["id"] != "i1"])
    monitor.tick("2025-12-31")
    report = monitor.ingest([SEQUENCE[2]])  # the income change of June arrives in December
    assert report.late == 1 and report.revoked >= 1

    in_order = Monitor(tmp_path / "in_order.sqlite", default_standards())
    in_order.ingest(SEQUENCE)
    in_order.tick("2025-12-31")
    assert standing(monitor) == standing(in_order)
    revoked = [c for c in monitor.changes() if c["revoked"]]
    assert revoked and all(any(r["revokes"] == c["seq"] for r in monitor.changes()) for c in revoked)


def test_a_crash_between_applying_an_event_and_storing_its_changes_loses_and_doubles_nothing(
        tmp_path, monitor, monkeypatch):
    monitor.ingest(SEQUENCE[:1])

    def crash(self, rows):
        raise RuntimeError("power cut")
    monkeypatch.setattr(Store, "insert_changes", crash)
    with pytest.raises(RuntimeError):
        monitor.ingest(SEQUENCE[1:2])
    monkeypatch.undo()
    assert not monitor.store.seen("d1")
    assert not [c for c in monitor.changes() if c["cause"] == "d1"]

    monitor.ingest(SEQUENCE)  # the sender retries everything
    reference = Monitor(tmp_path / "reference.sqlite", default_standards())
    reference.ingest(SEQUENCE)
    assert standing(monitor) == standing(reference)


def test_a_crash_during_a_tick_is_repaired_by_ticking_again(tmp_path, monitor, monkeypatch):
    monitor.ingest(SEQUENCE)
    monkeypatch.setattr(Store, "insert_changes", lambda self, rows: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        monitor.tick("2028-12-31")
    monkeypatch.undo()
    monitor.tick("2028-12-31")
    reference = Monitor(tmp_path / "reference.sqlite", default_standards())
    reference.ingest(SEQUENCE)
    reference.tick("2028-12-31")
    assert standing(monitor) == standing(reference)


def test_more_households_than_durable_rules_has_live_sessions(monitor):
    n = 1100  # durable-rules holds at most 1,024 live sessions per ruleset
    report = monitor.ingest(ev(f"b{i}", "birth", "2025-03-01", household=f"h{i}", person="c",
                               region=KUNMING, born_in_compliance=True) for i in range(n))
    assert (report.applied, report.errors) == (n, [])
    assert len(of(monitor, "childcare_subsidy_under3", "start")) == n


# --- the clock ---------------------------------------------------------------------------------
def test_the_clock_re_evaluates_only_households_with_a_birthday_or_boundary(monitor):
    monitor.ingest([ev(f"b{i}", "birth", born, household=f"h{i}", person="c", region=KUNMING,
                       born_in_compliance=True)
                    for i, born in enumerate(["2024-03-01", "2020-01-01", "2019-05-05"])])
    monitor.tick("2027-01-01")
    report = monitor.tick("2027-04-01")  # no rule or figure boundary in this window
    assert report.households == 1  # only h0's child turns 3 (on 2027-03-01)
    [stop] = [c for c in of(monitor, "childcare_subsidy_under3", "stop") if c["household_id"] == "h0"]
    assert stop["effective_date"] == "2027-03-01"


def test_a_29_february_child_turns_three_on_1_march(monitor):
    monitor.ingest([ev("b1", "birth", "2024-02-29", person="c1", region=KUNMING,
                       born_in_compliance=True)])
    monitor.tick("2027-12-31")
    [stop] = of(monitor, "childcare_subsidy_under3", "stop")
    assert stop["effective_date"] == "2027-03-01"


# --- durable-rules' limits ---------------------------------------------------------------------
def test_an_event_no_rule_routes_is_an_error_not_silence(monitor):
    class Unknown:
        type = "meteor_strike"
    with pytest.raises(MonitorError) as e:
        with monitor.router.session("h1") as route:
            route(Unknown(), False)
    assert e.value.code == "event_unrouted"


def test_every_event_type_is_routed_by_its_generated_rule(monitor):
    from gongfu_rules.monitor import EVENT_TYPES
    with monitor.router.session("h1") as route:
        for name in EVENT_TYPES:
            kind = type("E", (), {"type": name})
            assert route(kind(), False) == (monitor.deps.by_event[name],) * 2
        assert route(kind(), True)[0] == monitor.deps.all  # a new member: everything


def test_without_durable_rules_the_monitor_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "durable", None)
    with pytest.raises(MonitorError) as e:
        routing._durable()
    assert "pip install 'gongfu-rules[monitor]'" in str(e.value)


def test_routing_follows_the_standards_inputs(monitor):
    deps = monitor.deps
    assert "severe_disability_care_subsidy" in deps.by_event["disability_certified"]
    assert "dibao_household_allowance" in deps.by_event["income_change"]
    assert "childcare_subsidy_under3" not in deps.by_event["income_change"]
    assert "childcare_subsidy_under3" in deps.by_age[3] and "elderly_allowance" in deps.by_age[80]


# --- input ---------------------------------------------------------------------------------------
def test_a_bad_event_is_reported_by_line_without_its_values_and_the_rest_applied(monitor):
    report = monitor.ingest([
        ev("b1", "birth", "2025-03-01", person="c1", region=KUNMING),
        ev("i1", "income_change", "2025-04-01", per_capita_monthly_income="-7123.45"),
        ev("d1", "disability_certified", "2025-04-01", grade=1)])
    assert report.applied == 1
    assert [(e.code, e.loc[:2]) for e in report.errors] == [
        ("event_greater_than_equal", ("line", 2)), ("event_person_missing", ("line", 3))]
    assert "7123" not in " ".join(str(e) for e in report.errors)


def test_an_unknown_event_type_is_rejected():
    with pytest.raises(InputError) as e:
        parse_event(ev("z", "meteor_strike", "2025-01-01"))
    assert e.value.code == "event_union_tag_invalid"


def test_an_unknown_region_code_is_rejected_naming_the_field():
    with pytest.raises(InputError) as e:
        parse_event(ev("z", "hukou_move", "2025-01-01", person="p", hukou_region="999999"))
    assert [d.loc for d in e.value.details] == [("hukou_region",)]


def test_a_line_that_is_not_json_is_reported_by_its_number(tmp_path, monitor):
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(SEQUENCE[0]) + "\n\n{not json\n" + json.dumps(SEQUENCE[1]) + "\n",
                      encoding="utf-8")
    report = monitor.ingest_file(events)
    assert report.applied == 2
    assert [(e.code, e.loc) for e in report.errors] == [("json_invalid", ("line", 3))]


def test_the_cli_ingests_ticks_and_prints_changes_as_json_lines(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in SEQUENCE) + "\n",
                      encoding="utf-8")
    store = str(tmp_path / "cli.sqlite")
    assert main(["monitor", "ingest", str(events), "--store", store]) == 0
    assert main(["monitor", "tick", "--on", "2025-12-31", "--store", store]) == 0
    capsys.readouterr()
    assert main(["monitor", "changes", "--since", "2025-07-01", "--store", store]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records and all(r["effective_date"] >= "2025-07-01" for r in records)
    assert {"standard", "kind", "old_amount", "new_amount", "rule_version", "reason", "mode",
            "needs"} <= records[0].keys()
    assert date.fromisoformat(records[0]["effective_date"])


def test_a_fact_read_from_a_relative_routes_the_relatives_events_to_the_standard():
    found = routing.inputs(default_standards()["family_planning_special_assistance"])
    assert {"spouse_age", "birth_date", "role", "*members"} <= found
