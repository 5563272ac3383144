"""The monitor: events in, change records out, by re-evaluating just what an event can change.

A household moves forward in time through *points*: its events, its members' birthdays at an
age some standard tests, and the dates a rule or a figure starts or ends. At each point the
engine (:func:`gongfu_rules.evaluate`) evaluates the standards that point can change, and the
results are compared with the household's tracked entitlements: a standard that becomes
``eligible`` or ``undetermined`` *starts*, one that becomes ``not_eligible`` *stops*, one whose
amount or status changes *changes*. An event dated before the household's ``as_of`` (late) makes
the household be replayed from its log; changes the replay no longer finds are revoked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..dates import parse_date
from ..errors import ErrorDetail, GongfuError, InputError
from ..evaluate import evaluate
from ..expr.names import input_label
from ..load.loader import load_standards
from ..model import StandardsSet
from ..results import StandardResult, money
from .events import Event, parse_event
from .routing import Dependencies, Router
from .store import ChangeRow, Entry, HouseholdState, Key, Store

_VERB = {"start": ("开始", "starts"), "stop": ("停止", "stops"), "change": ("变更", "changes")}
_PER = {"month": ("月", "month"), "year": ("年", "year"), "semester": ("学期", "semester"),
        "day": ("天", "day"), "once": ("次", "once")}
_WHY_NOT = {"deceased": ("已故", "deceased"), "not_in_force": ("标准不再实施", "no longer in force"),
            "outside_scope": ("不在实施范围内", "outside the standard's region"),
            "excluded": ("由其他待遇替代", "replaced by another benefit")}


@dataclass(frozen=True, slots=True)
class _Cause:
    key: str  # the event id, or clock:age:N / clock:date:D
    zh: str
    en: str


@dataclass
class Report:
    """What an ``ingest`` or a ``tick`` did."""

    applied: int = 0
    duplicates: int = 0
    late: int = 0
    households: int = 0
    persons: int = 0
    changes: int = 0
    revoked: int = 0
    errors: list[ErrorDetail] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "errors"},
                "errors": [e.to_dict() for e in self.errors]}


class Monitor:
    """Life events in, entitlement changes out (免申即享), over a household store at ``path``."""

    def __init__(self, path: str | Path, standards: StandardsSet | None = None):
        self.std = standards or load_standards()
        self.deps = Dependencies.of(self.std)
        self.router = Router(self.deps, self.std.digest)  # raises if durable-rules is missing
        self.store = Store(path)
        self._subsets: dict[frozenset[str], StandardsSet] = {self.deps.all: self.std}

    def close(self) -> None:
        self.store.close()

    # --- ingest ------------------------------------------------------------------------------
    def ingest(self, events: Iterable[Event | dict[str, Any] | GongfuError | None],
               chunk: int = 50_000) -> Report:
        """Apply events, each once (by id), in effective-date order within each chunk; a late
        event replays its household. A bad event is reported in ``errors`` and skipped."""
        report = Report()
        batch: list[tuple[int, Event]] = []
        for line, data in enumerate(events, 1):
            if data is None:
                continue
            if isinstance(data, GongfuError):  # a line that is not JSON (from ingest_file)
                report.errors.extend(data.details)
                continue
            try:
                batch.append((line, parse_event(data, line)))
            except GongfuError as e:
                report.errors.extend(e.details)
            if len(batch) >= chunk:
                self._ingest_batch(batch, report)
                batch = []
        self._ingest_batch(batch, report)
        return report

    def ingest_file(self, path: str | Path) -> Report:
        """Events from a JSONL file, one event per line."""
        def lines():
            with open(path, encoding="utf-8") as f:
                for n, text in enumerate(f, 1):
                    if text.strip():
                        try:
                            yield json.loads(text)
                        except json.JSONDecodeError as e:
                            yield InputError.one("json_invalid", f"not valid JSON: {e.msg} "
                                                 f"(column {e.colno})", loc=("line", n))
                    else:
                        yield None  # a blank line: skipped, but counted, so lines keep their numbers
        try:
            return self.ingest(lines())
        except OSError as e:
            raise InputError.one("file_unreadable", f"cannot read {path}: {e.strerror}",
                                 loc=("events",)) from None

    def _ingest_batch(self, batch: list[tuple[int, Event]], report: Report,
                      commit_every: int = 500) -> None:
        ordered = sorted(batch, key=lambda b: (b[1].effective_date, b[0]))
        for i in range(0, len(ordered), commit_every):
            with self.store.transaction():  # one commit for many events: commits cost I/O
                for line, event in ordered[i:i + commit_every]:
                    if self.store.seen(event.id):
                        report.duplicates += 1
                        continue
                    try:
                        with self.store.savepoint():
                            self._apply(event, report)
                    except GongfuError as e:
                        report.errors.extend(ErrorDetail(d.code, d.msg, ("line", line, *d.loc))
                                             for d in e.details)

    def _apply(self, event: Event, report: Report) -> None:
        hid = event.household_id
        state = self.store.load(hid)
        body = event.model_dump(mode="json", exclude_none=True)
        late = state.as_of is not None and event.effective_date < state.as_of
        with self.router.session(hid) as route:
            if late:  # replay the household from its log, the late event in its place
                horizon = state.as_of
                logged = [parse_event(b) for b in self.store.events_of(hid)]
                events = sorted([*logged, event], key=lambda e: e.effective_date)  # stable: arrival
                fresh = HouseholdState({"id": hid}, {}, None)
                rows = self._run(hid, fresh, events, horizon, route)
                old = self.store.changes_of(hid)
                rows, revoke = _reconcile(old, rows, event)
                state = fresh
            else:
                rows, revoke = self._run(hid, state, [event], event.effective_date, route), []
        self.store.log_event(body)
        self.store.save(hid, state)
        self.store.revoke([seq for seq, _ in revoke])
        self.store.insert_changes(rows)
        report.applied += 1
        report.late += late
        report.changes += len(rows)
        report.revoked += len(revoke)

    # --- the clock ---------------------------------------------------------------------------
    def tick(self, on: date | str, batch: int = 500) -> Report:
        """Move every household to ``on``: re-evaluate those with a birthday at an age some
        standard tests, or a rule or figure boundary, since they were last evaluated."""
        day = parse_date(on)
        report = Report()
        lo = self.store.min_as_of()
        if lo is None or lo >= day:
            return report
        due: set[str] = set()
        for age in self.deps.by_age:
            due |= self.store.crossing_age(age, lo, day)
        for d, ids in self.deps.by_date.items():
            if not lo < d <= day:
                continue
            conditions = self.deps.conditions_by_date.get(d, frozenset())
            due |= self.store.before(d) if conditions else self.store.holding(ids, d)
        pending = sorted(due)
        for i in range(0, len(pending), batch):
            with self.store.transaction():
                for hid in pending[i:i + batch]:
                    state = self.store.load(hid)
                    if state.as_of is None or state.as_of >= day:
                        continue
                    try:
                        with self.store.savepoint(), self.router.session(hid) as route:
                            rows = self._run(hid, state, [], day, route)
                            self.store.save(hid, state)
                            self.store.insert_changes(rows)
                    except GongfuError as e:  # reported; the household stays where it was
                        report.errors.extend(ErrorDetail(d.code, d.msg, ("household", hid, *d.loc))
                                             for d in e.details)
                        continue
                    report.households += 1
                    report.persons += len(state.profile.get("members", ()))
                    report.changes += len(rows)
        with self.store.transaction():
            self.store.advance_all(day)
            self.store.set_meta("last_tick", day.isoformat())
        return report

    def changes(self, since: date | str | None = None, after: int | None = None
                ) -> list[dict[str, Any]]:
        """Reported changes (JSON-ready dicts), oldest first: effective on or after ``since``,
        or recorded after sequence number ``after``."""
        day = parse_date(since, "since") if since is not None else None
        return [_public(r) for r in self.store.changes(day, after)]

    # --- one household through time ----------------------------------------------------------
    def _run(self, hid: str, state: HouseholdState, events: list[Event], horizon: date,
             route) -> list[ChangeRow]:
        """Advance ``state`` through ``events`` and the clock points up to ``horizon``."""
        rows: list[ChangeRow] = []
        for event in events:
            day = event.effective_date
            clock_at, clock_track, _ = self._clock_points(state, day, rows, hid)
            evaluate_ids, track_ids = route(event, event.adds_person(state.profile))
            event.apply(state.profile)
            cause = _Cause(event.id, event.label[0], event.label[1])
            rows += self._point(hid, state, day, evaluate_ids | clock_at, track_ids | clock_track,
                                cause)
            state.as_of = day if state.as_of is None else max(state.as_of, day)
        if state.as_of is not None and state.as_of < horizon:
            at, track, cause = self._clock_points(state, horizon, rows, hid)
            if cause is not None:
                rows += self._point(hid, state, horizon, at, track, cause)
            state.as_of = horizon
        return rows

    def _clock_points(self, state: HouseholdState, until: date, rows: list[ChangeRow],
                      hid: str) -> tuple[frozenset[str], frozenset[str], _Cause | None]:
        """Evaluate the clock points after ``as_of`` and before ``until``; return the standards
        of the points *on* ``until``, those of them whose undetermined results to report, and
        their cause (the caller evaluates them with whatever else happens that day)."""
        if state.as_of is None or until <= state.as_of:
            return frozenset(), frozenset(), None
        points: dict[date, tuple[set[str], _Cause]] = {}
        for m in state.profile.get("members", ()):
            if not m.get("birth_date") or m.get("death_date"):
                continue
            born = date.fromisoformat(m["birth_date"])
            for age, ids in self.deps.by_age.items():
                d = _birthday(born, age)
                if state.as_of < d <= until:
                    ids_, _ = points.setdefault(d, (set(), _Cause(
                        f"clock:age:{age}", f"年满{age}周岁", f"turned {age}")))
                    ids_.update(ids)
        # A new rule or figure re-evaluates, but reports an undetermined result only if it was
        # already reported; a birthday also reports what becomes possible at that age.
        ages = {d: set(ids) for d, (ids, _) in points.items()}
        for d, ids in self.deps.by_date.items():
            if state.as_of < d <= until:
                ids_, _ = points.setdefault(d, (set(), _Cause(
                    f"clock:date:{d}", f"{d}起规则或标准调整", f"rule or figure changed on {d}")))
                ids_.update(ids)
        at, at_cause = points.pop(until, (set(), None))
        for d in sorted(points):
            ids, cause = points[d]
            rows += self._point(hid, state, d, frozenset(ids), frozenset(ages.get(d, ())), cause)
            state.as_of = d
        return frozenset(at), frozenset(ages.get(until, ())), at_cause

    def _point(self, hid: str, state: HouseholdState, day: date, ids: frozenset[str],
               track: frozenset[str], cause: _Cause) -> list[ChangeRow]:
        """Evaluate ``ids`` on ``day``; update the tracked entries; the changes found."""
        members = state.profile.get("members", [])
        alive = [m for m in members if not (m.get("death_date")
                                           and date.fromisoformat(m["death_date"]) <= day)]
        alive_ids = {m["id"] for m in alive}
        found: dict[Key, tuple[Entry, StandardResult]] = {}
        if members:
            # the dead are left out so that household size and sums count the living; when no
            # one is left, they stay, so the household's own standards (丧葬补贴) still decide
            profile = {k: v for k, v in state.profile.items() if k != "members"} | {
                "members": alive or members}
            result = evaluate(profile, on=day, standards=self._subset(ids), explain=False)
            groups = [(pid, rs) for pid, rs in result.persons.items()] + [("", result.household)]
            for pid, results in groups:
                for r in results:
                    key = (pid, r.standard_id)
                    if r.status == "eligible" or (r.status == "undetermined" and (
                            r.standard_id in track or key in state.tracked)):
                        version = r.rule.start.isoformat() if r.rule else None
                        found[key] = ((r.status, money(r.amount), version), r)
        rows = []
        gone = [k for k in state.tracked if k[1] in ids or (k[0] and k[0] not in alive_ids)
                or (not k[0] and not members)]
        for key in dict.fromkeys([*gone, *found]):
            old = state.tracked.get(key)
            new, r = found.get(key, (None, None))
            if new is None:
                state.tracked.pop(key, None)
            else:
                state.tracked[key] = new
            if (old and old[:2]) != (new and new[:2]):
                rows.append(self._row(hid, key, old, new, r, day, cause,
                                      "deceased" if key[0] and key[0] not in alive_ids else None))
        return rows

    def _row(self, hid: str, key: Key, old: Entry | None, new: Entry | None,
             r: StandardResult | None, day: date, cause: _Cause, why: str | None) -> ChangeRow:
        s = self.std[key[1]]
        kind = "start" if old is None else "stop" if new is None else "change"
        needs = list(r.missing) if r is not None and r.status == "undetermined" else []
        zh = [f"{cause.zh}：{s.name.zh}{_VERB[kind][0]}"]
        en = [f"{cause.en}: {s.name.en} {_VERB[kind][1]}"]
        per = _PER.get(s.period, ("", ""))
        if new is not None and new[1] is not None:
            zh.append(f"，{new[1]}元/{per[0]}" + (f"（原{old[1]}元）" if old and old[1] else ""))
            en.append(f", {new[1]} yuan / {per[1]}" + (f" (was {old[1]})" if old and old[1] else ""))
        if needs:
            zh.append("；需补充：" + "、".join(input_label(n, "zh") for n in needs))
            en.append("; needs: " + ", ".join(input_label(n, "en") for n in needs))
        if new is None:
            reason = why or (r.reason if r is not None else None)
            if reason in _WHY_NOT:
                zh.append(f"（{_WHY_NOT[reason][0]}）")
                en.append(f" ({_WHY_NOT[reason][1]})")
        return ChangeRow(
            hid, key[0], key[1], kind, old[0] if old else None, new[0] if new else None,
            old[1] if old else None, new[1] if new else None, day.isoformat(),
            (new or old)[2], "".join(zh), "".join(en),  # type: ignore[index]
            new is None or new[0] == "eligible", json.dumps(needs), cause.key)

    def _subset(self, ids: frozenset[str]) -> StandardsSet:
        """The standards set reduced to ``ids`` (same name, version and digest)."""
        sub = self._subsets.get(ids)
        if sub is None:
            std = self.std
            sub = self._subsets[ids] = StandardsSet(
                std.name, std.version, std.digest, {k: v for k, v in std.standards.items()
                                                    if k in ids}, std.parameters, std.root)
        return sub


def _birthday(born: date, age: int) -> date:
    """The day a person born on ``born`` turns ``age`` (周岁): 29 February → 1 March."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 3, 1)


