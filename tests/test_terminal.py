"""The terminal view of ``gongfu evaluate``: what applies with its sums, what may apply if the
person tells us more (grouped by the missing facts, ranked by amount), a count of the rest."""

import json
import re
from decimal import Decimal

import pytest

from gongfu_rules import evaluate
from gongfu_rules.cli import main
from gongfu_rules.errors import InputError
from gongfu_rules.evaluate import default_standards
from gongfu_rules.terminal import MAY_APPLY_GROUPS, render, select

EXAMPLE = "examples/kunming_family.json"
PROFILE = json.load(open(EXAMPLE, encoding="utf-8"))
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def ev():
    return evaluate(PROFILE, "2025-08-01")


def person_block(text: str, pid: str) -> str:
    return text.split(f"成员 {pid}\n")[1].split("\n\n")[0]


def test_each_person_gets_their_monthly_and_yearly_sums(ev):
    niece = person_block(render(ev), "niece")
    monthly = sum(r.amount for r in ev.entitlements("niece")
                  if r.standard.period == "month" and r.amount is not None)
    yearly = sum(r.annual_amount for r in ev.entitlements("niece") if r.annual_amount is not None)
    assert monthly == Decimal(1374)
    assert f"按月发放合计每月 {monthly.normalize():f} 元，全年合计 {yearly.normalize():f} 元" in niece


def test_what_applies_is_listed_largest_first_with_its_explanation(ev):
    father = person_block(render(ev), "father")
    items = [line for line in father.splitlines() if line.startswith("  • ")]
    assert items[0] == "  • 失业保险金 — 每月1863元（全年22356元）"
    assert len(items) == len(ev.entitlements("father"))
    assert ev.get("unemployment_insurance_benefit", "father").explanation.zh in father


def test_what_may_apply_is_grouped_by_the_facts_to_tell_and_the_rest_counted(ev):
    grandmother = person_block(render(ev), "grandmother")
    asks = [line for line in grandmother.splitlines() if line.startswith("  ? ")]
    assert 0 < len(asks) <= MAY_APPLY_GROUPS
    assert "  ? 是否失业、失业保险缴费月数 → 失业保险金" in asks
    undetermined = [r for r in ev.results("grandmother") if r.status == "undetermined"]
    shown = sum(line.count("、") + 1 - line.split(" → ")[0].count("、") for line in asks)
    rest = int(re.search(r"另有 (\d+) 项待确定", grandmother).group(1))
    assert shown + rest == len(undetermined)


def test_may_apply_groups_are_ranked_by_the_largest_figure_they_could_pay(ev):
    en = render(ev, "en")
    niece = en.split("Person niece\n")[1]
    asks = [line for line in niece.splitlines() if line.startswith("  ? ")]
    # the unemployment benefit (a minimum-wage figure a month) outranks free services
    assert asks.index(next(a for a in asks if "Unemployment insurance benefit" in a)) < \
        asks.index(next(a for a in asks if "Employment services for veterans" in a
                        or "veterans" in a.lower()))


def test_all_lists_every_result(ev):
    text = render(ev, show_all=True)
    for pid in ev.persons:
        for r in ev.results(pid):
            assert r.standard.name.zh in text
    assert text.count("\n  • ") == sum(len(rs) for rs in ev.persons.values()) + len(ev.household)


def test_only_and_domain_filter_the_results(ev):
    std = default_standards()
    one = select(ev, std, ["orphan_basic_living"])
    assert [r.standard_id for r in one.results("niece")] == ["orphan_basic_living"]
    weak = select(ev, std, domain="弱有所扶")
    assert {r.standard.domain for rs in weak.persons.values() for r in rs} == {"弱有所扶"}


def test_an_unknown_standard_or_domain_is_a_clear_error(ev):
    std = default_standards()
    with pytest.raises(InputError) as e:
        select(ev, std, ["no_such_standard"])
    assert e.value.details[0].code == "standard_unknown"
    with pytest.raises(InputError) as e:
        select(ev, std, domain="nowhere")
    assert e.value.details[0].code == "domain_unknown" and "弱有所扶" in e.value.details[0].msg


def test_colour_only_when_asked(ev):
    assert not ANSI.search(render(ev))
    assert ANSI.search(render(ev, color=True))


def test_piped_output_has_no_colour(capsys):
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01"]) == 0  # capsys is not a terminal
    assert not ANSI.search(capsys.readouterr().out)


def test_no_color_turns_colour_off_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01"]) == 0
    assert not ANSI.search(capsys.readouterr().out)


def test_a_terminal_gets_colour(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01"]) == 0
    assert ANSI.search(capsys.readouterr().out)


def test_the_cli_filters_with_only_and_domain(capsys):
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01", "--only",
                 "orphan_basic_living,elderly_allowance", "--all"]) == 0
    out = capsys.readouterr().out
    assert "孤儿基本生活费" in out and "高龄津贴" in out and "失业保险金" not in out
    assert main(["evaluate", EXAMPLE, "--on", "2025-08-01", "--domain", "nowhere"]) == 2


def test_a_period_shows_each_persons_period_total(capsys):
    assert main(["evaluate", EXAMPLE, "--period", "2025", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "yuan over the period" in out
    assert "Orphans' basic living allowance — 16488 yuan over the period" in out


def test_a_deceased_member_reads_why_nothing_applies():
    household = {"members": [{"id": "late", "birth_date": "1930-01-01", "death_date": "2024-01-01",
                              "hukou_region": "530102"}]}
    text = render(evaluate(household, "2025-08-01"), "en", show_all=True)
    assert "Orphans' basic living allowance does not apply: the person is deceased on that date." \
        in text
