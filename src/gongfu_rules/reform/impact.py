"""Baseline against reform on one population: cost, beneficiaries, gainers and losers.

Both sets are evaluated by the batch engine's public :func:`~gongfu_rules.batch.evaluate_table`
with ``only=`` the standards the reform can change and those linked to them by exclusions;
every other standard gives the same result under both, so it is left out of both. Money is read
from the result columns by name (``ID.total`` over a period, ``ID.annual_amount`` on a date) as
exact decimals. With a ``weight`` column (权重) every count and sum is weighted; a household
counts with its first member's weight (give every member the household's weight).

The cost is the amount paid over ``--period`` (so a change from July counts six months of a
year), or on ``--on DATE`` the annual figure of that day's amounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from ..batch import evaluate_table, read_whole
from ..columns import HOUSEHOLD, PERSON, ROW, map_headers
from ..dates import parse_date, parse_period
from ..errors import InputError
from ..evaluate import evaluate
from ..model import StandardsSet
from ..regions import regions
from .apply import Applied

WEIGHT_HEADERS = ("weight", "权重")
_W = pl.Decimal(38, 4)
_MONEY = pl.Decimal(38, 2)
CENT = Decimal("0.01")
#: PolicyEngine's five-way split of households by their change relative to income.
BANDS = ("lose_more_5pct", "lose_less_5pct", "no_change", "gain_less_5pct", "gain_more_5pct")


@dataclass
class Population:
    """A caseload read for comparison: the rows the batch engine reads, weights beside them."""

    frame: pl.DataFrame  # without the weight column, as the batch engine takes it
    weights: pl.Series  # Decimal, one per row (1 without a weight column)
    weighted: bool
    digest: str
    columns: dict[str, str]  # canonical name -> column as written
    ignored: list[str] = field(default_factory=list)  # columns that are not profile fields


def read_population(source: str | Path | pl.DataFrame) -> Population:
    """A population file (any batch format) or frame; its ``weight`` column taken aside."""
    if isinstance(source, pl.DataFrame):
        raw = source
        digest = hashlib.sha256(source.write_csv().encode()).hexdigest()[:16]
    else:
        path = Path(source)
        raw = read_whole(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "?"
    wcol = next((c for c in raw.columns if c.strip().lower() in WEIGHT_HEADERS), None)
    if wcol is None:
        weights, frame = pl.Series("weight", [Decimal(1)] * raw.height, dtype=_W), raw
    else:
        weights, frame = _weights(raw.get_column(wcol)), raw.drop(wcol)
    mapping, ignored = map_headers(frame.columns, ignore_unknown=True)
    return Population(frame, weights, wcol is not None, digest, {v: k for k, v in mapping.items()},
                      ignored)


def _weights(column: pl.Series) -> pl.Series:
    text = column.cast(pl.String).str.strip_chars()
    values = text.cast(_W, strict=False)
    bad = (values.is_null() | (values < 0)).arg_true()
    if len(bad):
        raise InputError.one("weight_invalid", f"the weight column needs a number >= 0 on every "
                             f"row; row {bad[0] + 1} has none ({len(bad)} rows in all)",
                             loc=("weight", int(bad[0]) + 1))
    return values.alias("weight")


@dataclass
class Impact:
    """The figures of one comparison, as plain data (see :meth:`to_dict`)."""

    stamp: dict[str, Any]
    time: dict[str, Any]
    weighted: bool
    rows: int
    set_aside: int
    by_standard: list[dict[str, Any]]
    by_prefecture: list[dict[str, Any]]
    by_county: list[dict[str, Any]]
    households: dict[str, Any]
    deciles: list[dict[str, Any]]
    bands: dict[str, Any]
    dibao_line: dict[str, Any]
    examples: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    target: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> dict[str, Decimal]:
        keys = ("baseline", "reform", "change")
        return {k: sum((Decimal(r[k]) for r in self.by_standard), Decimal(0)) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return _plain({k: getattr(self, k) for k in self.__dataclass_fields__}
                      | {"total": self.total})


def package_version() -> str:
    try:
        return version("gongfu-rules")
    except PackageNotFoundError:  # a source tree that is not installed
        return "unknown"


def compare(population: Population, baseline: StandardsSet, applied: Applied, *,
            on: date | str | None = None, period: str | None = None, examples: int = 5
            ) -> Impact:
    """Evaluate ``population`` under ``baseline`` and under ``applied.standards``; the figures."""
    if (on is None) == (period is None):
        raise InputError.one("time_invalid", "give exactly one of 'on' (a date) or 'period'",
                             loc=("on",))
    only = list(applied.affected)
    base = evaluate_baseline(population, baseline, applied, on=on, period=period)
    ref = evaluate_table(population.frame, on, period=period, standards=applied.standards,
                         only=only, ignore_extra_columns=True)
    field_ = "total" if period is not None else "annual_amount"
    table = _joined(population, base, ref, only, field_)
    ok = table.filter(pl.col("__ok"))
    h = _households(ok)
    return Impact(
        stamp=_stamp(baseline, applied, population),
        time={"on": str(parse_date(on)) if on is not None else None, "period": period,
              "cost": "paid over the period" if period else "annual figure of the day's amounts"},
        weighted=population.weighted, rows=table.height, set_aside=table.height - ok.height,
        by_standard=_by_standard(ok, only, applied.standards),
        by_prefecture=_by_region(ok, "__prefecture"), by_county=_by_region(ok, "__county"),
        households=_households_summary(h), deciles=_deciles(h), bands=_bands(h),
        dibao_line=_dibao_line(h, population, baseline, applied, on, period),
        examples=_examples(population, ok, h, only, baseline, applied, on, period, examples),
        warnings=[w.to_dict() for w in applied.warnings],
        notes=[f"columns not read: {', '.join(population.ignored)}"] if population.ignored else [])


def cost_change(population: Population, base: pl.DataFrame, applied: Applied, *,
                on: date | str | None = None, period: str | None = None) -> Decimal:
    """The reform's cost against the baseline's results ``base``: the total change alone."""
    only = list(applied.affected)
    ref = evaluate_table(population.frame, on, period=period, standards=applied.standards,
                         only=only, ignore_extra_columns=True)
    table = _joined(population, base, ref, only, "total" if period is not None else "annual_amount")
    got = _totals(table.filter(pl.col("__ok")), {"change": pl.col("__r") - pl.col("__b")})
    return _yuan(got["change"])


def evaluate_baseline(population: Population, baseline: StandardsSet, applied: Applied, *,
                      on: date | str | None = None, period: str | None = None) -> pl.DataFrame:
    """The baseline's results for the standards the reform can change (kept when a target
    search evaluates many reforms against one baseline)."""
    return evaluate_table(population.frame, on, period=period, standards=baseline,
                          only=[s for s in applied.affected if s in baseline.standards],
                          ignore_extra_columns=True)


# --- one frame: a row per person, baseline and reform amounts side by side --------------------
def _money(schema: dict[str, Any], sid: str, field_: str) -> pl.Expr:
    """A standard's money column in whole fen (exact: amounts have two places), 0 where none.
    Sums of integers are fast; every figure is turned back into yuan by :func:`_yuan`."""
    name = f"{sid}.{field_}"
    if name not in schema:
        return pl.lit(0, dtype=pl.Int64)
    dtype = schema[name]
    if isinstance(dtype, pl.Decimal) and dtype.scale == 2:
        # the stored integer of a two-place decimal is the fen itself: no decimal arithmetic
        return pl.col(name).to_physical().cast(pl.Int64).fill_null(0)
    column = pl.col(name) if dtype.is_numeric() else pl.col(name).cast(pl.String)
    return (column.cast(_MONEY, strict=False) * 100).cast(pl.Int64).fill_null(0)


def _eligible(schema: dict[str, Any], sid: str) -> pl.Expr:
    name = f"{sid}.status"
    if name not in schema:
        return pl.lit(False)
    status = pl.col(name)
    if not (isinstance(schema[name], pl.Enum) and "eligible" in schema[name].categories):
        status = status.cast(pl.String)
    return (status == "eligible").fill_null(False)


def _unpriced(schema: dict[str, Any], sid: str, field_: str) -> pl.Expr:
    name = f"{sid}.{field_}"
    if name not in schema:
        return pl.lit(False)
    return _eligible(schema, sid) & pl.col(name).is_null()


def _joined(pop: Population, base: pl.DataFrame, ref: pl.DataFrame, only: list[str],
            field_: str) -> pl.DataFrame:
    facts = pop.frame.select(
        _column(pop, "hukou_region", "residence_region", "household.region").alias("__region"),
        _column(pop, "household.per_capita_monthly_income").alias("__income"),
        _column(pop, "household.area_type").alias("__area")).with_columns(
        pl.Series(ROW, range(1, pop.frame.height + 1)), pop.weights.alias("__w"))
    bs, rs = dict(base.schema), dict(ref.schema)
    b = base.select(ROW, HOUSEHOLD, PERSON, pl.col("errors").is_null().alias("__ok"),
                    *(_money(bs, s, field_).alias(f"b.{s}") for s in only),
                    *(_eligible(bs, s).alias(f"be.{s}") for s in only),
                    *(_unpriced(bs, s, field_).alias(f"bu.{s}") for s in only))
    r = ref.select(ROW, *(_money(rs, s, field_).alias(f"r.{s}") for s in only),
                   *(_eligible(rs, s).alias(f"re.{s}") for s in only),
                   *(_unpriced(rs, s, field_).alias(f"ru.{s}") for s in only))
    out = b.join(r, on=ROW, how="left").join(facts, on=ROW, how="left")
    base_sum, ref_sum = _row_change(only)  # once, for the regions, households and the cost
    out = out.with_columns(__b=base_sum, __r=ref_sum)
    codes = out.get_column("__region").unique()
    table = pl.DataFrame({"__region": codes, "__county": [_county(c) for c in codes]},
                         schema={"__region": pl.String, "__county": pl.String})
    out = out.join(table, on="__region", how="left", nulls_equal=True)
    return out.with_columns(__prefecture=pl.col("__county").str.slice(0, 4))


def _column(pop: Population, *names: str) -> pl.Expr:
    for name in names:
        if name in pop.columns:
            return pl.col(pop.columns[name]).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


def _county(code: str | None) -> str:
    norm = regions().normalize(code) if code else None
    return norm if norm else "?"


#: Up to this many distinct weights, sums are taken per weight in integers and multiplied after.
_WEIGHT_CLASSES = 256


def _totals(frame: pl.DataFrame, measures: dict[str, pl.Expr], by: str | None = None
            ) -> dict[Any, dict[str, Decimal]]:
    """Weighted sums of integer ``measures`` (fen, or booleans counted), exact, per ``by``.

    Rows are grouped by weight (a caseload has few distinct weights) and summed as plain
    integers; each group's sums are then multiplied by its weight as a Decimal. With many
    distinct weights every row's product is taken in Polars decimals instead."""
    keys = [by] if by else []
    ints = {k: e.cast(pl.Int64) for k, e in measures.items()}
    weights = frame.get_column("__w").unique()
    if len(weights) == 1 and not keys:  # one weight (or none): a plain select, the cheapest pass
        groups = frame.select(**{k: e.sum() for k, e in ints.items()}, __w=pl.lit(weights[0]))
    elif len(weights) <= _WEIGHT_CLASSES:
        groups = frame.group_by([*keys, "__w"]).agg(**{k: e.sum() for k, e in ints.items()})
    else:
        products = {k: (e.cast(pl.Decimal(38, 0)) * pl.col("__w")).sum() for k, e in ints.items()}
        groups = (frame.group_by(keys).agg(**products) if keys else frame.select(**products)) \
            .with_columns(__w=pl.lit(Decimal(1), dtype=_W))
    out: dict[Any, dict[str, Decimal]] = {}
    for row in groups.iter_rows(named=True):
        got = out.setdefault(row[by] if by else None, dict.fromkeys(measures, Decimal(0)))
        w = Decimal(row["__w"])
        for k in measures:
            got[k] += Decimal(row[k] or 0) * w
    return out if by else out.get(None, dict.fromkeys(measures, Decimal(0)))