def _reconcile(old: list[tuple[int, ChangeRow]], new: list[ChangeRow], late: Event
               ) -> tuple[list[ChangeRow], list[tuple[int, ChangeRow]]]:
    """After a replay: the changes to add (found now, not reported before, plus a revocation
    for each reported change the replay no longer finds) and the reported ones to revoke."""
    pool: dict[tuple[Any, ...], list[tuple[int, ChangeRow]]] = {}
    for seq, row in old:
        pool.setdefault(row.identity(), []).append((seq, row))
    added = []
    for row in new:
        same = pool.get(row.identity())
        if same:
            same.pop(0)
        else:
            added.append(row)
    revoked = [item for items in pool.values() for item in items]
    zh, en = late.label
    revocations = [ChangeRow(
        row.household_id, row.person_id, row.standard, "revoke", row.new_status, row.old_status,
        row.new_amount, row.old_amount, row.effective_date, row.rule_version,
        f"更正：迟到的事件（{zh}，{late.effective_date}）改变了此前报告的记录#{seq}",
        f"correction: a late event ({en}, {late.effective_date}) changes reported change #{seq}",
        True, "[]", late.id, seq) for seq, row in revoked]
    return revocations + added, revoked


def _public(r: dict[str, Any]) -> dict[str, Any]:
    """A stored change as its JSON record."""
    needs = json.loads(r["needs"])
    return {
        "seq": r["seq"], "household_id": r["household_id"], "person_id": r["person_id"] or None,
        "standard": r["standard"], "kind": r["kind"], "old_status": r["old_status"],
        "new_status": r["new_status"], "old_amount": r["old_amount"],
        "new_amount": r["new_amount"], "effective_date": r["effective_date"],
        "rule_version": r["rule_version"], "reason": {"zh": r["reason_zh"], "en": r["reason_en"]},
        "mode": "免申即享" if r["decidable"] else "快申快享", "decidable": bool(r["decidable"]),
        "needs": [{"input": n, "zh": input_label(n, "zh"), "en": input_label(n, "en")}
                  for n in needs],
        "cause": r["cause"], "revokes": r["revokes"], "revoked": bool(r["revoked"]),
    }

