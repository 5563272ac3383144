"""Evaluate a whole caseload at once: a frame of persons in, a frame of results out.

A caseload is one row per person, ``household_id`` linking the members of a household (see
:mod:`gongfu_rules.columns` for the columns accepted and how they are checked). Every standard
is compiled to Polars column expressions (:mod:`gongfu_rules.compile.vector`) with the same
three-valued semantics as :func:`gongfu_rules.evaluate`, to the fen: a property test requires
both paths to agree on every status, amount, missing input and reason.

What depends only on a region and the date — the rule version in force, whether a region is in
a standard's scope, the parameter values, the value's region, floor and reliability — is worked
out once per distinct region with the single-profile evaluator's own lookup and joined on, and
so is every part of a rule that reads nothing else (an amount from the parameters alone, the
overflow checks of a parameter's arithmetic); a value the same in every region of the chunk
is a constant instead, and a standard no row of the chunk is in scope for is not evaluated.
Only what the fields shown read is worked out: the narrow fields need no unknown masks (which
name the missing inputs), so there a standard's conditions are read once, as Kleene's
conjunction (excluded, met or undetermined), and the intermediate columns and household
aggregates that only masks read are left out; a property test requires the narrow and the
caseworker's fields to be those of full detail.

Results are *wide*, one row per person: for each standard ``ID.status``, ``ID.amount``,
``ID.annual_amount``, ``ID.quantity`` (where it has them, :func:`fields`), and with
``detail="full"`` ``ID.missing`` and the other provenance fields (:data:`RESULT_FIELDS`).
Amounts are integer millionths of a 元 (:mod:`gongfu_rules.compile.vector`) until
:func:`money_columns` makes them exact decimals to the fen. A household standard's
result sits on the household's first member's row; the other members' cells are empty, so
that totals are never counted twice. :func:`to_long` turns this into one row per result.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import polars as pl

from .columns import HOUSEHOLD, PERSON
from .compile.scalar import Unknown
from .compile.vector import (
    FEN,
    FIXED,
    MASK,
    OVERFLOW,
    ZERO,
    Aggregate,
    Bits,
    Compiler,
    V,
    arith,
    div_round,
    or_masks,
    residence,
    to_fixed,
)
from .evaluate import _PER_YEAR, _step, bounding
from .expr.nodes import HouseholdFact, PersonFact, walk
from .model import Rule, Standard, StandardsSet, weakest
from .relations import DERIVED, INPUTS

KEY = "__household"  # the household's run number in the frame
STATUS = pl.Enum(["eligible", "not_eligible", "undetermined", "not_in_force"])
#: The columns each standard contributes to a wide result frame with ``detail="full"``,
#: ``ID.FIELD``; :func:`fields` gives those of the narrow default.
RESULT_FIELDS = ("status", "amount", "annual_amount", "amount_at_least", "quantity", "missing",
                 "unknown_parameters", "failed", "reason", "excluded_by", "value_region",
                 "is_floor", "amount_possibly_outdated", "reliability", "version")
DETAILS = ("narrow", "full")
#: A detail for the caseworker's layout (:func:`gongfu_rules.layout.wide_zh`) on a date: the
#: narrow fields with the reasons and missing facts it reads, not every field.
CASEWORKER = "caseworker"
MONEY = pl.Decimal(18, 2)  # up to 10^16 元; stored as 64-bit integers in Parquet
QUANTITY = pl.Decimal(38, 6)
#: The type of each result field, the same in every chunk (a Parquet file needs one schema).
#: Amounts are millionths of a 元 (compile.vector) until :func:`money_columns` makes them
#: Decimal 元 to the fen.
FIELD_TYPES: dict[str, pl.DataType] = {
    "status": STATUS, "amount": FIXED, "annual_amount": FIXED, "amount_at_least": FIXED,
    "quantity": QUANTITY, "amount_possibly_outdated": pl.Boolean,
    "missing": pl.String, "unknown_parameters": pl.String, "failed": pl.String,
    "reason": pl.String, "excluded_by": pl.String, "value_region": pl.String,
    "is_floor": pl.Boolean, "reliability": pl.String, "version": pl.String,
}
# Made once: an Enum literal costs a Series, and there are three per standard.
_STATUS = {v: pl.lit(v, dtype=STATUS) for v in STATUS.categories}
#: Set on a row where a value grew too large for the engine's integers (the batch sets the
#: household aside with an error row).
OVERFLOW_COLUMN = "__overflow"
_GROUP = 16  # standards whose decision columns are in memory at once


def fields(s: Standard, detail: str = "narrow", std: StandardsSet | None = None
           ) -> tuple[str, ...]:
    """The result fields a standard has in a wide frame: every one with ``detail="full"``;
    by default its status, and its amount and annual amount, quantity, where it has them, and
    ``amount_at_least`` where a 不低于 floor of ``std`` can bound its amount; with
    :data:`CASEWORKER` those and its reason and missing facts."""
    if detail == "full":
        return RESULT_FIELDS
    out = ["status", *(("reason", "missing") if detail == CASEWORKER else ())]
    if any(r.amount for r in s.rules):
        out.append("amount")
        if s.period in _PER_YEAR or any(r.per_year for r in s.rules):
            out.append("annual_amount")
        if std is not None and any(bounding(s, r, std) for r in s.rules):
            out.append("amount_at_least")
    if any(r.quantity is not None for r in s.rules):
        out.append("quantity")
    return tuple(out)


@dataclass(frozen=True)
class _Compiled:
    """One standard's rule on one date, compiled to column expressions."""

    standard: Standard
    on: date
    rule: Rule | None
    prefix: str
    bits: Bits
    conditions: tuple[V, ...]
    amount: V | None
    per_year: V | None
    aggregates: tuple[Aggregate, ...] = ()
    may_overflow: bool = False
    lets: tuple[tuple[pl.Expr, pl.Expr], ...] = ()  # intermediate columns, in order
    key: tuple[Any, ...] = ()  # what it was compiled from: its key in the caches
    at_least: V | None = None  # the amount with the 不低于 floors standing in (``lb`` columns)
    conditions_may_overflow: bool = False  # whether a condition's value can overflow


def evaluate_frame(frame: pl.DataFrame, on: date, std: StandardsSet,
                   standards: list[str] | None = None, detail: str = "full") -> pl.DataFrame:
    """Results for a typed caseload frame on one date (wide; see the module docstring).

    ``frame`` has the typed columns :func:`gongfu_rules.columns.typed_frame` gives (a fact it
    lacks is missing for every row). The result keeps ``household_id`` and ``person_id``,
    adds the :func:`fields` of every standard (or of ``standards``, a list of ids) for
    ``detail``, and :data:`OVERFLOW_COLUMN`. Amounts are in millionths of a 元.
    """
    chosen = [s for s in std if standards is None or s.id in standards]
    # only the relatives' facts some chosen standard reads
    df = _relatives(_prepare(frame, on), frozenset().union(*(_reads(s, std) for s in chosen)))
    present = frozenset(frame.columns) | (frozenset(DERIVED) & frozenset(df.columns))
    compiled = [_compile(s, on, std, present) for s in chosen]
    full = detail == "full"
    df, regions = _regions(df, compiled, on, std, detail)
    mine = _by_standard(regions.consts)
    stages = [_stages(c, mine.get(c.prefix, ()), detail, std, regions.hoisted)
              for c in compiled]
    reads = frozenset().union(*(st.reads for st in stages))
    df = _join_regions(df, regions, reads)
    df = _aggregate_members(df, compiled, regions.consts, reads)
    df = _intermediates(df, [st.lets for st in stages])
    parts, flags = [df.select(HOUSEHOLD, PERSON, "__first")], []
    # A few standards at a time: their decision columns (six a standard) are dropped before
    # the next ones', so that a chunk's working memory does not grow with every standard.
    for i in range(0, len(compiled), _GROUP):
        group = stages[i:i + _GROUP]
        decided = df.with_columns(e for st in group for e in st.decisions)
        overflow = [st.overflow for st in group if st.overflow is not None]
        flags.append(f"__overflow{i}")
        results = [e for st in group for e in st.results]
        # with_columns, not select: a group of constant results still has a row per person
        part = decided.with_columns(*results, (pl.any_horizontal(overflow) if overflow
                                               else pl.lit(False)).alias(flags[-1]))
        parts.append(part.select(*(e.meta.output_name() for e in results), flags[-1]))
    out = pl.concat(parts, how="horizontal")
    overflowed = pl.any_horizontal(flags) if flags else pl.lit(False)
    out = out.with_columns(overflowed.alias(OVERFLOW_COLUMN)).drop(flags)
    if detail != "narrow":
        out = _decode(out, compiled, full)
    out = _apply_exclusions(out, chosen)
    out = out.select(HOUSEHOLD, PERSON, "__first", *(
        pl.col(f"{c.standard.id}.{f}").cast(FIELD_TYPES[f])
        for c in compiled for f in fields(c.standard, detail, std)), OVERFLOW_COLUMN)
    return _household_rows_on_first_member(out, chosen).drop("__first")


