"""Progress bookkeeping of one run: throttled writes, and the meta written with PROGRESS.

``ProgressTracker.report`` decides *whether* to write in a few dozen nanoseconds, so a job's
loop may report every item; the meta is built and stored only when it does.
A call that the time throttle holds back is not lost: it becomes the pending point, written
when the interval has passed unless a newer call is written first. Otherwise a job that
reports a step and then works on a long one would show the old figure all along.
A heartbeat rewrites the last meta with a new ``alive_at`` whenever the run has written
nothing for ``heartbeat`` seconds, so readers can tell a quiet job from a lost one
(``django_jobtastic.liveness``) at the cost of one write per interval, none per call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from time import monotonic, sleep
from typing import Any

from django_jobtastic.exceptions import JobCancelledError, JobLostError
from django_jobtastic.task.estimation import RemainingTimeEstimator
from django_jobtastic.task.history import Expectation, Run, shape_of
from django_jobtastic.task.threads import start_without_signals

PROGRESS = "PROGRESS"

#: Seconds the alarm leaves the job to write a due point itself (in its own thread, with its
#: own connections) before writing it from the alarm's thread: a job busy in a long step
#: still has its newest point shown.
QUIET_JOB_GRACE = 0.02

#: A progress write may take at most this share of a run's time: slow writes (a slow
#: result backend, huge task arguments stored with each state) space the next ones out.
WRITE_TIME_SHARE = 0.1

#: Stores one meta; returns whether it was stored (False: the result backend is down).
Store = Callable[[dict[str, Any]], bool]
#: Whether the run's task id holds the lost verdict; None when the backend cannot tell now.
VerdictReader = Callable[[], "bool | None"]
#: Whether the run's owners cancelled it (a cancellable job's cancel mark).
CancelReader = Callable[[], bool]
#: Progress samples a run keeps for its shape; past this, every other one is dropped.
MAX_SHAPE_SAMPLES = 64
#: Seconds between two questions to a result backend that is down, at a run's end.
VERDICT_RETRY_SECONDS = 0.5


def clamp_percent(completed: float, total: float) -> float:
    """``completed`` of ``total`` as a percentage in 0..100 (an empty job counts as done)."""
    if completed <= 0:
        return 0.0
    if total <= 0:
        return 100.0
    return round(min(100.0, 100.0 * completed / total), 2)


def utc_now_iso() -> str:
    """Now, as ISO-8601 UTC with a ``Z``: what progress meta carries for times."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class ProgressTracker:
    """One run's progress: when the next write is due, what is pending, and the estimator."""

    __slots__ = (
        "_began",
        "_cancel_requested",
        "_closed",
        "_declared_lost",
        "_due",
        "_due_written",
        "_estimator",
        "_finished_total",
        "_flush_timer",
        "_flushed",
        "_heard_at",
        "_heartbeat",
        "_history",
        "_last_meta",
        "_last_total",
        "_lock",
        "_lost_after",
        "_next_write_at",
        "_pending",
        "_samples",
        "_stopped",
        "_store",
        "_written_at",
        "cancelled",
        "disowned",
        "interval",
        "started_at",
    )

    def __init__(
        self,
        interval: float,
        store: Store,
        now: float | None = None,
        heartbeat: float | None = None,
        lost_after: float | None = None,
        declared_lost: VerdictReader | None = None,
        cancel_requested: CancelReader | None = None,
        history: Expectation | None = None,
    ):
        self.interval = interval  # seconds between two writes
        self._heartbeat = heartbeat  # seconds of silence before a sign of life; None: none
        self._lost_after = lost_after  # silence after which readers may report the run lost
        self._declared_lost = declared_lost  # asks the result backend whether one did
        #: The run learnt that it was reported lost: the verdict stands, nothing of it is
        #: written any more, and its next report raises JobLostError to end it.
        self.disowned = False
        #: Asked before each write the job makes (a cancellable job only; None: never).
        self._cancel_requested = cancel_requested
        #: The run learnt that it was cancelled: its next report raises JobCancelledError,
        #: and the run ends REVOKED whatever it does with that.
        self.cancelled = False
        self._stopped = threading.Event()
        self._written_at = 0.0  # monotonic seconds of the last write (tried)
        self._heard_at = 0.0  # ...of the last one the result backend took
        self._last_meta: dict[str, Any] | None = None
        started = monotonic() if now is None else now
        self._began = started
        #: What earlier runs of the class expect of this one (None: no history).
        self._history = history
        self._estimator = RemainingTimeEstimator(started, history)
        self._samples: list[tuple[float, float]] = []  # (seconds since start, share done)
        self._last_total: int | None = None  # the total of the last write, if any
        self._store = store
        self._lock = threading.Lock()  # one writer at a time: the job or the flush timer
        self._closed = False
        self._next_write_at = started + interval  # monotonic seconds
        self._finished_total: int | None = None  # the total last reported as reached
        self._pending: tuple[int, int, str | None] | None = None  # held back by the throttle
        self._flushed: tuple[int, int, str | None] | None = None  # the last one flushed
        self._flush_timer: threading.Timer | None = None  # the alarm of the next due write
        self._due = False  # set by the alarm: the job's next call writes
        self._due_written = threading.Event()  # ends the alarm's wait for the job
        self.started_at = utc_now_iso()

    def report(
        self, completed: int, total: int, update_frequency: int = 1, message: str | None = None
    ) -> None:
        """Write this point if the throttles allow, else keep it as the pending point.

        Throttled by count (only every ``update_frequency``-th call) and by time (one write
        per ``interval``); the first call reaching ``total`` always writes. The first call
        held back by the interval arms an alarm for when it ends; until then a call only
        replaces the pending point (no clock read, no lock), so a job may report every item.
        When the alarm rings, the job's next call writes; a job busy in a long step has its
        pending point written by the alarm instead, so the newest step is always shown.
        """
        if completed < total:
            if update_frequency > 1 and completed % update_frequency:
                return
            if not self._due:
                # Pending first, then the alarm check: an alarm ending between the two
                # either sees this point or has been cleared, and this call re-arms it.
                self._pending = (completed, total, message)
                if self._flush_timer is not None:
                    return
                if monotonic() < self._next_write_at:
                    self._schedule_flush()
                    return
        elif total == self._finished_total and monotonic() < self._next_write_at:
            self._pending = (completed, total, message)  # "done" again: held like any point
            self._schedule_flush()
            return
        self.write(completed, total, message)

    def initial_meta(self, now: float | None = None) -> dict[str, Any]:
        """The meta written before the calculation starts: 0 %, and an estimate only from
        history. A class whose runs report no progress gets ``expected_duration`` too: its
        readers move its bar with time against it."""
        expected = self._estimator.before_progress(monotonic() if now is None else now)
        meta: dict[str, Any] = {
            "progress_percent": 0,
            "time_remaining": round(expected, 1) if expected >= 0 else -1,
            "message": None,
            "started_at": self.started_at,
            **_written_now(),
        }
        if self._history is not None:
            meta["from_history"] = True
            if self._history.timed:
                meta["expected_duration"] = round(self._history.run, 1)
        return meta

    def meta(
        self, completed: int, total: int, message: str | None, now: float | None = None
    ) -> dict[str, Any]:
        """Build the PROGRESS meta for this point and schedule the next write."""
        now = monotonic() if now is None else now
        self._next_write_at = now + self.interval
        if completed >= total:
            self._finished_total = total
        if total > 0:
            self._note_sample(now, completed, total)
        remaining = self._estimator.observe(now, completed, total)
        remaining = round(remaining, 1) if remaining >= 0 else -1
        meta = {
            "progress_percent": clamp_percent(completed, total),
            "time_remaining": remaining,
            "completed": completed,
            "total": total,
            "message": None if message is None else str(message),
            "started_at": self.started_at,
            **_written_now(),
        }
        history = self._history
        if history is not None and (completed <= 0 or history.shape is not None):
            # The estimate leans on earlier runs: readers show it from the start, not after
            # 2 % (a class whose runs reported no progress has no shape to lean on).
            meta["from_history"] = True
        return meta

    def _note_sample(self, now: float, completed: int, total: int) -> None:
        """Keep this write's point for the run's shape (a few dozen, evenly thinned)."""
        self._last_total = total
        if completed > 0:
            self._samples.append((now - self._began, min(1.0, completed / total)))
            if len(self._samples) > MAX_SHAPE_SAMPLES:
                self._samples = self._samples[::2]  # an odd count: first and last stay

    def finished_run(self, now: float | None = None) -> Run:
        """This run as its class's history keeps it (its queue wait is the caller's to add)."""
        run = max(0.0, (monotonic() if now is None else now) - self._began)
        return Run(None, run, self._last_total, shape_of(self._samples, run))

    def write_initial(self) -> None:
        """Write 0 % before the calculation starts, and start the heartbeat."""
        with self._lock:
            self._store_timed(self.initial_meta())
        if self._heartbeat is not None:
            beat = threading.Thread(target=self._beat, name="jobtastic-heartbeat", daemon=True)
            start_without_signals(beat)

    def write(self, completed: int, total: int, message: str | None) -> None:
        """Write this point now (it supersedes any pending one)."""
        with self._lock:
            self._pending = None
            self._due = False
            self._due_written.set()
            if not self._may_write():
                raise JobLostError(JobLostError.user_message)
            if self._was_cancelled():
                raise JobCancelledError("the job's owners cancelled it")
            self._store_timed(self.meta(completed, total, message))

    def _was_cancelled(self) -> bool:  # with the lock held
        """Whether the run was cancelled: one read of its mark per write, none once known.

        Asked by the job's own writes only: the flush timer may still write a held point,
        harmlessly, since the job itself stores REVOKED after the tracker is closed.
        """
        if not self.cancelled and self._cancel_requested is not None:
            self.cancelled = self._cancel_requested()
        return self.cancelled

    def _schedule_flush(self) -> None:
        """Make sure the pending point gets written when the next write is due."""
        with self._lock:
            if self._flush_timer is None and not self._closed:
                self._start_timer()

    def _start_timer(self) -> None:  # with the lock held
        self._flush_timer = threading.Timer(
            max(0.0, self._next_write_at - monotonic()), self._alarm
        )
        self._flush_timer.daemon = True
        start_without_signals(self._flush_timer)

    def close(self) -> None:
        """The run is over: no flush may land after this (it would overwrite the outcome)."""
        with self._lock:
            self._closed = True
            timer, self._flush_timer = self._flush_timer, None
        self._stopped.set()
        if timer is not None:
            timer.cancel()

    def _beat(self) -> None:
        """Until the run ends: after ``heartbeat`` seconds without a write, a sign of life."""
        assert self._heartbeat is not None
        while not self._stopped.wait(self._silence_left(self._heartbeat)):
            with self._lock:
                if self._closed or self._last_meta is None:
                    return
                if self._silence_left(self._heartbeat) > 0:
                    continue  # the job wrote meanwhile: that was its sign of life
                if not self._may_write():
                    return
                meta = {**self._last_meta, "alive_at": utc_now_iso()}
                stored = self._store(meta)
                self._last_meta, self._written_at = meta, monotonic()
                if stored:
                    self._heard_at = self._written_at

    def reported_lost(self, patience: float = 0.0) -> bool:
        """Whether the run was reported lost: its outcome must not replace the verdict.

        Asked as the run ends. If its last write failed (the result backend is down), its
        outcome could not be stored now either, and Celery would store its own record of
        that failure later, over any verdict: so the run waits up to ``patience`` seconds
        for the backend to answer, then knows. Past that, it is taken as not lost.
        """
        with self._lock:
            if self.disowned or self._declared_lost is None or self._heard_at >= self._written_at:
                return not self._may_write()
        give_up_at = monotonic() + patience
        while True:
            verdict = self._declared_lost()
            if verdict is not None or monotonic() >= give_up_at:
                break
            sleep(min(VERDICT_RETRY_SECONDS, max(0.0, give_up_at - monotonic())))
        with self._lock:
            self.disowned = self.disowned or verdict is True
            return self.disowned

    def _may_write(self) -> bool:  # with the lock held
        """False once the run learnt it was reported lost (see ``disowned``).

        A run silent for long enough that a reader may have declared it lost (a process
        frozen, or C code holding the GIL past ``lost_after``: the heartbeat could not run)
        asks the result backend before writing again; half of ``lost_after`` leaves room for
        the reader's clock being ahead of ours. A run that keeps writing never asks.
        """
        if self.disowned:
            return False
        if self._lost_after is None or self._declared_lost is None or not self._heard_at:
            return True
        if monotonic() - self._heard_at > self._lost_after / 2 and self._declared_lost():
            self.disowned = True
            return False
        return True

    def _silence_left(self, heartbeat: float) -> float:
        """Seconds until the run has been silent for ``heartbeat`` seconds (0 if it has)."""
        return max(0.0, self._written_at + heartbeat - monotonic())

    def _alarm(self) -> None:
        """The interval has passed: let the job write, or write for a job that is quiet."""
        with self._lock:
            if self._closed:
                return
            if monotonic() < self._next_write_at:
                self._start_timer()  # the job wrote meanwhile: ring when that interval ends
                return
            self._due = True
            self._due_written.clear()
        self._due_written.wait(QUIET_JOB_GRACE)
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            self._flush_timer = None
            # ``pending`` is only read here: the job may replace it at any moment (without
            # the lock, to stay cheap), and clearing it could drop the newer point.
            point = self._pending
            if self._closed or point is None or point is self._flushed:
                return
            if monotonic() < self._next_write_at:
                self._start_timer()  # the job wrote meanwhile: wait for that write's interval
                return
            self._flushed = point
            self._due = False
            if not self._may_write():
                return
            completed, total, message = point
            self._store_timed(self.meta(completed, total, message))

    def _store_timed(self, meta: dict[str, Any]) -> None:
        started = monotonic()
        stored = self._store(meta)
        finished = monotonic()
        self._last_meta, self._written_at = meta, finished
        if stored:
            self._heard_at = finished
        spacing = (finished - started) / WRITE_TIME_SHARE
        self._next_write_at = max(self._next_write_at, finished + spacing)


def _written_now() -> dict[str, str]:
    """The times a write carries: ``updated_at`` (readers age the estimate by it) and
    ``alive_at`` (the last sign of life; heartbeats move it alone)."""
    now = utc_now_iso()
    return {"updated_at": now, "alive_at": now}


def _not_in_a_job(
    completed: int, total: int, update_frequency: int = 1, message: str | None = None
) -> None:
    """``update_progress`` outside a running job: nothing to report to."""


class _ActiveRun(threading.local):
    tracker: ProgressTracker | None = None
    #: ``tracker.report``, bound once per run rather than on every item.
    report: Callable[..., None] = staticmethod(_not_in_a_job)


#: The run executing in this thread (a worker thread runs one at a time).
active = _ActiveRun()


def enter(tracker: ProgressTracker) -> ProgressTracker | None:
    """Make ``tracker`` this thread's active run; returns the one it replaces."""
    outer = active.tracker
    active.tracker, active.report = tracker, tracker.report
    return outer


def leave(outer: ProgressTracker | None) -> None:
    """Restore the run that ``enter`` replaced (None: no run)."""
    active.tracker = outer
    active.report = _not_in_a_job if outer is None else outer.report
