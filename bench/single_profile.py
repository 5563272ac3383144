"""Benchmark: evaluating one household at a time (the portal case), gongfu-rules vs OpenFisca.

Run (see bench/README.md for the venv):

    python bench/single_profile.py            # 2000 households
    python bench/single_profile.py --n 300    # quicker
    python bench/single_profile.py --profile  # also cProfile the gongfu path (explain=False)

It prints figures only (no asserts): profile parsing time, per-person latency percentiles and
throughput of ``evaluate_on`` without and with explanations, the same for an equivalent small
OpenFisca model (``openfisca_model.py``) fed one JSON situation per household, the peak memory
of each, and how many amounts the two engines agree on.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import os
import platform
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
try:
    import gongfu_rules  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

from gongfu_rules import Household, load_standards, parse_household
from gongfu_rules.evaluate import evaluate_on
from gongfu_rules.profile import id_number_check_character

try:
    import openfisca_model as ofm  # bench/ is on sys.path when run as a script
    OPENFISCA_ERROR = None
except ImportError as error:  # openfisca-core not installed
    ofm = None
    OPENFISCA_ERROR = str(error)

KUNMING, CHUXIONG, DIQING = "5301", "5323", "5334"


# --- random households --------------------------------------------------------------------------

def yunnan_counties() -> list[str]:
    """Yunnan county codes (53xxxx) from the package's GB/T 2260 table."""
    path = REPO / "src" / "gongfu_rules" / "data" / "divisions" / "areas.csv"
    with path.open(encoding="utf-8") as f:
        return sorted(row["code"] for row in csv.DictReader(f) if row["code"].startswith("53"))