def _by_standard(ok: pl.DataFrame, only: list[str], std: StandardsSet) -> list[dict[str, Any]]:
    def measures(sid: str) -> dict[str, pl.Expr]:
        b, r = pl.col(f"b.{sid}"), pl.col(f"r.{sid}")
        be, re = pl.col(f"be.{sid}"), pl.col(f"re.{sid}")
        return {"baseline": b, "reform": r, "beneficiaries_baseline": be,
                "beneficiaries_reform": re, "gained": re & ~be, "lost": be & ~re,
                "unpriced_baseline": pl.col(f"bu.{sid}"), "unpriced_reform": pl.col(f"ru.{sid}")}

    # one pass over the rows for every standard and measure
    got = _totals(ok, {f"{sid}|{k}": e for sid in only for k, e in measures(sid).items()})
    rows = []
    for sid in only:
        s = std[sid]
        row = {k: (_yuan if k in ("baseline", "reform") else _round)(got[f"{sid}|{k}"])
               for k in measures(sid)}
        row["change"] = row["reform"] - row["baseline"]
        rows.append({"standard": sid, "name_zh": s.name.zh, "name_en": s.name.en,
                     "entity": s.entity, **row})
    return rows


def _row_change(only: list[str]) -> tuple[pl.Expr, pl.Expr]:
    base = pl.sum_horizontal(*(pl.col(f"b.{s}") for s in only)) if only else pl.lit(0)
    ref = pl.sum_horizontal(*(pl.col(f"r.{s}") for s in only)) if only else pl.lit(0)
    return base, ref


