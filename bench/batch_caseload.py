"""Benchmark: whole caseload files through ``gongfu batch``, and the same data in OpenFisca.

Run (see bench/README.md for the venv):

    python bench/batch_caseload.py                                # 1M persons; 1M and 10M sizes
    python bench/batch_caseload.py --sizes 1000000                # skip the 10M memory run
    python bench/batch_caseload.py --persons 100000 --sizes 100000 --skip-openfisca

It prints figures only (no asserts):

1. a synthetic Yunnan caseload (fixed seed), written as CSV and Parquet;
2. end-to-end throughput and peak RSS of ``gongfu batch`` CSV→CSV and Parquet→Parquet, each in
   a fresh subprocess (file in → file out, including start-up and loading the standards);
3. the mirrored standards (``openfisca_model.py``) computed by OpenFisca over the whole
   population in ONE vectorized simulation, built from the same Parquet file with entity
   counts and membership arrays, timed, its peak RSS measured the same way, and its amounts
   compared with gongfu's output;
4. peak RSS of Parquet→Parquet at every size of ``--sizes``, to see whether memory stays flat
   (it should be bounded by ``--chunk-rows``, not by the file).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
try:
    import gongfu_rules  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

KUNMING, CHUXIONG, DIQING = "5301", "5323", "5334"
ON = "2025-08-01"


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
    return _household_consistent(frame)


def _household_consistent(frame: pl.DataFrame) -> pl.DataFrame:
    """A household fact left blank on one member's row and given on another's would be a
    conflict: take the head's (first member's) value for all members."""
    cols = [c for c in frame.columns if c.startswith("household.")]
    return frame.with_columns(pl.col(c).first().over("household_id") for c in cols)


def write_caseload(frame: pl.DataFrame, base: Path, csv_too: bool) -> dict[str, Path]:
    paths = {"parquet": base.with_suffix(".parquet")}
    frame.write_parquet(paths["parquet"])
    if csv_too:
        paths["csv"] = base.with_suffix(".csv")
        frame.write_csv(paths["csv"])
    return paths


# --- running a child and measuring it ---------------------------------------------------------

TIME = shutil.which("time") and Path("/usr/bin/time").exists()


def measured_run(cmd: list[str]) -> dict:
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
    proc = subprocess.run(wrapped, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    text = stats.read_text() if stats.exists() else ""
    stats.unlink(missing_ok=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"seconds": wall, "rss_mb": int(m.group(1)) / 1024 if m else None,
            "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def gongfu_exe() -> list[str]:
    exe = Path(sys.executable).with_name("gongfu")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gongfu_rules.cli"]


def run_gongfu(src: Path, out: Path, on: str, chunk_rows: int | None,
               only: list[str] | None = None) -> dict:
    """``gongfu batch`` as a user runs it. Exit 3 means "finished, some rows set aside"."""
    cmd = [*gongfu_exe(), "batch", str(src), "-o", str(out), "--on", on, "--no-progress"]
    if chunk_rows:
        cmd += ["--chunk-rows", str(chunk_rows)]
    if only:
        cmd += ["--only", ",".join(only)]
    result = measured_run(cmd)
    result["ok"] = result["rc"] in (0, 3)
    m = re.search(r"(\d+) rows read, (\d+) evaluated, (\d+) set aside", result["stdout"])
    result["counts"] = tuple(map(int, m.groups())) if m else None
    return result


def mirrored_standards() -> list[str]:
    """The standards the OpenFisca twin has formulas for (bench/openfisca_model.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from openfisca_model import MIRRORS
    return list(MIRRORS)


# --- OpenFisca, vectorized over the whole population --------------------------------------------

def openfisca_worker(src: Path, out: Path, on: date, limit: int | None) -> None:
    """Runs in its own process (so its peak RSS is its own): build the twin model, read the
    Parquet caseload, build ONE simulation for all of it from arrays, calculate every mirrored
    standard, write ``row`` + one amount column per standard, and the timings as JSON."""
    import openfisca_model as ofm
    from gongfu_rules import load_standards

    t0 = time.perf_counter()
    std = load_standards(str(REPO / "standards"))
    model = ofm.build_model(std, on)
    t1 = time.perf_counter()
    frame = read_sample(src, limit)
    simulation = build_simulation(model, frame)
    t2 = time.perf_counter()
    amounts = {sid: simulation.calculate(sid, model.period) for sid in model.covered}
    t3 = time.perf_counter()
    pl.DataFrame({"row": frame.get_column("row"), **amounts}).write_parquet(out)
    out.with_suffix(".json").write_text(json.dumps({
        "model_s": t1 - t0, "build_s": t2 - t1, "calc_s": t3 - t2, "persons": frame.height,
        "households": frame.get_column("household_id").n_unique(), "covered": model.covered,
        "skipped": model.skipped}))


def read_sample(src: Path, limit: int | None) -> pl.DataFrame:
    """The first ``limit`` persons (all when None), whole households only, with their row
    numbers as gongfu numbers them (1 = first data row)."""
    frame = pl.read_parquet(src, n_rows=limit).with_row_index("row", offset=1)
    if limit is not None and frame.height == limit:  # the last household may be cut: drop it
        frame = frame.filter(pl.col("household_id") != frame.get_column("household_id")[-1])
    return frame


def build_simulation(model, frame: pl.DataFrame):
    """One OpenFisca simulation for every person of ``frame``: entity counts, the membership
    and role arrays, then every input as a whole array (``set_input``)."""
    import openfisca_model as ofm
    from openfisca_core.simulations import SimulationBuilder

    heads = frame.filter(pl.col("household_id") != pl.col("household_id").shift(1).fill_null(""))
    builder = SimulationBuilder()
    builder.create_entities(model.tbs)
    builder.declare_person_entity("person", frame.get_column("row").to_numpy())
    households = builder.declare_entity("household", heads.get_column("household_id").to_numpy())
    roles = frame.get_column("role").fill_null("other").replace_strict(ofm.ROLE_KEYS)
    builder.join_with_persons(households, frame.get_column("household_id").to_numpy(),
                              roles.to_numpy().astype(str))
    simulation = builder.build(model.tbs)
    period = model.period

    # OpenFisca has no unknown: missing booleans are False, enums "unknown", counts 0; a missing
    # region falls back to the household's (gongfu leaves those results undetermined, and
    # undetermined results are not compared).
    home = pl.col("household.region")
    inputs = frame.select(
        pl.col("birth_date"),
        pl.coalesce("hukou_region", home).alias("hukou_region"),
        pl.coalesce("residence_region", home).alias("residence_region"),
        *(pl.col(c).fill_null(False) for c in ("orphan", "de_facto_unsupported_child",
                                               "disability_certificate", "tekun", "unemployed",
                                               "nutrition_pilot_area", "only_child_parent")),
        *(pl.col(c).fill_null(0) for c in ("disability_grade", "unemployment_insured_months")),
        *(pl.col(c).fill_null("unknown") for c in ("sex", "hukou_type", "residence_area",
                                                   "child_care_arrangement", "student_stage",
                                                   "school_location", "only_child_sex",
                                                   "only_child_status", "tekun_support_mode",
                                                   "self_care")),
    )
    for name in inputs.columns:
        values = inputs.get_column(name).to_numpy()
        if values.dtype == object:
            values = values.astype(str)  # OpenFisca encodes enums from a str (U) array
        simulation.set_input(name, "ETERNITY" if name == "birth_date" else period, values)
    simulation.set_input("household_region", period,
                         heads.get_column("household.region").to_numpy().astype(str))
    simulation.set_input("dibao", period,
                         heads.get_column("household.dibao").fill_null(False).to_numpy())
    return simulation


def run_openfisca(src: Path, workdir: Path, on: str, limit: int | None) -> dict:
    out = workdir / "openfisca_amounts.parquet"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--openfisca-worker", str(src),
           "--workdir", str(out), "--on", on]
    if limit:
        cmd += ["--openfisca-persons", str(limit)]
    result = measured_run(cmd)
    result["ok"] = result["rc"] == 0
    if result["ok"]:
        result.update(json.loads(out.with_suffix(".json").read_text()))
        result["amounts"] = out
    return result