# --- preparing the frame ---------------------------------------------------------------------
def _prepare(frame: pl.DataFrame, on: date) -> pl.DataFrame:
    birth = pl.col("birth_date")
    before_birthday = (pl.lit(on.month) * 100 + pl.lit(on.day)) < \
        (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32))
    age = (pl.lit(on.year) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32))
    life = (pl.when(pl.col("death_date").is_not_null() & (pl.col("death_date") <= pl.lit(on)))
            .then(pl.lit("deceased"))
            .when(birth.is_not_null() & (birth > pl.lit(on))).then(pl.lit("not_born"))
            .otherwise(pl.lit(None, dtype=pl.String)))
    # A household's rows are consecutive (columns.typed_frame checks it), so a run number
    # is its key: grouping on an integer is much cheaper than on the id's text.
    # Flagged sorted (it is: run numbers never decrease), so that group-bys and windows over
    # it take Polars' much faster path for sorted keys.
    frame = frame.with_columns(pl.col(HOUSEHOLD).rle_id().set_sorted().alias(KEY))
    return frame.with_columns(
        age.cast(pl.Int64).alias("__age"),
        pl.len().over(KEY).alias("__household_size"),
        pl.col(KEY).is_first_distinct().alias("__first"),
        pl.col("hukou_region").first().over(KEY).alias("__first_hukou"),
        life.alias("__life"),
    )


def _relatives(df: pl.DataFrame, wanted: Collection[str] = DERIVED) -> pl.DataFrame:
    """The facts read from a person's relatives among the members (those of ``wanted``), as
    :mod:`gongfu_rules.relations` reads them (its docstring has the roles), each falling back
    to the person's own answer; nothing without a ``role`` column.

    What a household's living members say (how many have each role; which row is its one
    head, spouse or child) is counted with :func:`household_sums`; a relative's fact is read
    from the row of the household's one member with that role."""
    spouse = "spouse_age" in wanted
    child = "only_child_sex" in wanted and "sex" in df.columns
    parent = "parent_disabled" in wanted and "disability_certificate" in df.columns
    if "role" not in df.columns or not (spouse or child or parent):
        return df
    role, alive = pl.col("role"), pl.col("__life").is_null()
    relatives = ("head", "spouse") * spouse + ("child",) * child
    flags = {f"n.{r}": (alive & (role == r)).fill_null(False) for r in relatives}
    parents = [(role == "child", ("head", "spouse")), (role == "head", ("parent",))]
    if parent:
        certified = pl.col("disability_certificate")
        for i, (_, theirs) in enumerate(parents):
            of_parent = alive & role.is_in(theirs)
            flags |= {f"p{i}.n": of_parent.fill_null(False),
                      f"p{i}.yes": (of_parent & certified).fill_null(False),
                      f"p{i}.no": (of_parent & ~certified).fill_null(False)}
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    # The row of the one living member with a role (a sum of row numbers: read only where
    # exactly one member counts).
    flags |= {f"row.{r}": pl.when(flags[f"n.{r}"]).then(row).otherwise(0) for r in relatives}
    h = household_sums(df.get_column(KEY), df.select(**flags))

    def of_one(r: str, column: str) -> pl.Expr:
        """``column`` of the household's one living member with role ``r`` (else null)."""
        at = pl.when(pl.lit(h[f"n.{r}"]) == 1).then(pl.lit(h[f"row.{r}"]))
        return pl.col(column).gather(at)

    def own(name: str, dtype: Any) -> pl.Expr:
        return pl.col(name) if name in df.columns else pl.lit(None, dtype=dtype)

    derived = {}
    if spouse:
        spouse_age = (pl.when(role == "head").then(of_one("spouse", "__age"))
                      .when(role == "spouse").then(of_one("head", "__age")))
        derived["spouse_age"] = pl.coalesce(spouse_age, own("spouse_age", pl.Int64))
    if child:
        sex = pl.when(role.is_in(("head", "spouse"))).then(of_one("child", "sex"))
        derived["only_child_sex"] = pl.coalesce(sex, own("only_child_sex", pl.String))
    if parent:
        value = pl.lit(None, dtype=pl.Boolean)
        for i, (mine, _) in reversed(list(enumerate(parents))):
            n, yes, no = (pl.lit(h[f"p{i}.{x}"]) for x in ("n", "yes", "no"))
            value = (pl.when(mine & (yes > 0)).then(True)
                     .when(mine & (n == 2) & (no == 2)).then(False).otherwise(value))
        derived["parent_disabled"] = pl.coalesce(value, own("parent_disabled", pl.Boolean))
    return df.with_columns(e.alias(name) for name, e in derived.items())


def household_sums(key: pl.Series, columns: pl.DataFrame) -> dict[str, pl.Series]:
    """Each column's sum over the household of each row, on every row (as Int64).

    Households are runs of rows numbered 0, 1, … (``key``, :data:`KEY`): a run's sum is the
    difference of the running sums at its two ends: a few passes over the columns, much less
    than a group-by and a join back."""
    # In Polars, not numpy: as fast, and numpy's import is a tenth of a second of every run.
    ends = key.rle().struct.field("len").cum_sum() - 1  # each run's last row
    running = columns.select(pl.all().cast(pl.Int64).cum_sum())
    per_run = running.select(pl.all().gather(ends)).select(
        pl.all() - pl.all().shift(1, fill_value=0))
    return dict(zip(columns.columns, per_run.select(pl.all().gather(key)).get_columns()))


def _region_column(s: Standard) -> tuple[pl.Expr, str]:
    """The region a standard tests for each row, and the input named when it is missing."""
    if s.entity == "person":
        if s.region_basis == "hukou":
            return pl.col("hukou_region"), "hukou_region"
        return residence(), "residence_region"
    if s.region_basis == "hukou":
        return pl.col("__first_hukou"), "hukou_region"
    return pl.col("household.region"), "household.region"


# --- compiling -------------------------------------------------------------------------------
def facts_read(s: Standard) -> frozenset[str]:
    """The fact columns a standard's rules read (``household.NAME`` for household facts)."""
    out: set[str] = set()
    for rule in s.rules:
        nodes = [c.node for c in rule.conditions] + [x[1] for x in (rule.amount, rule.per_year) if x]
        for root in nodes:
            for node in walk(root):
                if isinstance(node, PersonFact):
                    out.add("birth_date" if node.name == "age" else node.name)
                    out.update(INPUTS.get(node.name, ()))  # a relative's record
                elif isinstance(node, HouseholdFact) and node.name != "size":
                    out.add(f"household.{node.name}")
    return frozenset(out)


def _reads(s: Standard, std: StandardsSet) -> frozenset[str]:
    """:func:`facts_read`, kept with the standards set."""
    used = ("facts", s.id)
    reads = std._cache.get(used)
    if reads is None:
        reads = std._cache[used] = facts_read(s)
    return reads


