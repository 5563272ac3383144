"""Strategies and checks shared by the fuzz suites (tests/test_fuzz_*.py).

The suites run a bounded number of examples by default (well under a minute together on two
shared cores); ``GONGFU_FUZZ_SCALE=20 pytest tests/test_fuzz_*.py`` runs a deeper search.

Profiles mix plausible values (to reach deep into evaluation) with junk (to reach every error
path): huge numbers, NaN, wrong types, nesting, and ID numbers written every way a form or a
spreadsheet writes them — plain, spaced, hyphenated, full-width, prefixed, in a list, as a key.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gongfu_rules import GongfuError
from gongfu_rules.facts import fact_specs
from gongfu_rules.profile import ENUMS, Household, Person, id_number_check_character
from gongfu_rules.regions import regions

#: Examples per fuzz test; GONGFU_FUZZ_SCALE=20 runs twenty times as many (a deeper, slower run).
SCALE = float(os.environ.get("GONGFU_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    """Settings for a fuzz test: ``examples`` (times SCALE) examples, no deadline."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    suppress_health_check=list(HealthCheck))


REGIONS = ["530102", "5301", "53", "532301", "530000", "000000", "110101"]
YUNNAN = sorted(c for c in regions()._regions if c.startswith("53") and len(c) == 6)[:40]
_KINDS = {spec.name: spec.type for spec in fact_specs()}


@st.composite
def id_numbers(draw) -> str:
    """A well-formed ID number: a Yunnan region, a birth date, a sequence and its check digit."""
    region = draw(st.sampled_from(YUNNAN))
    born = draw(st.dates(date(1930, 1, 1), date(2024, 12, 31)))
    first17 = region + born.strftime("%Y%m%d") + draw(st.from_regex(r"\A[0-9]{3}\Z"))
    return first17 + id_number_check_character(first17)


def _full_width(text: str) -> str:
    return text.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})


def written(number: str) -> st.SearchStrategy:
    """The ways a form or a spreadsheet writes an ID number."""
    return st.sampled_from([
        number, number.lower(), f"{number[:6]} {number[6:14]} {number[14:]}",
        "-".join([number[:6], number[6:14], number[14:]]), _full_width(number),
        f"身份证:{number}", f" {number} ", number[:17] + ("0" if number[17] != "0" else "1"),
        number + "0", number[:15], " ".join([number[i:i + 4] for i in range(0, 18, 4)]),
    ])


ids_written = id_numbers().flatmap(written)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
    st.sampled_from([10**13, 10**23, 10**400, -1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["", " ", "是", "否", "1级", "一级", "男", "女", "散居",
                                           "1e999", "NaN", "-0", "0x1f", "1:30", "２０２５-０１-０１"]),
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(str), ids_written)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.text(max_size=5), ids_written),
                                                 inner, max_size=3)), max_leaves=6)


def plausible(field: str) -> st.SearchStrategy:
    """A value the field could really hold."""
    if field in ("birth_date", "death_date"):
        return st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(str)
    if field in ("hukou_region", "residence_region", "region"):
        return st.sampled_from(REGIONS + YUNNAN[:10])
    if field == "id_number":
        return id_numbers()
    if field == "disability_grade":
        return st.sampled_from([1, 2, 3, 4, "一级", "2级"])
    if field == "sex":
        return st.sampled_from(["male", "female", "男", "女"])
    if field == "role":
        return st.sampled_from(["head", "spouse", "child", "parent", "other"])
    if field in ENUMS:
        return st.sampled_from([m.value for m in ENUMS[field]])
    kind = _KINDS.get(field)
    if kind == "count":
        return st.integers(0, 50)
    if kind == "money":
        return st.decimals(0, 100_000, places=2).map(str)
    return st.booleans()


def _facts(fields: list[str]) -> st.SearchStrategy:
    field_values = st.sampled_from(fields).flatmap(
        lambda f: st.tuples(st.just(f), st.one_of(plausible(f), plausible(f), junk)))
    extra = st.tuples(st.one_of(st.text(max_size=6), ids_written), junk)
    return st.lists(st.one_of(field_values, field_values, field_values, extra), max_size=8).map(dict)


PERSON_FIELDS = [f for f in Person.model_fields if f != "id"]
HOUSEHOLD_FIELDS = [f for f in Household.model_fields if f not in ("id", "members")]
persons = _facts(PERSON_FIELDS)
households = st.builds(lambda facts, members: {**facts, "members": members},
                       _facts(HOUSEHOLD_FIELDS), st.lists(persons, min_size=1, max_size=3))
profiles = st.one_of(persons, households, households, junk)
evaluation_times = st.one_of(
    st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: {"on": d.isoformat()}),
    st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: {"on": d}),
    st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1)).map(lambda d: {"on": d}),
    st.sampled_from([{"period": "2025-07"}, {"period": "2024-02"}, {"period": "9999"},
                     {"period": "0000"}, {"on": "2025-02-30"}, {"on": "0001-01-01"}, {}]),
    junk.map(lambda v: {"on": v}))


# --- checks --------------------------------------------------------------------------------
_SEPARATED_DIGITS = re.compile(r"\d(?:[\s\-_\u2010-\u2015\u2212\uFF0D]?\d)*")


def looks_like_id(text: str) -> bool:
    """Whether ``text`` holds 15 or more digits in a run (spaces and hyphens between them
    allowed, full-width digits counted)."""
    text = unicodedata.normalize("NFKC", text)
    return any(sum(c.isdigit() for c in m.group(0)) >= 15 for m in _SEPARATED_DIGITS.finditer(text))


def assert_clean_error(error: GongfuError) -> None:
    """A real error: every detail has a code that is not a bug, and nothing ID-like."""
    assert error.details, "an error without details"
    for d in error.details:
        assert d.code and d.code != "internal_error", (d, error.__cause__)
    text = str(error) + repr(error.to_dicts())
    assert not looks_like_id(text), text


def assert_sound_amounts(evaluation) -> None:
    """No amount, annual amount or total is negative or not a number."""
    for results in [*evaluation.persons.values(), evaluation.household]:
        for r in results:
            detail = getattr(r, "detail", r)
            for value in (getattr(r, "total", None), detail.amount, detail.annual_amount):
                if value is not None:
                    assert isinstance(value, Decimal) and value.is_finite() and value >= 0, r
