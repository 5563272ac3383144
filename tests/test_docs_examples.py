"""The runnable documentation: every example in examples/ and every code block of the
getting-started pages runs here, and what it prints is checked."""

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from decimal import Decimal
from io import StringIO
from pathlib import Path

import polars as pl
import pytest

from gongfu_rules import evaluate
from gongfu_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GETTING_STARTED = sorted((ROOT / "docs" / "getting-started").glob("*.md"))
BIN = str(Path(sys.executable).parent)

# Each example profile, a date it is meant for, and one entitlement it must give:
# (person or None for the household, standard, amount or None for a service without one).
PROFILES = {
    "orphan_kunming.json": ("2024-08-01", "p1", "orphan_basic_living", "1374"),
    "tekun_elder_chuxiong.json": ("2025-08-01", "p1", "tekun_basic_living", "968"),
    "unemployed_worker.json": ("2025-08-01", "p1", "unemployment_insurance_benefit", "1863.0"),
    "rural_only_child_family.json": ("2025-08-01", "father", "family_planning_reward", "1080"),
    "disabled_in_dibao_household.json": ("2025-08-01", "son", "severe_disability_care_subsidy", "80"),
    "aged_92_guandu.json": ("2025-08-01", "p1", "elderly_allowance", "200"),
    "village_pupil.json": ("2025-08-01", "p1", "rural_school_meal_subsidy", "5"),
}


# --- examples/ ---------------------------------------------------------------------------------
def test_every_example_profile_has_a_checked_entitlement():
    assert sorted(p.name for p in (EXAMPLES / "profiles").glob("*.json")) == sorted(PROFILES)


def test_examples_readme_describes_every_profile():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name, (on, *_rest) in PROFILES.items():
        assert f"| `{name}` |" in readme and f"`--on {on}`" in readme


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_example_profile_gives_its_entitlement(name):
    on, person, standard, amount = PROFILES[name]
    profile = json.loads((EXAMPLES / "profiles" / name).read_text(encoding="utf-8"))
    r = evaluate(profile, on=on).get(standard, person)
    assert r.status == "eligible"
    assert r.amount == Decimal(amount)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_example_profile_evaluates_from_the_command_line(name, capsys):
    on, _, standard, _ = PROFILES[name]
    assert main(["evaluate", str(EXAMPLES / "profiles" / name), "--on", on, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    eligible = {e["standard"] for p in doc["persons"] for e in p["entitlements"]}
    assert standard in eligible


def test_the_household_profile_gets_its_dibao_allowance():
    profile = json.loads((EXAMPLES / "profiles" / "disabled_in_dibao_household.json").read_text("utf-8"))
    r = evaluate(profile, on="2025-08-01").get("dibao_household_allowance")
    assert (r.status, r.amount, r.value_region) == ("eligible", Decimal("648.00"), "53")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_roster_script_writes_chinese_headers_and_text_dates(tmp_path):
    out = _run(str(EXAMPLES / "make_county_roster.py"), str(tmp_path / "r.xlsx"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    roster = pl.read_excel(tmp_path / "r.xlsx", infer_schema_length=0)
    assert roster.columns[:4] == ["家庭编号", "人员编号", "与户主关系", "出生日期"]
    assert roster.get_column("出生日期").dtype == pl.String
    assert roster.get_column("出生日期").str.contains(r"^\d{4}-\d{2}-\d{2}$").all()


def test_the_committed_roster_is_what_the_script_writes(tmp_path):
    assert _run(str(EXAMPLES / "make_county_roster.py"), str(tmp_path / "r.xlsx"),
                cwd=tmp_path).returncode == 0
    fresh = pl.read_excel(tmp_path / "r.xlsx", infer_schema_length=0)
    committed = pl.read_excel(EXAMPLES / "county_roster.xlsx", infer_schema_length=0)
    assert fresh.equals(committed)


def test_portal_script_lists_entitlements_and_the_next_questions(tmp_path):
    out = _run(str(EXAMPLES / "portal.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "可享受 孤儿基本生活费: 1374 元/人·月 [mirror]" in out.stdout
    assert re.search(r"^待确定: ask \w+ .* to decide \d+ standards$", out.stdout, re.M)


def test_caseworker_script_batches_the_roster_without_setting_rows_aside(tmp_path):
    out = _run(str(EXAMPLES / "caseworker.py"), str(tmp_path / "out"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "9 rows read, 9 evaluated, 0 set aside" in out.stdout
    assert "tekun_basic_living: 1 eligible, 968.00 元" in out.stdout
    assert re.search(r"^\w+: \d+ eligible, no amount known \(", out.stdout, re.M)  # screening
    assert (tmp_path / "out" / "results.xlsx").exists()


def test_policy_script_shows_the_2025_rise_and_its_source(tmp_path):
    out = _run(str(EXAMPLES / "policy.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "tekun_care_subsidy (特困人员照料护理补贴): 105.00 → 109.00 元 a month" in out.stdout
    assert re.search(r"p\.care_dispersed \[53\] from 2025-07-01: .*partial 109", out.stdout)


# --- the getting-started pages -----------------------------------------------------------------
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def code_blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """``(language, code, expected)`` for each python or bash block; ``expected`` is the text
    block right after it (lines its output must contain), if any."""
    blocks = [(m.group(1), m.group(2)) for m in _FENCE.finditer(page.read_text(encoding="utf-8"))]
    out = []
    for i, (lang, code) in enumerate(blocks):
        if lang in ("python", "bash"):
            nxt = blocks[i + 1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
            out.append((lang, code, nxt[1] if nxt else None))
    return out


def _is_install(code: str) -> bool:
    return all(line.startswith("pip install") for line in code.strip().splitlines())


@pytest.mark.parametrize("page", GETTING_STARTED, ids=lambda p: p.name)
def test_getting_started_page_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    namespace: dict = {}
    blocks = code_blocks(page)
    assert blocks, f"{page.name} has no code to run"
    for lang, code, expected in blocks:
        if lang == "bash" and _is_install(code):
            continue  # installing is the test environment's job
        if lang == "python":
            printed = StringIO()
            with redirect_stdout(printed):
                exec(compile(code, str(page), "exec"), namespace)  # its asserts check the values
            output = printed.getvalue()
        else:
            done = subprocess.run(["bash", "-e", "-c", code], capture_output=True, text=True,
                                  encoding="utf-8", timeout=120)
            assert done.returncode == 0, f"{code}\n{done.stderr}"
            output = done.stdout
        for line in (expected or "").splitlines():
            assert line.strip() in output, f"{page.name}: '{line}' not printed by:\n{code}"