def _compile(s: Standard, on: date, std: StandardsSet, present: frozenset[str]) -> _Compiled:
    key = ("vector", s.id, on, _reads(s, std) & present)
    cached = std._tables.get(key)
    if cached is not None:
        return cached
    rule, bits, prefix = s.rule_on(on), Bits(), f"__s.{s.id}."
    _, region_input = _region_column(s)
    bits.input(region_input)
    compiler = Compiler(bits, lambda name: _table_keys(std.parameter(s, name)), prefix,
                        present)
    conditions: tuple[V, ...] = ()
    amount = per_year = at_least = None
    conditions_may_overflow = False
    if rule is not None:
        for name in rule.params:
            bits.param(name)
        conditions = tuple(compiler.compile(c.node) for c in rule.conditions)
        conditions_may_overflow = compiler.may_overflow
        amount = compiler.compile(rule.amount[1]) if rule.amount else None
        per_year = compiler.compile(rule.per_year[1]) if rule.per_year else None
        if rule.amount and bounding(s, rule, std):
            at_least = compiler.compile_bound(rule.amount[1])
    compiled = _Compiled(s, on, rule, prefix, bits, conditions, amount, per_year,
                         tuple(compiler.aggregates), compiler.may_overflow or amount is not None,
                         tuple(compiler.lets), key, at_least, conditions_may_overflow)
    return std._tables.put(key, compiled)


def _table_keys(param: Any) -> tuple[str, ...]:
    keys: dict[str, None] = {}
    for timeline in param.timelines.values():
        for entry in timeline:
            if isinstance(entry.value, dict):
                keys.update(dict.fromkeys(entry.value))
    return tuple(keys)


# --- aggregates over members ----------------------------------------------------------------
def _aggregate_members(df: pl.DataFrame, compiled: list[_Compiled],
                       consts: dict[str, Any] | None = None,
                       reads: frozenset[str] | None = None) -> pl.DataFrame:
    """Add the rules' ``any_member``/``count``/``sum_members`` columns: those the expressions
    ``reads`` (default: every one), each with its unknown mask only where that is read.

    The members see the *evaluated* person's parameter values (the scalar engine gives a
    member's context the evaluator's parameters), and those depend on the person's region.
    A household rule's parameters are the same on every member's row, and so are a person
    rule's parameters that are the same in every region of the chunk (``consts``): those
    aggregates are a plain group-by. The others are a group-by per distinct set of their
    parameter values in the chunk (a handful: regions share figures), each row taking the
    one of its own values.
    """
    consts = consts or {}
    read = [(c, a, _read(a, reads)[1]) for c in compiled for a in c.aggregates
            if _read(a, reads)[0]]
    # the parameter columns their members' columns read
    params_of = {a.name: a.params & {n for e in a.members(u) for n in e.meta.root_names()}
                 for _, a, u in read}

    def plain(c: _Compiled, a: Aggregate) -> bool:
        return c.standard.entity == "household" or params_of[a.name] <= consts.keys()
    person = [(a, u) for c, a, u in read if not plain(c, a)]
    household = [(a, u) for c, a, u in read if plain(c, a)]
    if household:
        df = df.with_columns(_per_household(df, household))
    if person:
        params = sorted({p for a, _ in person for p in params_of[a.name]})
        combos = df.select(params).unique(maintain_order=True)
        which = df.select(params).join(combos.with_row_index("__combo"), on=params, how="left",
                                       nulls_equal=True, maintain_order="left")
        combo = which.get_column("__combo")
        parts = [_per_household(df.with_columns(pl.lit(v, dtype=df.schema[k]).alias(k)
                                                for k, v in values.items()), person)
                 for values in combos.iter_rows(named=True)] or [_per_household(df, person)]
        df = df.with_columns(
            pl.coalesce(pl.when(combo == i).then(part.get_column(name))
                        for i, part in enumerate(parts)).alias(name)
            for name in parts[0].columns)
    return df


def _read(a: Aggregate, reads: Collection[str] | None) -> tuple[bool, bool]:
    """Whether the expressions ``reads`` (None: every one) read the aggregate ``a`` (its
    value or its unknown mask), and whether its unknown mask."""
    if reads is None:
        return True, True
    unknown = f"{a.name}.u" in reads
    return unknown or f"{a.name}.v" in reads, unknown


def _per_household(df: pl.DataFrame, aggregates: list[tuple[Aggregate, bool]]
                   ) -> pl.DataFrame:
    """The columns of ``aggregates`` (each with whether its unknown mask is wanted), one row
    per row of ``df`` (each its household's figure). Households are runs of rows, numbered
    in order (``KEY``): their figures are gathered back by number rather than joined."""
    members = df.select(KEY, *(e for a, u in aggregates for e in a.members(u)))
    sums = members.group_by(KEY, maintain_order=True).agg(
        e for a, u in aggregates for e in a.agg(u))
    key = df.get_column(KEY)
    return sums.drop(KEY).select(pl.all().gather(key))


def _intermediates(df: pl.DataFrame, lets: list[tuple[tuple[pl.Expr, ...], ...]]
                   ) -> pl.DataFrame:
    """The rules' intermediate columns (``Compiler.let``, as :class:`_Stage` has them), a
    stage per depth: those of depth k of every rule at once (each reads only columns of
    lesser depth of its own rule)."""
    for k in range(max(map(len, lets), default=0)):
        stage = [e for ls in lets if k < len(ls) for e in ls[k]]
        if stage:
            df = df.with_columns(stage)
    return df


# --- region-dependent values -----------------------------------------------------------------
@dataclass(frozen=True)
class _Regions:
    """A chunk's region values, to be joined on (:func:`_join_regions`): per region column
    a frame of every standard's scope and parameter values, and of the rules' columns worked
    out from them alone (``hoisted``, see :func:`_hoist`). A value that is the same for every
    region in the chunk (a national standard's figure, a scope every row is in) is not in
    the frames: it is in ``consts``, which the expressions use as literals (Polars folds
    them), and in ``literals``, as a literal column for the expressions that read it by
    name."""

    tables: list[tuple[str, pl.DataFrame, dict[str, str]]]  # key, frame, twins (_twins)
    consts: dict[str, Any]
    literals: dict[str, pl.Expr]
    hoisted: frozenset[str]


def _join_regions(df: pl.DataFrame, regions: _Regions, reads: frozenset[str]) -> pl.DataFrame:
    """``df`` with the region values that the expressions ``reads`` (the others would be
    joined for nothing)."""
    df = df.with_columns(e for name, e in regions.literals.items() if name in reads)
    for key, table, twins in regions.tables:
        # A column the same as another (every standard's ``known_region``, a figure that
        # several standards share) is joined once and copied: a copy shares its buffers.
        joined: dict[str, str] = {}  # a set of twins: the name it is joined under
        copies = []
        for c in table.columns[1:]:
            if c in reads:
                first = joined.setdefault(twins.get(c, c), c)
                if first != c:
                    copies.append(pl.col(first).alias(c))
        if joined:
            df = df.join(table.select(pl.col("__region").alias(key),
                                      *(pl.col(c).alias(name) for c, name in joined.items())),
                         on=key, how="left", maintain_order="left").with_columns(copies)
    return df


def _regions(df: pl.DataFrame, compiled: list[_Compiled], on: date, std: StandardsSet,
             detail: str) -> tuple[pl.DataFrame, _Regions]:
    """``df`` with the region code each standard tests (a column per region basis and
    entity), and the values of the regions in it."""
    groups: dict[str, list[_Compiled]] = {}
    exprs: dict[str, pl.Expr] = {}
    for c in compiled:
        expr, input_name = _region_column(c.standard)
        key = _region_key(c.standard)
        groups.setdefault(key, []).append(c)
        exprs[key] = expr
    df = df.with_columns(*(e.fill_null("").alias(k) for k, e in exprs.items()))
    present = df.select(pl.col(k).unique().implode() for k in groups).row(0, named=True)
    consts: dict[str, Any] = {}
    literals: dict[str, pl.Expr] = {}
    tables = []
    hoisted: frozenset[str] = frozenset()
    for key, members in groups.items():
        table, twins, same, columns, done = _region_frame(key, present[key], members, on,
                                                          std, detail)
        consts.update(same)
        hoisted |= done
        literals.update(columns)
        if table.width > 1:
            tables.append((key, table, twins))
    return df, _Regions(tables, consts, literals, hoisted)


