"""Progress bookkeeping of one run: throttled writes, and the meta written with PROGRESS.

The job's loop decides *whether* to write in a few dozen nanoseconds (see
``JobtasticTask.update_progress``); this module builds and stores the meta when it does.
A call that the time throttle holds back is not lost: it becomes the pending point, written
when the interval has passed unless a newer call is written first. Otherwise a job that
reports a step and then works on a long one would show the old figure all along.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from time import monotonic
from typing import Any

from django_jobtastic.estimation import RemainingTimeEstimator

PROGRESS = "PROGRESS"

#: A progress write may take at most this share of a run's time: slow writes (a slow
#: result backend, huge task arguments stored with each state) space the next ones out.
WRITE_TIME_SHARE = 0.1

Store = Callable[[dict[str, Any]], None]


def clamp_percent(completed: float, total: float) -> float:
    """``completed`` of ``total`` as a percentage in 0..100 (an empty job counts as done)."""
    if completed <= 0:
        return 0.0
    if total <= 0:
        return 100.0
    return round(min(100.0, 100.0 * completed / total), 2)


class ProgressTracker:
    """One run's progress: when the next write is due, what is pending, and the estimator."""

    __slots__ = (
        "_closed",
        "_estimator",
        "_flushed",
        "_lock",
        "_store",
        "finished_total",
        "flush_timer",
        "interval",
        "next_write_at",
        "pending",
        "started_at",
    )

    def __init__(self, interval: float, store: Store | None = None, now: float | None = None):
        self.interval = interval  # seconds between two writes
        started = monotonic() if now is None else now
        self._estimator = RemainingTimeEstimator(started)
        self._store = store  # None: nothing to write to (the job was called directly)
        self._lock = threading.Lock()  # one writer at a time: the job or the flush timer
        self._closed = False
        self.next_write_at = started + interval  # monotonic seconds
        self.finished_total: int | None = None  # the total last reported as reached
        self.pending: tuple[int, int, str | None] | None = None  # held back by the throttle
        self._flushed: tuple[int, int, str | None] | None = None  # the last one flushed
        self.flush_timer: threading.Timer | None = None
        self.started_at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    def initial_meta(self) -> dict[str, Any]:
        """The meta written before the calculation starts: 0 % and no estimate yet."""
        return {
            "progress_percent": 0,
            "time_remaining": -1,
            "message": None,
            "started_at": self.started_at,
        }

    def meta(
        self, completed: int, total: int, message: str | None, now: float | None = None
    ) -> dict[str, Any]:
        """Build the PROGRESS meta for this point and schedule the next write."""
        now = monotonic() if now is None else now
        self.next_write_at = now + self.interval
        if completed >= total:
            self.finished_total = total
        if completed <= 0:
            remaining = -1.0
        else:
            remaining = self._estimator.observe(now, completed, total)
            remaining = round(remaining, 1) if remaining >= 0 else -1
        return {
            "progress_percent": clamp_percent(completed, total),
            "time_remaining": remaining,
            "completed": completed,
            "total": total,
            "message": None if message is None else str(message),
            "started_at": self.started_at,
        }

    def write_initial(self) -> None:
        with self._lock:
            self._store_timed(self.initial_meta())

    def write(self, completed: int, total: int, message: str | None) -> None:
        """Write this point now (it supersedes any pending one)."""
        with self._lock:
            self.pending = None
            self._store_timed(self.meta(completed, total, message))

    def schedule_flush(self) -> None:
        """Make sure the pending point gets written when the next write is due."""
        with self._lock:
            if self.flush_timer is None and not self._closed and self._store is not None:
                self._start_timer()

    def _start_timer(self) -> None:  # with the lock held
        self.flush_timer = threading.Timer(max(0.0, self.next_write_at - monotonic()), self._flush)
        self.flush_timer.daemon = True
        self.flush_timer.start()

    def close(self) -> None:
        """The run is over: no flush may land after this (it would overwrite the outcome)."""
        with self._lock:
            self._closed = True
            timer, self.flush_timer = self.flush_timer, None
        if timer is not None:
            timer.cancel()

    def _flush(self) -> None:
        with self._lock:
            self.flush_timer = None
            # ``pending`` is only read here: the job may replace it at any moment (without
            # the lock, to stay cheap), and clearing it could drop the newer point.
            point = self.pending
            if self._closed or point is None or point is self._flushed:
                return
            if monotonic() < self.next_write_at:
                self._start_timer()  # the job wrote meanwhile: wait for that write's interval
                return
            self._flushed = point
            completed, total, message = point
            self._store_timed(self.meta(completed, total, message))

    def _store_timed(self, meta: dict[str, Any]) -> None:
        if self._store is None:
            return
        started = monotonic()
        self._store(meta)
        finished = monotonic()
        spacing = (finished - started) / WRITE_TIME_SHARE
        self.next_write_at = max(self.next_write_at, finished + spacing)


class _ActiveRun(threading.local):
    tracker: ProgressTracker | None = None


#: The tracker of the run executing in this thread (a worker thread runs one at a time).
active = _ActiveRun()
