"""What evaluate_table and the batch keep between calls: compiled rules, region frames,
expression stages and steps in bounded LRUs under stable keys, so that a long-running process
evaluating on ever new dates stays flat, and an entry evicted and rebuilt gives the same table."""

import dataclasses
from datetime import date, timedelta

import polars as pl

from gongfu_rules.batch import evaluate_table
from gongfu_rules.evaluate import default_standards
from gongfu_rules.model import TABLE_CACHE_SIZE, TABLE_STEP_CACHE_SIZE

STD = default_standards()
CASELOAD = pl.DataFrame({
    "household_id": ["h1", "h1", "h2"], "person_id": ["a", "b", "c"],
    "birth_date": ["2015-05-01", "1950-03-02", "1940-07-08"],
    "hukou_region": ["530102", "530102", "532301"], "orphan": ["是", None, None],
    "child_care_arrangement": ["散居", None, None], "tekun": [None, "是", "是"]})


def fresh_copy(std):
    """The same standards with nothing cached (the LRUs are not init arguments)."""
    return dataclasses.replace(std, _cache={})


def test_tables_over_many_dates_keep_the_caches_bounded(monkeypatch):
    std = fresh_copy(STD)
    monkeypatch.setattr(std._tables, "size", 150)
    monkeypatch.setattr(std._table_steps, "size", 300)
    for day in range(0, 360, 30):
        evaluate_table(CASELOAD, on=date(2025, 1, 1) + timedelta(days=day), standards=std)
    assert (len(std._tables), len(std._table_steps)) == (150, 300)
    assert len(std._cache) <= len(std)  # what stays unbounded is one entry per standard


def test_a_table_rebuilt_after_its_entries_were_evicted_is_the_same(monkeypatch):
    std = fresh_copy(STD)
    first = evaluate_table(CASELOAD, on="2025-03-01", standards=std, detail="full")
    monkeypatch.setattr(std._tables, "size", 1)  # evicted as soon as made, mid-evaluation too
    monkeypatch.setattr(std._table_steps, "size", 1)
    evaluate_table(CASELOAD, on="2024-03-01", standards=std)
    again = evaluate_table(CASELOAD, on="2025-03-01", standards=std, detail="full")
    assert again.equals(first)
    assert again.equals(evaluate_table(CASELOAD, on="2025-03-01", standards=fresh_copy(STD),
                                       detail="full"))


def test_a_period_evaluated_with_tiny_caches_gives_the_same_table(monkeypatch):
    std = fresh_copy(STD)
    monkeypatch.setattr(std._tables, "size", 1)
    monkeypatch.setattr(std._table_steps, "size", 1)
    tiny = evaluate_table(CASELOAD, period="2025-07", standards=std)
    assert tiny.equals(evaluate_table(CASELOAD, period="2025-07", standards=fresh_copy(STD)))


def test_the_cache_sizes_hold_a_date_of_every_yunnan_county():
    # About 200 table entries and 5,500 steps a date with the bundled standards (measured).
    assert TABLE_CACHE_SIZE >= 10 * 2 * len(STD)
    assert TABLE_STEP_CACHE_SIZE >= 10 * 5_500