def _region_key(s: Standard) -> str:
    """The column of the region code a standard's values are joined on."""
    return f"__region.{s.entity}.{s.region_basis}"


def _region_frame(group: str, codes: list[str], members: list[_Compiled], on: date,
                  std: StandardsSet, detail: str
                  ) -> tuple[pl.DataFrame, dict[str, str], dict[str, Any], dict[str, pl.Expr],
                             frozenset[str]]:
    """Every standard's scope and values for each region code present, and the rules'
    columns worked out from them alone (their names returned too, see :func:`_hoist`),
    without the columns whose value is the same in every region (returned apart, as values
    and as literal columns), with its columns' :func:`_twins`. Kept for the next chunks: a
    frame for more codes serves a chunk with fewer (a value the same in more regions is the
    same in fewer), so it is rebuilt only when new codes come."""
    key = ("regions", group, on, detail, tuple(c.key for c in members))
    found = std._tables.get(key)
    if found is None or not found[0].issuperset(codes):
        every = sorted(set(codes) | (found[0] if found else set()))
        frame, hoisted = _hoist(_build_region_frame(every, members, on, std, detail == "full"),
                                members, detail)
        schema = frame.schema  # made once: each ``frame.schema`` builds it over every column
        same = [c for c in frame.columns[1:] if frame.get_column(c).n_unique() == 1]
        values = {c: frame.get_column(c)[0] for c in same}
        literals = {c: pl.lit(values[c], dtype=schema[c]).alias(c) for c in same}
        frame = frame.drop(same)
        found = std._tables.put(key, (frozenset(every), frame, _twins(frame), values,
                                      literals, hoisted))
    return found[1:]


def _twins(frame: pl.DataFrame) -> dict[str, str]:
    """Each column of the region frame that is the same as an earlier one (its type and its
    value in every region), with that column's name. Twins in every region of the frame are
    twins in a chunk's few."""
    first: dict[tuple[Any, ...], str] = {}
    out = {}
    for c in frame.columns[1:]:
        column = frame.get_column(c)
        name = first.setdefault((column.dtype, *column.to_list()), c)
        if name != c:
            out[c] = name
    return out


def _hoist(frame: pl.DataFrame, members: list[_Compiled], detail: str
           ) -> tuple[pl.DataFrame, frozenset[str]]:
    """The region frame with the rules' intermediate and first-stage columns that read
    nothing but its columns (an amount from the parameters alone, the overflow guards of
    their arithmetic), and their names: worked out once per region rather than once per
    person (on a caseload, most of the first stage's expressions are these)."""
    have, hoisted = set(frame.columns), set()

    def add(exprs: list[pl.Expr]) -> pl.DataFrame:
        mine = [e for e in exprs if set(e.meta.root_names()) <= have]
        names = [e.meta.output_name() for e in mine]
        have.update(names)
        hoisted.update(names)
        return frame.with_columns(mine) if mine else frame
    for k in range(max((len(c.lets) for c in members), default=0)):
        frame = add([e for c in members if k < len(c.lets) for e in c.lets[k]])
    frame = add([e for c in members for e in _decisions(c, {}, detail)])
    return frame, frozenset(hoisted)


def _build_region_frame(codes: list[str], members: list[_Compiled], on: date,
                        std: StandardsSet, full: bool) -> pl.DataFrame:
    columns: dict[str, list[Any]] = {"__region": codes}
    dtypes: dict[str, Any] = {"__region": pl.String}
    for c in members:
        _, input_name = _region_column(c.standard)
        steps = [_cached_step(c.standard, on, code or None, input_name, std) for code in codes]
        _region_values(c, steps, columns, dtypes, std, full)
    return pl.DataFrame(columns, schema=dtypes)


def _cached_step(s: Standard, on: date, region: str | None, input_name: str,
                 std: StandardsSet) -> Any:
    """The single-profile evaluator's step for a region, kept for the next chunk."""
    key = ("step", s.id, on, region, input_name)
    step = std._table_steps.get(key)
    if step is None:
        step = std._table_steps.put(key, _step(s, on, region, input_name, std))
    return step


def _region_values(c: _Compiled, steps: list[Any], columns: dict[str, list[Any]],
                   dtypes: dict[str, Any], std: StandardsSet, full: bool) -> None:
    p = c.prefix

    def put(name: str, dtype: Any, values: list[Any]) -> None:
        columns[p + name], dtypes[p + name] = values, dtype

    put("scope", pl.Boolean, [st.in_scope for st in steps])
    put("known_region", pl.Boolean, [st.region is not None for st in steps])
    if full:
        put("has_values", pl.Boolean, [st.values is not None for st in steps])
        put("value_region", pl.String,
            [st.values.value_region if st.values else None for st in steps])
        put("is_floor", pl.Boolean, [st.values.is_floor if st.values else None for st in steps])
        put("reliability", pl.String,
            [st.values.reliability if st.values else None for st in steps])
    if c.rule is not None and c.rule.amount is not None:
        put("floor_bound", pl.Boolean, [bool(st.values and st.values.floor_bound) for st in steps])
        put("outdated", pl.Boolean, [bool(st.values and st.values.outdated) for st in steps])
    for name in (c.rule.params if c.rule else ()):
        raw = [st.params.get(name) for st in steps]
        _param_columns(put, "p", "u", name, raw, c.bits, std.parameter(c.standard, name))
        if c.at_least is not None:  # the floors standing in for unknown local figures
            bound = [st.values.bounds.get(name, v) if st.values else v
                     for st, v in zip(steps, raw)]
            _param_columns(put, "lb", "lbu", name, bound, c.bits,
                           std.parameter(c.standard, name))


def _param_columns(put: Any, values: str, unknowns: str, name: str, raw: list[Any],
                   bits: Bits, param: Any) -> None:
    """A parameter's value columns (``VALUES.NAME``, a table's ``VALUES.NAME[KEY]``) and its
    unknown mask (``UNKNOWNS.NAME``), one entry per region."""
    put(f"{unknowns}.{name}", MASK, [_unknown_mask(bits, v) for v in raw])
    keys = _table_keys(param)
    if keys:
        for k in keys:
            put(f"{values}.{name}[{k}]", FIXED,
                [_fixed(v.get(k)) if isinstance(v, dict) else None for v in raw])
        put(f"{values}.{name}", FIXED, [None] * len(raw))
    else:
        put(f"{values}.{name}", FIXED, [_fixed(v) for v in raw])


def _fixed(value: Any) -> int | None:
    return to_fixed(value) if isinstance(value, (Decimal, int)) and \
        not isinstance(value, bool) else None


def _unknown_mask(bits: Bits, value: Any) -> int:
    if not isinstance(value, Unknown):
        return 0
    mask = 0
    for name in value.missing:
        mask |= bits.input(name)
    for name in value.params:
        mask |= bits.param(name)
    return mask


# --- one standard's result columns -----------------------------------------------------------
def _col(name: str, consts: dict[str, Any], dtype: Any = None) -> pl.Expr:
    """A region-frame column, or its literal when it is the same in every region."""
    if name in consts:
        return pl.lit(consts[name], dtype=dtype)
    return pl.col(name)


def _by_standard(consts: dict[str, Any]) -> dict[str, tuple[tuple[str, Any], ...]]:
    """The constants of each standard (by its column prefix, ``__s.ID.``), sorted: one pass
    over them, not one per standard."""
    out: dict[str, list[tuple[str, Any]]] = {}
    for k, v in consts.items():
        if k.startswith("__s."):  # not a hoisted first-stage column (``ID.__amount``)
            out.setdefault(k[:k.index(".", 4) + 1], []).append((k, v))
    return {p: tuple(sorted(items)) for p, items in out.items()}