class Generator:
    """Random but plausible Yunnan households, as a portal would receive them (JSON dicts)."""

    def __init__(self, seed: int, on: date):
        self.rng = random.Random(seed)
        self.on = on
        self.counties = yunnan_counties()
        self.by_prefecture: dict[str, list[str]] = {}
        for code in self.counties:
            self.by_prefecture.setdefault(code[:4], []).append(code)
        self.others = [c for c in self.counties if c[:4] not in (KUNMING, CHUXIONG, DIQING)]

    # where people live and are registered
    def county(self) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.25:
            return rng.choice(self.by_prefecture[KUNMING])
        if r < 0.40:
            return rng.choice(self.by_prefecture[CHUXIONG])
        if r < 0.45:
            return rng.choice(self.by_prefecture[DIQING])
        return rng.choice(self.others)

    def hukou(self, home: str) -> str:
        r = self.rng.random()
        if r < 0.85:
            return home
        if r < 0.95:
            return self.rng.choice(self.by_prefecture[home[:4]])
        return self.rng.choice(self.counties)

    def birth(self, age: int) -> date:
        """A birth date giving exactly ``age`` completed years on ``self.on``."""
        on = self.on
        latest = on.replace(year=on.year - age)
        earliest = on.replace(year=on.year - age - 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def id_number(self, region: str, born: date, male: bool) -> str:
        seq = self.rng.randrange(0, 50) * 2 + (1 if male else 0)
        first17 = f"{region}{born:%Y%m%d}{self.rng.randrange(10)}{seq:02d}"
        return first17 + id_number_check_character(first17)

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p

    def person(self, role: str | None, age: int, home: str, urban: bool,
               agricultural: bool, dibao: bool) -> dict:
        rng, maybe = self.rng, self.maybe
        male = maybe(0.5)
        born = self.birth(age)
        hukou = self.hukou(home)
        p: dict = {} if role is None else {"role": maybe(0.3) and _ZH_ROLE[role] or role}
        if maybe(0.5):
            p["id_number"] = self.id_number(hukou, born, male)
        else:
            p["birth_date"] = born.isoformat()
            p["sex"] = rng.choice(("男", "male", "M")) if male else rng.choice(("女", "female"))
        p["hukou_region"] = hukou
        p["residence_region"] = home
        p["hukou_type"] = rng.choice(("农业", "agricultural")) if agricultural \
            else rng.choice(("非农业", "non_agricultural"))
        p["residence_area"] = "城镇" if urban else "农村"
        if age < 18 and maybe(0.97):  # children: the orphan questions
            p["orphan"] = orphan = maybe(0.04)
            p["de_facto_unsupported_child"] = not orphan and maybe(0.04)
            p["hiv_infected_child"] = maybe(0.005)
            if (orphan or p["de_facto_unsupported_child"]) and maybe(0.9):
                p["child_care_arrangement"] = "集中" if maybe(0.3) else "散居"
        if maybe(0.95):  # disability
            if maybe(0.07):
                p["disability_certificate"] = maybe(0.85)
                p["disability_category"] = rng.choice(
                    ("肢体", "视力", "听力", "言语", "智力", "精神", "多重"))
                p["disability_grade"] = rng.choices(
                    (1, "二级", "3", 4), weights=(15, 25, 30, 30))[0]
            else:
                p["disability_certificate"] = False
        if age >= 16:  # 特困
            poor = (age >= 60 or "disability_grade" in p) and maybe(0.06 if dibao else 0.02)
            p["tekun"] = poor
            if poor:
                p["tekun_support_mode"] = "集中供养" if maybe(0.25) else "分散供养"
                p["self_care"] = rng.choice(("unable", "partial", "able"))
        if 16 <= age < 60:  # unemployment
            p["unemployed"] = jobless = maybe(0.06)
            if jobless and maybe(0.9):
                p["unemployment_insured_months"] = rng.randrange(0, 181)
        if age >= 40:  # family planning
            p["only_child_parent"] = only = maybe(0.18)
            if only:
                if maybe(0.9):
                    p["only_child_sex"] = "male" if maybe(0.55) else "女"
                p["only_child_status"] = rng.choices(("健在", "伤残", "死亡"), weights=(94, 3, 3))[0]
        stage = _stage(age, rng)
        if stage:  # pupils
            p["student_stage"] = stage
            if urban:
                p["school_location"] = "city" if home[:4] == KUNMING or maybe(0.5) else "county_seat"
            else:
                p["school_location"] = "village_township" if maybe(0.6) else "county_seat"
            if stage in ("primary", "junior_secondary"):
                p["nutrition_pilot_area"] = (not urban) and home[:4] != KUNMING and maybe(0.85)
        if not male and 20 <= age <= 40 and maybe(0.03):
            p["pregnant"] = True
        return p

    def household(self, index: int) -> dict:
        """A household dict (1-5 members), or now and then a lone person (a child in care)."""
        rng, maybe = self.rng, self.maybe
        home = self.county()
        kunming = home[:4] == KUNMING
        urban = maybe(0.65 if kunming else 0.35)
        agricultural = maybe(0.35 if kunming else 0.7)
        dibao = maybe(0.10)
        size = rng.choices((1, 2, 3, 4, 5), weights=(20, 25, 25, 18, 12))[0]
        if size == 1 and maybe(0.05):  # a lone child, e.g. an orphan in institutional care
            return self.person(None, rng.randrange(0, 18), home, urban, agricultural, False)
        head_age = rng.randrange(60, 101) if size == 1 and maybe(0.4) else rng.randrange(20, 86)
        ages = [("head", head_age)]
        if size >= 2 and maybe(0.75):
            ages.append(("spouse", max(18, min(100, head_age + rng.randrange(-5, 6)))))
        while len(ages) < size:
            if head_age >= 40 and head_age <= 75 and maybe(0.3) \
                    and sum(r == "parent" for r, _ in ages) < 2:
                ages.append(("parent", min(100, head_age + rng.randrange(20, 36))))
            elif head_age >= 50 and maybe(0.2):
                ages.append(("other", rng.randrange(0, 18)))  # a grandchild
            else:
                ages.append(("child", rng.randrange(0, max(1, min(35, head_age - 18)))))
        members = [self.person(role, age, home, urban, agricultural, dibao) for role, age in ages]
        for i, m in enumerate(members):
            if maybe(0.8):
                m["id"] = f"m{i + 1}"
        hh: dict = {"id": f"hh{index:05d}", "region": home, "members": members}
        if maybe(0.95):
            hh["dibao"] = dibao
            if not dibao:
                hh["dibao_edge"] = maybe(0.04)
        if maybe(0.9):
            income = rng.uniform(150, 700) if dibao else rng.lognormvariate(7.4, 0.6)
            hh["per_capita_monthly_income"] = f"{income:.2f}"
        return hh


_ZH_ROLE = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "other": "其他"}


