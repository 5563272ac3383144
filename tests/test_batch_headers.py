"""One source of truth for headers: the Chinese headers a batch accepts, the tables of
docs/profiles.md and docs/batch.md all come from the fact registry (and the profile's
built-in fields), and these tests keep them equal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gongfu_rules.columns import COLUMNS, header_map, headers_markdown
from gongfu_rules.facts import fact_specs, facts_table
from gongfu_rules.profile import _key

DOCS = Path(__file__).resolve().parent.parent / "docs"
PROFILES = (DOCS / "profiles.md").read_text(encoding="utf-8")
BATCH = (DOCS / "batch.md").read_text(encoding="utf-8")
HEADERS = header_map()


def test_batch_md_lists_every_accepted_header_as_generated():
    assert headers_markdown() in BATCH


@pytest.mark.parametrize("entity", ["person", "household"])
def test_profiles_md_lists_the_core_facts_as_generated(entity):
    assert facts_table(entity, core=True) in PROFILES


@pytest.mark.parametrize("spec", fact_specs(), ids=lambda s: s.name)
def test_every_registry_label_is_an_accepted_header_for_its_fact(spec):
    field = spec.name if spec.entity == "person" else f"household.{spec.name}"
    for label in (spec.zh, *spec.also):
        assert HEADERS[_key(label)] == field


def test_the_income_spelling_the_docs_used_is_accepted():
    assert HEADERS[_key("家庭人均月收入")] == HEADERS[_key("家庭月人均收入")] == \
        "household.per_capita_monthly_income"


def _built_in_rows(section: str) -> list[tuple[str, str]]:
    """``(field, meaning)`` of the hand-written table under ``## section``."""
    body = PROFILES.split(f"## {section}", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| ([^|]+) \|", body, flags=re.M)


@pytest.mark.parametrize("section, prefix, rows", [("Person", "", 8),
                                                   ("Household", "household.", 1)])
def test_the_chinese_names_of_built_in_fields_in_profiles_md_are_accepted_headers(section,
                                                                                  prefix, rows):
    fields = {c.name for c in COLUMNS}
    checked = 0
    for name, meaning in _built_in_rows(section):
        field = prefix + name
        if field not in fields or "(" not in meaning:
            continue
        words = re.split(r"\s*[/,]\s*", meaning.split("(", 1)[1].split(")", 1)[0])
        for word in (w for w in words if not w.isascii()):
            assert HEADERS.get(_key(word)) == field, f"{word} ({field})"
            checked += 1
    assert checked >= rows  # the table was found and read