@dataclass(frozen=True)
class _Stage:
    """A standard's expressions for the chunks with its constants: the intermediate columns
    its fields read, by depth (:func:`_read_lets`), and :func:`_decisions`, less those
    worked out per region (:func:`_hoist`),
    :func:`_result_columns`, where a value overflowed (:func:`_overflowed`, None when none
    can), and the columns they all read (a region value none reads is not joined)."""

    lets: tuple[tuple[pl.Expr, ...], ...]
    decisions: list[pl.Expr]
    results: list[pl.Expr]
    overflow: pl.Expr | None
    reads: frozenset[str]


def _stages(c: _Compiled, mine: tuple[tuple[str, Any], ...], detail: str, std: StandardsSet,
            hoisted: frozenset[str]) -> _Stage:
    """The standard's :class:`_Stage` for its constants ``mine`` (:func:`_by_standard`),
    kept for the next chunk (building the expressions in Python costs more than evaluating
    them on a small chunk). Which of its columns are ``hoisted`` is not part of the key: it
    follows from the compiled rule and ``detail`` alone (a rule reads only its own region
    values, and its region frame has the same columns whatever regions it holds)."""
    key = ("stages", c.key, detail, mine)
    found = std._tables.get(key)
    if found is None:
        found = std._tables.put(key, _stage(c, dict(mine), detail, std, hoisted))
    return found


def _stage(c: _Compiled, consts: dict[str, Any], detail: str, std: StandardsSet,
           hoisted: frozenset[str]) -> _Stage:
    decisions = [e for e in _decisions(c, consts, detail)
                 if e.meta.output_name() not in hoisted]
    results = _result_columns(c, consts, detail, std)
    overflow = _overflowed(c, consts, detail) if c.may_overflow and c.rule is not None else None
    exprs = [*decisions, *results, *([] if overflow is None else [overflow])]
    reads = {name for e in exprs for name in e.meta.root_names()}
    lets = _read_lets([e for pair in c.lets for e in pair
                       if e.meta.output_name() not in hoisted], reads)
    reads.update(name for stage in lets for e in stage for name in e.meta.root_names())
    # What the members' columns of the aggregates read read (_aggregate_members), parameters
    # included: those the members' columns do not name are not joined.
    for a in c.aggregates:
        value, unknown = _read(a, reads)
        if value:
            reads.update(name for e in a.members(unknown) for name in e.meta.root_names())
    return _Stage(lets, decisions, results, overflow, frozenset(reads))


def _read_lets(lets: list[pl.Expr], reads: set[str]) -> tuple[tuple[pl.Expr, ...], ...]:
    """The intermediate columns (``lets``, in the order made) that the columns ``reads``
    need, directly or through one another, by depth: those of depth 0 read none of the
    others, those of depth k some of depth k - 1. A column no field reads is left out (a
    narrow result reads no unknown masks but the amount's)."""
    wanted, kept = set(reads), []
    for e in reversed(lets):
        if e.meta.output_name() in wanted:
            kept.append(e)
            wanted.update(e.meta.root_names())
    depth: dict[str, int] = {}
    stages: list[list[pl.Expr]] = []
    for e in reversed(kept):
        d = max((depth[r] + 1 for r in e.meta.root_names() if r in depth), default=0)
        depth[e.meta.output_name()] = d
        if d == len(stages):
            stages.append([])
        stages[d].append(e)
    return tuple(map(tuple, stages))


def _decisions(c: _Compiled, consts: dict[str, Any], detail: str) -> list[pl.Expr]:
    """First stage: what the conditions and the amount give, as columns, so that the result
    fields read them instead of computing them again: ``ID.__amount``,
    ``ID.__amount_unknown``, ``ID.__annual``, ``ID.__at_least``, and what the conditions
    decide. With ``narrow`` detail that is ``ID.__state`` (:func:`_state`), and
    ``ID.__unknown`` only where a condition can overflow; otherwise ``ID.__failed``, a bit
    per failed condition with ``full`` detail (their texts are shown), else a flag: whether
    the person is excluded (dead or unborn, outside the scope, or failing a condition), and
    the unknown mask of the conditions ``ID.__unknown``."""
    sid, p = c.standard.id, c.prefix
    if c.rule is None:
        return []
    none = pl.lit(None, dtype=FIXED)
    if consts.get(p + "scope") is False:  # no row is in scope: nothing to decide
        decided = [pl.lit(_EXCLUDED, dtype=pl.UInt8).alias(f"{sid}.__state")] \
            if detail == "narrow" else [  # full: no condition was worked out; else excluded
                (ZERO if detail == "full" else pl.lit(1, dtype=MASK)).alias(f"{sid}.__failed")]
        return [*decided, ZERO.alias(f"{sid}.__unknown"), none.alias(f"{sid}.__amount"),
                none.alias(f"{sid}.__annual"), ZERO.alias(f"{sid}.__amount_unknown"),
                none.alias(f"{sid}.__at_least")]
    unknown = or_masks([v.unknown for v in c.conditions] + [_region_bit(c, consts)])
    if detail == "narrow":
        decided = [_state(c, consts).alias(f"{sid}.__state")]
        if c.conditions_may_overflow:  # where the OVERFLOW bit is read (_overflowed)
            decided.append(unknown.alias(f"{sid}.__unknown"))
    else:
        decided = [_failed(c, consts, detail == "full").alias(f"{sid}.__failed"),
                   unknown.alias(f"{sid}.__unknown")]
    amount, per_year, amount_unknown = _amount(c)
    return [*decided, amount.alias(f"{sid}.__amount"), per_year.alias(f"{sid}.__annual"),
            amount_unknown.alias(f"{sid}.__amount_unknown"),
            _at_least(c).alias(f"{sid}.__at_least")]


_EXCLUDED, _MET, _UNDETERMINED = 0, 1, 2  #: the values of ``ID.__state``
# _STATES[2 * (the conditions' state) + (1 where the region is unknown)]
_STATES = pl.Series([_EXCLUDED, _EXCLUDED, _MET, _UNDETERMINED, _UNDETERMINED, _UNDETERMINED],
                    dtype=pl.UInt8)


def _state(c: _Compiled, consts: dict[str, Any]) -> pl.Expr:
    """What the conditions decide, evaluated once: ``_EXCLUDED`` (dead or unborn, outside
    the scope, or a condition is false), ``_MET``, or ``_UNDETERMINED`` (no condition false,
    and one unknown or the region unknown). Kleene's conjunction of the conditions gives
    False, True or null, which are 0, 1 and 2 as numbers: the unknown masks, twice the
    conditions' size, are not needed to tell a person undetermined."""
    met = pl.all_horizontal(~_life_or_outside(c, consts), *(v.value for v in c.conditions))
    state = met.cast(pl.UInt8).fill_null(_UNDETERMINED)
    if consts.get(c.prefix + "known_region") is True:
        return state
    unknown_region = (~_col(c.prefix + "known_region", consts)).fill_null(True).cast(pl.UInt8)
    return pl.lit(_STATES).gather(state * 2 + unknown_region)


def _failed(c: _Compiled, consts: dict[str, Any], full: bool) -> pl.Expr:
    """A bit per failed condition (``full``), or whether the person is excluded."""
    failed = [(~v.value).fill_null(False) for v in c.conditions]
    if not full:  # no result field needs which condition
        return pl.any_horizontal(_life_or_outside(c, consts), *failed).cast(MASK)
    if not failed:
        return ZERO
    return pl.sum_horizontal([pl.when(f).then(pl.lit(1 << i, dtype=MASK)).otherwise(ZERO)
                              for i, f in enumerate(failed)]).cast(MASK)


def _region_bit(c: _Compiled, consts: dict[str, Any]) -> pl.Expr:
    """The region input's bit where the region is not known."""
    if consts.get(c.prefix + "known_region") is True:
        return ZERO
    _, region_input = _region_column(c.standard)
    return pl.when(_col(c.prefix + "known_region", consts)).then(ZERO) \
        .otherwise(pl.lit(c.bits.input(region_input), dtype=MASK))