def _by_region(ok: pl.DataFrame, key: str) -> list[dict[str, Any]]:
    """Per region the row sums ``__b`` and ``__r`` that :func:`_joined` made."""
    got = _totals(ok, {"baseline": pl.col("__b"), "reform": pl.col("__r"),
                       "persons": pl.col(ROW).is_not_null()}, by=key)  # each row counts 1
    return [{"region": region, "name": _region_name(region),
             "baseline": _yuan(t["baseline"]), "reform": _yuan(t["reform"]),
             "change": _yuan(t["reform"]) - _yuan(t["baseline"]), "persons": _round(t["persons"])}
            for region, t in sorted(got.items())]


def _region_name(code: str) -> str:
    if code == "?":
        return "?"
    return regions().name(code)


# --- households ------------------------------------------------------------------------------
def _households(ok: pl.DataFrame) -> pl.DataFrame:
    return ok.group_by(HOUSEHOLD, maintain_order=True).agg(
        pl.col("__w").first().alias("w"), pl.len().alias("size"),
        pl.col("__b").sum().alias("baseline"), pl.col("__r").sum().alias("reform"),
        pl.col("__income").first().cast(_MONEY, strict=False).alias("income"),
        pl.col("__area").first().alias("area"), pl.col("__county").first().alias("county"),
        pl.col(ROW).first().alias("row")).with_columns(
        change=pl.col("reform") - pl.col("baseline"))


