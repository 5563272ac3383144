"""The GB/T 2260 (2023) region table: normalisation, ancestry, coverage."""

from __future__ import annotations

import pytest

from gongfu_rules.regions import NATIONAL, regions


def county_codes(prefix: str) -> list[str]:
    """County-level codes under ``prefix`` (test-side count over the loaded table)."""
    return [c for c in regions()._regions if c.startswith(prefix) and len(c) == 6]


@pytest.mark.parametrize("code, canonical", [
    ("530000", "53"), ("530100", "5301"), ("530102", "530102"), ("000000", "000000"),
    ("53", "53"), ("5301", "5301"), (" 530102 ", "530102")])
def test_normalize_gives_the_canonical_code(code, canonical):
    assert regions().normalize(code) == canonical


@pytest.mark.parametrize("code", ["539999", "999999", "5399", "99", "5301021", "abc", ""])
def test_unknown_codes_normalize_to_none(code):
    assert regions().normalize(code) is None


def test_chain_runs_from_county_to_national():
    assert regions().chain("530102") == ("530102", "5301", "53", NATIONAL)


def test_chain_of_national_is_national_only():
    assert regions().chain(NATIONAL) == (NATIONAL,)


def test_yunnan_has_129_county_level_regions():
    assert len(county_codes("53")) == 129


def test_kunming_is_named():
    assert regions().name("5301") == "昆明市"
    assert regions().name("530100") == "昆明市"


def test_padded_code_finds_the_same_region():
    assert regions().get("530000") == regions().get("53")
    assert regions().get("53").level == "province"


def test_membership_accepts_padded_codes():
    assert "530100" in regions() and "539999" not in regions()
