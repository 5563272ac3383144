"""Long computations as job resources: a bounded queue, one worker, a bounded store.

A job is submitted, runs in the background on a single worker thread (a reform comparison
evaluates a population twice; more of them at once would only share the same cores), and is
polled by its id. At most ``max_pending`` jobs wait or run at a time: one more is refused
with :class:`QueueFull` (429) rather than queued without limit. A finished job and its result
are kept for ``keep_seconds`` and at most ``max_finished`` of them (the oldest go first);
after that its id is unknown (404).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from ..errors import ErrorDetail, GongfuError, InputError

log = logging.getLogger("gongfu_rules.service")
JobStatus = Literal["computing", "ok", "error"]


class QueueFull(InputError):
    """As many jobs as the server takes are already waiting or running; retry later."""

    http_status = 429


@dataclass
class Job:
    """One submitted computation: its status and, once finished, its result or errors."""

    id: str
    submitted: datetime
    status: JobStatus = "computing"
    finished: datetime | None = None
    finished_at: float | None = None  # monotonic, for the expiry
    result: Any = None
    errors: list[ErrorDetail] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


class Jobs:
    """The queue, the worker and the store of one app."""

    def __init__(self, max_pending: int = 4, max_finished: int = 100,
                 keep_seconds: float = 3600.0):
        self.max_pending, self.max_finished, self.keep = max_pending, max_finished, keep_seconds
        self._jobs: OrderedDict[str, Job] = OrderedDict()  # in order of submission
        self._pending = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None  # started by the first submission
        self._queued: dict[str, Future[None]] = {}

    def submit(self, work: Callable[[], Any], **meta: Any) -> Job:
        """Queue ``work`` (a callable returning the result, raising a GongfuError for a
        client's mistake found late); :class:`QueueFull` if ``max_pending`` are in hand."""
        with self._lock:
            self._expire()
            if self._pending >= self.max_pending:
                raise QueueFull.one(
                    "jobs_queue_full", f"{self._pending} jobs are already waiting or running "
                    f"(the limit is {self.max_pending}); submit again once one has finished",
                    loc=("body",))
            job = Job(uuid.uuid4().hex, datetime.now(timezone.utc), meta=meta)
            self._jobs[job.id] = job
            self._pending += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gongfu-job")
            self._queued[job.id] = self._executor.submit(self._run, job, work)
        return job

    @property
    def pending(self) -> int:
        """Jobs waiting or running."""
        return self._pending

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._expire()
            return self._jobs.get(job_id)

    def close(self) -> None:
        """At the app's shutdown: the jobs still queued end as ``error`` (``job_cancelled``), a
        running one finishes in its thread. A later submission starts a new worker."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for job_id, future in list(self._queued.items()):
                if future.cancelled():
                    self._finish(self._jobs[job_id], None, "error", [ErrorDetail(
                        "job_cancelled", "the server stopped before the job ran; submit it "
                        "again")])

    def _run(self, job: Job, work: Callable[[], Any]) -> None:
        try:
            result, status, errors = work(), "ok", []
        except GongfuError as e:
            result, status, errors = None, "error", list(e.details)
        except Exception as e:  # a bug: logged by type and frames, never its message (inputs)
            log.error("internal error in job %s: %s\n%s", job.id, type(e).__name__,
                      "".join(traceback.format_tb(e.__traceback__)))
            result, status, errors = None, "error", [ErrorDetail("internal_error",
                                                                 "internal error")]
        with self._lock:
            self._finish(job, result, status, errors)

    def _finish(self, job: Job, result: Any, status: JobStatus,
                errors: list[ErrorDetail]) -> None:
        job.result, job.errors = result, errors
        job.finished, job.finished_at = datetime.now(timezone.utc), time.monotonic()
        job.status = status  # last: a poller that sees "ok" finds the result set
        self._pending -= 1
        self._queued.pop(job.id, None)

    def _expire(self) -> None:
        now = time.monotonic()
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        over = len(finished) - self.max_finished
        for j in finished:
            if over > 0 or now - j.finished_at >= self.keep:  # type: ignore[operator]
                del self._jobs[j.id]
                over -= 1