def _stage(age: int, rng: random.Random) -> str | None:
    if 3 <= age <= 5:
        return "preschool" if rng.random() < 0.8 else None
    if 6 <= age <= 11:
        return "primary"
    if 12 <= age <= 14:
        return "junior_secondary"
    if 15 <= age <= 17:
        return None if rng.random() < 0.1 else ("中职" if rng.random() < 0.35 else "高中")
    if 18 <= age <= 22:
        return "higher" if rng.random() < 0.45 else None
    return None


# --- measuring ----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


class Row:
    def __init__(self, engine: str, mode: str, per_person_us: list[float] | None,
                 persons: int, total_ns: int, peak_mb: float | None, note: str = ""):
        self.engine, self.mode, self.note = engine, mode, note
        self.p = None if not per_person_us else [percentile(per_person_us, q) for q in (50, 90, 99)]
        self.rate = persons / (total_ns / 1e9) if total_ns else None
        self.peak_mb = peak_mb


def time_per_household(items: list, sizes: list[int], run, warmup: int,
                       repeat: int) -> tuple[list[float], int, int]:
    """Time ``run(item)`` for each item, ``repeat`` rounds, keeping each item's best round
    (filters out interference from other processes): (µs per person for each, persons, total ns
    of the best rounds)."""
    for item in items[:warmup]:
        run(item)
    best = [None] * len(items)
    clock = time.perf_counter_ns
    for _ in range(repeat):
        gc.collect()
        for i, item in enumerate(items):
            t0 = clock()
            run(item)
            elapsed = clock() - t0
            if best[i] is None or elapsed < best[i]:
                best[i] = elapsed
    per_person = [ns / n / 1000 for ns, n in zip(best, sizes)]
    return per_person, sum(sizes), sum(best)


