"""Benchmark: one household at a time (the portal case), gongfu-rules vs OpenFisca.

Run (see bench/README.md):

    python bench/single_profile.py                 # 1000 three-person households, 3 rounds
    python bench/single_profile.py --n 300 --rounds 2
    python bench/single_profile.py --against /tmp/before   # and another tree of gongfu

It prints figures only (no asserts): per-household latency p50/p99 of gongfu's public
``evaluate()`` on every standard of the set, without and with explanations, interleaved with
the fair OpenFisca model (``openfisca_model.py``, 11 mirrored standards) on the same
households through its array path (a batch of households in one simulation, the cost divided
by the households; and one household per simulation) and, for context, through its JSON
situation path; and how many amounts the two engines agree on. In-process, one core.

``--against SRC`` (another source tree of gongfu, e.g. a ``git worktree`` of an earlier
commit) loads that tree's ``evaluate`` too, in this one process, with its own standards and
its own parse of the same households, and times it in the same rotation; it prints the two
trees' p50s and the median of the household-by-household ratio of their best times.
"""

from __future__ import annotations

import argparse
import csv
import gc
import importlib
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
try:
    import gongfu_rules  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

from gongfu_rules import evaluate, load_standards, parse_household
from gongfu_rules.profile import id_number_check_character

sys.path.insert(0, str(Path(__file__).resolve().parent))  # openfisca_model
try:
    import openfisca_model as ofm
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

    def household(self, index: int, size: int | None = None) -> dict:
        """A household dict of ``size`` members (default 1-5 at random; now and then a lone
        person, a child in care, when the size is 1)."""
        rng, maybe = self.rng, self.maybe
        home = self.county()
        kunming = home[:4] == KUNMING
        urban = maybe(0.65 if kunming else 0.35)
        agricultural = maybe(0.35 if kunming else 0.7)
        dibao = maybe(0.10)
        size = size or rng.choices((1, 2, 3, 4, 5), weights=(20, 25, 25, 18, 12))[0]
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
        _only_child_consistent(members, [role for role, _ in ages])
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


def _only_child_consistent(members: list[dict], roles: list[str]) -> None:
    """Where the household lists one ``child`` member, a head's or spouse's only child is that
    member, as in a real roster: their sex becomes the stated only child's sex (gongfu reads
    the member; the OpenFisca model reads the stated answer, so the two must agree)."""
    children = [m for m, r in zip(members, roles) if r == "child"]
    if len(children) != 1:
        return
    c = children[0]
    male = c["sex"] in ("男", "male", "M") if "sex" in c else int(c["id_number"][16]) % 2 == 1
    for m, r in zip(members, roles):
        if r in ("head", "spouse") and m.get("only_child_parent"):
            m["only_child_sex"] = "male" if male else "female"


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


def read_explanations(result) -> int:
    """Read every result's explanation text (zh and en), as a portal showing them does, so
    that explanations built lazily are counted too. Returns the characters read."""
    chars = 0
    for results in [*result.persons.values(), result.household]:
        for r in results:
            text = r.explanation
            if text is not None:
                chars += len(text.zh) + len(text.en)
    return chars


class Engine:
    """One measured path: ``run(block)`` evaluates a block of households and returns one
    sample per household (ns) — its own time, or the block's time divided by its size."""

    def __init__(self, name: str, mode: str, standards: str, run) -> None:
        self.name, self.mode, self.standards, self.run = name, mode, standards, run
        self.best: dict[int, int] = {}  # sample index → best ns over the rounds

    def record(self, first: int, samples: list[int]) -> None:
        for i, ns in enumerate(samples, start=first):
            if i not in self.best or ns < self.best[i]:
                self.best[i] = ns


def timed_each(items, call) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for item in items:
        t0 = clock()
        call(item)
        out.append(clock() - t0)
    return out


# --- comparison ---------------------------------------------------------------------------------

def gongfu_amounts(households: list, on: date, std, covered: list[str]):
    """``[{person position: {standard: amount or None}}]`` per household, eligible and
    not-eligible results only (OpenFisca has no unknowns to compare an undetermined result
    with), and the undetermined count per standard."""
    out, undetermined = [], Counter()
    wanted = set(covered)
    for h in households:
        evaluation = evaluate(h, on=on, standards=std, explain=False)
        rows = {}
        for position, member in enumerate(h.members):
            row = {}
            for r in evaluation.persons[member.id]:
                if r.standard_id not in wanted:
                    continue
                if r.status == "undetermined":
                    undetermined[r.standard_id] += 1
                else:
                    row[r.standard_id] = ofm.comparable(r)
            rows[position] = row
        out.append(rows)
    return out, undetermined