def _households_summary(h: pl.DataFrame) -> dict[str, Any]:
    got = h.select(
        households=pl.col("w").sum(),
        gainers=_hcount(pl.col("change") > 0), losers=_hcount(pl.col("change") < 0),
        gain=_hsum(pl.when(pl.col("change") > 0).then(pl.col("change")).otherwise(0)),
        loss=_hsum(pl.when(pl.col("change") < 0).then(-pl.col("change")).otherwise(0))
    ).row(0, named=True)
    return {k: (_yuan if k in ("gain", "loss") else _round)(v) for k, v in got.items()}


def _hsum(fen: pl.Expr) -> pl.Expr:
    """A household-weighted sum of fen."""
    return (fen.cast(pl.Decimal(38, 0)) * pl.col("w")).sum()


def _hcount(mask: pl.Expr) -> pl.Expr:
    return pl.when(mask).then(pl.col("w")).otherwise(Decimal(0)).sum()


def _band(h: pl.DataFrame) -> pl.Expr:
    """The five-way split: the change against the household's annual income."""
    annual = pl.col("income") * pl.col("size") * 12
    share = pl.col("change")  # fen = yuan x 100, so "share > annual x 5" is "> 5 %"
    return (pl.when(pl.col("change") == 0).then(pl.lit("no_change"))
            .when(pl.col("change") > 0).then(
                pl.when(annual.is_null() | (share > annual * 5)).then(pl.lit("gain_more_5pct"))
                .otherwise(pl.lit("gain_less_5pct")))
            .otherwise(pl.when(annual.is_null() | (-share > annual * 5))
                       .then(pl.lit("lose_more_5pct")).otherwise(pl.lit("lose_less_5pct"))))


def _bands(h: pl.DataFrame) -> dict[str, Any]:
    known = h.filter(pl.col("income").is_not_null())
    counts = known.with_columns(band=_band(known)).group_by("band").agg(n=pl.col("w").sum())
    got = {row["band"]: row["n"] for row in counts.iter_rows(named=True)}
    by_change = h.select(
        gain=_hcount(pl.col("change") > 0), none=_hcount(pl.col("change") == 0),
        loss=_hcount(pl.col("change") < 0)).row(0, named=True)
    return {"by_income_share": {b: _round(got.get(b, Decimal(0))) for b in BANDS},
            "income_unknown": _round(h.filter(pl.col("income").is_null())["w"].sum() or 0),
            "by_sign": {k: _round(v) for k, v in by_change.items()},
            "histogram": _histogram(h)}


