"""特困 basic living: a result is graded by the published figure it pays, not as a computation.

Kunming's published figures (昆民发【2024】8号 956, 2025 968) are official, so its results on those
dates are official; the day before, the 2023 figure rests on a secondary report. A region with
no figure of its own pays the provincial guidance as a floor, graded as that notice is. Every
published figure equals ceil(1.3 x the same day's urban dibao standard), the rule the plan
states (the standard's tekun_ratio), so the figures and the formula cannot drift apart
unnoticed.
"""

from decimal import ROUND_CEILING, Decimal

import pytest

from gongfu_rules import evaluate
from gongfu_rules.evaluate import default_standards
from gongfu_rules.regions import regions


def _tekun(region: str, on: str):
    return evaluate({"hukou_region": region, "tekun": True}, on=on).get("tekun_basic_living")


@pytest.mark.parametrize(("region", "on", "amount", "reliability"), [
    ("530102", "2024-06-30", 947, "secondary"),  # 昆民发〔2023〕6号 as reported by 富民县
    ("530102", "2024-07-01", 956, "official"),  # 昆民发【2024】8号
    ("530113", "2025-07-01", 968, "official"),  # 东川区's notice citing 昆民发〔2025〕5号
])
def test_kunming_results_are_graded_as_the_published_figure(region, on, amount, reliability):
    r = _tekun(region, on)
    assert (r.amount, r.reliability, r.value_region) == (Decimal(amount), reliability, "5301")


@pytest.mark.parametrize(("on", "amount", "reliability"), [
    ("2024-07-01", 956, "secondary"),  # 石林县's reprint of the provincial notice
    ("2025-07-01", 968, "official"),  # 滇中新区's notice under 云民发〔2025〕40号
])
def test_elsewhere_the_provincial_floor_is_graded_as_its_notice(on, amount, reliability):
    r = _tekun("532301", on)
    assert (r.amount, r.reliability, r.is_floor) == (Decimal(amount), reliability, True)


def test_every_published_figure_is_the_formula_of_the_plan():
    std = default_standards()
    s = std.standards["tekun_basic_living"]
    published = std.parameter(s, "published_standard")
    ratio = std.parameter(s, "tekun_ratio")
    dibao = std.parameter(s, "dibao_urban_standard")
    checked = 0
    for region, timeline in published.timelines.items():
        for entry in timeline:
            if entry.value is None:
                continue
            chain = regions().chain(region)
            times = ratio.resolve(chain, entry.start).entry.value
            base = dibao.resolve(chain, entry.start).entry.value
            expected = (times * base).quantize(Decimal(1), rounding=ROUND_CEILING)
            assert entry.value == expected, (region, entry.start)
            checked += 1
    assert checked == 11
