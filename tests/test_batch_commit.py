"""The three outputs of a batch (results, errors, summary) as one set, even when a run is
killed between two of their renames: a marker says the remaining ``.partial`` files are
complete, and the next run to that output finishes the renames before anything else."""

import errno
import shutil
from pathlib import Path

import pytest

from gongfu_rules import batch
from gongfu_rules.batch import run_batch
from gongfu_rules.evaluate import default_standards

STD = default_standards()
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "caseload.csv"
NAMES = ("res.csv", "res.errors.csv", "res.summary.csv")


def _run(folder: Path) -> None:
    run_batch(folder / "roll.csv", folder / "res.csv", on="2025-08-01", standards=STD,
              progress=False)


def _contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in NAMES}


@pytest.fixture
def folder(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "roll.csv")
    for name in NAMES:
        (tmp_path / name).write_text(f"an earlier run's {name}\n", encoding="utf-8")
    return tmp_path


def _killed_after_first_rename(monkeypatch, folder: Path) -> None:
    real, calls = batch._Writer.commit, []

    def commit(self):
        calls.append(self)
        if len(calls) == 2:  # stands for the process dying between two renames
            raise OSError(errno.EIO, "the process is gone")
        real(self)
    with monkeypatch.context() as m:
        m.setattr(batch._Writer, "commit", commit)
        with pytest.raises(OSError):
            _run(folder)


def test_a_run_killed_between_renames_leaves_the_marker_and_the_complete_partials(
        folder, monkeypatch):
    _killed_after_first_rename(monkeypatch, folder)
    assert (folder / "res.csv.commit").exists()
    assert (folder / "res.errors.csv.partial").exists()
    assert (folder / "res.summary.csv.partial").exists()


def test_the_next_run_completes_the_set_before_it_does_anything(folder, tmp_path_factory,
                                                                 monkeypatch):
    reference = tmp_path_factory.mktemp("reference")
    shutil.copy(EXAMPLE, reference / "roll.csv")
    _run(reference)
    _killed_after_first_rename(monkeypatch, folder)

    def disk_full(self, frame):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(batch._Writer, "write", disk_full)  # the next run fails at once
    with pytest.raises(OSError):
        _run(folder)
    assert _contents(folder) == _contents(reference)  # wholly the killed run's new set
    assert not [p.name for p in folder.iterdir() if p.suffix in (".partial", ".commit")]


def test_a_complete_run_leaves_no_marker(folder):
    _run(folder)
    assert not (folder / "res.csv.commit").exists()
    assert all(b"earlier run" not in content for content in _contents(folder).values())
