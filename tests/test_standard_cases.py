"""Every YAML test case written beside a bundled standard passes."""

import pytest

from gongfu_rules.cases import all_cases, run_case
from gongfu_rules.evaluate import default_standards

STANDARDS = default_standards()
CASES = all_cases(STANDARDS)


@pytest.mark.parametrize(("standard", "case"), CASES,
                         ids=[f"{s.id}: {c.name}" for s, c in CASES])
def test_standard_case(standard, case):
    outcome = run_case(STANDARDS, standard, case)
    assert outcome.ok, "\n".join(outcome.problems)


def test_every_standard_has_test_cases():
    without = [s.id for s in STANDARDS if not s.tests]
    assert not without, f"standards without YAML test cases: {without}"
