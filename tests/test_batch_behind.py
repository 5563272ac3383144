"""The reading and writing threads of a batch run (batch._Ahead, batch._Behind): chunks in
order, a failure raised on the main thread as it was, nothing read or written after a stop."""

import threading
import time
from collections.abc import Iterator

import pytest

from gongfu_rules.batch import _Ahead, _Behind


def test_jobs_run_in_the_order_they_were_given_and_wait_returns_when_all_have():
    done: list[int] = []
    behind = _Behind()
    for i in range(20):
        behind.submit(lambda i=i: done.append(i))
    behind.wait()
    assert done == list(range(20))
    behind.stop()


def test_a_failure_on_the_thread_is_raised_by_the_next_submit_as_it_was():
    behind = _Behind()
    failure = OSError(28, "No space left on device")

    def fail() -> None:
        raise failure
    behind.submit(fail)
    with pytest.raises(OSError) as raised:
        behind.wait()
    assert raised.value is failure
    behind.stop()


def test_jobs_given_after_a_failure_are_not_run():
    done: list[str] = []
    release = threading.Event()

    def fail() -> None:
        release.wait()
        raise ValueError("broken")
    behind = _Behind()
    behind.submit(fail)
    behind.submit(lambda: done.append("after"))  # waits while the failing job runs
    release.set()
    with pytest.raises(ValueError):
        behind.wait()
    behind.stop()
    assert done == []


def test_stop_returns_once_the_running_job_ends_and_drops_the_waiting_one():
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow() -> None:
        started.set()
        release.wait()
        done.append("slow")
    behind = _Behind()
    behind.submit(slow)
    started.wait()
    behind.submit(lambda: done.append("waiting"))
    threading.Timer(0.05, release.set).start()
    behind.stop()
    assert done == ["slow"]
    assert not behind._thread.is_alive()


# --- the reading thread (batch._Ahead) ---------------------------------------------------------
def _recorded(n: int, produced: list[int]) -> Iterator[int]:
    """0 … n-1, each noted in ``produced`` when the reader takes it."""
    for i in range(n):
        produced.append(i)
        yield i


def test_items_come_in_order_and_the_reader_runs_at_most_two_ahead():
    produced: list[int] = []
    ahead = _Ahead(_recorded(10, produced))
    taken = []
    for item in ahead:
        taken.append(item)
        time.sleep(0.01)  # a slow evaluator: the reader waits for it
        assert len(produced) <= len(taken) + 2
    assert taken == list(range(10))
    ahead.close()


def test_a_failure_while_reading_is_raised_where_its_item_would_have_been_taken():
    failure = ValueError("unreadable")

    def items():
        yield 1
        raise failure
    ahead = _Ahead(items())
    assert next(ahead) == 1
    with pytest.raises(ValueError) as raised:
        next(ahead)
    assert raised.value is failure
    with pytest.raises(ValueError):  # and again, not a silent end
        next(ahead)
    ahead.close()


def test_close_ends_the_reading_thread_without_reading_the_rest():
    produced: list[int] = []
    ahead = _Ahead(_recorded(1000, produced))
    next(ahead)
    ahead.close()
    assert not ahead._thread.is_alive()
    assert len(produced) <= 3