def _life_or_outside(c: _Compiled, consts: dict[str, Any]) -> pl.Expr:
    """Where a person is dead or unborn, or outside the standard's scope."""
    life = pl.col("__life").is_not_null() if c.standard.entity == "person" else pl.lit(False)
    return life | ~_col(c.prefix + "scope", consts)


def _at_least(c: _Compiled) -> pl.Expr:
    """Where the amount itself is unknown, the amount the floors give in place of the unknown
    local figures (null unless that is known), in millionths."""
    if c.at_least is None or c.amount is None:
        return pl.lit(None, dtype=FIXED)
    low = c.at_least.fixed()
    return pl.when((c.amount.unknown != 0) & (low.unknown == 0)).then(low.value)


def _result_columns(c: _Compiled, consts: dict[str, Any], detail: str, std: StandardsSet
                    ) -> list[pl.Expr]:
    """Second stage: the result fields of ``detail``, from the first stage's columns (with
    the masks :func:`_decode` makes names of, but for ``narrow``)."""
    s, rule, p = c.standard, c.rule, c.prefix
    sid = s.id
    if rule is None:
        status, reason = _STATUS["not_in_force"], pl.lit("not_in_force")
        is_floor = pl.lit(None, dtype=pl.Boolean)
        if s.earlier_rule_unknown(c.on):  # in force then, under a rule not recorded
            status, reason = _STATUS["undetermined"], pl.lit("earlier_rule_unknown")
            if s.entity == "person":  # the deceased and the unborn get nothing either way
                life = pl.col("__life")
                status = pl.when(life.is_not_null()).then(_STATUS["not_eligible"]) \
                    .otherwise(status)
                reason = pl.when(life.is_not_null()).then(life).otherwise(reason)
            is_floor = pl.when(status == "undetermined").then(False)
        return [status.alias(f"{sid}.status"), reason.alias(f"{sid}.reason"),
                *_empty(sid, ("amount", "annual_amount", "amount_at_least")),
                is_floor.alias(f"{sid}.amount_possibly_outdated"),  # False where priced
                pl.lit(None, dtype=QUANTITY).alias(f"{sid}.quantity"),
                pl.lit(None, dtype=pl.String).alias(f"{sid}.value_region"),
                is_floor.alias(f"{sid}.is_floor"),
                pl.lit(None, dtype=pl.String).alias(f"{sid}.reliability"),
                pl.lit(0, dtype=MASK).alias(f"{sid}.mask"), ZERO.alias(f"{sid}.failed_mask")]
    failed_mask, unknown = pl.col(f"{sid}.__failed"), pl.col(f"{sid}.__unknown")
    amount, amount_unknown = pl.col(f"{sid}.__amount"), pl.col(f"{sid}.__amount_unknown")
    life = pl.col("__life") if s.entity == "person" else pl.lit(None, dtype=pl.String)
    out_of_scope = ~_col(p + "scope", consts)
    if detail == "narrow":
        state = pl.col(f"{sid}.__state")
        excluded, undetermined = state == _EXCLUDED, state == _UNDETERMINED
        eligible = state == _MET
    else:  # without full detail, the first stage's flag is the whole exclusion (_failed)
        excluded = life.is_not_null() | out_of_scope | (failed_mask != 0) if detail == "full" \
            else failed_mask != 0
        undetermined, eligible = unknown != 0, ~excluded & (unknown == 0)
    # Enum literals: a text status cast to the Enum afterwards costs ten times the rule.
    status = (pl.when(excluded).then(_STATUS["not_eligible"])
              .when(undetermined).then(_STATUS["undetermined"])
              .otherwise(_STATUS["eligible"]))
    reason = (pl.when(life.is_not_null()).then(life)
              .when(out_of_scope).then(pl.lit("outside_scope"))
              .otherwise(pl.lit(None, dtype=pl.String)))
    priced = ~excluded
    annual = pl.col(f"{sid}.__annual")
    known = amount.is_not_null()
    if rule.amount is not None:  # a lower bound: the floor paid, or the floors' amount
        at_least = pl.when(eligible).then(
            pl.when(known).then(pl.when(_col(p + "floor_bound", consts, pl.Boolean))
                                .then(amount))
            .otherwise(pl.col(f"{sid}.__at_least")))
        outdated = pl.when(priced).then(eligible & known & _col(p + "outdated", consts,
                                                                  pl.Boolean))
    else:
        at_least, outdated = pl.lit(None, dtype=FIXED), pl.when(priced).then(False)
    values = {"status": status, "reason": reason, "amount": pl.when(eligible).then(amount),
              "annual_amount": pl.when(eligible).then(annual), "amount_at_least": at_least,
              "amount_possibly_outdated": outdated,
              "quantity": pl.when(priced).then(_quantity(rule.quantity))}
    out = [e.alias(f"{sid}.{f}") for f, e in values.items() if f in fields(s, detail, std)]
    if detail == "narrow":
        return out
    out.append(pl.when(excluded).then(ZERO).when(eligible).then(amount_unknown)
               .otherwise(unknown).alias(f"{sid}.mask"))
    if detail != "full":
        return out
    return out + [
        pl.when(life.is_null() & ~out_of_scope).then(failed_mask).otherwise(ZERO)
        .alias(f"{sid}.failed_mask"),
        pl.when(priced & _col(p + "has_values", consts))
        .then(_col(p + "value_region", consts, pl.String)).alias(f"{sid}.value_region"),
        pl.when(priced).then(_col(p + "is_floor", consts, pl.Boolean).fill_null(False))
        .alias(f"{sid}.is_floor"),
        pl.when(priced).then(pl.coalesce(_col(p + "reliability", consts, pl.String),
                                         pl.lit(weakest(x.reliability for x in rule.sources))))
        .alias(f"{sid}.reliability"),
    ]


def _overflowed(c: _Compiled, consts: dict[str, Any], detail: str) -> pl.Expr:
    """Where a value the result depends on was too large to hold: a condition of a person
    in scope, or the amount of one no condition excludes (the scalar engine does not price
    those)."""
    sid, top = c.standard.id, pl.lit(OVERFLOW, dtype=MASK)
    open_ = _col(c.prefix + "scope", consts)
    if c.standard.entity == "person":
        open_ = open_ & pl.col("__life").is_null()
    else:  # a household's result is its first member's
        open_ = open_ & pl.col("__first")
    if detail == "narrow":  # see _decisions
        conditions = pl.col(f"{sid}.__unknown") >= top if c.conditions_may_overflow \
            else pl.lit(False)
        priced = pl.col(f"{sid}.__state") != _EXCLUDED
    else:
        conditions, priced = pl.col(f"{sid}.__unknown") >= top, pl.col(f"{sid}.__failed") == 0
    return open_ & (conditions | (priced & (pl.col(f"{sid}.__amount_unknown") >= top)))


@cache
def _quantity(value: Decimal | None) -> pl.Expr:
    """A quantity literal, made once per value. Written as text cast to the decimal type
    (exact): Polars makes a literal of a Python Decimal through a Series, and its first one
    imports numpy, a tenth of a second of a small batch's start-up."""
    if value is None:
        return pl.lit(None, dtype=QUANTITY)
    return pl.lit(str(value)).cast(QUANTITY)


def _amount(c: _Compiled) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """``(amount, annual amount, unknown mask)`` in millionths; the amounts are null where
    the mask is not zero (an amount too large has the OVERFLOW bit)."""
    none = pl.lit(None, dtype=FIXED)
    if c.amount is None:
        return none, none, ZERO
    amount = c.amount.fixed()
    if c.per_year is not None:
        per_year = c.per_year
    else:
        factor = _PER_YEAR.get(c.standard.period)
        per_year = None if factor is None else V(pl.lit(int(factor)), ZERO, "int")
    annual = arith("*", amount, per_year) if per_year is not None else V(none, ZERO, "fixed")
    unknown = or_masks([amount.unknown, annual.unknown])
    known = unknown == 0
    return (pl.when(known).then(amount.value), pl.when(known).then(annual.fixed().value),
            unknown)