#: Edges in yuan of the histogram of household changes: bands widen by powers of ten.
_EDGES = (-10_000, -1_000, -100, 0, 100, 1_000, 10_000)
_LABELS = ("≤ -10000", "-10000 – -1000", "-1000 – -100", "-100 – 0", "0", "0 – 100",
           "100 – 1000", "1000 – 10000", "≥ 10000")


def _histogram(h: pl.DataFrame) -> list[dict[str, Any]]:
    """Households by the size of their change (yuan)."""
    c = pl.col("change")  # fen
    band = pl.when(c == 0).then(4)
    for i, edge in enumerate(_EDGES[:3]):
        band = band.when(c <= edge * 100).then(i)
    band = band.when(c < 0).then(3)
    for i, edge in enumerate(_EDGES[4:]):
        band = band.when(c < edge * 100).then(5 + i)
    counts = h.group_by(band.otherwise(8).alias("band")).agg(n=pl.col("w").sum())
    got = dict(counts.iter_rows())
    return [{"band": label, "households": _round(got.get(i, 0))} for i, label in enumerate(_LABELS)]


def _deciles(h: pl.DataFrame) -> list[dict[str, Any]]:
    """Households by per-capita income decile (person-weighted, as PolicyEngine does)."""
    known = h.filter(pl.col("income").is_not_null()).sort("income", maintain_order=True)
    rows = []
    if known.height:
        # ranks only, so floats serve; the money summed per decile stays exact
        persons = known["w"].cast(pl.Float64) * known["size"]
        before = (persons.cum_sum() - persons) / persons.sum()
        known = known.with_columns(decile=(before * 10).floor().cast(pl.Int32).clip(0, 9) + 1)
        for d in range(1, 11):
            rows.append(_decile_row(str(d), known.filter(pl.col("decile") == d)))
    unknown = h.filter(pl.col("income").is_null())
    if unknown.height:
        rows.append(_decile_row("unknown", unknown))
    return rows


def _decile_row(label: str, g: pl.DataFrame) -> dict[str, Any]:
    got = g.select(households=pl.col("w").sum(), gainers=_hcount(pl.col("change") > 0),
                   losers=_hcount(pl.col("change") < 0),
                   change=_hsum(pl.col("change"))).row(0, named=True) \
        if g.height else dict.fromkeys(("households", "gainers", "losers", "change"), 0)
    return {"decile": label, **{k: (_yuan if k == "change" else _round)(v or 0)
                                for k, v in got.items()}}


def _dibao_line(h: pl.DataFrame, pop: Population, baseline: StandardsSet, applied: Applied,
                on: Any, period: str | None) -> dict[str, Any]:
    """Households whose income plus the re-evaluated standards' cash crosses the local 低保 line."""
    needed = ("household.per_capita_monthly_income", "household.area_type")
    missing = [n for n in needed if n not in pop.columns]
    if missing:
        return {"computable": False, "reason": "the population has no " + " or ".join(
            missing) + " column, so the local 低保 line cannot be compared"}
    months = parse_period(period).months if period is not None else None
    day = months[-1] if months else parse_date(on)
    pairs = h.select("county", "area").unique()
    lines = pairs.with_columns(
        lb=pl.Series([_line(baseline, c, a, day) for c, a in pairs.iter_rows()], dtype=_MONEY),
        lr=pl.Series([_line(applied.standards, c, a, day) for c, a in pairs.iter_rows()],
                     dtype=_MONEY))
    t = h.join(lines, on=["county", "area"], how="left", nulls_equal=True)
    # a period's total over its months, or a day's annual figure over 12, per member; compared
    # multiplied out, so no division rounds: income + cash / d < line  <=>  income*d + cash < line*d
    d = pl.col("size").cast(_MONEY) * (len(months) if months else 12) * 100  # and yuan to fen
    before, after = pl.col("income") * d + pl.col("baseline"), pl.col("income") * d + pl.col("reform")
    below_b, below_r = before < pl.col("lb") * d, after < pl.col("lr") * d
    ok = pl.col("income").is_not_null() & pl.col("lb").is_not_null() & pl.col("lr").is_not_null()
    got = t.select(above=_hcount(ok & below_b & ~below_r), below=_hcount(ok & ~below_b & below_r),
                   compared=_hcount(ok), not_compared=_hcount(~ok)).row(0, named=True)
    return {"computable": True, "date": str(day),
            "definition": "declared monthly income per member plus the monthly cash of the "
                          "re-evaluated standards, against the local urban or rural 低保 "
                          "standard (rural: the yearly figure / 12) under each set",
            **{k: _round(v) for k, v in got.items()}}