def compare(gongfu_out: Path, openfisca_out: Path, covered: list[str], on: date) -> dict:
    """Per person × mirrored standard: gongfu's amount (0 when not eligible; an eligible
    service without an amount counts as its quantity) against OpenFisca's. gongfu's
    undetermined results are not compared: OpenFisca has no unknowns."""
    from gongfu_rules import load_standards

    std = load_standards(str(REPO / "standards"))
    theirs = pl.read_parquet(openfisca_out)
    cols = ["row"] + [f"{s}.{f}" for s in covered for f in ("status", "amount", "quantity")]
    mine = pl.scan_parquet(gongfu_out).select(cols).join(theirs.lazy(), on="row").collect()
    report = {"agree": 0, "compared": 0, "undetermined": 0, "per_standard": {}, "mismatches": []}
    for sid in covered:
        service = std[sid].rule_on(on).amount is None
        status = pl.col(f"{sid}.status")
        amount = pl.col(f"{sid}.amount").cast(pl.Float64)
        if service:
            amount = pl.coalesce(amount, pl.col(f"{sid}.quantity").cast(pl.Float64))
        expected = pl.when(status != "eligible").then(0.0).otherwise(amount)
        other = pl.col(sid).fill_nan(None)
        same = (expected.is_null() & other.is_null()) | ((expected - other).abs() < 0.005)
        checked = mine.filter(status != "undetermined").with_columns(
            expected.alias("gongfu"), pl.col(sid).alias("openfisca"), same.fill_null(False).alias("same"))
        agree = int(checked.get_column("same").sum())
        eligible = int((checked.get_column(f"{sid}.status") == "eligible").sum())
        undetermined = int((mine.get_column(f"{sid}.status") == "undetermined").sum())
        report["per_standard"][sid] = (agree, checked.height, eligible, undetermined)
        report["agree"] += agree
        report["compared"] += checked.height
        report["undetermined"] += undetermined
        for row in checked.filter(~pl.col("same")).head(3).iter_rows(named=True):
            if len(report["mismatches"]) < 8:
                report["mismatches"].append((row["row"], sid, row["gongfu"], row["openfisca"]))
    return report


