"""A synthetic, weighted caseload of Yunnan's counties for costing reforms.

``gongfu population synth --size N [--region 53] --seed S -o FILE`` writes N persons in the
batch input format (``docs/batch.md``) plus a ``weight`` column. The same seed gives the same
file. It is a *test population*, not a census: the sources give a few province-wide counts and
nothing about ages, household sizes or incomes by county, so most of its shape is a guess, and
every figure below says which it is.

From the sources (calibrated exactly, through the weights and the counts of flagged persons):

- **2,624,500 城乡低保对象** and **129,000 特困人员** in Yunnan (Yunnan's 2023–2025 action plan,
  draft, 一、发展基础 ——弱有所扶: "对262.45万城乡低保对象、12.9万特困人员开展基本生活救助工作";
  ``research/seeds001_004_indicators.yaml`` ``yn_social_assistance_caseload``). Every person
  gets the same weight, set so that the weighted number of persons in 低保 households is
  2,624,500; the number of 特困 persons drawn is 129,000 / weight.
- **Counties**: the 129 county-level divisions of province 53 in GB/T 2260 (NBS 2023 edition,
  the package's ``data/divisions``).

Derived from a source by an assumption (said so):

- **Orphans**: 腾冲市 paid 174 scattered-care orphans and 539 de facto unsupported children in
  Q3 2023 (Tengchong civil-affairs disclosure, cited in
  ``standards/parameters/child_living_standard.yaml``). *Assumption*: every county has as
  many, so the province has 174 × 129 orphans and 539 × 129 de facto unsupported children;
  one orphan in ten is in institutional care (*a guess*).

Guesses (no source gives them; change them freely):

- Counties are equally populated; a household has 1–5 members (shares 15/25/25/20/15 %);
  members' ages are spread evenly over 0–89 years; sex is half and half.
- A 低保 household is one in twelve; its per-capita income is spread evenly below the local
  line (urban 744, rural 560 元/月, the 2025 provincial figures rounded down), others'
  between 600 and 4,000 元/月; half the households are urban.
- One person in fifty holds a disability certificate, grades 1–4 equally.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from ..errors import InputError
from ..regions import is_within, regions

DIBAO_PERSONS = 2_624_500  # Yunnan action plan 2023–2025 (draft), 一、发展基础
TEKUN_PERSONS = 129_000  # same sentence
TENGCHONG_ORPHANS = 174  # Tengchong Q3 2023, scattered-care orphans (derived, one county)
TENGCHONG_DE_FACTO = 539  # Tengchong Q3 2023, de facto unsupported children
# Guesses, said so in the module docstring.
SIZE_SHARES = (15, 25, 25, 20, 15)
DIBAO_SHARE = 12  # one household in twelve
URBAN_LINE, RURAL_LINE = 744, 560
REFERENCE_DAY = date(2026, 1, 1)


def counties(region: str = "53") -> list[str]:
    """The county-level codes under ``region`` (a province, prefecture or county code)."""
    code = regions().normalize(region)
    if code is None or not is_within(code, "53"):
        raise InputError.one("region_unknown", f"'{region}' is not a region of Yunnan (53): "
                             "the synthetic population covers Yunnan only", loc=("region",))
    table = regions()
    out = [c for c in _all_counties() if is_within(c, code)]
    if not out:
        raise InputError.one("region_unknown", f"no county under {table.name(code)}",
                             loc=("region",))
    return out


def _all_counties() -> list[str]:
    path = Path(__file__).resolve().parent.parent / "data" / "divisions" / "areas.csv"
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return [r.split(",")[0] for r in rows if r.startswith("53")]


def synthesize(size: int, *, region: str = "53", seed: int = 0) -> pl.DataFrame:
    """``size`` persons in households, with a ``weight`` column (see the module docstring)."""
    if size < 1:
        raise InputError.one("size_invalid", "--size must be at least 1", loc=("size",))
    rng = random.Random(seed)
    places = counties(region)
    share = Decimal(len(places)) / 129  # the source counts are province-wide
    cols: dict[str, list] = {k: [] for k in (
        "household_id", "person_id", "role", "birth_date", "sex", "hukou_region", "orphan",
        "child_care_arrangement", "de_facto_unsupported_child", "disability_certificate",
        "disability_grade", "tekun", "household.per_capita_monthly_income",
        "household.area_type", "household.dibao")}
    dibao_persons = 0
    n = 0
    h = 0
    while n < size:
        h += 1
        members = min(rng.choices(range(1, 6), weights=SIZE_SHARES)[0], size - n)
        county = rng.choice(places)
        urban = rng.random() < 0.5
        dibao = rng.randrange(DIBAO_SHARE) == 0
        line = URBAN_LINE if urban else RURAL_LINE
        income = rng.randrange(0, line) if dibao else rng.randrange(600, 4000)
        dibao_persons += members if dibao else 0
        for i in range(members):
            age_days = rng.randrange(0, 90 * 365)
            disabled = rng.randrange(50) == 0
            cols["household_id"].append(f"h{h}")
            cols["person_id"].append(f"p{i + 1}")
            cols["role"].append("户主" if i == 0 else "其他")
            cols["birth_date"].append(date.fromordinal(REFERENCE_DAY.toordinal() - age_days)
                                      .isoformat())
            cols["sex"].append(rng.choice(("男", "女")))
            cols["hukou_region"].append(county)
            cols["disability_certificate"].append("是" if disabled else "")
            cols["disability_grade"].append(str(rng.randint(1, 4)) if disabled else "")
            cols["household.per_capita_monthly_income"].append(str(income))
            cols["household.area_type"].append("urban" if urban else "rural")
            cols["household.dibao"].append("是" if dibao else "否")
            for k in ("orphan", "child_care_arrangement", "de_facto_unsupported_child", "tekun"):
                cols[k].append("")
        n += members
    weight = Decimal(DIBAO_PERSONS * share) / max(dibao_persons, 1)
    _flag_children(cols, rng, round(TENGCHONG_ORPHANS * len(places) / weight),
                   round(TENGCHONG_DE_FACTO * len(places) / weight))
    _flag(cols, rng, "tekun", round(TEKUN_PERSONS * share / weight), adult=True)
    frame = pl.DataFrame(cols)
    return frame.with_columns(pl.lit(str(weight.quantize(Decimal("0.0001")))).alias("weight"))


def _children(cols: dict, adult: bool = False) -> list[int]:
    cutoff = date(REFERENCE_DAY.year - 18, REFERENCE_DAY.month, REFERENCE_DAY.day).isoformat()
    return [i for i, b in enumerate(cols["birth_date"]) if (b <= cutoff) == adult]


def _flag_children(cols: dict, rng: random.Random, orphans: int, de_facto: int) -> None:
    pool = _children(cols)
    rng.shuffle(pool)
    for i in pool[:orphans]:
        cols["orphan"][i] = "是"
        cols["child_care_arrangement"][i] = "集中" if rng.randrange(10) == 0 else "散居"
    for i in pool[orphans:orphans + de_facto]:
        cols["de_facto_unsupported_child"][i] = "是"


def _flag(cols: dict, rng: random.Random, column: str, count: int, adult: bool) -> None:
    pool = _children(cols, adult=adult)
    for i in rng.sample(pool, min(count, len(pool))):
        cols[column][i] = "是"


def write_population(frame: pl.DataFrame, path: Path) -> None:
    """CSV (UTF-8 with a byte-order mark, for Excel), Parquet or JSONL, by the suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        frame.write_ndjson(path)
    elif suffix == ".csv":
        path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode("utf-8"))
    else:
        raise InputError.one("format_unknown", f"cannot tell the format of '{path}': use .csv, "
                             ".parquet or .jsonl", loc=("output",))
