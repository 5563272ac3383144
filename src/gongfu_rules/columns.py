"""The columns of a caseload file, and how each cell is read and checked, column-wise.

One row per person. Headers may be the English field names of a profile
(``docs/profiles.md``) or the Chinese labels forms use (身份证号, 出生日期, 户籍地区划代码 ...);
:func:`header_map` lists every accepted header (the fact registry's labels, so the docs'
tables are generated from the same source: :func:`headers_markdown`). Household facts are
``household.NAME`` (or ``household_NAME``, or the Chinese label) and repeat on every member's
row; ``household_id`` links the members (without that column every row is a household of its
own). Other columns are an error, unless kept (:func:`kept_headers`, copied into the results
as written) or ignored (then named: :func:`unread_warning`).

Cells are read as :mod:`gongfu_rules.profile` reads a profile — the same Chinese spellings,
ID-number checks (check digit, birth date, sex) and region codes — but a column at a time.
A bad cell never stops the batch and is never dropped silently: :func:`typed_frame` returns the
typed rows it could read and one error row per problem (row number, column as written in the
file, code, message). A household with a bad row is set aside whole, and each of its other
members gets an error row saying why, since its size and facts would be wrong without it.
ID numbers never appear in an error message.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
from pydantic_core import PydanticCustomError

from .errors import ErrorDetail, InputError
from .facts import fact_specs
from .households import SOURCE_ROW
from .profile import (
    _ID_CHECK,
    _ID_AS_NUMBER,
    _ID_SHAPE,
    _ID_WEIGHTS,
    ENUMS,
    ID_AS_NUMBER_MESSAGE,
    Role,
    Sex,
    _count,
    _date,
    _flag,
    _grade,
    _key,
    _money,
    _region,
)
from .regions import regions

HOUSEHOLD, PERSON, ROW = "household_id", "person_id", "row"
ERROR_SCHEMA = {"row": pl.Int64, "column": pl.String, "code": pl.String, "message": pl.String}


@dataclass(frozen=True, slots=True)
class Column:
    """A field a caseload may carry: its kind and the headers accepted for it."""

    name: str
    kind: str  # id, date, enum, bool, count, money, grade, region, id_number
    headers: tuple[str, ...]
    enum: type | None = None


def _columns() -> tuple[tuple[Column, ...], tuple[str, ...]]:
    cols = [
        Column(HOUSEHOLD, "id", ("household_id", "家庭编号", "户编号", "家庭ID")),
        Column(PERSON, "id", ("person_id", "id", "人员编号", "成员编号")),
        Column("role", "enum", ("role", "与户主关系", "家庭关系"), Role),
        Column("id_number", "id_number", ("id_number", "身份证号", "身份证号码", "公民身份号码")),
        Column("birth_date", "date", ("birth_date", "出生日期")),
        Column("sex", "enum", ("sex", "性别"), Sex),
        Column("death_date", "date", ("death_date", "死亡日期")),
        Column("hukou_region", "region", ("hukou_region", "户籍地区划代码", "户籍地", "户籍所在地")),
        Column("residence_region", "region",
               ("residence_region", "居住地区划代码", "居住地", "常住地")),
        Column("disability_grade", "grade", ("disability_grade", "残疾等级")),
        Column("household.region", "region",
               ("household.region", "household_region", "家庭居住地区划代码", "家庭居住地")),
    ]
    core = len(cols)
    for spec in fact_specs():
        name = spec.name if spec.entity == "person" else f"household.{spec.name}"
        headers = (name, spec.zh, *spec.also) if spec.entity == "person" else \
            (name, f"household_{spec.name}", spec.zh, *spec.also)
        cols.append(Column(name, spec.type, headers, ENUMS.get(spec.name)))
    return tuple(cols), tuple(c.name for c in cols[:core])


COLUMNS, CORE_FIELDS = _columns()
#: ``CORE_FIELDS``: identity and region columns, which every typed frame has (absent ones
#: empty); a catalog fact the file lacks is simply not a column (compile.vector).
_BY_NAME = {c.name: c for c in COLUMNS}


def label_zh(name: str) -> str:
    """A field's Chinese label: the first Chinese header accepted for it (the fact registry's
    label for a catalog fact), else its name."""
    col = _BY_NAME.get(name)
    return next((h for h in col.headers if not h.isascii()), name) if col else name


def headers_markdown() -> str:
    """Every field a caseload file may have and the Chinese headers accepted for it, as the
    Markdown table of ``docs/batch.md`` (a test keeps the document equal to this)."""
    lines = ["| Field | Chinese headers accepted |", "|---|---|"]
    for c in COLUMNS:
        zh = ", ".join(h for h in c.headers if not h.isascii())
        lines.append(f"| `{c.name}` | {zh} |")
    return "\n".join(lines)


def header_map() -> dict[str, str]:
    """Every accepted header (case- and space-insensitive) and the field it names."""
    return {_key(h): c.name for c in COLUMNS for h in c.headers}


_HEADERS = header_map()


def map_headers(headers: list[str], ignore_unknown: bool = False,
                keep: tuple[str, ...] | list[str] = ()) -> tuple[dict[str, str], list[str]]:
    """``({header: field}, ignored headers)``; an unknown or repeated field is an InputError.
    ``keep``: headers carried into the results as they are (:func:`kept_headers`), which are
    then not unknown."""
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[ErrorDetail] = []
    seen: dict[str, str] = {}
    kept = {_key(k) for k in keep}
    for h in headers:
        field = _HEADERS.get(_key(h))
        if field is None:
            if _key(h) in kept or h == SOURCE_ROW:
                continue
            if ignore_unknown:
                ignored.append(h)
            else:
                problems.append(ErrorDetail("column_unknown", f"unknown column '{h}'{_hint(h)}; "
                                            "see docs/batch.md for the accepted headers, keep it "
                                            "in the results with --keep, or pass "
                                            "--ignore-extra-columns", loc=(h,)))
            continue
        if field in seen:
            problems.append(ErrorDetail("column_duplicate", f"columns '{seen[field]}' and '{h}' "
                                        f"both give {field}", loc=(h,)))
            continue
        seen[field] = h
        mapping[h] = field
    if problems:
        raise InputError(problems)
    return mapping, ignored


def _hint(header: str) -> str:
    """`` (did you mean 出生日期?)`` for a header close to an accepted one, else nothing."""
    close = difflib.get_close_matches(_key(header), list(_SPELLED), n=1, cutoff=0.75)
    return f" (did you mean '{_SPELLED[close[0]]}'?)" if close else ""


_SPELLED = {_key(h): h for c in COLUMNS for h in c.headers}


def unread_warning(ignored: list[str]) -> str:
    """What a run says of the columns it skipped: each is neither a profile field nor kept, so
    a mistyped header (出生日其) is named, with the accepted header it is close to."""
    return ("columns neither read nor kept (a mistyped header?): "
            + ", ".join(f"'{h}'{_hint(h)}" for h in ignored))


def kept_headers(headers: list[str], keep: tuple[str, ...] | list[str]) -> list[str]:
    """The file's headers for the columns to keep (``--keep 姓名,村组``), matched as headers
    are (case, spaces, ``_`` and ``-`` aside); one the file lacks is an InputError."""
    by_key = {_key(h): h for h in headers}
    missing = [k for k in keep if _key(k) not in by_key]
    if missing:
        raise InputError([ErrorDetail("keep_column_missing", f"the column '{k}' to keep is not "
                                      "in the file", loc=(k,)) for k in missing])
    return list(dict.fromkeys(by_key[_key(k)] for k in keep))


# --- reading the cells -----------------------------------------------------------------------
# A column holds few distinct values (yes/no, an enumeration, region codes, dates), so each
# distinct text is read once, in Python, by the same rules the profile models use, and the
# column is mapped through the result: exact, and faster than string work on every row.

_REGION_MESSAGE = ("not a GB/T 2260 (2023) region code; give a province, prefecture or county "
                   "code such as '53', '5301' or '530102'")
_READERS: dict[str, tuple[Callable[[str], object], pl.DataType, str, str]] = {
    "bool": (_flag, pl.Boolean, "value_invalid", "expected true or false (是/否)"),
    "count": (_count, pl.Int64, "value_invalid", "expected a whole number 0 or more"),
    "money": (lambda t: _fen(_money(t)), pl.Int64, "value_invalid",
              "expected an amount in 元, 0 or more, below 10^12"),
    "grade": (_grade, pl.Int64, "value_invalid", "expected a disability grade 1-4 (一级 to 四级)"),
    "date": (_date, pl.Date, "date_invalid", "expected a date as YYYY-MM-DD, such as 1990-03-07"),
    "region": (_region, pl.String, "region_unknown", _REGION_MESSAGE),
}


def _reader(col: Column) -> tuple[Callable[[str], object], pl.DataType, str, str] | None:
    if col.kind == "enum":
        assert col.enum is not None
        enum = col.enum
        return (lambda t: enum(t).value, pl.String, "value_invalid",  # type: ignore[operator]
                f"expected one of {enum.describe()}")  # type: ignore[attr-defined]
    return _READERS.get(col.kind)


#: Cells of these exact shapes are read column-wise (what the profile parsers give them);
#: anything else goes through the parsers, once per distinct value.
_FAST: dict[str, tuple[str, Callable[[pl.Expr], pl.Expr]]] = {
    "date": (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", lambda t: t.str.to_date("%Y-%m-%d", strict=False)),
    "money": (r"^[0-9]{1,12}(\.[0-9]{1,6})?$", lambda t: _decimal_fen(t.cast(pl.Decimal(18, 6)))),
}
#: Money is read as whole fen (an Int64), 四舍五入 as the profile reads it, and below 10^12 元
#: so that the batch engine's fixed-point arithmetic (compile.vector) holds it exactly.
MONEY_MAX_FEN = 10**14


def _fen(amount: object) -> int:
    fen = int(amount * 100)  # type: ignore[operator]  # _money has quantized it to the fen
    if fen >= MONEY_MAX_FEN:
        raise ValueError("too large")
    return fen


def _decimal_fen(x: pl.Expr) -> pl.Expr:
    """A decimal column as whole fen, halves away from zero (non-negative here)."""
    return (x.round(2, mode="half_away_from_zero") * 100).cast(pl.Int64)


def _read_column(df: pl.DataFrame, name: str, kind: str, read: Callable[[str], object],
                 dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """The column read (fast shapes column-wise, the rest value by value), and where reading
    failed."""
    if kind not in _FAST:
        return _read_distinct(df, name, read, dtype)
    pattern, fast = _FAST[kind]
    shaped = pl.col(name).str.contains(pattern)
    rest = df.filter(pl.col(name).is_not_null() & ~shaped.fill_null(False))
    slow, _ = _read_distinct(rest, name, read, dtype)
    value = pl.when(shaped).then(fast(pl.col(name))).otherwise(slow)
    return value, pl.col(name).is_not_null() & value.is_null()


def _read_distinct(df: pl.DataFrame, name: str, read: Callable[[str], object],
                   dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """The column read through ``read`` (once per distinct value), and where reading failed."""
    table: dict[str, object] = {}
    for text in df.get_column(name).drop_nulls().unique().to_list():
        try:
            table[text] = read(text)
        except (ValueError, PydanticCustomError):
            table[text] = None
    value = pl.col(name).replace_strict(table, default=None, return_dtype=dtype)
    return value, pl.col(name).is_not_null() & value.is_null()


def _read_cells(df: pl.DataFrame, name: str, read: Callable[[str], object],
                dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """A text column as it is in the file, read through ``read`` once per distinct cell
    (trimmed as :func:`_text` trims it; an empty cell is no value), and where reading failed.
    A column whose every cell reads as itself (canonical values) is used as it is."""
    cells = df.get_column(name).drop_nulls().unique()
    table: dict[str, object] = {}
    failed = []
    for cell, text in zip(cells.to_list(), cells.str.strip_chars().to_list()):
        value = None
        if text:
            try:
                value = read(text)
            except (ValueError, PydanticCustomError):
                pass
            if value is None:
                failed.append(cell)
        table[cell] = value
    if dtype == pl.String and all(value == cell for cell, value in table.items()):
        value_expr = pl.col(name)
    else:
        value_expr = pl.col(name).replace_strict(table, default=None, return_dtype=dtype)
    return value_expr, pl.col(name).is_in(failed) if failed else pl.lit(False)


def _read_money_floats(df: pl.DataFrame, name: str, read: Callable[[str], object],
                       dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """A money column of floats (a Parquet or JSON file's) read as its text is read (the
    float's shortest decimal, 四舍五入 to the fen), and where reading failed.

    Below 10^9 元 that decimal times 100 and the float x·100 differ by less than 10^-4 fen
    (2^-52 relative, twice), so where x·100 is more than 0.03 from half a fen both round to
    the same whole fen: x·100 rounded is used. The other cells (near half a fen, negative,
    large, not a number) go through their text, once per distinct value, as before."""
    x = pl.col(name).cast(pl.Float64)
    scaled = x * 100
    plain = (x >= 0) & (x < 1e9) & ((scaled - scaled.floor() - 0.5).abs() > 0.03)
    rest = df.filter(pl.col(name).is_not_null() & ~plain.fill_null(False)) \
        .select(pl.col(name).unique().alias("__float")) \
        .with_columns(_text("__float").alias(name))
    value = pl.when(plain).then(scaled.round(0).cast(pl.Int64))
    if rest.height:
        text_value, _ = _read_column(rest, name, "money", read, dtype)
        table = dict(zip(rest.get_column("__float").to_list(),
                         rest.select(text_value).to_series().to_list()))
        value = value.otherwise(pl.col(name).replace_strict(table, default=None,
                                                             return_dtype=dtype))
    value = value.cast(dtype)
    return value, pl.col(name).is_not_null() & value.is_null()


# A Parquet or JSON file may carry typed columns; those are used as they are, checked.
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_TYPED: dict[str, tuple[type, ...]] = {
    "bool": (pl.Boolean,), "date": (pl.Date,), "count": _INTEGERS, "grade": _INTEGERS,
    "money": (pl.Decimal, *_INTEGERS),
}


def _already_typed(col: Column, dtype: pl.DataType) -> bool:
    return any(isinstance(dtype, t) or dtype == t for t in _TYPED.get(col.kind, ()))


def _checked(col: Column, dtype: pl.DataType, given: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """A typed column's value and where it is out of range (a negative count, a grade 5);
    ``given`` is the file's type for it."""
    value = pl.col(col.name)
    if col.kind == "money":
        fen = _decimal_fen(value) if isinstance(given, pl.Decimal) else value.cast(pl.Int64) * 100
        value = pl.when((value >= 0) & (value < MONEY_MAX_FEN // 100)).then(fen)
    elif col.kind == "count":
        value = pl.when(value >= 0).then(value)
    elif col.kind == "grade":
        value = pl.when(value.is_between(1, 4)).then(value)
    value = value.cast(dtype)
    return value, pl.col(col.name).is_not_null() & value.is_null()


def _text(name: str) -> pl.Expr:
    """The cells as text without their surrounding spaces; an empty one is no value."""
    return pl.col(name).cast(pl.String).str.strip_chars().replace("", None)


def _id_checks(name: str) -> list[list[pl.Expr]]:
    """The ID number column's checks, as stages of columns (an eager frame does not share a
    subexpression between its columns, so what several read is a column of an earlier
    stage): ``__bad.id_shape``, ``__bad.id_digit`` and ``__bad.id_as_number`` (each cell has
    at most one of the three faults), and the birth date and sex it gives, ``__id_born`` and
    ``__id_sex`` (where it has an ID number's shape)."""
    number = pl.col(name)
    shaped, scientific = pl.col("__id_shaped"), pl.col("__id_scientific")
    wrong, as_number = pl.col("__id_wrong"), pl.col("__bad.id_as_number")
    # The check digit's weights are 2^17 ... 2^1 modulo 11 (ISO 7064 MOD 11-2), and 13 ≡ 2
    # (mod 11): the 17 digits read as one base-13 number N (below 13^17 < 2^63) give the
    # weighted sum modulo 11 as 2N, in one parse instead of 17 digit extractions. The check
    # character is _ID_CHECK[sum % 11]: its value (X = 10) makes sum + value ≡ 1 (mod 11).
    # (tests/test_columns_cells.py checks both facts.)
    total = number.str.slice(0, 17).str.to_integer(base=13, strict=False) % 11 * 2
    value = number.str.slice(17, 1).cast(pl.Int64, strict=False).fill_null(10)  # X: 10
    given = number.is_not_null()
    # As kept_15_digits: a multiple of 1000, or the binary number nearest one.
    n = number.cast(pl.Int64, strict=False)
    kept = (n + 500) // 1000 * 1000
    first17 = number.str.slice(0, 17).cast(pl.Int64, strict=False)  # its parity is the sex
    born = number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    sex = pl.when(first17 % 2 == 1).then(pl.lit("male")).otherwise(pl.lit("female"))
    return [
        [number.str.contains(f"^{_ID_SHAPE.pattern}$").alias("__id_shaped"),
         number.str.contains(f"^{_ID_AS_NUMBER.pattern}$").alias("__id_scientific")],
        [(given & shaped & ((total + value) % 11 != 1)).alias("__id_wrong"),
         pl.when(shaped).then(born).alias("__id_born"),
         pl.when(shaped).then(sex).alias("__id_sex")],
        [((given & scientific) | (wrong & ((n == kept) | (
            n == kept.cast(pl.Float64).cast(pl.Int64))).fill_null(False)))
         .alias("__bad.id_as_number")],
        [(given & ~shaped & ~scientific).alias("__bad.id_shape"),
         (wrong & ~as_number).alias("__bad.id_digit")],
    ]


def typed_frame(raw: pl.DataFrame, mapping: dict[str, str], first_row: int = 1,
                last_day: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(typed rows, error rows)`` for a chunk of a caseload file.

    ``mapping`` is :func:`map_headers`' header → field map; ``first_row`` numbers the chunk's
    rows in the file (1 = the first data row). ``last_day``: a birth date after it is an error.
    """
    reverse = {field: header for header, field in mapping.items()}
    # Rows numbered before the columns are chosen: a chunk none of whose columns is a profile
    # field keeps its rows (a frame of no columns has none). A batch's chunks carry their
    # input row numbers (households gathered from apart are not in file order).
    if SOURCE_ROW in raw.columns:
        df = raw.select(pl.col(SOURCE_ROW).cast(pl.Int64).alias(ROW), *mapping)
    else:
        df = raw.with_row_index(ROW, offset=first_row).select(ROW, *mapping)
    df = df.rename(mapping)
    typed = {f for f in mapping.values() if _already_typed(_BY_NAME[f], df.schema[f])}
    readers = {f: r for f in mapping.values() if (r := _reader(_BY_NAME[f])) is not None}
    # Text read value by value (enumerations, regions, yes/no ...) is trimmed per distinct
    # cell, not per row.
    cells = {f for f in readers if f not in typed and _BY_NAME[f].kind not in _FAST
             and df.schema[f] == pl.String}
    floats = {f for f in readers if f not in typed and _BY_NAME[f].kind == "money"
              and df.schema[f] in (pl.Float32, pl.Float64)}
    df = df.with_columns(_text(f).alias(f) for f in mapping.values()
                         if f not in typed and f not in cells and f not in floats)
    exprs = []  # ids and ID numbers have no reader: kept as text, ID numbers checked below
    for field, (read, dtype, _, _) in readers.items():
        if field in typed:
            value, bad = _checked(_BY_NAME[field], dtype, df.schema[field])
        elif field in cells:
            value, bad = _read_cells(df, field, read, dtype)
        elif field in floats:
            value, bad = _read_money_floats(df, field, read, dtype)
        else:
            value, bad = _read_column(df, field, _BY_NAME[field].kind, read, dtype)
        exprs += [value.alias(field), bad.alias(f"__bad.{field}")]
    df = df.with_columns(exprs)
    errors = [_Check(f"__bad.{field}", reverse[field], code, message)
              for field, (_, _, code, message) in readers.items()]
    df, more = _identity(df, reverse, last_day)
    errors += more
    df = _complete(df, HOUSEHOLD in reverse)
    df, more = _household_checks(df, reverse)
    errors += more
    return _set_aside(df, errors, reverse)


@dataclass(frozen=True, slots=True)
class _Check:
    """A check's flag column (true on bad rows) and what its error row says. The flags stay
    in the frame until :func:`_set_aside` reads them all in one pass."""

    flag: str
    column: str
    code: str
    message: str


def _error_rows(df: pl.DataFrame, checks: list[_Check]) -> pl.DataFrame:
    """One error row per bad cell, from the checks' flag columns."""
    flags = [c.flag for c in checks]
    bad = df.select(ROW, *flags).filter(pl.any_horizontal(flags)) if flags else df.clear()
    if bad.height == 0:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return pl.concat([bad.filter(pl.col(c.flag)).select(
        pl.col(ROW).cast(pl.Int64), pl.lit(c.column).alias("column"), pl.lit(c.code).alias("code"),
        pl.lit(c.message).alias("message")) for c in checks])


def _identity(df: pl.DataFrame, reverse: dict[str, str], last_day: date | None
              ) -> tuple[pl.DataFrame, list[_Check]]:
    """ID numbers: shape and check digit; birth date and sex from them, or checked against them."""
    errors: list[_Check] = []
    if "birth_date" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Date).alias("birth_date"))
    if "sex" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("sex"))
    if "id_number" in df.columns:
        df = df.with_columns(pl.col("id_number").str.to_uppercase())
        for stage in _id_checks("id_number"):
            df = df.with_columns(stage)
        col = reverse["id_number"]
        errors += [
            _Check("__bad.id_shape", col, "id_number_format",
                    "expected 18 characters: 17 digits, then a check character 0-9 or X"),
            _Check("__bad.id_digit", col, "id_number_check_digit",
                    "the check digit does not match the first 17 digits; the number is mistyped"),
            _Check("__bad.id_as_number", col, "id_number_as_number", ID_AS_NUMBER_MESSAGE),
        ]
        ok = ~pl.col("__bad.id_shape") & ~pl.col("__bad.id_digit") \
            & ~pl.col("__bad.id_as_number") & pl.col("id_number").is_not_null()
        df = df.with_columns(
            (ok & pl.col("__id_born").is_null()).alias("__bad.id_birth"),
            (ok & pl.col("birth_date").is_not_null() & pl.col("__id_born").is_not_null()
             & (pl.col("birth_date") != pl.col("__id_born"))).alias("__bad.id_born_conflict"),
            (ok & pl.col("sex").is_not_null() & (pl.col("sex") != pl.col("__id_sex")))
            .alias("__bad.id_sex_conflict"))
        errors += [
            _Check("__bad.id_birth", col, "id_number_birth_date",
                    "characters 7-14 should be the birth date as YYYYMMDD but are not a real date"),
            _Check("__bad.id_born_conflict", reverse.get("birth_date", "birth_date"),
                    "id_number_conflict", "the birth date does not match the birth date in the "
                    "ID number (characters 7-14)"),
            _Check("__bad.id_sex_conflict", reverse.get("sex", "sex"), "id_number_conflict",
                    "the sex does not match the sex in the ID number (the 17th digit is odd for "
                    "male, even for female)"),
        ]
        df = df.with_columns(
            pl.coalesce("birth_date", pl.when(ok).then(pl.col("__id_born"))).alias("birth_date"),
            pl.coalesce("sex", pl.when(ok).then(pl.col("__id_sex"))).alias("sex"))
    if last_day is not None:
        df = df.with_columns((pl.col("birth_date") > pl.lit(last_day)).fill_null(False)
                             .alias("__bad.born_after"))
        errors.append(_Check("__bad.born_after", reverse.get("birth_date", "birth_date"),
                              "birth_after_evaluation",
                              f"the birth date is after the evaluation date {last_day}"))
    return df, errors


def _complete(df: pl.DataFrame, has_households: bool) -> pl.DataFrame:
    """Every core field as a typed column (absent ones null), and ids for households and
    persons (without a household column, each row is a household of its own; with one, an
    empty id is an error, even in a chunk of nothing but empty ids)."""
    missing = [c for c in COLUMNS if c.name not in df.columns and c.name in CORE_FIELDS]
    df = df.with_columns(pl.lit(None, dtype=_dtype(c)).alias(c.name) for c in missing)
    if not has_households:
        df = df.with_columns(pl.concat_str(pl.lit("row"), pl.col(ROW)).alias(HOUSEHOLD))
    # A household's run of consecutive rows: grouping on it is cheaper than on the id's text.
    df = df.with_columns(pl.col(HOUSEHOLD).rle_id().alias("__run"))
    if df.get_column(PERSON).null_count() == 0:
        return df
    return df.with_columns(
        pl.coalesce(PERSON, pl.concat_str(pl.lit("p"), (pl.int_range(pl.len()) + 1).over("__run")))
        .alias(PERSON))


def _dtype(c: Column) -> pl.DataType:
    reader = _READERS.get(c.kind)
    return pl.String if reader is None else reader[1]


def _household_checks(df: pl.DataFrame, reverse: dict[str, str]
                      ) -> tuple[pl.DataFrame, list[_Check]]:
    """A household id in every row (when the file has them); unique person ids; household
    facts the same on every member's row."""
    errors = []
    if HOUSEHOLD in reverse:
        df = df.with_columns(pl.col(HOUSEHOLD).is_null().alias("__bad.no_household"))
        errors.append(_Check("__bad.no_household", reverse[HOUSEHOLD], "field_missing",
                              "the household id is empty; every row needs one when the file "
                              "has the column"))
        df = df.with_columns(pl.coalesce(HOUSEHOLD, pl.concat_str(pl.lit("row"), pl.col(ROW))))
        # Members must be on consecutive rows: that is how a stream is cut into households.
        df = df.with_columns(pl.col(HOUSEHOLD).rle_id().alias("__run"))
        # As many ids as runs: no household is scattered (the window is needed only if one is).
        runs = df.get_column("__run").max() if df.height else 0
        together = df.get_column(HOUSEHOLD).n_unique() == (runs or 0) + 1 if df.height else True
        df = df.with_columns((pl.lit(False) if together else
                              pl.col("__run").n_unique().over(HOUSEHOLD) > 1)
                             .alias("__bad.scattered"))
        errors.append(_Check("__bad.scattered", reverse[HOUSEHOLD], "household_scattered",
                              "the rows of this household are not consecutive; sort the file "
                              "by household id"))
    df = df.with_columns((pl.len().over("__run", PERSON) > 1).alias("__bad.dup_person"))
    errors.append(_Check("__bad.dup_person", reverse.get(PERSON, PERSON),
                          "member_id_duplicate", "this person id is used twice in the household"))
    names = [f for f in reverse if f.startswith("household.")]
    # Members agree when the least and the greatest value given are the same (empty cells
    # aside); the household's value is then that one (a conflict sets the household aside).
    # A column the same on every member's row (or empty on all: the usual file) is that
    # already: the windows, the dearest step of reading a chunk, are skipped.
    varying = _varying_in_households(df, names)
    df = df.with_columns(
        *(_conflict(n, n in varying).alias(f"__bad.conflict.{n}") for n in names),
        *(pl.col(n).max().over("__run").alias(n) for n in varying))
    for name in names:
        errors.append(_Check(f"__bad.conflict.{name}", reverse[name], "household_conflict",
                              "members of this household give different values for this "
                              "household fact"))
    return df, errors


def _conflict(name: str, varying: bool) -> pl.Expr:
    if not varying:
        return pl.lit(False)
    return (pl.col(name).min().over("__run") != pl.col(name).max().over("__run")).fill_null(False)


def _varying_in_households(df: pl.DataFrame, names: list[str]) -> set[str]:
    """The columns among ``names`` whose cell differs (an empty cell included) from the row
    before's in the same household (``__run``)."""
    if not names or df.height == 0:
        return set()
    run = pl.col("__run")
    same = run == run.shift(1)
    flags = df.select((same & pl.col(n).ne_missing(pl.col(n).shift(1))).any().alias(n)
                      for n in names).row(0)
    return {n for n, flag in zip(names, flags) if flag}


def _set_aside(df: pl.DataFrame, errors: list[_Check], reverse: dict[str, str]
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Remove every household with a bad row; its other members get an error row each."""
    errs = _error_rows(df, errors)
    if errs.height == 0:
        return _clean(df), errs
    bad_rows = errs.get_column(ROW).unique()
    df = df.with_columns(pl.col(ROW).is_in(bad_rows.implode()).alias("__bad"))
    df = df.with_columns(pl.col("__bad").any().over(HOUSEHOLD).alias("__bad_household"))
    others = df.filter(pl.col("__bad_household") & ~pl.col("__bad")).select(
        pl.col(ROW).cast(pl.Int64), pl.lit(reverse.get(HOUSEHOLD, HOUSEHOLD)).alias("column"),
        pl.lit("household_set_aside").alias("code"),
        pl.lit("not evaluated: another member of this household has an error").alias("message"))
    good = df.filter(~pl.col("__bad_household"))
    return _clean(good), pl.concat([errs, others]).sort(ROW, "column", maintain_order=True)


def _clean(df: pl.DataFrame) -> pl.DataFrame:
    keep = [c for c in df.columns if not c.startswith("__")]
    return df.select(keep)
