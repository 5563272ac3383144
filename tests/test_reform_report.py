"""The reform report: one offline HTML file whose charts a browser draws with the network off,
and the ``gongfu reform compare`` command that writes it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from gongfu_rules.cli import main

ROOT = Path(__file__).resolve().parent.parent
REFORM = ROOT / "examples" / "reform_orphan_2100.yaml"
CHARTS = ("chart-region", "chart-deciles", "chart-distribution")
CSV = """household_id,birth_date,hukou_region,orphan,child_care_arrangement,家庭月人均收入,household.area_type,weight
h1,2015-05-01,532301,是,集中,300,rural,2
h2,2012-05-01,532301,是,散居,500,urban,1
h3,1960-01-01,530102,,,2000,urban,3
h4,2016-02-01,532501,是,集中,,,4
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "pop.csv").write_text(CSV, encoding="utf-8")
    html = tmp / "report.html"
    code = main(["reform", "compare", "--population", str(tmp / "pop.csv"), "--reform",
                 str(REFORM), "--period", "2026", "--report", str(html), "--format", "json"])
    assert code == 0
    return html, html.read_text(encoding="utf-8")


def test_compare_writes_the_report_with_markdown_and_csv_beside_it(report):
    html, _ = report
    assert html.with_suffix(".md").read_text(encoding="utf-8").startswith("# 改革测算报告")
    csv = html.with_suffix(".csv").read_text(encoding="utf-8-sig")
    assert "standard,orphan_basic_living,孤儿基本生活费" in csv
    assert "stamp,reform_digest," in csv


def test_compare_prints_the_figures_as_json_with_the_stamp(tmp_path, capsys):
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    assert main(["reform", "compare", "--population", str(tmp_path / "pop.csv"), "--reform",
                 str(REFORM), "--period", "2026", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    orphan = next(r for r in data["by_standard"] if r["standard"] == "orphan_basic_living")
    # h1 (weight 2) and h4 (weight 4) in institutional care gain 6 x 90 each from July
    assert orphan["change"] == str(6 * 6 * 90) + ".00"
    assert set(data["stamp"]) >= {"package_version", "standards_digest", "reform_digest",
                                  "population_digest"}
    assert data["dibao_line"]["computable"] is True


def test_a_bad_reform_file_is_an_input_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "r.yaml").write_text("name: x\ndescription: y\nauthor: z\n", encoding="utf-8")
    assert main(["reform", "compare", "--population", str(tmp_path / "pop.csv"), "--reform",
                 str(tmp_path / "r.yaml"), "--on", "2026-08-01"]) == 2
    assert "changes" in capsys.readouterr().err


def test_the_report_references_no_network_resource(report):
    _, text = report
    assert not re.search(r"https?://", text)
    assert not re.search(r"<(script|link|img|iframe)\b", text, re.I)
    assert "@import" not in text and "url(" not in text


def test_the_report_keeps_chart_words_as_text_in_both_languages(report, tmp_path):
    _, zh = report
    assert "各州（市）成本变化（元）</text>" in zh and "楚雄彝族自治州 5323</text>" in zh
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    main(["reform", "compare", "--population", str(tmp_path / "pop.csv"), "--reform", str(REFORM),
          "--period", "2026", "--report", str(tmp_path / "en.html"), "--lang", "en"])
    assert "Cost change by prefecture (yuan)</text>" in (tmp_path / "en.html").read_text("utf-8")


# --- in a browser, network off -------------------------------------------------------------------
def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and not os.environ.get("CI"):
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and "
                    "this test then runs")
    if found is None:
        pytest.fail("CI is set but chromium is not installed: .ci/run must install it")
    return found


# Added to a copy of the report only (the report itself has no script): measure each chart as
# the browser laid it out and write the figures into the DOM that --dump-dom prints.
_MEASURE = """<script>
for (const svg of document.querySelectorAll('svg.chart')) {
  const bars = [...svg.querySelectorAll('rect.bar')];
  const drawn = bars.filter(b => b.getBBox().width > 0 && b.getBBox().height > 0).length;
  const box = svg.getBoundingClientRect();
  const p = document.createElement('p');
  p.className = 'measured';
  p.textContent = svg.id + ' ' + bars.length + ' ' + drawn + ' ' + Math.round(box.width) + ' ' +
    svg.querySelectorAll('text').length;
  document.body.appendChild(p);
}
</script>"""


def test_a_browser_with_the_network_off_draws_every_chart(report):
    chromium = _chromium()
    html, text = report
    probe = html.with_name("probe.html")
    probe.write_text(text.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}", "--dump-dom",
             probe.as_uri()], capture_output=True, text=True, timeout=90)
    measured = {m[0]: tuple(map(int, m[1:]))
                for m in re.findall(r'<p class="measured">([\w-]+) (\d+) (\d+) (\d+) (\d+)</p>',
                                    out.stdout)}
    assert set(measured) == set(CHARTS), out.stderr[-2000:]
    for chart, (bars, drawn, width, texts) in measured.items():
        assert bars > 0 and drawn > 0 and width > 300 and texts > bars, chart
    # the prefecture chart has one bar per prefecture of the population (5301, 5323, 5325)
    assert measured["chart-region"][0] == 3


def test_compare_with_a_target_cost_reports_the_value_found(tmp_path, capsys):
    (tmp_path / "pop.csv").write_text("birth_date,hukou_region,orphan,child_care_arrangement\n"
                                      "2015-05-01,532301,是,集中\n", encoding="utf-8")
    assert main(["reform", "compare", "--population", str(tmp_path / "pop.csv"), "--reform",
                 str(REFORM), "--period", "2026", "--format", "json", "--target-cost", "300",
                 "--vary", "child_living_standard[institutional]"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"]["value"] == "2060"  # 6 months x (2060 - 2010) = 300
    assert data["total"]["change"] == "300.00"


def test_the_report_shows_a_floor_warning(tmp_path):
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "r.yaml").write_text("""name: 楚雄市城市低保标准调为700元（测试）
description: a test proposal
author: tests
sources:
  proposal: {document: 测试方案, quote: 测试, reliability: unverified}
changes:
  - parameter: dibao_urban_standard
    values:
      "532301":
        2026-07-01: {value: 700, source: proposal}
""", encoding="utf-8")
    html = tmp_path / "r.html"
    assert main(["reform", "compare", "--population", str(tmp_path / "pop.csv"), "--reform",
                 str(tmp_path / "r.yaml"), "--on", "2026-08-01", "--report", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert re.search(r'<li class="warn">楚雄市 \(532301\) value 700 .* 不低于 floor 744', text)
