"""The Parquet results file written chunk by chunk by Polars' sink (batch._ParquetSink):
every chunk in order, a file abandoned leaves nothing, a chunk that does not fit is an
error, not a corrupt file."""

import polars as pl
import pytest

from gongfu_rules.batch import _ParquetSink, _Writer


def _chunk(start: int, n: int = 3) -> pl.DataFrame:
    return pl.DataFrame({"row": range(start, start + n),
                         "x.status": pl.Series(["eligible"] * n).cast(
                             pl.Enum(["eligible", "not_eligible"]))})


def test_every_chunk_is_written_in_order_with_its_column_types(tmp_path):
    path = tmp_path / "results.parquet"
    sink = _ParquetSink(path, _chunk(1))
    for start in (4, 7, 10):
        sink.write(_chunk(start))
    sink.finish()
    written = pl.read_parquet(path)
    assert written.get_column("row").to_list() == list(range(1, 13))
    assert written.schema == _chunk(1).schema


def test_an_abandoned_file_stops_the_sink_thread_and_the_writer_removes_it(tmp_path):
    writer = _Writer(tmp_path / "results.parquet")
    for start in (1, 4, 7):
        writer.write(_chunk(start))
    sink = writer._parquet
    writer.abort()
    assert not sink._thread.is_alive()
    assert not writer.tmp.exists() and not writer.path.exists()


def test_a_chunk_with_other_columns_is_an_error_not_a_file(tmp_path):
    sink = _ParquetSink(tmp_path / "results.parquet", _chunk(1))
    with pytest.raises(Exception, match="schema|column"):
        sink.write(_chunk(4).rename({"x.status": "y.status"}))
        sink.finish()


def test_a_file_that_cannot_be_created_is_raised_by_the_next_write_or_the_finish(tmp_path):
    sink = _ParquetSink(tmp_path / "missing" / "results.parquet", _chunk(1))
    with pytest.raises(FileNotFoundError):
        sink.write(_chunk(4))
        sink.finish()
    assert not sink._thread.is_alive()


def test_a_disk_that_fills_up_stops_the_run_at_the_next_chunk_not_the_last(tmp_path,
                                                                             monkeypatch):
    import errno

    from gongfu_rules import batch

    class FillsUp:
        """A file that takes one write, then has no room left."""

        def __init__(self, path, mode):
            self.file, self.writes = open(path, mode), 0

        def write(self, data):
            self.writes += 1
            if self.writes > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def __getattr__(self, name):
            return getattr(self.file, name)

    monkeypatch.setattr(batch, "open", FillsUp, raising=False)
    path = tmp_path / "results.parquet"
    sink = _ParquetSink(path, _chunk(1, 20_000))
    handed = 0
    with pytest.raises(OSError) as raised:
        for start in range(0, 2_000_000, 20_000):
            sink.write(_chunk(start, 20_000))
            handed += 1
        sink.finish()
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(path))
    assert handed < 30  # of 100: Polars writes a row group every few chunks


def test_a_full_disk_in_the_sink_is_an_os_error_naming_the_file(tmp_path, monkeypatch):
    def disk_full(self, path, **options):
        raise pl.exceptions.ComputeError(
            "parquet: underlying IO error: No space left on device (os error 28)")
    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", disk_full)
    sink = _ParquetSink(tmp_path / "results.parquet", _chunk(1))
    with pytest.raises(OSError) as raised:
        sink.write(_chunk(4))
        sink.finish()
    assert raised.value.errno == 28
    assert raised.value.filename == str(tmp_path / "results.parquet")