def _empty(sid: str, fields_: tuple[str, ...]) -> list[pl.Expr]:
    return [pl.lit(None, dtype=FIXED).alias(f"{sid}.{f}") for f in fields_]


# --- exclusions, decoding, household rows ----------------------------------------------------
def _apply_exclusions(out: pl.DataFrame, chosen: list[Standard]) -> pl.DataFrame:
    """An eligible standard that ``excludes`` another takes priority (as the scalar engine)."""
    ids = {s.id for s in chosen}
    updates: dict[str, list[tuple[pl.Expr, str]]] = {}
    for s in chosen:
        for other in s.excludes:
            if other in ids:
                updates.setdefault(other, []).append((pl.col(f"{s.id}.status") == "eligible", s.id))
    if not updates:
        return out
    exprs, have = [], frozenset(out.columns)  # ``out.columns`` is a new list at each call
    for other, by in updates.items():
        hit = pl.col(f"{other}.status").is_in(("eligible", "undetermined"))
        by_id = pl.lit(None, dtype=pl.String)
        for cond, sid in reversed(by):
            by_id = pl.when(cond).then(pl.lit(sid)).otherwise(by_id)
        excluded = hit & by_id.is_not_null()
        exprs += [
            pl.when(excluded).then(_STATUS["not_eligible"])
            .otherwise(pl.col(f"{other}.status")).alias(f"{other}.status"),
            *(pl.when(excluded).then(None).otherwise(pl.col(f"{other}.{f}")).alias(f"{other}.{f}")
              for f in ("amount", "annual_amount", "amount_at_least", "quantity",
                        "value_region", "is_floor", "amount_possibly_outdated", "reliability",
                        "missing", "unknown_parameters", "failed")
              if f"{other}.{f}" in have),
        ]
        if f"{other}.reason" in have:  # full detail
            exprs += [pl.when(excluded).then(pl.lit("excluded"))
                      .otherwise(pl.col(f"{other}.reason")).alias(f"{other}.reason"),
                      pl.when(excluded).then(by_id).alias(f"{other}.excluded_by")]
    return out.with_columns(exprs)


def _decode(out: pl.DataFrame, compiled: list[_Compiled], full: bool = True) -> pl.DataFrame:
    """Masks become the names the scalar engine gives: sorted, ``;``-separated; the missing
    facts, and with ``full`` the unknown parameters and failed conditions too."""
    masks, have = [f"{c.standard.id}.mask" for c in compiled], frozenset(out.columns)
    failed_masks = [m for c in compiled if (m := f"{c.standard.id}.failed_mask") in have]
    # The distinct masks of every standard in one pass (one query, not two per standard).
    distinct = out.select(pl.col(m).unique().implode()
                          for m in masks + (failed_masks if full else [])).row(0, named=True)
    exprs = []
    for c in compiled:
        sid = c.standard.id
        names = {m: c.bits.decode(m) for m in distinct[f"{sid}.mask"]}
        missing = {m: ";".join(v[0]) or None for m, v in names.items()}
        exprs.append(_lookup(f"{sid}.mask", missing).alias(f"{sid}.missing"))
        if not full:
            continue
        params = {m: ";".join(v[1]) or None for m, v in names.items()}
        texts = _failed_texts(c)
        failed = {m: "；".join(t for i, t in enumerate(texts) if m >> i & 1) or None
                  for m in distinct[f"{sid}.failed_mask"]}
        exprs += [
            _lookup(f"{sid}.mask", params).alias(f"{sid}.unknown_parameters"),
            _lookup(f"{sid}.failed_mask", failed).alias(f"{sid}.failed"),
            pl.lit(c.rule.start.isoformat() if c.rule else None, dtype=pl.String)
            .alias(f"{sid}.version"),
        ]
        if f"{sid}.excluded_by" not in have:
            exprs.append(pl.lit(None, dtype=pl.String).alias(f"{sid}.excluded_by"))
    return out.with_columns(exprs).drop(masks + failed_masks)


def _lookup(column: str, table: dict[int, str | None]) -> pl.Expr:
    """``column`` (masks) mapped through ``table`` (every mask it holds); a table of one text
    (or of nothing but empties) needs no lookup."""
    texts = set(table.values())
    if len(texts) == 1:
        return pl.lit(texts.pop(), dtype=pl.String)
    # A binary search among the chunk's few distinct masks, then a gather: half the time of
    # replace_strict's hash lookup per row.
    keys = sorted(table)
    return pl.lit(pl.Series([table[k] for k in keys], dtype=pl.String)).gather(
        pl.lit(pl.Series(keys, dtype=MASK)).search_sorted(pl.col(column)))


def _failed_texts(c: _Compiled) -> list[str]:
    return [cond.text.zh for cond in c.rule.conditions] if c.rule else []


def _household_rows_on_first_member(out: pl.DataFrame, chosen: list[Standard]) -> pl.DataFrame:
    have = frozenset(out.columns)
    cols = [c for s in chosen if s.entity == "household" for f in RESULT_FIELDS
            if (c := f"{s.id}.{f}") in have]
    if not cols:
        return out
    return out.with_columns(pl.when(pl.col("__first")).then(pl.col(c)).alias(c) for c in cols)


# --- long layout -----------------------------------------------------------------------------
def to_long(wide: pl.DataFrame, std: StandardsSet, keep_not_eligible: bool = False
            ) -> pl.DataFrame:
    """One row per person and standard (household standards: per household, ``person_id``
    empty). By default only ``eligible`` and ``undetermined`` results are kept."""
    parts, have = [], frozenset(wide.columns)  # ``wide.columns`` is a new list at each call
    ids = [c.removesuffix(".status") for c in wide.columns if c.endswith(".status")]
    row = [pl.col("row")] if "row" in have else []
    for sid in ids:
        s = std[sid]
        fields = RESULT_FIELDS + (PERIOD_FIELDS if f"{sid}.total" in have else ())
        cols = [pl.col(f"{sid}.{f}").alias(f) for f in fields]
        person = pl.col(PERSON) if s.entity == "person" else pl.lit(None, dtype=pl.String)
        part = wide.select(*row, pl.col(HOUSEHOLD), person.alias(PERSON),
                           pl.lit(sid).alias("standard"), *cols)
        part = part.filter(pl.col("status").is_not_null())
        if not keep_not_eligible:
            part = part.filter(pl.col("status").is_in(("eligible", "undetermined")))
        parts.append(part)
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts, how="vertical_relaxed")


def money_columns(frame: pl.DataFrame, fen: bool = False) -> pl.DataFrame:
    """Amount columns (millionths) rounded half away from zero to the fen, as results show
    money: exact ``Decimal(18, 2)`` 元, or with ``fen`` whole fen as ``Int64``."""
    cols = [c for c in frame.columns if c.endswith(("amount", "total", "_at_least"))]
    whole = [div_round(pl.col(c), FEN) for c in cols]
    if fen:
        return frame.with_columns(w.alias(c) for w, c in zip(whole, cols))
    # Whole fen as Decimal(18, 0) hold the same 128-bit integers as the amounts in 元 as
    # Decimal(18, 2): the type is swapped on the Arrow buffers, not computed by a decimal
    # division per cell (3-4x the cost). The engine's values (compile.vector.LIMIT, 4×10^12
    # 元) are far inside 18 digits.
    # A small frame is divided instead: pyarrow's import (it brings numpy) would cost more
    # than the division saves, in a small batch's start-up.
    if frame.height < _ARROW_MONEY_ROWS:
        return frame.with_columns((w.cast(MONEY) / 100).cast(MONEY).alias(c)
                                  for w, c in zip(whole, cols))
    fen_frame = frame.select(w.cast(pl.Decimal(18, 0)).alias(c) for w, c in zip(whole, cols))
    return frame.with_columns(_as_yuan(fen_frame.get_column(c)) for c in cols)


_ARROW_MONEY_ROWS = 10_000  # from this many rows, amounts become 元 on their Arrow buffers


