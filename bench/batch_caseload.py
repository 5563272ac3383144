"""Benchmark: whole caseload files, ``gongfu batch`` against the fair OpenFisca peer.

Run (see bench/README.md):

    python bench/batch_caseload.py                                   # 1M persons, 3 reps, 10M RSS
    python bench/batch_caseload.py --persons 100000 --reps 2 --sizes 100000

It prints figures only (no asserts). On one synthetic Yunnan caseload (fixed seed, real county
codes) written once as Parquet, each run is a fresh process timed whole (start-up, reading,
evaluating, writing), with its peak RSS, and the engines take turns, A B C A B C …, for
``--reps`` repetitions:

* gongfu, ``gongfu batch --only`` the standards the OpenFisca model mirrors (with
  ``--detail full`` when the installed CLI has it: the provenance columns on);
* gongfu, ``gongfu batch`` with every standard;
* OpenFisca (``openfisca_model.py``): Parquet → arrays → one simulation → amounts → Parquet;
* start-up: both engines on a 10-row file;
* with ``--against SRC`` (a source tree of gongfu, e.g. a ``git worktree`` of an earlier
  commit), that tree's ``gongfu batch`` on the same two paths, in the same turns: the machine's
  speed drifts between runs, so two versions are compared within one run.

Then gongfu's peak RSS at every ``--sizes`` size, the two engines' amounts compared person ×
standard, and a Markdown table ready to paste.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("gongfu_rules") is None:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

KUNMING, CHUXIONG, DIQING = "5301", "5323", "5334"
ON = "2025-08-01"
SMALL = 10  # rows of the start-up file


# --- the synthetic caseload -------------------------------------------------------------------

def yunnan_counties() -> list[str]:
    """Yunnan county codes (53xxxx) from the package's GB/T 2260 table, sorted (so the counties
    of a prefecture are contiguous)."""
    path = REPO / "src" / "gongfu_rules" / "data" / "divisions" / "areas.csv"
    with path.open(encoding="utf-8") as f:
        return sorted(row["code"] for row in csv.DictReader(f) if row["code"].startswith("53"))


class Counties:
    """County codes as integer indices, with each county's prefecture block, so that "another
    county of the same prefecture" can be drawn for a whole array at once."""

    def __init__(self) -> None:
        self.codes = yunnan_counties()
        prefix = np.array([c[:4] for c in self.codes])
        _, first, counts = np.unique(prefix, return_index=True, return_counts=True)
        block = np.searchsorted(first, np.arange(len(prefix)), side="right") - 1
        self.block_start = first[block]
        self.block_len = counts[block]
        self.prefix = prefix

    def home(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Where households live: 25 % Kunming, 15 % Chuxiong, 5 % Diqing (the prefectures
        with their own rates), the rest spread over the other counties."""
        groups = [np.flatnonzero(self.prefix == p) for p in (KUNMING, CHUXIONG, DIQING)]
        others = np.flatnonzero(~np.isin(self.prefix, [KUNMING, CHUXIONG, DIQING]))
        groups.append(others)
        which = rng.choice(4, size=n, p=[0.25, 0.15, 0.05, 0.55])
        out = np.empty(n, dtype=np.int64)
        for g, members in enumerate(groups):
            mask = which == g
            out[mask] = members[rng.integers(0, len(members), mask.sum())]
        return out

    def hukou(self, rng: np.random.Generator, home: np.ndarray) -> np.ndarray:
        """Hukou: 85 % the home county, 10 % another county of its prefecture, 5 % anywhere."""
        r = rng.random(len(home))
        same_pref = self.block_start[home] + (rng.random(len(home)) * self.block_len[home]).astype(np.int64)
        anywhere = rng.integers(0, len(self.codes), len(home))
        return np.where(r < 0.85, home, np.where(r < 0.95, same_pref, anywhere))


def household_sizes(rng: np.random.Generator, persons: int) -> np.ndarray:
    """Household sizes 1-6 (weights roughly as the census: many 2- and 3-person households),
    the last one cut so that they add up to exactly ``persons``."""
    weights = np.array([18, 27, 24, 17, 9, 5]) / 100
    sizes = rng.choice(np.arange(1, 7), size=persons // 2 + 16, p=weights)
    total = np.cumsum(sizes)
    last = int(np.searchsorted(total, persons))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= total[last] - persons
    return sizes


def _blank(rng: np.random.Generator, n: int, p: float = 0.05) -> np.ndarray:
    """Where a fact is left unknown (about ``p``), as real caseloads have gaps."""
    return rng.random(n) < p


def _labels(labels: list[str], codes: np.ndarray, unknown: np.ndarray | None = None) -> pl.Series:
    """Text column from integer codes; null where ``unknown`` (or where a code is -1)."""
    codes = codes.astype(np.int64)
    if unknown is not None:
        codes = np.where(unknown, -1, codes)
    series = pl.Series(labels).gather(pl.Series(np.where(codes < 0, 0, codes)))
    return pl.select(pl.when(pl.Series(codes) >= 0).then(series)).to_series()


def _nullable(values: np.ndarray, unknown: np.ndarray) -> pl.Series:
    return pl.select(pl.when(~pl.Series(unknown)).then(pl.Series(values))).to_series()


def _birth_dates(rng: np.random.Generator, age: np.ndarray, on: date) -> np.ndarray:
    """A birth date giving exactly ``age`` completed years (周岁) on ``on``: on the ``age``-th
    birthday before ``on`` or up to 364 days earlier."""
    years = (on.year - age - 1970).astype("datetime64[Y]")
    birthday = years.astype("datetime64[M]") + np.timedelta64(on.month - 1, "M")
    birthday = birthday.astype("datetime64[D]") + np.timedelta64(on.day - 1, "D")
    return birthday - rng.integers(0, 365, len(age)).astype("timedelta64[D]")


def _id_numbers(hukou: pl.Series, born: np.ndarray, male: np.ndarray,
                rng: np.random.Generator) -> pl.Series:
    """Valid 18-character ID numbers: region, birth date, sequence (odd for men), check digit."""
    seq = rng.integers(0, 50, len(male)) * 2 + male
    frame = pl.DataFrame({"region": hukou, "born": pl.Series(born).dt.strftime("%Y%m%d"),
                          "seq": pl.Series(rng.integers(0, 10, len(male)) * 100 + seq)})
    first17 = pl.concat_str("region", "born", pl.col("seq").cast(pl.String).str.zfill(3))
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = pl.sum_horizontal([first17.str.slice(i, 1).cast(pl.Int64) * w
                               for i, w in enumerate(weights)])
    check = pl.lit("10X98765432").str.slice((total % 11).cast(pl.Int64), 1)
    return frame.select(pl.concat_str(first17, check)).to_series()


def _student_stage(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Stage of schooling by age (index into STAGES, -1 none)."""
    r = rng.random(len(age))
    return np.select(
        [(age >= 3) & (age <= 5) & (r < 0.8), (age >= 6) & (age <= 11), (age >= 12) & (age <= 14),
         (age >= 15) & (age <= 17) & (r < 0.55), (age >= 15) & (age <= 17) & (r < 0.9),
         (age >= 18) & (age <= 22) & (r < 0.45)],
        [0, 1, 2, 3, 4, 5], -1)


STAGES = ["preschool", "primary", "junior_secondary", "senior_secondary", "secondary_vocational",
          "higher"]


def generate(persons: int, seed: int, on: date) -> pl.DataFrame:
    """``persons`` rows (one per person) in households, members listed together."""
    rng = np.random.default_rng(seed)
    counties = Counties()
    sizes = household_sizes(rng, persons)
    n_hh = len(sizes)

    # households
    home = counties.home(rng, n_hh)
    kunming = counties.prefix[home] == KUNMING
    urban = rng.random(n_hh) < np.where(kunming, 0.65, 0.35)
    agricultural = rng.random(n_hh) < np.where(kunming, 0.35, 0.70)
    dibao = rng.random(n_hh) < 0.07
    dibao_edge = ~dibao & (rng.random(n_hh) < 0.04)
    income = np.where(dibao, rng.uniform(150, 700, n_hh), rng.lognormal(7.4, 0.6, n_hh)).round(2)
    lone_elder = (sizes == 1) & (rng.random(n_hh) < 0.4)
    head_age = np.where(lone_elder, rng.integers(60, 101, n_hh), rng.integers(20, 86, n_hh))
    has_spouse = (sizes >= 2) & (rng.random(n_hh) < 0.75)

    # persons: each person's household and position in it
    hh = np.repeat(np.arange(n_hh), sizes)
    pos = np.arange(persons) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    head = head_age[hh]
    r = rng.random(persons)
    role = np.select(  # 0 head, 1 spouse, 2 child, 3 parent, 4 other (a grandchild)
        [pos == 0, (pos == 1) & has_spouse[hh],
         (head >= 40) & (head <= 75) & (r < 0.15), (head >= 50) & (r < 0.30)],
        [0, 1, 3, 4], 2)
    child_span = np.clip(head - 18, 1, 35)
    age = np.select(
        [role == 0, role == 1, role == 3, role == 4],
        [head, np.clip(head + rng.integers(-5, 6, persons), 18, 100),
         np.minimum(100, head + rng.integers(20, 36, persons)), rng.integers(0, 18, persons)],
        (rng.random(persons) * child_span).astype(np.int64))
    born = _birth_dates(rng, age, on)
    male = (rng.random(persons) < 0.5).astype(np.int64)
    hukou_idx = counties.hukou(rng, home[hh])
    codes = counties.codes
    hukou = _labels(codes, hukou_idx, _blank(rng, persons, 0.01))
    n = persons

    child = age < 18
    asked_child = child & ~_blank(rng, n, 0.03)
    orphan = asked_child & (rng.random(n) < 0.005)
    de_facto = asked_child & ~orphan & (rng.random(n) < 0.006)
    care = np.where((orphan | de_facto) & (rng.random(n) < 0.9),
                    (rng.random(n) < 0.7).astype(np.int64), -1)  # 0 institutional, 1 scattered

    disabled = rng.random(n) < 0.063  # about 6 % of the population (the 2006 survey)
    grade = rng.choice([1, 2, 3, 4], size=n, p=[0.15, 0.25, 0.30, 0.30])
    certificate = disabled & (rng.random(n) < 0.85)
    category = rng.integers(0, 7, n)

    adult = age >= 16
    dibao_p = dibao[hh]
    tekun = adult & ((age >= 60) | disabled) & (rng.random(n) < np.where(dibao_p, 0.06, 0.015))
    working_age = (age >= 16) & (age < 60)
    unemployed = working_age & (rng.random(n) < 0.05)
    insured = np.where(unemployed & (rng.random(n) < 0.9), rng.integers(0, 181, n), -1)
    only_parent = (age >= 40) & (rng.random(n) < 0.15)
    only_sex = np.where(only_parent & (rng.random(n) < 0.9), (rng.random(n) < 0.45), -1)
    only_status = np.where(only_parent, rng.choice(3, size=n, p=[0.94, 0.03, 0.03]), -1)
    stage = _student_stage(rng, age)
    rural_home = ~urban[hh]
    location = np.where(stage < 0, -1, np.where(
        rural_home, np.where(rng.random(n) < 0.6, 0, 1),
        np.where(kunming[hh] | (rng.random(n) < 0.5), 2, 1)))  # 0 village, 1 county seat, 2 city
    compulsory = (stage == 1) | (stage == 2)
    pilot = compulsory & rural_home & ~kunming[hh] & (rng.random(n) < 0.85)

    hh_ids = pl.select(pl.concat_str(pl.lit("h"), pl.Series(np.arange(1, n_hh + 1))
                                     .cast(pl.String).str.zfill(8))).to_series()
    with_id = rng.random(n) < 0.4  # 40 % of the rows also carry an ID number
    id_number = _id_numbers(_labels(codes, hukou_idx), born, male, rng)
    frame = pl.DataFrame({
        "household_id": hh_ids.gather(pl.Series(hh)),
        "person_id": pl.Series(pos + 1).cast(pl.String),
        "role": _labels(["head", "spouse", "child", "parent", "other"], role),
        "id_number": pl.select(pl.when(pl.Series(with_id)).then(id_number)).to_series(),
        "birth_date": pl.Series(born),
        "sex": _labels(["female", "male"], male),
        "hukou_region": hukou,
        "residence_region": _labels(codes, home[hh], _blank(rng, n, 0.03)),
        "hukou_type": _labels(["non_agricultural", "agricultural"], agricultural[hh],
                              _blank(rng, n, 0.03)),
        "residence_area": _labels(["rural", "urban"], urban[hh], _blank(rng, n, 0.03)),
        "orphan": _nullable(orphan, ~asked_child),
        "de_facto_unsupported_child": _nullable(de_facto, ~asked_child),
        "child_care_arrangement": _labels(["institutional", "scattered"], care),
        "disability_certificate": _nullable(certificate, _blank(rng, n)),
        "disability_grade": _nullable(grade, ~disabled),
        "disability_category": _labels(["visual", "hearing", "speech", "physical", "intellectual",
                                        "mental", "multiple"], category, ~disabled),
        "tekun": _nullable(tekun, ~adult | _blank(rng, n)),
        "tekun_support_mode": _labels(["centralized", "dispersed"],
                                      (rng.random(n) < 0.75).astype(np.int64), ~tekun),
        "self_care": _labels(["unable", "partial", "able"], rng.integers(0, 3, n), ~tekun),
        "unemployed": _nullable(unemployed, ~working_age | _blank(rng, n)),
        "unemployment_insured_months": _nullable(insured, insured < 0),
        "student_stage": _labels(STAGES, stage),
        "school_location": _labels(["village_township", "county_seat", "city"], location),
        "nutrition_pilot_area": _nullable(pilot, ~compulsory | _blank(rng, n)),
        "only_child_parent": _nullable(only_parent, (age < 40) | _blank(rng, n)),
        "only_child_sex": _labels(["female", "male"], only_sex),
        "only_child_status": _labels(["living", "disabled", "deceased"], only_status),
        "household.region": _labels(codes, home[hh]),
        "household.dibao": _nullable(dibao_p, _blank(rng, n)),
        "household.dibao_edge": _nullable(dibao_edge[hh], _blank(rng, n)),
        "household.per_capita_monthly_income": _nullable(income[hh], _blank(rng, n, 0.10)),
    })
    # household facts must be the same on every member's row: blank them per household
    return _only_child_consistent(_household_consistent(frame))


def _only_child_consistent(frame: pl.DataFrame) -> pl.DataFrame:
    """A head's or spouse's only child, where the household lists one ``child`` member, is that
    member, as in a real roster: their sex is the stated only child's sex (gongfu reads the
    member; the OpenFisca model reads the stated answer, so the two must agree)."""
    child = pl.col("role") == "child"
    one_child = child.sum().over("household_id") == 1
    child_sex = pl.col("sex").filter(child).first().over("household_id")
    owner = pl.col("role").is_in(["head", "spouse"]) & pl.col("only_child_parent").fill_null(False)
    return frame.with_columns(pl.when(owner & one_child & child_sex.is_not_null())
                              .then(child_sex).otherwise(pl.col("only_child_sex"))
                              .alias("only_child_sex"))


def _household_consistent(frame: pl.DataFrame) -> pl.DataFrame:
    """A household fact left blank on one member's row and given on another's would be a
    conflict: take the head's (first member's) value for all members."""
    cols = [c for c in frame.columns if c.startswith("household.")]
    return frame.with_columns(pl.col(c).first().over("household_id") for c in cols)

def caseload(persons: int, seed: int, on: date, workdir: Path) -> Path:
    """The caseload's Parquet file, generated once per (size, seed, date) and then reused."""
    path = workdir / f"caseload_{persons}_{seed}_{on.isoformat()}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        frame = generate(persons, seed, on)
        partial = path.with_suffix(".partial")
        frame.write_parquet(partial)
        partial.rename(path)
        print(f"caseload of {persons:,} persons generated and written in "
              f"{time.perf_counter() - t0:.0f} s ({path.stat().st_size / 2**20:,.0f} MB)")
        if persons <= 2_000_000:
            describe(frame)
    return path


def small_file(src: Path, workdir: Path) -> Path:
    """The first households of ``src`` up to ``SMALL`` rows, for the start-up runs."""
    path = workdir / f"small_{src.stem}.parquet"
    head = pl.read_parquet(src, n_rows=SMALL * 2)
    first = head.get_column("household_id")
    cut = SMALL
    while cut < head.height and first[cut] == first[cut - 1]:
        cut += 1
    head.head(cut).write_parquet(path)
    return path


# --- running a child and measuring it ---------------------------------------------------------

TIME = Path("/usr/bin/time").exists()


def measured_run(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` in a fresh process: wall seconds, its peak RSS (MB), exit code, output.

    Peak RSS comes from ``/usr/bin/time -v`` when present; otherwise from a small Python
    launcher's ``getrusage(RUSAGE_CHILDREN)`` — a fresh launcher each time, because
    RUSAGE_CHILDREN of a long-lived parent is the maximum over all its children so far."""
    stats = Path(os.environ.get("TMPDIR", "/tmp")) / f"gongfu-bench-rss-{os.getpid()}.txt"
    if TIME:
        wrapped = ["/usr/bin/time", "-v", "-o", str(stats), *cmd]
    else:
        launcher = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
                    "open(sys.argv[1], 'w').write('Maximum resident set size (kbytes): %d\\n' "
                    "% resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")
        wrapped = [sys.executable, "-c", launcher, str(stats), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(wrapped, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    text = stats.read_text() if stats.exists() else ""
    stats.unlink(missing_ok=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"seconds": wall, "rss_mb": int(m.group(1)) / 1024 if m else None,
            "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def gongfu_exe() -> list[str]:
    exe = Path(sys.executable).with_name("gongfu")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gongfu_rules.cli"]


def batch_flags() -> set[str]:
    """The options the installed ``gongfu batch`` accepts (read from its --help)."""
    text = subprocess.run([*gongfu_exe(), "batch", "--help"], capture_output=True,
                          text=True).stdout
    return set(re.findall(r"--[a-z][a-z-]*", text))


def mirrored_standards() -> list[str]:
    """The standards the OpenFisca model has formulas for (without importing openfisca)."""
    text = (HERE / "openfisca_model.py").read_text(encoding="utf-8")
    body = text[text.index("MIRRORS: dict[str, Mirror] = {"):]
    return re.findall(r'^    "([a-z_0-9]+)": Mirror\(', body, flags=re.M)


class Run:
    """One engine's repeated measurement."""

    def __init__(self, engine: str, path: str, standards: str, persons: int, cmd: list[str],
                 gongfu: bool = True, env: dict[str, str] | None = None) -> None:
        self.engine, self.path, self.standards, self.persons = engine, path, standards, persons
        self.cmd, self.gongfu, self.env = cmd, gongfu, env
        self.seconds: list[float] = []
        self.rss: list[float] = []
        self.failures: list[str] = []

    def once(self) -> None:
        result = measured_run(self.cmd, self.env)
        ok = result["rc"] in ((0, 3) if self.gongfu else (0,))  # gongfu: 3 = rows set aside
        if ok:
            self.seconds.append(result["seconds"])
            if result["rss_mb"] is not None:
                self.rss.append(result["rss_mb"])
        else:
            tail = (result["stderr"] or result["stdout"]).strip().splitlines()[-15:]
            self.failures.append(f"exit {result['rc']}: " + "\n    ".join(tail))
        print(f"  {self.engine}, {self.path}: "
              + (f"{result['seconds']:.2f} s, peak RSS {result['rss_mb'] or 0:,.0f} MB" if ok
                 else f"FAILED (exit {result['rc']})"), flush=True)


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "—"
    mid = format(statistics.median(values), fmt)
    if len(values) == 1:
        return mid
    return f"{mid} ({format(min(values), fmt)}–{format(max(values), fmt)})"


# --- OpenFisca: Parquet → arrays → one simulation → Parquet -------------------------------------

OPENFISCA_COLUMNS = ["household_id", "role", "birth_date", "hukou_region", "residence_region",
                     "hukou_type", "orphan", "de_facto_unsupported_child",
                     "child_care_arrangement", "disability_grade", "disability_certificate",
                     "tekun", "student_stage", "school_location", "nutrition_pilot_area",
                     "unemployed", "unemployment_insured_months", "only_child_parent",
                     "only_child_sex", "household.region", "household.dibao"]


def openfisca_worker(src: Path, out: Path, spec: Path) -> None:
    """The OpenFisca process: build the model from its parameter file, read the columns the
    formulas need, turn them into integer and boolean arrays, build ONE simulation, calculate
    every mirrored standard, write ``row`` + one amount column per standard to Parquet (and
    the inner timings as JSON beside it). It does not import gongfu_rules."""
    import openfisca_model as ofm

    t0 = time.perf_counter()
    model = ofm.model_from_spec(json.loads(spec.read_text(encoding="utf-8")))
    t1 = time.perf_counter()
    frame = pl.read_parquet(src, columns=OPENFISCA_COLUMNS)
    household, role, persons, households = openfisca_arrays(frame, ofm)
    t2 = time.perf_counter()
    simulation = ofm.simulation_from_arrays(model, household, role, persons, households)
    t3 = time.perf_counter()
    amounts = ofm.calculate_all(model, simulation)
    t4 = time.perf_counter()
    pl.DataFrame({"row": np.arange(1, frame.height + 1), **amounts}).write_parquet(out)
    t5 = time.perf_counter()
    out.with_suffix(".json").write_text(json.dumps({
        "model_s": t1 - t0, "read_s": t2 - t1, "build_s": t3 - t2, "calc_s": t4 - t3,
        "write_s": t5 - t4, "persons": frame.height, "households": len(households["dibao"]),
        "covered": model.covered}))


def openfisca_arrays(frame: pl.DataFrame, ofm):
    """The caseload's columns as ``simulation_from_arrays`` takes them: household index (the
    file lists each household's members together), role index, county codes (a blank region
    is the household's), choice codes (blank: ``unknown``), booleans (blank: False), counts
    (blank: 0). Done with Polars expressions, as a modeller reading Parquet would."""
    county = {code: i + 1 for i, code in enumerate(ofm.COUNTIES)}
    home = pl.col("household.region")

    def region(name: str) -> pl.Expr:
        return pl.coalesce(name, home).replace_strict(county, default=0, return_dtype=pl.Int16)

    def choice(name: str) -> pl.Expr:
        codes = {m.name: m.index for m in ofm.ENUMS[name]}
        return pl.col(name).replace_strict(codes, default=0, return_dtype=pl.Int16)

    new_household = pl.col("household_id") != pl.col("household_id").shift(1)
    roles = {name: i for i, name in enumerate(ofm.ROLES)}
    cols = frame.select(
        (new_household.fill_null(True).cum_sum() - 1).alias("household"),
        pl.col("role").replace_strict(roles, default=roles["other"], return_dtype=pl.Int16),
        pl.col("household.dibao").fill_null(False),
        pl.col("birth_date"),
        region("hukou_region"), region("residence_region"),
        *(choice(name) for name in ofm.ENUMS if name not in ("hukou_region", "residence_region")),
        # a fact the caseload does not have (hiv_infected_child): False, OpenFisca's default
        *(pl.col(name).fill_null(False) if name in frame.columns else pl.lit(False).alias(name)
          for name, t, _e in ofm.PERSON_INPUTS if t is bool),
        *(pl.col(name).fill_null(0) for name, t, _e in ofm.PERSON_INPUTS if t is int),
    )
    household = cols.get_column("household").to_numpy()
    first = np.flatnonzero(np.diff(household, prepend=-1))
    persons = {name: cols.get_column(name).to_numpy() for name, _t, _e in ofm.PERSON_INPUTS}
    dibao = cols.get_column("household.dibao").to_numpy()[first]
    return household, cols.get_column("role").to_numpy(), persons, {"dibao": dibao}


def write_spec(path: Path, on: date) -> None:
    """The values the OpenFisca model reads, taken from gongfu's bundled standards once (not
    timed), so that the OpenFisca process loads its parameters and nothing of gongfu."""
    sys.path.insert(0, str(HERE))
    import openfisca_model as ofm
    from gongfu_rules import load_standards

    spec = ofm.export_spec(load_standards(str(REPO / "standards")), on)
    path.write_text(json.dumps(spec), encoding="utf-8")
    for sid, why in spec["skipped"].items():
        if not why.startswith("no OpenFisca"):
            print(f"  not mirrored: {sid} ({why})")


# --- agreement ------------------------------------------------------------------------------------

def compare(gongfu_out: Path, openfisca_out: Path, covered: list[str]) -> dict:
    """Per person × mirrored standard: gongfu's amount (0 when not eligible; an eligible
    service without an amount counts as its quantity) against OpenFisca's, to the fen.
    gongfu's undetermined results are not compared: OpenFisca has no unknowns."""
    schema = pl.read_parquet_schema(gongfu_out)
    theirs = pl.scan_parquet(openfisca_out)
    report = {"compared": 0, "disagree": 0, "undetermined": 0, "per_standard": {},
              "examples": [], "missing": []}
    for sid in covered:
        status, amount, quantity = (f"{sid}.{f}" for f in ("status", "amount", "quantity"))
        if status not in schema or amount not in schema:
            report["missing"].append(sid)
            continue
        value = pl.col(amount).cast(pl.Float64)
        if quantity in schema:
            value = pl.coalesce(value, pl.col(quantity).cast(pl.Float64))
        mine = pl.when(pl.col(status) != "eligible").then(0.0).otherwise(value)
        other = pl.col(sid).cast(pl.Float64).fill_nan(None)
        same = (mine.is_null() & other.is_null()) | ((mine - other).abs() < 0.005)
        joined = (pl.scan_parquet(gongfu_out).select("row", status, amount,
                                                     *([quantity] if quantity in schema else []))
                  .join(theirs.select("row", sid), on="row"))
        checked = joined.filter(pl.col(status) != "undetermined").select(
            "row", mine.alias("gongfu"), pl.col(sid).alias("openfisca"),
            same.fill_null(False).alias("same"), (pl.col(status) == "eligible").alias("eligible"))
        stats = checked.select(pl.len().alias("n"), (~pl.col("same")).sum().alias("bad"),
                               pl.col("eligible").sum().alias("eligible")).collect().row(0)
        undetermined = joined.filter(pl.col(status) == "undetermined").select(pl.len()) \
            .collect().item()
        report["per_standard"][sid] = (stats[0], stats[1], stats[2], undetermined)
        report["compared"] += stats[0]
        report["disagree"] += stats[1]
        report["undetermined"] += undetermined
        for row in checked.filter(~pl.col("same")).head(3).collect().iter_rows(named=True):
            report["examples"].append((row["row"], sid, row["gongfu"], row["openfisca"]))
    return report


# --- the report -------------------------------------------------------------------------------

def versions() -> str:
    out = []
    for name in ("gongfu-rules", "polars", "pyarrow", "numpy", "openfisca-core"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def describe(frame: pl.DataFrame) -> None:
    """The caseload's make-up, so the shares can be judged."""
    n = frame.height
    hh = frame.get_column("household_id").n_unique()
    share = frame.select(
        (pl.col("orphan").sum() / n).alias("orphans"),
        (pl.col("disability_grade").is_not_null().sum() / n).alias("disabled"),
        (pl.col("tekun").sum() / n).alias("特困"),
        (pl.col("unemployed").sum() / n).alias("unemployed"),
        (pl.col("student_stage").is_not_null().sum() / n).alias("students"),
        (pl.col("household.dibao").sum() / n).alias("in 低保 households"),
        (pl.col("id_number").is_not_null().sum() / n).alias("with an ID number"),
    ).row(0, named=True)
    print(f"  {n:,} persons in {hh:,} households (mean {n / hh:.2f}); "
          + ", ".join(f"{k} {v:.1%}" for k, v in share.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000,
                    help="persons in the caseload of the timed runs (default 1,000,000)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each engine (default 3)")
    ap.add_argument("--sizes", default="1000000,10000000",
                    help="comma-separated sizes for gongfu's peak-RSS runs (all standards); "
                         "empty for none")
    ap.add_argument("--skip-openfisca", action="store_true")
    ap.add_argument("--detail", default="full",
                    help="--detail passed to the shared-standards gongfu run when the CLI has "
                         "the option (default full: provenance on); 'none' not to pass it")
    ap.add_argument("--chunk-rows", type=int, default=0,
                    help="passed to gongfu batch (default 0: gongfu's own default)")
    ap.add_argument("--against", type=Path, default=None, metavar="SRC",
                    help="a source tree of gongfu (e.g. a git worktree of an earlier commit) whose "
                         "gongfu batch runs too, interleaved: its src/ on PYTHONPATH")
    ap.add_argument("--workdir", default="/tmp/gongfu-bench")
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--on", default=ON, help=f"evaluation date (default {ON})")
    ap.add_argument("--openfisca-worker", nargs=3, metavar=("PARQUET", "OUT", "SPEC"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    on = date.fromisoformat(args.on)

    if args.openfisca_worker:  # the child process of the OpenFisca runs
        sys.path.insert(0, str(HERE))
        openfisca_worker(*map(Path, args.openfisca_worker))
        return

    started = time.perf_counter()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"batch benchmark — {args.persons:,} persons, seed {args.seed}, on {on}, "
          f"{args.reps} reps, workdir {workdir}")
    print(f"machine: {os.cpu_count()} cores, python {platform.python_version()}; {versions()}")
    src = caseload(args.persons, args.seed, on, workdir)
    small = small_file(src, workdir)
    flags = batch_flags()
    shared = mirrored_standards()
    have_openfisca = not args.skip_openfisca
    if have_openfisca:
        try:
            import openfisca_core  # noqa: F401
        except ImportError as error:
            print(f"OpenFisca: not installed ({error}); pip install -e '.[bench]'")
            have_openfisca = False
    spec = workdir / "openfisca_parameters.json"
    if have_openfisca:  # the OpenFisca model's parameter file, as a country package has one
        write_spec(spec, on)

    def fresh(out: str) -> Path:
        """An output path with no file left from an earlier run (which could be compared)."""
        path = workdir / out
        for old in (path, path.with_suffix(".json")):
            old.unlink(missing_ok=True)
        return path

    def gongfu(src_: Path, out: str, only: list[str] | None, detail: bool,
               exe: list[str] | None = None) -> list[str]:
        cmd = [*(exe or gongfu_exe()), "batch", str(src_), "-o", str(fresh(out)), "--on", args.on,
               "--no-progress"]
        if args.chunk_rows:
            cmd += ["--chunk-rows", str(args.chunk_rows)]
        if only:
            cmd += ["--only", ",".join(only)]
        if detail and "--detail" in flags and args.detail != "none":
            cmd += ["--detail", args.detail]
        return cmd

    def openfisca(src_: Path, out: str) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--openfisca-worker", str(src_),
                str(fresh(out)), str(spec)]

    detail = f", --detail {args.detail}" if "--detail" in flags and args.detail != "none" \
        else " (no --detail: this CLI always writes the provenance)"
    n = args.persons
    runs = [Run("gongfu", f"Parquet→Parquet, --only the shared{detail}", str(len(shared)), n,
                gongfu(src, "gongfu_shared.parquet", shared, True))]
    if have_openfisca:
        runs.append(Run("OpenFisca", "Parquet→arrays→1 simulation→Parquet", str(len(shared)), n,
                        openfisca(src, "openfisca_amounts.parquet"), gongfu=False))
    runs.append(Run("gongfu", "Parquet→Parquet, every standard", "all", n,
                    gongfu(src, "gongfu_all.parquet", None, False)))
    startup = [Run("gongfu", f"start-up: {SMALL}-row file, every standard", "all", SMALL,
                   gongfu(small, "gongfu_small.parquet", None, False))]
    if have_openfisca:
        startup.append(Run("OpenFisca", f"start-up: {SMALL}-row file", str(len(shared)), SMALL,
                           openfisca(small, "openfisca_small.parquet"), gongfu=False))
    against = []
    if args.against is not None:  # the other tree, on the same paths
        tree = args.against.resolve()
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        exe = [sys.executable, "-m", "gongfu_rules.cli"]
        against = [Run(f"gongfu ({tree.name})", f"Parquet→Parquet, --only the shared{detail}",
                       str(len(shared)), n, gongfu(src, "against_shared.parquet", shared, True,
                                                   exe), env=env),
                   Run(f"gongfu ({tree.name})", "Parquet→Parquet, every standard", "all", n,
                       gongfu(src, "against_all.parquet", None, False, exe), env=env)]
    for rep in range(args.reps):
        print(f"rep {rep + 1}/{args.reps}", flush=True)
        for run in runs + against + startup:  # interleaved: each engine once per rep, in turn
            run.once()

    # peak RSS by size: one run per size and set of standards (the timed runs count for --persons)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    by_size: dict[str, list[tuple[int, float | None]]] = {"shared": [], "all": []}
    for size in sizes:
        for kind, timed, only in (("shared", runs[0], shared), ("all", runs[-1], None)):
            if size == n and timed.rss:
                by_size[kind].append((size, max(timed.rss)))
                continue
            print(f"peak RSS at {size:,} persons ({kind} standards)", flush=True)
            run = Run("gongfu", f"size run, {kind}", kind, size,
                      gongfu(caseload(size, args.seed, on, workdir),
                             f"gongfu_{kind}_{size}.parquet", only, only is not None))
            run.once()
            by_size[kind].append((size, max(run.rss) if run.rss else None))

    # --- the report
    print()
    print(f"caseload: {n:,} persons (seed {args.seed}, real Yunnan county codes), on {on}; "
          f"whole process per run (start-up, reading, evaluating, writing); median of "
          f"{args.reps} interleaved reps (min–max); peak RSS by "
          f"{'/usr/bin/time -v' if TIME else 'getrusage(RUSAGE_CHILDREN)'}; "
          f"{os.cpu_count()} cores.")
    print()
    print("| engine | path | standards | persons | seconds | persons/s | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for run in runs + against:
        rates = [run.persons / s for s in run.seconds]
        print(f"| {run.engine} | {run.path} | {run.standards} | {run.persons:,} | "
              f"{spread(run.seconds, '.2f')} | {spread(rates, ',.0f')} | "
              f"{spread(run.rss, ',.0f')} |")
    for run in startup:
        print(f"| {run.engine} | {run.path} | {run.standards} | {run.persons:,} | "
              f"{spread(run.seconds, '.2f')} | — | {spread(run.rss, ',.0f')} |")
    for kind, label in (("shared", "--only the shared"), ("all", "every standard")):
        for size, rss in by_size[kind]:
            print(f"| gongfu | peak RSS (max of runs), {label} | "
                  f"{len(shared) if kind == 'shared' else 'all'} | {size:,} | — | — | "
                  f"{'failed' if rss is None else f'{rss:,.0f}'} |")
    print()
    for run in runs + against + startup:
        for failure in run.failures[:1]:
            print(f"!! {run.engine} {run.path} failed: {failure}")
    for kind, points in by_size.items():
        if len(points) > 1 and points[0][1] and points[-1][1]:
            print(f"gongfu peak RSS ({kind} standards) at {points[-1][0]:,} persons ÷ at "
                  f"{points[0][0]:,}: {points[-1][1] / points[0][1]:.2f}×")
    for mine, theirs in zip((runs[0], runs[-1]), against):
        if mine.seconds and theirs.seconds:
            paired = [t / m for m, t in zip(mine.seconds, theirs.seconds)]
            print(f"this tree against {theirs.engine}, {mine.path}: "
                  f"{spread(paired, '.2f')}× its speed ({theirs.engine} seconds ÷ this tree's, "
                  f"rep by rep)")
    if have_openfisca and runs[0].seconds and runs[1].seconds:
        # each rep's pair ran back to back, so its ratio is steadier than a ratio of medians
        paired = [of / gf for gf, of in zip(runs[0].seconds, runs[1].seconds)]
        print(f"gongfu on the {len(shared)} shared standards runs at {spread(paired, '.2f')}× "
              f"the speed of the OpenFisca model (OpenFisca seconds ÷ gongfu seconds, rep by "
              f"rep; above 1 means gongfu is faster)")
        inner = workdir / "openfisca_amounts.json"
        if inner.exists():
            t = json.loads(inner.read_text())
            print(f"OpenFisca inside its last run: tax-benefit system {t['model_s']:.2f} s, read "
                  f"Parquet + arrays {t['read_s']:.2f} s, build the simulation "
                  f"{t['build_s']:.2f} s, calculate {t['calc_s']:.2f} s, write "
                  f"{t['write_s']:.2f} s ({t['households']:,} households); mirrored: "
                  f"{', '.join(t['covered'])}")
        agreement(workdir / "gongfu_shared.parquet", workdir / "openfisca_amounts.parquet",
                  shared)
    print(f"benchmark took {time.perf_counter() - started:.0f} s")


def agreement(gongfu_out: Path, openfisca_out: Path, shared: list[str]) -> None:
    if not (gongfu_out.exists() and openfisca_out.exists()):
        print("agreement: not compared (a run failed)")
        return
    report = compare(gongfu_out, openfisca_out, shared)
    print(f"agreement: {report['compared']:,} person × standard amounts compared, "
          f"{report['disagree']:,} disagreeing; {report['undetermined']:,} undetermined in "
          f"gongfu (not compared: OpenFisca has no unknowns)")
    for sid, (compared, bad, eligible, undetermined) in report["per_standard"].items():
        print(f"  {sid:<36} compared {compared:>9,}  disagreeing {bad:>6,}  eligible "
              f"{eligible:>7,}  undetermined {undetermined:>7,}")
    if report["missing"]:
        print(f"  NOT COMPARED (no .status/.amount column in gongfu's output): "
              f"{', '.join(report['missing'])}")
    for row, sid, mine, theirs in report["examples"][:8]:
        print(f"  DISAGREE row {row} {sid}: gongfu {mine} vs OpenFisca {theirs}")


if __name__ == "__main__":
    main()