def traced_peak_mb(work) -> float:
    """Peak of Python-traced allocations (MB) while ``work()`` runs, above what was live before."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- comparison ---------------------------------------------------------------------------------

def gongfu_amounts(households: list, on: date, std, covered: list[str]) -> dict:
    """``{(household, member): {standard: amount or None}}`` for eligible/not-eligible results;
    undetermined results are left out (OpenFisca has no unknowns to compare them with)."""
    out, undetermined = {}, Counter()
    wanted = set(covered)
    for i, h in enumerate(households):
        persons, _ = evaluate_on(h, on, std, False)
        for pid, results in persons.items():
            row = {}
            for r in results:
                if r.standard.id not in wanted:
                    continue
                if r.status == "undetermined":
                    undetermined[r.standard.id] += 1
                    continue
                row[r.standard.id] = ofm.comparable(r)
            out[(h.id or f"h{i}", pid)] = row
    return out, undetermined


def compare(gongfu: dict, openfisca: dict, covered: list[str]):
    """(agreeing, compared, eligible and eligible with a known amount per standard, first
    mismatches)."""
    agree = compared = 0
    eligible, known, mismatches = Counter(), Counter(), []
    for key, row in gongfu.items():
        theirs = openfisca.get(key, {})
        for sid in covered:
            if sid not in row:
                continue
            compared += 1
            mine, other = row[sid], theirs.get(sid, float("nan"))
            if mine != 0:
                eligible[sid] += 1
                known[sid] += mine is not None
            if ofm.same_amount(mine, other):
                agree += 1
            elif len(mismatches) < 5:
                mismatches.append((key, sid, mine, other))
    return agree, compared, eligible, known, mismatches


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="households (default 2000)")
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--on", default="2025-08-01", help="evaluation date (default 2025-08-01)")
    ap.add_argument("--standards", default=str(REPO / "standards"))
    ap.add_argument("--mem-n", type=int, default=300,
                    help="households in each (slower) tracemalloc pass (default 300)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timing rounds; each household's best round counts (default 3)")
    ap.add_argument("--no-openfisca", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile one gongfu pass (explain=False): top 10 by cumulative time")
    args = ap.parse_args()
    on = date.fromisoformat(args.on)
    started = time.perf_counter()

    # standards
    t0 = time.perf_counter_ns()
    std = load_standards(args.standards)
    load_ms = (time.perf_counter_ns() - t0) / 1e6
    load_mb = traced_peak_mb(lambda: load_standards(args.standards))

    # households: generate dicts, then parse (timed separately, excluded from evaluation)
    gen = Generator(args.seed, on)
    data = [gen.household(i) for i in range(args.n)]
    households: list[Household] = []
    parse_us, parse_persons, parse_total = [], 0, 0
    for d in data[:50]:
        parse_household(d)
    for d in data:
        t0 = time.perf_counter_ns()
        h = parse_household(d)
        elapsed = time.perf_counter_ns() - t0
        households.append(h)
        parse_us.append(elapsed / len(h.members) / 1000)
        parse_persons += len(h.members)
        parse_total += elapsed
    persons = sum(len(h.members) for h in households)
    sizes = Counter(len(h.members) for h in households)
    mem_sample = households[: args.mem_n]
    member_counts = [len(h.members) for h in households]
    warmup = min(200, len(households))

    # gongfu
    rows = []
    for explain_flag, mode in ((False, "no explanations"), (True, "explanations")):
        def run(h, e=explain_flag):
            evaluate_on(h, on, std, e)
        lat, n_persons, total = time_per_household(households, member_counts, run, warmup,
                                                   args.repeat)
        peak = traced_peak_mb(lambda: [run(h) for h in mem_sample])
        rows.append(Row("gongfu", mode, lat, n_persons, total, peak))

    # OpenFisca
    of_lines: list[str] = []
    if ofm is not None and not args.no_openfisca:
        from openfisca_core.simulations import SimulationBuilder
        t0 = time.perf_counter_ns()
        model = ofm.build_model(std, on)
        build_ms = (time.perf_counter_ns() - t0) / 1e6
        build_mb = traced_peak_mb(lambda: ofm.build_model(std, on))
        if not model.covered:
            of_lines.append("OpenFisca: no mirrored standard is in the loaded set; skipped.")
        else:
            situations = [ofm.situation([h], model.period) for h in households]
            results: dict = {}

            def run_of(i):
                return ofm.calculate(model, situations[i])
            idx = list(range(len(households)))
            lat, _, total = time_per_household(idx, member_counts, run_of, warmup, args.repeat)
            clock = time.perf_counter_ns
            split_build = []
            for i, h in enumerate(households):
                for pid, amounts in run_of(i).items():
                    results[(h.id or f"h{i}", pid)] = amounts
            # how much of it is building the simulation (sample)
            for i in idx[: min(200, len(idx))]:
                t0 = clock()
                SimulationBuilder().build_from_entities(model.tbs, situations[i])
                split_build.append((clock() - t0) / len(households[i].members) / 1000)
            peak = traced_peak_mb(lambda: [run_of(i) for i in idx[: args.mem_n]])
            rows.append(Row("OpenFisca", "per situation", lat, persons, total, peak))

            # batch: every household in one simulation (what OpenFisca is built for)
            batch_situation = ofm.situation(households, model.period, prefix=True)
            ofm.calculate(model, ofm.situation(households[:warmup], model.period, prefix=True))
            gc.collect()
            t0 = clock()
            simulation = SimulationBuilder().build_from_entities(model.tbs, batch_situation)
            t1 = clock()
            batch = ofm.results(model, simulation)
            batch_build_ns, batch_calc_ns = t1 - t0, clock() - t1
            batch_peak = traced_peak_mb(lambda: ofm.calculate(model, batch_situation))
            rows.append(Row("OpenFisca", f"batch ({len(households)} hh, 1 sim)", None,
                            persons, batch_build_ns + batch_calc_ns, batch_peak))
            batch_results = {}
            for key, amounts in batch.items():
                hid, pid = key.split("/", 1)
                batch_results[(hid, pid)] = amounts

            # agreement
            mine, undetermined = gongfu_amounts(households, on, std, model.covered)
            agree, compared, eligible, known, mismatches = compare(mine, results, model.covered)
            agree_b, compared_b, _, _, _ = compare(mine, batch_results, model.covered)
            of_lines.append(f"OpenFisca model: {len(model.covered)} standards mirrored "
                            f"(build {build_ms:.0f} ms, {build_mb:.1f} MB traced):")
            for sid in model.covered:
                of_lines.append(f"  - {sid}: {model.notes[sid]}. Eligible {eligible[sid]} "
                                f"(amount known {known[sid]}); undetermined in gongfu, not "
                                f"compared: {undetermined[sid]}")
            for sid, why in model.skipped.items():
                of_lines.append(f"  not mirrored: {sid} ({why})")
            of_lines.append(f"agreement, per situation: {agree}/{compared} person-standard "
                            f"amounts equal; batch: {agree_b}/{compared_b}")
            for key, sid, a, b in mismatches:
                of_lines.append(f"  MISMATCH {key} {sid}: gongfu {a} vs OpenFisca {b}")
            of_lines.append(f"OpenFisca per situation: building the simulation "
                            f"(SimulationBuilder.build_from_entities) is p50 "
                            f"{percentile(split_build, 50):.0f} µs/person of it")
            of_lines.append(f"OpenFisca batch: build_from_entities {batch_build_ns / 1e9:.2f} s, "
                            f"calculate {batch_calc_ns / 1e9:.3f} s "
                            f"({persons / (batch_calc_ns / 1e9):,.0f} persons/s calculating "
                            f"alone; the build grows faster than linearly with the situation)")
    elif ofm is None:
        of_lines.append(f"OpenFisca: not installed ({OPENFISCA_ERROR}); see bench/README.md.")

    # report
    print(f"gongfu-rules single-profile benchmark — {args.n} households, {persons} persons "
          f"(sizes {dict(sorted(sizes.items()))}), seed {args.seed}, on {on}")
    print(f"standards: {std.name} {std.version}, {len(std)} standards "
          f"({', '.join(s.id for s in std)}); load {load_ms:.0f} ms, {load_mb:.1f} MB traced")
    print(f"profile parsing (parse_household, pydantic; excluded below): p50 "
          f"{percentile(parse_us, 50):.0f} µs/person, p90 {percentile(parse_us, 90):.0f}, "
          f"p99 {percentile(parse_us, 99):.0f}; {parse_persons / (parse_total / 1e9):,.0f} "
          f"persons/s")
    print()
    header = f"{'engine':<10} {'mode':<26} {'p50 µs/p':>9} {'p90':>8} {'p99':>8} " \
             f"{'persons/s':>10} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        p = [f"{x:.0f}" for x in r.p] if r.p else ["—"] * 3
        rate = f"{r.rate:,.0f}" if r.rate else "—"
        peak = f"{r.peak_mb:.2f}" if r.peak_mb is not None else "—"
        print(f"{r.engine:<10} {r.mode:<26} {p[0]:>9} {p[1]:>8} {p[2]:>8} {rate:>10} {peak:>8}")
    print()
    for line in of_lines:
        print(line)
    print()
    print("µs/p: wall time of one household's evaluation divided by its members; persons/s: "
          "persons / summed time. peak MB: tracemalloc peak above the live baseline during a "
          f"pass over {len(mem_sample)} households (batch: over all), results discarded.")
    print(f"process max RSS: {maxrss_mb():.0f} MB; python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, "
          f"cpu count {os.cpu_count()} ({cpu_model()}); {versions()}; "
          f"run took {time.perf_counter() - started:.0f} s")

    if args.profile:
        print()
        print("cProfile, gongfu evaluate_on explain=False over all households, top 10 by "
              "cumulative time:")
        profiler = cProfile.Profile()
        profiler.enable()
        for h in households:
            evaluate_on(h, on, std, False)
        profiler.disable()
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(10)
        print("\n".join(line for line in buffer.getvalue().splitlines()
                        if line.strip() and not line.startswith("   Ordered")))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def versions() -> str:
    out = []
    for name in ("pydantic", "numpy", "openfisca-core"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(out)


if __name__ == "__main__":
    main()