# --- the report -------------------------------------------------------------------------------

class Table:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, engine: str, path: str, persons: int, seconds: float | None,
            rss_mb: float | None) -> None:
        self.rows.append((engine, path, persons, seconds, rss_mb))
        # printed as soon as measured too, so that a long run interrupted later is not lost
        print(f"  measured: {engine} {path} {persons:,} persons, "
              f"{'failed' if seconds is None else f'{seconds:.1f} s'}, peak RSS "
              f"{'—' if rss_mb is None else f'{rss_mb:,.0f} MB'}", flush=True)

    def print(self) -> None:
        head = f"{'engine':<10} {'path':<44} {'persons':>11} {'seconds':>9} {'persons/s':>11} " \
               f"{'peak RSS MB':>12}"
        print(head)
        print("-" * len(head))
        for engine, path, persons, seconds, rss in self.rows:
            rate = f"{persons / seconds:,.0f}" if seconds else "—"
            sec = f"{seconds:.1f}" if seconds is not None else "failed"
            mb = f"{rss:,.0f}" if rss is not None else "—"
            print(f"{engine:<10} {path:<44} {persons:>11,} {sec:>9} {rate:>11} {mb:>12}")


def versions() -> str:
    out = []
    for name in ("polars", "pyarrow", "openfisca-core", "numpy", "gongfu-rules"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def report_failure(what: str, result: dict) -> None:
    print(f"!! {what} failed (exit {result['rc']}):")
    print("   " + "\n   ".join((result["stderr"] or result["stdout"]).strip().splitlines()[-25:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000,
                    help="persons in the caseload for the CSV/Parquet/OpenFisca runs (default 1M)")
    ap.add_argument("--sizes", default="1000000,10000000",
                    help="comma-separated sizes for the Parquet→Parquet memory runs")
    ap.add_argument("--skip-openfisca", action="store_true")
    ap.add_argument("--openfisca-persons", type=int, default=0,
                    help="persons given to OpenFisca (default 0: all of --persons)")
    ap.add_argument("--chunk-rows", type=int, default=0,
                    help="passed to gongfu batch (default 0: gongfu's own default)")
    ap.add_argument("--workdir", default="/tmp/gongfu-bench")
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--on", default=ON, help=f"evaluation date (default {ON})")
    ap.add_argument("--openfisca-worker", metavar="PARQUET", help=argparse.SUPPRESS)
    args = ap.parse_args()
    on = date.fromisoformat(args.on)

    if args.openfisca_worker:  # the child process of run_openfisca
        openfisca_worker(Path(args.openfisca_worker), Path(args.workdir), on,
                         args.openfisca_persons or None)
        return

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    started = time.perf_counter()
    table = Table()
    notes: list[str] = []
    print(f"gongfu batch benchmark — {args.persons:,} persons, seed {args.seed}, on {on}, "
          f"workdir {workdir}")
    print(f"machine: {os.cpu_count()} cores, python {platform.python_version()}; {versions()}")

    # 1. the caseload
    t0 = time.perf_counter()
    frame = generate(args.persons, args.seed, on)
    t1 = time.perf_counter()
    files = write_caseload(frame, workdir / f"caseload_{args.persons}", csv_too=True)
    t2 = time.perf_counter()
    describe(frame)
    print(f"generated in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s: "
          + ", ".join(f"{p.name} {p.stat().st_size / 2**20:,.0f} MB" for p in files.values()))
    del frame

    # 2. gongfu, CSV→CSV and Parquet→Parquet
    parquet_runs: dict[int, dict] = {}
    for fmt in ("csv", "parquet"):
        out = workdir / f"out_{args.persons}.{fmt}"
        result = run_gongfu(files[fmt], out, args.on, args.chunk_rows)
        label = f"batch {fmt.upper()}→{fmt.upper()}"
        if not result["ok"]:
            report_failure(f"gongfu {label}", result)
        table.add("gongfu", label, args.persons, result["seconds"] if result["ok"] else None,
                  result["rss_mb"])
        if result["counts"]:
            notes.append(f"gongfu {label}: {result['counts'][0]:,} rows read, "
                         f"{result['counts'][1]:,} evaluated, {result['counts'][2]:,} set aside")
        if fmt == "parquet":
            parquet_runs[args.persons] = result

    # 2b. gongfu on just the standards the OpenFisca twin mirrors: the like-for-like row
    mirrored = mirrored_standards()
    result = run_gongfu(files["parquet"], workdir / f"out_{args.persons}_mirrored.parquet",
                        args.on, args.chunk_rows, mirrored)
    if not result["ok"]:
        report_failure("gongfu Parquet→Parquet, mirrored standards", result)
    table.add("gongfu", f"batch PARQUET→PARQUET, {len(mirrored)} mirrored stds", args.persons,
              result["seconds"] if result["ok"] else None, result["rss_mb"])

    # 3. OpenFisca on the same Parquet file
    if not args.skip_openfisca:
        openfisca_section(args, files["parquet"], workdir, table, notes, on)

    # 4. Parquet→Parquet at each size
    for size in sizes:
        if size not in parquet_runs:
            t0 = time.perf_counter()
            path = write_caseload(generate(size, args.seed, on), workdir / f"caseload_{size}",
                                  csv_too=False)["parquet"]
            notes.append(f"caseload of {size:,} generated and written in "
                         f"{time.perf_counter() - t0:.0f} s ({path.stat().st_size / 2**20:,.0f} MB)")
            result = run_gongfu(path, workdir / f"out_{size}.parquet", args.on, args.chunk_rows)
            if not result["ok"]:
                report_failure(f"gongfu Parquet→Parquet at {size:,}", result)
            parquet_runs[size] = result
            table.add("gongfu", f"batch PARQUET→PARQUET (size run)", size,
                      result["seconds"] if result["ok"] else None, result["rss_mb"])

    print()
    table.print()
    print()
    for line in notes:
        print(line)
    flat = [(s, r["rss_mb"]) for s, r in sorted(parquet_runs.items()) if r["rss_mb"]]
    if len(flat) > 1:
        print("peak RSS by size, Parquet→Parquet: " + ", ".join(
            f"{s:,} → {mb:,.0f} MB" for s, mb in flat)
            + f" (chunk rows {args.chunk_rows or 'gongfu default'})")
    print(f"seconds: wall time of the whole child process (start-up, loading the standards, "
          f"reading, evaluating, writing); peak RSS: the child's max resident set size "
          f"({'/usr/bin/time -v' if TIME else 'getrusage(RUSAGE_CHILDREN) in a fresh launcher'}). "
          f"Benchmark took {time.perf_counter() - started:.0f} s.")


def openfisca_section(args, parquet: Path, workdir: Path, table: Table, notes: list[str],
                      on: date) -> None:
    try:
        import openfisca_core  # noqa: F401
    except ImportError as error:
        notes.append(f"OpenFisca: not installed ({error}); see bench/README.md")
        return
    limit = args.openfisca_persons or None
    result = run_openfisca(parquet, workdir, args.on, limit)
    if not result["ok"]:
        report_failure("OpenFisca (vectorized simulation)", result)
        table.add("OpenFisca", "Parquet→arrays, 1 simulation", limit or args.persons, None,
                  result["rss_mb"])
        return
    n = result["persons"]
    label = "Parquet→amounts, 1 vectorized sim"
    table.add("OpenFisca", label + " (process)", n, result["seconds"], result["rss_mb"])
    table.add("OpenFisca", label + " (build+calc)", n, result["build_s"] + result["calc_s"], None)
    sample = f"the first {n:,} persons (whole households)" if limit else f"all {n:,} persons"
    notes.append(f"OpenFisca: {len(result['covered'])} mirrored standards on {sample}, "
                 f"{result['households']:,} households, one simulation; build the tax-benefit "
                 f"system {result['model_s']:.1f} s, read Parquet + build the simulation "
                 f"{result['build_s']:.1f} s, calculate {result['calc_s']:.1f} s. gongfu's rows "
                 f"evaluate every standard of the set, OpenFisca's only the mirrored ones.")
    unwritten = [sid for sid, why in result["skipped"].items() if why.startswith("no OpenFisca")]
    notes.append(f"  {len(unwritten)} standards of the set have no OpenFisca formula written")
    for sid, why in result["skipped"].items():
        if sid not in unwritten:  # a mirror that exists but could not be used: say why
            notes.append(f"  not mirrored: {sid} ({why})")
    gongfu_out = workdir / f"out_{args.persons}.parquet"
    if not gongfu_out.exists():
        notes.append("agreement: not compared (the gongfu Parquet run failed)")
        return
    cmp = compare(gongfu_out, result["amounts"], result["covered"], on)
    notes.append(f"agreement: {cmp['agree']:,}/{cmp['compared']:,} person × standard amounts "
                 f"equal (to the fen); {cmp['undetermined']:,} undetermined in gongfu, not compared")
    for sid, (agree, compared, eligible, undetermined) in cmp["per_standard"].items():
        notes.append(f"  {sid:<36} {agree:>9,}/{compared:<9,} eligible {eligible:>7,}, "
                     f"undetermined {undetermined:,}")
    for row, sid, mine, theirs in cmp["mismatches"]:
        notes.append(f"  MISMATCH row {row} {sid}: gongfu {mine} vs OpenFisca {theirs}")


def describe(frame: pl.DataFrame) -> None:
    """The caseload's make-up, so the shares can be judged."""
    n = frame.height
    hh = frame.get_column("household_id").n_unique()
    share = frame.select(
        (pl.col("orphan").sum() / n).alias("orphans"),
        (pl.col("de_facto_unsupported_child").sum() / n).alias("de facto unsupported"),
        (pl.col("disability_grade").is_not_null().sum() / n).alias("disabled"),
        (pl.col("tekun").sum() / n).alias("特困"),
        (pl.col("unemployed").sum() / n).alias("unemployed"),
        (pl.col("student_stage").is_not_null().sum() / n).alias("students"),
        (pl.col("only_child_parent").sum() / n).alias("only-child parents"),
        (pl.col("household.dibao").sum() / n).alias("in 低保 households"),
        (pl.col("id_number").is_not_null().sum() / n).alias("with an ID number"),
    ).row(0, named=True)
    ages = frame.select(((pl.lit(date.fromisoformat(ON)) - pl.col("birth_date")).dt.total_days()
                         // 365.25).alias("a")).get_column("a")  # approximate 周岁, for show
    print(f"caseload: {n:,} persons in {hh:,} households (mean {n / hh:.2f}), ages "
          f"{ages.min():.0f}–{ages.max():.0f} (mean {ages.mean():.1f}); "
          + ", ".join(f"{k} {v:.2%}" for k, v in share.items()))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # openfisca_model
    main()