def _as_yuan(fen: pl.Series) -> pl.Series:
    """A ``Decimal(18, 0)`` column of whole fen as ``Decimal(18, 2)`` 元 (the same integers)."""
    import pyarrow as pa  # the batch extra, as Polars
    array = fen.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    yuan = pa.Array.from_buffers(pa.decimal128(MONEY.precision, MONEY.scale), len(array),
                                 array.buffers(), null_count=array.null_count, offset=array.offset)
    return pl.Series(fen.name, yuan)


# --- periods ---------------------------------------------------------------------------------
#: The extra columns a period result has per standard, beside the last deciding month's fields.
PERIOD_FIELDS = ("total", "total_at_least", "months_eligible", "prorated")


def evaluate_frame_period(frame: pl.DataFrame, months: tuple[date, ...], std: StandardsSet,
                          standards: list[str] | None = None, detail: str = "full"
                          ) -> pl.DataFrame:
    """Results over a period, month by month as of each 1st, as :func:`gongfu_rules.evaluate`
    does with ``period=``: the status is ``eligible`` if any month is; ``ID.total`` adds the
    eligible months' amounts (a yearly or daily standard: its annual figure / 12 a month; a
    one-off: the first eligible month's amount), and is empty when one of them is unknown. The
    other fields are those of the last month whose status is the period's status (with
    ``detail="narrow"``: the status, total and quantity only)."""
    monthly = [evaluate_frame(frame, m, std, standards, detail) for m in months]
    overflow = pl.any_horizontal([w.get_column(OVERFLOW_COLUMN) for w in monthly])
    monthly = [w.drop(OVERFLOW_COLUMN) for w in monthly]
    ids = [c.removesuffix(".status") for c in monthly[0].columns if c.endswith(".status")]
    stacked = pl.concat(
        [monthly[0].select(HOUSEHOLD, PERSON),
         *(w.drop(HOUSEHOLD, PERSON).rename(lambda c, i=i: f"{c}@{i}")
           for i, w in enumerate(monthly))], how="horizontal")
    # In stages, each reading the last one's columns by name: one nested expression would
    # repeat the status and the deciding month in every field, and grow too large to plan.
    stacked = stacked.with_columns(_period_status(sid, len(months)) for sid in ids)
    stacked = stacked.with_columns(_deciding_month(sid, len(months)) for sid in ids)
    columns: list[pl.Expr] = []
    for sid in ids:
        columns += _period_columns(std[sid], len(months), set(monthly[0].columns), detail)
    return stacked.select(HOUSEHOLD, PERSON, *columns, overflow.alias(OVERFLOW_COLUMN))


def _period_status(sid: str, n_months: int) -> pl.Expr:
    statuses = [pl.col(f"{sid}.status@{i}") for i in range(n_months)]
    # the first status any month has, in the scalar engine's order (evaluate._PERIOD_STATUS)
    status = (pl.when(pl.any_horizontal([x == "eligible" for x in statuses])).then(pl.lit("eligible"))
              .when(pl.any_horizontal([x == "undetermined" for x in statuses]))
              .then(pl.lit("undetermined"))
              .when(pl.any_horizontal([x == "not_eligible" for x in statuses]))
              .then(pl.lit("not_eligible")).otherwise(pl.lit("not_in_force")).cast(STATUS))
    return pl.when(statuses[0].is_null()).then(None).otherwise(status).alias(f"{sid}.status")


def _deciding_month(sid: str, n_months: int) -> pl.Expr:
    status = pl.col(f"{sid}.status")
    return pl.max_horizontal([pl.when(pl.col(f"{sid}.status@{i}") == status).then(pl.lit(i))
                              for i in range(n_months)]).alias(f"{sid}.month")


def _period_columns(s: Standard, n_months: int, have: set[str], detail: str) -> list[pl.Expr]:
    sid, months = s.id, range(n_months)

    def col(field: str, i: int) -> pl.Expr:
        if f"{sid}.{field}" not in have:  # a narrow frame has no amount where there is none
            return pl.lit(None, dtype=FIXED)
        return pl.col(f"{sid}.{field}@{i}")

    eligible = [col("status", i) == "eligible" for i in months]
    last = pl.col(f"{sid}.month")

    def detail_(field: str) -> pl.Expr:
        out = col(field, 0)
        for i in months:
            out = pl.when(last == i).then(col(field, i)).otherwise(out)
        return out.alias(f"{sid}.{field}")

    status = pl.col(f"{sid}.status")
    # A household standard's result is on its first member's row only: the others have none.
    total = pl.when(status.is_not_null()).then(_total(s, col, eligible, months)) \
        .alias(f"{sid}.total")
    counted = pl.sum_horizontal([e.cast(pl.Int64) for e in eligible])
    counted = pl.when(status.is_not_null()).then(counted).alias(f"{sid}.months_eligible")
    low = pl.when(status.is_not_null()).then(_total_at_least(s, col, eligible, months)) \
        .alias(f"{sid}.total_at_least")
    if detail != "full":
        bounded = [low] if f"{sid}.amount_at_least" in have else []
        return [status, total, counted, *bounded,
                *(detail_(f) for f in ("quantity",) if f"{sid}.{f}" in have)]
    return [status, total, counted, low,
            pl.lit(s.period not in ("month", "once")).alias(f"{sid}.prorated"),
            *(detail_(f) for f in RESULT_FIELDS if f != "status")]


def _total_at_least(s: Standard, col: Any, eligible: list[pl.Expr], months: range) -> pl.Expr:
    """The period total's lower bound, as ``evaluate._total_at_least``: each eligible month's
    share, or its ``amount_at_least``'s where the share is unknown; null unless some month
    has a lower bound and every unknown share has one."""
    factor = _PER_YEAR.get(s.period)
    if s.period == "once":
        firsts = [eligible[i] & ~pl.any_horizontal([eligible[j] for j in range(i)] or
                                                     [pl.lit(False)]) for i in months]
        eligible = firsts
    shares, lows = [], []
    for i in months:
        low = col("amount_at_least", i)
        if s.period in ("month", "once"):
            shares.append(col("amount", i))
            lows.append(low)
        else:
            shares.append(div_round(col("annual_amount", i), 12))
            lows.append(div_round(low * int(factor), 12) if factor is not None
                        else pl.lit(None, dtype=FIXED))
    some = pl.any_horizontal([eligible[i] & col("amount_at_least", i).is_not_null()
                              for i in months])
    parts = [pl.when(eligible[i]).then(pl.coalesce(shares[i], lows[i]))
             .otherwise(pl.lit(0, dtype=FIXED)) for i in months]
    gap = pl.any_horizontal([p.is_null() for p in parts])
    return pl.when(some & ~gap).then(pl.sum_horizontal(parts).cast(FIXED))


def _total(s: Standard, col: Any, eligible: list[pl.Expr], months: range) -> pl.Expr:
    # A month that may be eligible (undetermined) might add to the total: it is unknown then.
    open_month = pl.any_horizontal([col("status", i) == "undetermined" for i in months])
    if s.period == "once":
        first = pl.lit(None, dtype=FIXED)
        found = pl.lit(False)
        for i in reversed(months):
            first = pl.when(eligible[i]).then(col("amount", i)).otherwise(first)
            found = found | eligible[i]
        return pl.when(found).then(first).when(open_month).then(None) \
            .otherwise(pl.lit(0, dtype=FIXED))
    # A yearly figure a month: a twelfth, to the millionth (the scalar engine divides exactly;
    # the totals agree to the fen).
    shares = [col("amount", i) if s.period == "month" else div_round(col("annual_amount", i), 12)
              for i in months]
    unknown = pl.any_horizontal([eligible[i] & shares[i].is_null() for i in months]) | open_month
    total = pl.sum_horizontal([pl.when(eligible[i]).then(shares[i])
                               .otherwise(pl.lit(0, dtype=FIXED)) for i in months])
    return pl.when(unknown).then(None).otherwise(total.cast(FIXED))