def compare(mine: list[dict], theirs: list[dict]) -> tuple[int, int, list]:
    """(compared, disagreeing, first disagreements) over person × standard amounts."""
    compared = 0
    wrong = []
    for index, (rows, other) in enumerate(zip(mine, theirs)):
        for position, row in rows.items():
            for sid, amount in row.items():
                compared += 1
                value = other.get(position, {}).get(sid, float("nan"))
                if not ofm.same_amount(amount, value):
                    wrong.append((index, position, sid, amount, value))
    return compared, len(wrong), wrong[:5]


def by_position_from_arrays(values: dict, sizes: list[int]) -> list[dict]:
    """Person-length arrays per standard → ``[{position: {standard: amount}}]`` per household."""
    out, start = [], 0
    for size in sizes:
        out.append({p: {sid: float(v[start + p]) for sid, v in values.items()}
                    for p in range(size)})
        start += size
    return out


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="households (default 1000)")
    ap.add_argument("--size", type=int, default=3, help="members per household (default 3)")
    ap.add_argument("--block", type=int, default=100,
                    help="households per OpenFisca array simulation (default 100)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timing rounds; each sample's best round counts (default 3)")
    ap.add_argument("--json-n", type=int, default=300,
                    help="households also run through OpenFisca's JSON path (default 300)")
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--on", default="2025-08-01", help="evaluation date (default 2025-08-01)")
    ap.add_argument("--standards", default=str(REPO / "standards"))
    ap.add_argument("--against", type=Path, default=None, metavar="SRC",
                    help="another source tree of gongfu, timed in turn in this process")
    args = ap.parse_args()
    on = date.fromisoformat(args.on)
    started = time.perf_counter()

    std = load_standards(args.standards)
    gen = Generator(args.seed, on)
    data = [gen.household(i, args.size) for i in range(args.n)]
    t0 = time.perf_counter_ns()
    households = [parse_household(d) for d in data]
    parse_us = (time.perf_counter_ns() - t0) / len(households) / 1000
    sizes = [len(h.members) for h in households]
    blocks = [households[i:i + args.block] for i in range(0, len(households), args.block)]

    def gongfu_plain(h):
        evaluate(h, on=on, standards=std, explain=False)

    def gongfu_explained(h):
        read_explanations(evaluate(h, on=on, standards=std, explain=True))

    everything = f"all {len(std)}"
    engines = [
        Engine("gongfu", "no explanations", everything,
               lambda block: timed_each(block, gongfu_plain)),
        Engine("gongfu", "explanations (read zh + en)", everything,
               lambda block: timed_each(block, gongfu_explained)),
    ]
    notes: list[str] = []
    if args.against is not None:
        engines.append(other_tree(args.against.resolve(), data, on, args.block))
    model = None
    if ofm is not None:
        model = ofm.build_model(std, on)
        mirrored = str(len(model.covered))
        arrays = [ofm.household_arrays(block) for block in blocks]
        singles = [[ofm.household_arrays([h]) for h in block] for block in blocks]
        situations = [[ofm.situation([h], model.period) for h in block] for block in blocks]

        def arrays_block(index):
            def run(block):
                t0 = time.perf_counter_ns()
                ofm.calculate_all(model, ofm.simulation_from_arrays(model, *arrays[index]))
                per = (time.perf_counter_ns() - t0) // len(block)
                return [per] * len(block)
            return run

        def arrays_single(index):
            return lambda block: timed_each(singles[index], lambda a: ofm.calculate_all(
                model, ofm.simulation_from_arrays(model, *a)))

        def json_path(index):
            return lambda block: timed_each(situations[index][:max(0, args.json_n
                                                                   - index * args.block)],
                                            lambda s: ofm.calculate(model, s))
        engines += [
            Engine("OpenFisca", f"arrays, {args.block} households per simulation, ÷ "
                   f"{args.block}", mirrored, arrays_block),
            Engine("OpenFisca", "arrays, 1 household per simulation", mirrored, arrays_single),
            Engine("OpenFisca", "JSON situation per household (context)", mirrored, json_path),
        ]
    else:
        notes.append(f"OpenFisca: not installed ({OPENFISCA_ERROR}); pip install -e '.[bench]'")

    # warm-up, then rounds: within a round the engines take turns block by block
    for engine in engines:
        run = engine.run if engine.name == "gongfu" else engine.run(0)
        run(blocks[0][:20])
    for round_ in range(args.rounds):
        for b, block in enumerate(blocks):
            turn = engines[(b + round_) % len(engines):] + engines[:(b + round_) % len(engines)]
            for engine in turn:
                gc.collect()
                run = engine.run if engine.name == "gongfu" else engine.run(b)
                engine.record(b * args.block, run(block))

    # agreement, on every household
    if model is not None:
        mine, undetermined = gongfu_amounts(households, on, std, model.covered)
        of_arrays = []
        for block, a in zip(blocks, arrays):
            values = ofm.calculate_all(model, ofm.simulation_from_arrays(model, *a))
            of_arrays += by_position_from_arrays(values, [len(h.members) for h in block])
        of_json = []
        for h in households[:args.json_n]:
            got = ofm.calculate(model, ofm.situation([h], model.period))
            of_json.append({p: got[m.id] for p, m in enumerate(h.members)})
        for label, theirs in (("arrays", of_arrays), ("JSON", of_json)):
            compared, wrong, first = compare(mine[:len(theirs)], theirs)
            notes.append(f"agreement with OpenFisca ({label}): {compared:,} person × standard "
                         f"amounts compared, {wrong:,} disagreeing")
            for index, position, sid, a, b in first:
                notes.append(f"  DISAGREE household {index} member {position} {sid}: gongfu "
                             f"{a} vs OpenFisca {b}")
        notes.append(f"not compared (undetermined in gongfu; OpenFisca has no unknowns): "
                     f"{sum(undetermined.values()):,}")
        notes.append(f"mirrored standards: {', '.join(model.covered)}")
        for sid, why in model.skipped.items():
            if not why.startswith("no OpenFisca"):
                notes.append(f"  not mirrored: {sid} ({why})")

    print(f"single-profile benchmark — {args.n} households of {args.size} persons, seed "
          f"{args.seed}, on {on}, {args.rounds} rounds, engines interleaved block by block "
          f"({args.block} households a block)")
    print(f"standards: {std.name} {std.version}, {len(std)} standards; parsing a household "
          f"(parse_household, excluded below): {parse_us:.0f} µs")
    print()
    print("| engine | path | standards | p50 µs/household | p99 µs/household | households |")
    print("|---|---|---:|---:|---:|---:|")
    for e in engines:
        samples = [ns / 1000 for ns in e.best.values()]
        if samples:
            print(f"| {e.name} | {e.mode} | {e.standards} | {percentile(samples, 50):,.0f} | "
                  f"{percentile(samples, 99):,.0f} | {len(samples):,} |")
    print()
    p50 = {e: percentile([ns / 1000 for ns in e.best.values()], 50) for e in engines if e.best}
    if args.against is not None:
        other = engines[2]
        ratios = [other.best[i] / engines[0].best[i] for i in other.best]
        print(f"{other.name} ÷ this tree, no explanations: p50 {p50[other] / p50[engines[0]]:.2f}; "
              f"household by household, median {percentile(ratios, 50):.2f} "
              f"(p25 {percentile(ratios, 25):.2f}, p75 {percentile(ratios, 75):.2f})")
        engines.remove(other)
    for mine in engines[:2]:
        for theirs in engines[2:]:
            if mine in p50 and theirs in p50:
                print(f"speed at p50, gongfu {mine.mode} vs OpenFisca {theirs.mode}: "
                      f"{p50[theirs] / p50[mine]:.2f}× (above 1: gongfu is faster)")
    for line in notes:
        print(line)
    print()
    print("Timed (time.perf_counter_ns, in this one process, best of the rounds for each "
          "sample): gongfu — evaluate(household, on=..., standards=std, explain=...) on a "
          "parsed Household, every standard; with explanations it also reads each result's "
          "zh and en text. OpenFisca arrays — SimulationBuilder from integer arrays (ids, "
          "household index, role index, each input) + set_input + calculate of every mirrored "
          "standard; the arrays are made from the parsed households beforehand (like parsing, "
          "not timed); a batch's time is divided by its households, so its p50/p99 are over "
          "batches. OpenFisca JSON — build_from_entities of a prepared situation dict + "
          "calculate, per household.")
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; "
          f"{versions()}; run took {time.perf_counter() - started:.0f} s")


def other_tree(src: Path, data: list[dict], on: date, block: int) -> Engine:
    """An engine timing another source tree's ``evaluate()`` (no explanations) on the same
    households, parsed by that tree, against its own bundled standards. Its modules are
    imported afresh and this tree's put back: each tree's functions keep their own modules."""
    ours = {n: m for n, m in sys.modules.items() if n.split(".")[0] == "gongfu_rules"}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(src / "src"))
    try:
        theirs = importlib.import_module("gongfu_rules")
        std = theirs.load_standards(src / "standards")
        households = [theirs.parse_household(d) for d in data]
    finally:
        sys.path.pop(0)
        for name in [n for n in sys.modules if n.split(".")[0] == "gongfu_rules"]:
            del sys.modules[name]
        sys.modules.update(ours)
    blocks = [households[i:i + block] for i in range(0, len(households), block)]

    def run(index):
        return lambda _: timed_each(blocks[index], lambda h: theirs.evaluate(
            h, on=on, standards=std, explain=False))
    return Engine(f"gongfu {src.name}", "no explanations", f"all {len(std)}", run)


def versions() -> str:
    out = []
    for name in ("gongfu-rules", "pydantic", "numpy", "openfisca-core"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(out)


if __name__ == "__main__":
    main()
