"""CSV rows with more or fewer fields than the header: found before a batch starts, and set
aside as error rows (with their households) instead of rejecting the whole file.

A first pass reads the file as bare lines (Polars, streamed) and counts the separators in
each; a file without a quote character has one record per line, so that count is exact. A
file with quotes (a cell may hold a separator or a line break) is counted again with Python's
``csv`` module, record by record, as Polars reads it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from .columns import ERROR_SCHEMA, HOUSEHOLD, ROW

CODE = "fields_count"


def ragged_records(path: Path) -> tuple[int, dict[int, int]]:
    """``(fields in the header, {data row number: its number of fields})`` for the rows of a
    CSV file whose number of fields differs from the header's; rows number from 1 after the
    header, blank lines included, as the batch numbers them. UTF-8 or GB18030: separators,
    quotes and line breaks are the same bytes in both. A file that cannot be read gives none:
    the reader then says what is wrong with it."""
    try:
        return _counted(path)
    except (pl.exceptions.PolarsError, OSError, ValueError, csv.Error):
        return 0, {}


def _counted(path: Path) -> tuple[int, dict[int, int]]:
    lines = pl.scan_csv(path, has_header=False, separator="\x1f", quote_char=None,
                        infer_schema=False, encoding="utf8-lossy", new_columns=["line"])
    counted = lines.with_row_index("row").select(
        "row", (pl.col("line").str.count_matches(",", literal=True) + 1).alias("fields"),
        pl.col("line").str.contains('"', literal=True).alias("quoted"))
    header = counted.head(1).collect()
    if header.height == 0:
        return 0, {}
    width = header.item(0, "fields")
    odd = counted.filter((pl.col("row") > 0) & (
        pl.col("quoted") | (pl.col("fields") != width) & pl.col("fields").is_not_null())
    ).collect(engine="streaming")
    if odd.height == 0:
        return width, {}
    if not odd.get_column("quoted").any() and not header.item(0, "quoted"):
        return width, dict(zip(odd.get_column("row").to_list(),
                               odd.get_column("fields").to_list()))
    return _counted_by_csv(path)


def _counted_by_csv(path: Path) -> tuple[int, dict[int, int]]:
    # Invalid UTF-8 (GB18030 text) becomes U+FFFD; the ASCII separators stay as they are.
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        records = csv.reader(handle)
        width = len(next(records, []))
        return width, {row: len(fields) for row, fields in enumerate(records, start=1)
                       if fields and len(fields) != width}


def set_aside(typed: pl.DataFrame, bad: pl.DataFrame, ragged: dict[int, int], width: int,
              rows: pl.Series, household: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(typed, bad)`` of a chunk (its input row numbers ``rows``: a gathered household's
    rows need not be consecutive) with its ragged rows and their households' other rows moved
    from ``typed`` to error rows; ``household`` is the household column as the file names it."""
    here = {r: ragged[r] for r in rows.to_list() if r in ragged}
    if not here:
        return typed, bad
    own = pl.DataFrame({ROW: list(here), "column": [None] * len(here), "code": [CODE] * len(here),
                        "message": [f"this row has {n} fields where the header has {width}: "
                                    "check for a missing or extra separator (,)"
                                    for n in here.values()]}, schema=ERROR_SCHEMA)
    marked = typed.get_column(ROW).is_in(pl.Series(list(here), dtype=pl.Int64).implode())
    households = typed.filter(marked).get_column(HOUSEHOLD).implode()
    aside = typed.get_column(HOUSEHOLD).is_in(households) & ~marked
    others = typed.filter(aside).select(
        pl.col(ROW).cast(pl.Int64), pl.lit(household).alias("column"),
        pl.lit("household_set_aside").alias("code"),
        pl.lit("not evaluated: another member of this household has an error").alias("message"))
    bad = pl.concat([bad, own, others]).sort(ROW, "column", maintain_order=True, nulls_last=True)
    return typed.filter(~(marked | aside)), bad


__all__ = ["ragged_records", "set_aside", "CODE"]