def _line(std: StandardsSet, county: str, area: str | None, day: date) -> Decimal | None:
    name = {"urban": "dibao_urban_standard", "rural": "dibao_rural_standard",
            "城市": "dibao_urban_standard", "农村": "dibao_rural_standard"}.get(area or "")
    if name is None or county == "?" or name not in std.parameters:
        return None
    got = std.parameters[name].resolve(regions().chain(county), day)
    value = got.entry.value if got else None
    if not isinstance(value, Decimal):
        return None
    return value / 12 if name == "dibao_rural_standard" else value


# --- example households ----------------------------------------------------------------------
def _examples(pop: Population, ok: pl.DataFrame, h: pl.DataFrame, only: list[str],
              baseline: StandardsSet, applied: Applied, on: Any, period: str | None, n: int
              ) -> list[dict[str, Any]]:
    """The ``n`` households whose amounts change most, with evaluate()'s explanations."""
    h = h.filter(pl.col("change") != 0)
    h = h.with_columns(size_=pl.col("change").abs()).sort(["size_", "row"],
                                                          descending=[True, False]).head(n)
    out = []
    for row in h.iter_rows(named=True):
        rows = ok.filter(pl.col(HOUSEHOLD) == row[HOUSEHOLD])[ROW].to_list()
        profile = _profile(pop, rows)
        kw = {"on": on} if period is None else {"period": period}
        before = evaluate(profile, standards=baseline, **kw)
        after = evaluate(profile, standards=applied.standards, **kw)
        out.append({"rows": rows, "county": row["county"], "baseline": _yuan(row["baseline"]),
                    "reform": _yuan(row["reform"]), "change": _yuan(row["change"]),
                    "results": _explained(before, after, only)})
    return out


def _profile(pop: Population, rows: list[int]) -> dict[str, Any]:
    """A household profile from its rows (the batch columns are the profile's fields)."""
    reverse = pop.columns
    frame = pop.frame[[r - 1 for r in rows]]
    members, household = [], {}
    for i, rec in enumerate(frame.iter_rows(named=True)):
        person: dict[str, Any] = {}
        for canonical, written in reverse.items():
            value = rec.get(written)
            if value is None or value == "":
                continue
            if canonical == HOUSEHOLD:
                household["id"] = str(value)
            elif canonical == PERSON:
                person["id"] = str(value)
            elif canonical.startswith("household."):
                household[canonical.split(".", 1)[1]] = value
            else:
                person[canonical] = value
        person.setdefault("id", f"p{i + 1}")
        members.append(person)
    return {**household, "members": members}


def _explained(before: Any, after: Any, only: list[str]) -> list[dict[str, Any]]:
    """Each result that differs between the two evaluations, with both explanations."""
    pairs = [(None, before.household, after.household)] + [
        (pid, results, after.persons.get(pid, [])) for pid, results in before.persons.items()]
    out = []
    for person, old, new in pairs:
        new_by_id = {r.standard_id: r for r in new}
        for b in old:
            a = new_by_id.get(b.standard_id)
            if b.standard_id not in only or a is None:
                continue
            if (b.status, _amount(b)) == (a.status, _amount(a)):
                continue
            out.append({"person": person, "standard": b.standard_id,
                        "before": _side(b), "after": _side(a)})
    return out


def _side(r: Any) -> dict[str, Any]:
    explanation = r.explanation  # a period's: its total and each stretch of months at one rate
    return {"status": r.status, "amount": _amount(r),
            "zh": explanation.zh if explanation else "", "en": explanation.en if explanation else ""}


def _amount(r: Any) -> str | None:
    value = r.total if hasattr(r, "total") else r.amount
    return None if value is None else str(value)


# --- stamps and plain data -------------------------------------------------------------------
def _stamp(baseline: StandardsSet, applied: Applied, pop: Population) -> dict[str, Any]:
    return {"package": "gongfu-rules", "package_version": package_version(),
            "standards": baseline.name, "standards_version": baseline.version,
            "standards_digest": baseline.digest, "reformed_standards_digest":
            applied.standards.digest, "reform": applied.reform.spec.name,
            "reform_author": applied.reform.spec.author, "reform_digest": applied.reform.digest,
            "population_digest": pop.digest, "evaluated_standards": list(applied.affected)}


def _yuan(fen: Any) -> Decimal:
    return _round(Decimal(fen or 0) / 100)


def _round(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
