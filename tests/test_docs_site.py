"""The documentation site: the generated standards catalog, and `mkdocs build --strict` in both
languages with nothing fetched from the internet."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gongfu_rules import load_standards
from gongfu_rules.docs_catalog import catalog_pages, write_catalog

ROOT = Path(__file__).resolve().parents[1]
REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
FONT_URL = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def standards():
    return load_standards()


@pytest.fixture(scope="module")
def pages(standards):
    return catalog_pages(standards)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built by `mkdocs build --strict` (which also regenerates docs/catalog/)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


# --- the catalog -----------------------------------------------------------------------------
def test_catalog_has_a_page_per_standard_in_each_language(standards, pages):
    for s in standards:
        assert f"{s.id}.zh.md" in pages and f"{s.id}.en.md" in pages
    indexes = {f"{name}.{lang}.md" for name in ("index", "by-domain", "by-region", "by-document")
               for lang in ("zh", "en")}
    assert set(pages) == indexes | {f"{s.id}.{lang}.md" for s in standards for lang in ("zh", "en")}


def test_catalog_generation_is_deterministic(standards, pages):
    assert catalog_pages(standards) == pages


def test_standard_page_shows_each_dated_figure_with_its_source(standards, pages):
    page = pages["orphan_basic_living.en.md"]
    values = standards.parameters["child_living_standard"].timelines["5301"]
    for entry in values:
        assert f"| 昆明市 (5301) | {entry.start.isoformat()} |" in page
    assert "| 2074 | 1374 |" in page
    assert "> 集中供养儿童、社会散居儿童每人每月补助标准提高到2074元、1374元" in page


def test_standard_page_has_its_eligibility_in_each_language(pages):
    assert "- under 18 — `age < 18`" in pages["orphan_basic_living.en.md"]
    assert "- 未满18周岁 — `age < 18`" in pages["orphan_basic_living.zh.md"]


def test_standard_page_lists_its_catalog_entries(standards, pages):
    page = pages["orphan_basic_living.zh.md"]
    entries = [k for k, e in standards.catalog.items() if e.standard == "orphan_basic_living"]
    assert entries
    for k in entries:
        assert f"`{k}`" in page


def test_every_test_case_is_a_worked_example_with_the_engines_explanation(standards, pages):
    s = standards["orphan_basic_living"]
    page = pages["orphan_basic_living.zh.md"]
    for n, case in enumerate(s.tests, 1):
        assert f"### {n}. {case.name}" in page
    assert page.count("> 引擎的解释") == len(s.tests)
    assert "符合孤儿基本生活费的条件" in page


def test_domain_index_links_every_standard(standards, pages):
    for lang in ("zh", "en"):
        index = pages[f"by-domain.{lang}.md"]
        for s in standards:
            assert f"]({s.id}.md)" in index


def test_region_index_lists_kunmings_own_figures(pages):
    section = pages["by-region.en.md"].split("## 昆明市 (5301)")[1].split("\n## ")[0]
    assert "[Orphans' basic living allowance](orphan_basic_living.md)" in section
    assert "`p.child_living_standard` (2023-09-30, 2025-07-01)" in section


def test_document_index_says_what_became_of_every_entry(standards, pages):
    page = pages["by-document.en.md"]
    for entry_id, e in standards.catalog.items():
        row = next(line for line in page.splitlines() if f"| `{entry_id}` |" in line)
        assert f"]({e.standard}.md)" in row if e.standard else "not encoded: " in row


def test_write_catalog_removes_stale_pages_and_keeps_unchanged_ones(standards, tmp_path):
    (tmp_path / "withdrawn_standard.zh.md").write_text("old", encoding="utf-8")
    write_catalog(standards, tmp_path)
    assert not (tmp_path / "withdrawn_standard.zh.md").exists()
    page = tmp_path / "orphan_basic_living.en.md"
    before = page.stat().st_mtime_ns
    os.utime(page, ns=(before - 10**9, before - 10**9))
    write_catalog(standards, tmp_path)
    assert page.stat().st_mtime_ns == before - 10**9  # not rewritten: no rebuild loop in serve


def test_catalog_command_writes_the_pages(tmp_path, pages):
    done = subprocess.run([sys.executable, "-m", "gongfu_rules.docs_catalog", str(tmp_path)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.glob("*.md")) == sorted(pages)
    assert f"{len(pages)} catalog pages" in done.stdout


# --- the built site ----------------------------------------------------------------------------
def test_build_writes_the_catalog_the_site_uses(site, pages):
    folder = ROOT / "docs" / "catalog"
    assert {p.name for p in folder.glob("*.md")} == set(pages)
    for name, text in pages.items():
        assert (folder / name).read_text(encoding="utf-8") == text


def test_site_is_built_in_chinese_and_english(site):
    zh = (site / "catalog" / "orphan_basic_living" / "index.html").read_text(encoding="utf-8")
    en = (site / "en" / "catalog" / "orphan_basic_living" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in (site / "en" / "index.html").read_text(encoding="utf-8")
    assert "申请条件" in zh and "Who is eligible" in en


def test_site_loads_nothing_from_the_internet(site):
    offenders = []
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css"):
            text = path.read_text(encoding="utf-8", errors="replace")
            pattern = REMOTE if path.suffix == ".html" else FONT_URL
            offenders += [f"{path.relative_to(site)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_the_offline_check_catches_a_web_font_link():
    # What Material writes without `theme.font: false`.
    html = '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
    assert REMOTE.search(html)
    assert FONT_URL.search("@font-face{src:url(//fonts.gstatic.com/x.woff2)}")
    assert not REMOTE.search('<a href="https://www.yn.gov.cn/">source</a>')


def test_search_index_segments_chinese_words(site):
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["zh", "en"]
    text = " ".join(doc["title"] + doc["text"] for doc in index["docs"])
    # jieba splits 孤儿基本生活费 into words, with the zero-width space Material splits on.
    assert "孤儿\u200b基本\u200b生活费" in text


def test_python_api_page_is_rendered_from_the_docstrings(site):
    for page in (site / "python-api", site / "en" / "python-api"):
        api = (page / "index.html").read_text(encoding="utf-8")
        assert 'id="gongfu_rules.evaluate.evaluate"' in api
        assert 'id="gongfu_rules.StandardResult"' in api
        assert "as of a date" in api  # the first line of evaluate()'s docstring
