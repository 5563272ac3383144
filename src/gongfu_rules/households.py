"""A household's rows brought together wherever they are in a caseload file, out of core.

A county export lists people in whatever order it was made: a household's members are not
always on consecutive rows. A household is one household however its rows lie, never two
(two would each be paid the household's standards, 低保 twice). A file is streamed a chunk at
a time, so the batch works in two passes:

1. :func:`scattered_households` reads the household column alone and finds the households
   whose rows are not consecutive, keeping per run of a household's rows only a hash of its
   id, its first row and its row count (memory follows the number of households, not the
   file's size).
2. :class:`Gathering` streams the file as before: the rows of consecutive households go
   through as they are (:func:`gongfu_rules.batch.household_chunks` keeps each whole in one
   chunk); the rows of the scattered ones are set aside to temporary Arrow files, in parts of
   about a chunk's rows (a household in one part, by the order of its first row), and each
   part is read back whole, its households' rows together, after the rest of the file.

The temporary folder (under ``$TMPDIR``) is removed on every exit path, an interruption
included. Every chunk carries its rows' input row numbers (:data:`SOURCE_ROW`), so results and
errors name the row of the file whatever order they are evaluated in.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

#: The input row number (1 = the first data row) that every chunk of a batch carries.
SOURCE_ROW = "__gongfu_row"
_KEY, _PART = "__gongfu_household", "__gongfu_part"


def household_key(column: str) -> pl.Expr:
    """The household id as the batch reads it (text, spaces trimmed; an empty cell is none)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _hashed_key(column: str) -> pl.Expr:
    """The household id as a 64-bit hash (none stays none): what the first pass keeps per
    run of rows, 8 bytes instead of the id's text, so that its memory stays small at ten
    million persons. Two ids of one hash (among ten million households, about one chance in
    370,000 that any two share one) only cost time: both are gathered, and :func:`together`
    still parts them by their ids."""
    key = household_key(column)
    return pl.when(key.is_null()).then(None).otherwise(key.hash(seed=2260))


def numbered(chunks: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The chunks with their rows' input row numbers in :data:`SOURCE_ROW`."""
    offset = 1
    for chunk in chunks:
        yield chunk.with_row_index(SOURCE_ROW, offset=offset) \
            .with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
        offset += chunk.height


def scattered_households(ids: Iterable[pl.DataFrame], column: str, part_rows: int
                         ) -> pl.DataFrame:
    """The households whose rows are not consecutive (``column`` of the numbered chunks
    ``ids``), each with the part it is gathered in: parts of about ``part_rows`` rows (a
    larger household alone in its own), in the order of the households' first rows."""
    # Per chunk, its runs of one id (first row, row count); a household of one run is
    # consecutive, and only the few ids of several runs (a chunk boundary, or rows apart) are
    # added up. Memory: 24 bytes per run, no table per household.
    parts = [_runs(chunk, column) for chunk in ids]
    if not parts:
        return pl.DataFrame(schema={_KEY: pl.UInt64, _PART: pl.Int64})
    runs = pl.concat(parts, rechunk=False)
    keys = runs.get_column(_KEY).sort()  # ids of several runs: equal neighbours once sorted
    repeated = keys.filter(keys == keys.shift(1)).unique()
    several = runs.filter(pl.col(_KEY).is_in(repeated.implode()))
    stats = several.group_by(_KEY).agg(pl.col("first").min(),
                                       (pl.col("first") + pl.col("n") - 1).max().alias("last"),
                                       pl.col("n").sum())
    scattered = stats.filter(pl.col("last") - pl.col("first") + 1 != pl.col("n")).sort("first")
    before = pl.col("n").cum_sum() - pl.col("n")  # rows of the scattered households before it
    return scattered.select(_KEY, (before // max(part_rows, 1)).cast(pl.Int64).alias(_PART))


def _runs(chunk: pl.DataFrame, column: str) -> pl.DataFrame:
    """The runs of rows of one household id of a numbered chunk (its row numbers follow on):
    each run's first row and row count (rows without an id left out)."""
    rows = chunk.select(_hashed_key(column).alias(_KEY), pl.col(SOURCE_ROW))
    starts = rows.filter(pl.col(_KEY).ne_missing(pl.col(_KEY).shift(1)))
    after = rows.get_column(SOURCE_ROW).last() + 1 if rows.height else 0  # the chunk's end
    end = pl.col(SOURCE_ROW).shift(-1, fill_value=after)  # where the next run starts
    return starts.select(_KEY, pl.col(SOURCE_ROW).alias("first"),
                         (end - pl.col(SOURCE_ROW)).alias("n")).drop_nulls(_KEY)


def together(frame: pl.DataFrame, column: str | None) -> pl.DataFrame:
    """``frame`` (numbered) with each household's rows together, the households in the order
    of their first rows and the members in row order; rows without an id stay where they are."""
    if column is None or frame.height == 0:
        return frame
    key = household_key(column)
    keys = frame.select(key).to_series()
    if keys.n_unique() == keys.rle_id().max() + 1:  # as many runs as ids: already together
        return frame
    first = pl.when(key.is_null()).then(pl.col(SOURCE_ROW)) \
        .otherwise(pl.col(SOURCE_ROW).min().over(key))
    return frame.sort(first, SOURCE_ROW)


class Gathering:
    """Sets the rows of the ``scattered`` households aside (:meth:`split`) and gives them back
    household by household (:meth:`gathered`); :meth:`close` removes the temporary files."""

    def __init__(self, scattered: pl.DataFrame, column: str):
        self.scattered, self.column = scattered, column
        self.folder: Path | None = None
        self._files: dict[int, list[Path]] = {}

    def __enter__(self) -> Gathering:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def split(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """The chunk's rows of consecutive households; the others are written aside."""
        if self.scattered.height == 0:
            return chunk
        marked = chunk.with_columns(_hashed_key(self.column).alias(_KEY)) \
            .join(self.scattered, on=_KEY, how="left", maintain_order="left")
        aside = marked.filter(pl.col(_PART).is_not_null())
        if aside.height == 0:
            return chunk
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="gongfu-households-"))
        for (part,), rows in aside.group_by(_PART):
            files = self._files.setdefault(int(part), [])  # type: ignore[arg-type]
            path = self.folder / f"part{part}-{len(files)}.arrow"
            rows.drop(_KEY, _PART).write_ipc(path)
            files.append(path)
        return marked.filter(pl.col(_PART).is_null()).drop(_KEY, _PART)

    def gathered(self) -> Iterator[pl.DataFrame]:
        """The set-aside rows, a part at a time, each household's rows together."""
        for part in sorted(self._files):
            rows = pl.concat([pl.read_ipc(p) for p in self._files[part]],
                             how="diagonal_relaxed")
            for p in self._files[part]:
                p.unlink()
            yield together(rows, self.column)

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
