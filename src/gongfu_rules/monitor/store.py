"""The household store: one SQLite file (stdlib ``sqlite3``) at a path the user chooses.

Tables: ``events`` (the append-only log, unique by event id), ``households`` (current facts as
JSON, and ``as_of``: the date up to which the household has been evaluated), ``persons`` (birth
and death dates, indexed, so the clock finds birthdays with one query per age), ``entitlements``
(the last evaluated results with their rule versions) and ``changes`` (what the monitor
reported). An event is logged in the same transaction as everything it changes (events are
committed a few hundred at a time, each in a savepoint that a rejected event undoes alone): a
crash leaves the store as it was before, and the event is applied again, once, when resent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # (person id, or "" for the household; standard id)
Entry = tuple[str, str | None, str | None]  # (status, amount, rule version)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, household_id TEXT NOT NULL,
  effective_date TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_household ON events (household_id, effective_date, seq);
CREATE TABLE IF NOT EXISTS households (id TEXT PRIMARY KEY, facts TEXT NOT NULL, as_of TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
  household_id TEXT NOT NULL, person_id TEXT NOT NULL, birth_date TEXT, death_date TEXT,
  PRIMARY KEY (household_id, person_id));
CREATE INDEX IF NOT EXISTS persons_birth ON persons (birth_date);
CREATE TABLE IF NOT EXISTS entitlements (
  household_id TEXT NOT NULL, person_id TEXT NOT NULL, standard TEXT NOT NULL,
  status TEXT NOT NULL, amount TEXT, version TEXT,
  PRIMARY KEY (household_id, person_id, standard));
CREATE INDEX IF NOT EXISTS entitlements_standard ON entitlements (standard);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, household_id TEXT NOT NULL, person_id TEXT NOT NULL,
  standard TEXT NOT NULL, kind TEXT NOT NULL, old_status TEXT, new_status TEXT,
  old_amount TEXT, new_amount TEXT, effective_date TEXT NOT NULL, rule_version TEXT,
  reason_zh TEXT NOT NULL, reason_en TEXT NOT NULL, decidable INTEGER NOT NULL,
  needs TEXT NOT NULL, cause TEXT NOT NULL, revokes INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS changes_household ON changes (household_id, effective_date);
"""


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A change as stored (see :class:`gongfu_rules.monitor.Change` for its public form)."""

    household_id: str
    person_id: str
    standard: str
    kind: str  # start | stop | change | revoke
    old_status: str | None
    new_status: str | None
    old_amount: str | None
    new_amount: str | None
    effective_date: str
    rule_version: str | None
    reason_zh: str
    reason_en: str
    decidable: bool
    needs: str  # JSON list of input names
    cause: str
    revokes: int | None = None

    def identity(self) -> tuple[Any, ...]:
        """What makes two reports of a change the same change (the wording may differ)."""
        return (self.person_id, self.standard, self.kind, self.old_status, self.new_status,
                self.old_amount, self.new_amount, self.effective_date)


_CHANGE_COLUMNS = [f.name for f in fields(ChangeRow)]


@dataclass
class HouseholdState:
    profile: dict[str, Any]
    tracked: dict[Key, Entry]
    as_of: date | None


class Store:
    """The SQLite store. ``path`` is created if needed; ``":memory:"`` works for trials."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of a transaction that an error undoes alone (one event of a batch)."""
        self.db.execute("SAVEPOINT one")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO one")
            self.db.execute("RELEASE one")
            raise
        self.db.execute("RELEASE one")

    # --- reading ---------------------------------------------------------------------------
    def seen(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is not None

    def load(self, household_id: str) -> HouseholdState:
        row = self.db.execute("SELECT facts, as_of FROM households WHERE id = ?",
                              (household_id,)).fetchone()
        if row is None:
            return HouseholdState({"id": household_id}, {}, None)
        tracked = {(p, s): (st, a, v) for p, s, st, a, v in self.db.execute(
            "SELECT person_id, standard, status, amount, version FROM entitlements "
            "WHERE household_id = ?", (household_id,))}
        return HouseholdState(json.loads(row[0]), tracked, date.fromisoformat(row[1]))

    def events_of(self, household_id: str) -> list[dict[str, Any]]:
        """The household's logged events, in the order they apply: effective date, then arrival."""
        return [json.loads(b) for (b,) in self.db.execute(
            "SELECT body FROM events WHERE household_id = ? ORDER BY effective_date, seq",
            (household_id,))]

    def changes_of(self, household_id: str) -> list[tuple[int, ChangeRow]]:
        """The household's reported changes that still stand (not revoked, not revocations)."""
        cur = self.db.execute(
            f"SELECT seq, {', '.join(_CHANGE_COLUMNS)} FROM changes WHERE household_id = ? "
            "AND revoked = 0 AND kind != 'revoke' ORDER BY seq", (household_id,))
        return [(r[0], ChangeRow(*r[1:])) for r in cur]

    def changes(self, since: date | None = None, after: int | None = None) -> Iterator[dict[str, Any]]:
        sql = f"SELECT seq, {', '.join(_CHANGE_COLUMNS)}, revoked FROM changes WHERE 1=1"
        args: list[Any] = []
        if since is not None:
            sql += " AND effective_date >= ?"
            args.append(since.isoformat())
        if after is not None:
            sql += " AND seq > ?"
            args.append(after)
        cur = self.db.execute(sql + " ORDER BY seq", args)
        names = ["seq", *_CHANGE_COLUMNS, "revoked"]
        for r in cur:
            yield dict(zip(names, r))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # --- writing (inside a transaction) ----------------------------------------------------
    def log_event(self, body: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO events (id, household_id, effective_date, type, body) "
                        "VALUES (?, ?, ?, ?, ?)", (body["id"], body["household_id"],
                                                   body["effective_date"], body["type"],
                                                   json.dumps(body, ensure_ascii=False)))

    def save(self, household_id: str, state: HouseholdState) -> None:
        """The household's facts, persons and entitlements as ``state`` has them."""
        assert state.as_of is not None
        self.db.execute("INSERT OR REPLACE INTO households (id, facts, as_of) VALUES (?, ?, ?)",
                        (household_id, json.dumps(state.profile, ensure_ascii=False),
                         state.as_of.isoformat()))
        self.db.execute("DELETE FROM persons WHERE household_id = ?", (household_id,))
        self.db.executemany("INSERT INTO persons VALUES (?, ?, ?, ?)", [
            (household_id, m["id"], m.get("birth_date"), m.get("death_date"))
            for m in state.profile.get("members", ())])
        self.db.execute("DELETE FROM entitlements WHERE household_id = ?", (household_id,))
        self.db.executemany("INSERT INTO entitlements VALUES (?, ?, ?, ?, ?, ?)", [
            (household_id, p, s, *entry) for (p, s), entry in state.tracked.items()])

    def insert_changes(self, rows: list[ChangeRow]) -> None:
        self.db.executemany(
            f"INSERT INTO changes ({', '.join(_CHANGE_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(_CHANGE_COLUMNS))})",
            [tuple(getattr(r, c) for c in _CHANGE_COLUMNS) for r in rows])  # astuple deep-copies

    def revoke(self, seqs: list[int]) -> None:
        self.db.executemany("UPDATE changes SET revoked = 1 WHERE seq = ?", [(s,) for s in seqs])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def advance_all(self, on: date) -> None:
        self.db.execute("UPDATE households SET as_of = ? WHERE as_of < ?",
                        (on.isoformat(), on.isoformat()))

    # --- the clock's queries ---------------------------------------------------------------
    def min_as_of(self) -> date | None:
        (v,) = self.db.execute("SELECT min(as_of) FROM households").fetchone()
        return None if v is None else date.fromisoformat(v)

    def crossing_age(self, age: int, lo: date, on: date) -> set[str]:
        """Households with a living member whose ``age``-th birthday falls after the household's
        ``as_of`` and on or before ``on`` (``lo`` is the least ``as_of``, to use the index).
        SQLite's date arithmetic takes 29 February to 1 March in common years, like 周岁."""
        years = f"+{age} years"
        return {h for (h,) in self.db.execute(
            "SELECT DISTINCT p.household_id FROM persons p JOIN households h "
            "ON h.id = p.household_id WHERE p.death_date IS NULL "
            "AND p.birth_date > date(?, ?, '-2 days') AND p.birth_date <= date(?, ?) "
            "AND date(p.birth_date, ?) > h.as_of AND date(p.birth_date, ?) <= ?",
            (lo.isoformat(), f"-{age} years", on.isoformat(), f"-{age} years", years, years,
             on.isoformat()))}

    def before(self, day: date) -> set[str]:
        return {h for (h,) in self.db.execute("SELECT id FROM households WHERE as_of < ?",
                                              (day.isoformat(),))}

    def holding(self, standards: frozenset[str], day: date) -> set[str]:
        """Households evaluated before ``day`` that hold (or may hold) one of ``standards``."""
        marks = ", ".join("?" * len(standards))
        return {h for (h,) in self.db.execute(
            f"SELECT DISTINCT e.household_id FROM entitlements e JOIN households h "
            f"ON h.id = e.household_id WHERE e.standard IN ({marks}) AND h.as_of < ?",
            (*sorted(standards), day.isoformat()))}
