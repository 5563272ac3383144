"""A fault suite for gongfu batch: interrupted (SIGINT, SIGTERM) mid-run or failing part-way
(a disk that fills up), a run leaves the input unchanged, the previous outputs (results,
errors, summary) exactly as they were, and no ``.partial`` file or temporary copy behind."""

import errno
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gongfu_rules import batch
from gongfu_rules.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "caseload.csv"
ROWS = 200_000
RUN = "import sys; from gongfu_rules.cli import main; sys.exit(main(sys.argv[1:]))"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _caseload(path: Path, rows: int, encoding: str = "utf-8") -> Path:
    """The example caseload repeated to ``rows`` rows, each copy's households renamed."""
    header, *lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    out = [header]
    copy = 0
    while len(out) <= rows:
        out += [f"c{copy}{line}" for line in lines]  # the household id is the first column
        copy += 1
    path.write_bytes(("\n".join(out[:rows + 1]) + "\n").encode(encoding))
    return path


def _outputs(folder: Path) -> list[Path]:
    return [folder / "res.csv", folder / "res.errors.csv", folder / "res.summary.csv"]


def _old_outputs(folder: Path) -> dict[Path, str]:
    """Outputs of an earlier run (distinct contents), with their digests."""
    for i, path in enumerate(_outputs(folder)):
        path.write_text(f"an earlier run's file {i}\n", encoding="utf-8")
    return {p: _digest(p) for p in _outputs(folder)}


def _assert_clean(folder: Path, old: dict[Path, str], tmp: Path) -> None:
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))
    assert not left, f"partial files left: {left}"
    assert not list(tmp.iterdir()), "a temporary file was left in the temp folder"
    now = {p: _digest(p) for p in old}
    replaced = [p for p in old if now[p] != old[p]]
    assert replaced in ([], list(old)), f"outputs mixed old and new: {replaced} replaced"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    return {"utf-8": _caseload(folder / "big.csv", ROWS),
            "gb18030": _caseload(folder / "big-gbk.csv", ROWS, "gb18030")}


def _signalled(src: Path, folder: Path, tmp: Path, signum: int) -> int:
    """Runs gongfu batch on ``src`` in a subprocess, sends ``signum`` once it is writing its
    results, and returns its exit code."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "batch", str(src), "-o", str(folder / "res.csv"),
         "--on", "2025-08-01", "--no-progress", "--chunk-rows", "2000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    partial = folder / "res.csv.partial"
    deadline = time.monotonic() + 30
    try:
        while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert partial.exists(), "the run never started writing"
        proc.send_signal(signum)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_leaves_input_old_outputs_and_no_temporary_file(
        big, tmp_path, encoding, signum, code):
    src = big[encoding]
    before = _digest(src)
    folder, tmp = tmp_path / "out", tmp_path / "tmp"
    folder.mkdir(), tmp.mkdir()
    old = _old_outputs(folder)
    assert _signalled(src, folder, tmp, signum) == code
    assert _digest(src) == before
    assert {p: _digest(p) for p in old} == old  # interrupted before the end: all old
    _assert_clean(folder, old, tmp)


# --- a disk that fills up: the Nth write fails with ENOSPC -------------------------------------
def _disk_full_on(monkeypatch, call: int) -> None:
    real = batch._Writer.write
    calls = {"n": 0}

    def write(self, frame):
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp))
        return real(self, frame)
    monkeypatch.setattr(batch._Writer, "write", write)


def _writes(monkeypatch, src: Path, folder: Path) -> int:
    """How many writes a whole run makes (its last one is the summary)."""
    real = batch._Writer.write
    calls = {"n": 0}

    def write(self, frame):
        calls["n"] += 1
        return real(self, frame)
    with monkeypatch.context() as m:
        m.setattr(batch._Writer, "write", write)
        assert main(["batch", str(src), "-o", str(folder / "count.csv"), "--on", "2025-08-01",
                     "--no-progress", "--chunk-rows", "500"]) in (0, 3)
    return calls["n"]


@pytest.fixture
def small(tmp_path) -> dict[str, Path]:
    return {"utf-8": _caseload(tmp_path / "small.csv", 3_000),
            "gb18030": _caseload(tmp_path / "small-gbk.csv", 3_000, "gb18030")}


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("which", ["first", "middle", "summary"])
def test_a_disk_filling_up_leaves_input_old_outputs_and_no_temporary_file(
        small, tmp_path, monkeypatch, capsys, encoding, which):
    src = small[encoding]
    total = _writes(monkeypatch, src, tmp_path)
    assert total > 3  # results in several chunks, then the summary
    before = _digest(src)
    folder, tmp = tmp_path / "out", tmp_path / "tmp"
    folder.mkdir(), tmp.mkdir()
    old = _old_outputs(folder)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    _disk_full_on(monkeypatch, {"first": 1, "middle": total // 2, "summary": total}[which])
    assert main(["batch", str(src), "-o", str(folder / "res.csv"), "--on", "2025-08-01",
                 "--no-progress", "--chunk-rows", "500"]) == 2
    assert "io_failed" in capsys.readouterr().err
    assert _digest(src) == before
    assert {p: _digest(p) for p in old} == old
    _assert_clean(folder, old, tmp)


def test_a_failure_completing_the_summary_leaves_no_new_results_beside_it(
        small, tmp_path, monkeypatch):
    """The summary completes last; a failure completing it leaves no new results behind."""
    folder = tmp_path / "out"
    folder.mkdir()
    old = _old_outputs(folder)
    real = batch._Writer.finish

    def finish(self, empty_schema=None, **more):
        if self.path.name.endswith(".summary.csv"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, empty_schema, **more)
    monkeypatch.setattr(batch._Writer, "finish", finish)
    with pytest.raises(OSError):
        batch.run_batch(small["utf-8"], folder / "res.csv", on="2025-08-01", progress=False)
    assert {p: _digest(p) for p in old} == old
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")]


def test_a_complete_run_replaces_all_three_outputs(small, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    old = _old_outputs(folder)
    batch.run_batch(small["utf-8"], folder / "res.csv", on="2025-08-01", progress=False)
    assert all(_digest(p) != old[p] for p in old)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in old)


def test_the_previous_sigterm_handler_is_restored_after_a_run(small, tmp_path):
    def mine(signum, frame):
        pass
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        batch.run_batch(small["utf-8"], tmp_path / "res.csv", on="2025-08-01", progress=False)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
