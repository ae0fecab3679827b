"""``JobtasticTask``: a Celery task base class for jobs a user waits for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from time import time
from typing import Any, ClassVar

import psutil
from celery.exceptions import Ignore
from celery.signals import task_prerun
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic.bounded_backends import bounded
from django_jobtastic.conf import conf
from django_jobtastic.django_connections import close_thread_connections
from django_jobtastic.liveness import epoch_of, is_lost_verdict, record_lost
from django_jobtastic.task import keys, progress, run_history
from django_jobtastic.task.cancelling import (
    CANCEL_FLAG,
    cancel_marked,
    cancel_reader,
    end_cancelled,
)
from django_jobtastic.task.registration import register_everywhere
from django_jobtastic.task.submission import SubmittingTask

logger = logging.getLogger(__name__)

_active = progress.active  # bound here: update_progress reads it on every call


class JobtasticTask(SubmittingTask):
    """Base class for user-facing jobs: progress, caching, herd avoidance, broker fallbacks.

    Subclass it and write ``calculate_result``, or decorate a function with
    ``@shared_task(base=JobtasticTask, bind=True, significant_kwargs=[...], ...)``.
    """

    #: RSS growth per run (SI MB) above which ``warn_of_memory_leak`` is called; -1 disables.
    memleak_threshold: ClassVar[float] = -1
    #: Minimum seconds between two progress writes; default ``JOBTASTIC_PROGRESS_INTERVAL``.
    progress_interval: ClassVar[float | None] = None
    #: Its owners may cancel it (``POST status/<token>/cancel/``): a queued run never starts,
    #: a running one stops at its next progress write (one cache read per write).
    cancellable: ClassVar[bool] = False
    #: Mark a subclass meant to be subclassed further: it is not registered or validated.
    abstract: bool = True

    # A job run by ``delay_or_eager`` must be readable by the status view in other processes.
    store_eager_result = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_decorated"):
            # Made by ``@shared_task(base=JobtasticTask)``: the function is the calculation,
            # and Celery registers the class itself.
            cls.calculate_result = cls.__dict__["run"]  # type: ignore[method-assign]
            del cls.run
            cls.abstract = False
            try:
                _validate(cls)
            except ImproperlyConfigured as error:
                cls._configuration_error = error
            return
        if cls.__dict__.get("abstract", False) or cls.calculate_result is _UNDEFINED:
            return  # a base for other jobs, not a job
        cls.abstract = False
        _validate(cls)
        if not cls.__dict__.get("name"):
            cls.name = f"{cls.__module__}.{cls.__name__}"
        register_everywhere(cls)

    # -- running ---------------------------------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        if self._configuration_error is not None:
            raise self._configuration_error
        store = self._progress_store()
        if store is None:  # called directly, not as a job: nothing to report to
            return self.calculate_result(*args, **kwargs)
        if getattr(self.request, LOST_FLAG, False):
            # A redelivered message of a job already reported lost: its followers were told
            # to try again, and may have; running it now would run it twice. Celery stored
            # STARTED over the verdict meanwhile: the verdict goes back.
            logger.warning(
                "Jobtastic: %s[%s] was reported lost: not run again", self.name, self.request.id
            )
            record_lost(self.backend, str(self.request.id))
            raise Ignore()
        if getattr(self.request, CANCEL_FLAG, False):  # cancelled while it was queued
            end_cancelled(self, args, kwargs)
        history_cache = self._cache_alias_for_history()
        tracker = progress.ProgressTracker(
            self._progress_interval,
            store,
            heartbeat=conf.HEARTBEAT_INTERVAL,
            lost_after=conf.LOST_AFTER,
            declared_lost=self._verdict_reader(),
            cancel_requested=cancel_reader(self, str(self.request.id))
            if self.cancellable
            else None,
            history=None
            if history_cache is None
            else run_history.expectation(history_cache, self.name),
        )
        outer = progress.enter(tracker)
        tracker.write_initial()
        rss_before = _resident_bytes() if self.memleak_threshold >= 0 else None
        try:
            result = self.calculate_result(*args, **kwargs)
            finished = tracker.finished_run()
            reported_lost = tracker.reported_lost(conf.LOST_AFTER)
        except BaseException:
            if tracker.reported_lost(conf.LOST_AFTER):
                self._outlived_its_verdict()
            if not tracker.cancelled:
                raise
            reported_lost = False  # JobCancelledError, or what the job made of it
        finally:
            tracker.close()
            progress.leave(outer)
            if rss_before is not None:
                self._check_memory(rss_before, args, kwargs)
        if reported_lost:
            self._outlived_its_verdict()
        if tracker.cancelled:  # after close(): no held point can land on REVOKED
            end_cancelled(self, args, kwargs)
        if history_cache is not None:  # a successful run joins its class's history
            waited = getattr(self.request, QUEUE_WAIT_FLAG, None)
            run_history.remember(history_cache, self.name, replace(finished, wait=waited))
        self._remember_eager_outcome(result)
        return result

    def _cache_alias_for_history(self) -> str | None:
        """The cache holding this class's run history, or None when it keeps none."""
        return (self.cache_alias or conf.CACHE) if self.uses_history else None

    def _outlived_its_verdict(self) -> None:
        """The run was reported lost while it was in fact frozen: the verdict stands.

        Its followers were told to try again, and an identical call may be running afresh;
        storing this run's outcome over the verdict would make readers disagree.
        """
        logger.warning(
            "Jobtastic: %s[%s] was reported lost while it was silent; its outcome is dropped",
            self.name,
            self.request.id,
        )
        raise Ignore()

    def update_progress(
        self,
        completed: int,
        total: int,
        update_frequency: int = 1,
        message: str | None = None,
    ) -> None:
        """Report ``completed`` of ``total``; cheap enough to call on every item.

        A write happens at most every ``update_frequency`` calls and every
        ``progress_interval`` seconds; the first call reaching ``total`` always writes. A
        call held back by the interval is written when it has passed, unless a newer one is.
        Outside a running job it does nothing.
        """
        _active.report(completed, total, update_frequency, message)

    def _progress_store(self) -> progress.Store | None:
        """Where this run's progress goes: its task id in the result backend.

        The request is captured here because the flush timer writes from another thread,
        where ``self.request`` would be someone else's (or nobody's).
        """
        request = self.request
        task_id = request.id
        if not task_id:
            return None  # called directly, not as a job: there is no state to write
        job_thread = threading.current_thread()

        def store(meta: dict[str, Any]) -> bool:
            try:
                return self._store_progress(task_id, request, meta)
            finally:
                if threading.current_thread() is not job_thread:
                    close_thread_connections()  # the flush timer's own (django-db) connection

        return store

    def _store_progress(self, task_id: str, request: Any, meta: dict[str, Any]) -> bool:
        """Store one progress meta; False if the result backend did not take it."""
        try:
            self.backend.store_result(task_id, meta, progress.PROGRESS, request=request)
        except Exception:
            # A progress bar is not worth failing the job for.
            logger.warning(
                "Jobtastic: progress write failed for %s[%s]", self.name, task_id, exc_info=True
            )
            return False
        return True

    def _verdict_reader(self) -> progress.VerdictReader:
        """``_declared_lost`` for this run, callable from its helper threads too."""
        task_id, job_thread = str(self.request.id), threading.current_thread()

        def declared_lost() -> bool | None:
            try:
                return self._declared_lost(task_id)
            finally:
                if threading.current_thread() is not job_thread:
                    close_thread_connections()

        return declared_lost

    def _declared_lost(self, task_id: str) -> bool | None:
        """Whether the result backend holds the lost verdict for this task id (None: down)."""
        meta = self._stored_meta(task_id)
        return None if meta is None else is_lost_verdict(meta.get("status"), meta.get("result"))

    def _stored_meta(self, task_id: str) -> Mapping[str, Any] | None:
        """The task's record in the result backend; None when the backend is down.

        A backend that does not answer holds the run up for a heartbeat interval, not for
        its socket timeout (Redis: 120 s by default).
        """
        try:
            meta = bounded(self.backend, conf.HEARTBEAT_INTERVAL).get_task_meta(task_id)
        except Exception:  # the backend is down: it cannot tell now
            return None
        return meta if isinstance(meta, Mapping) else None

    @property
    def _progress_interval(self) -> float:
        if self.progress_interval is not None:
            return float(self.progress_interval)
        return conf.PROGRESS_INTERVAL

    # -- memory leaks ----------------------------------------------------------------------

    def _check_memory(self, before: int, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        after = _resident_bytes()
        if _exceeds(after - before, self.memleak_threshold):
            named = keys.bind_arguments(self._signature, args, kwargs)
            self.warn_of_memory_leak(after - before, before, after, named)

    def warn_of_memory_leak(
        self,
        growth: int,
        beginning_usage: int,
        ending_usage: int,
        task_kwargs: Mapping[str, Any],
    ) -> None:
        """Called when a run grew RSS by more than ``memleak_threshold``; override to alert."""
        logger.warning(
            "Jobtastic:memleak memleak_detected task=%s id=%s growth=%.1fMB "
            "start=%.1fMB end=%.1fMB",
            self.name,
            self.request.id,
            _to_mb(growth),
            _to_mb(beginning_usage),
            _to_mb(ending_usage),
        )


#: Set on a run's request when its task id already holds the lost verdict.
LOST_FLAG = "jobtastic_reported_lost"
#: Set on a run's request: seconds it waited since it was queued (None: unknown).
QUEUE_WAIT_FLAG = "jobtastic_queue_wait"


@task_prerun.connect(weak=False)
def _note_lost_verdict(sender: Any = None, task_id: str = "", **_: Any) -> None:
    """Before Celery stores STARTED over it: does this task id hold the lost verdict, and
    since when was it queued (its PENDING record says, for its history)?"""
    if isinstance(sender, JobtasticTask) and task_id:
        meta = sender._stored_meta(task_id)
        status, info = (None, None) if meta is None else (meta.get("status"), meta.get("result"))
        setattr(sender.request, LOST_FLAG, is_lost_verdict(status, info))
        queued = epoch_of(info.get("queued_at")) if isinstance(info, Mapping) else None
        wait = None if queued is None or status != "PENDING" else max(0.0, time() - queued)
        if getattr(sender.request, "eta", None):  # its countdown is no wait to learn from
            wait = None
        setattr(sender.request, QUEUE_WAIT_FLAG, wait)


@task_prerun.connect(weak=False)
def _note_cancel_mark(sender: Any = None, task_id: str = "", **_: Any) -> None:
    """Before a cancellable job starts: did its owners cancel it while it was queued?"""
    if isinstance(sender, JobtasticTask) and sender.cancellable and task_id:
        setattr(sender.request, CANCEL_FLAG, cancel_marked(sender, task_id))


_UNDEFINED = JobtasticTask.calculate_result


def _validate(cls: type[JobtasticTask]) -> None:
    """Raise ImproperlyConfigured naming the class and the attribute that is wrong."""

    def fail(attribute: str, problem: str) -> None:
        raise ImproperlyConfigured(f"{cls.__module__}.{cls.__qualname__}.{attribute} {problem}")

    if cls.significant_kwargs is None:
        fail("significant_kwargs", "is required: a list of names or (name, to_str) pairs")
    try:
        keys.normalize_significant_kwargs(cls.significant_kwargs or ())
    except TypeError as error:
        fail("significant_kwargs", f"is malformed: {error}")
    timeout = cls.herd_avoidance_timeout
    if timeout is None:
        fail("herd_avoidance_timeout", "is required: seconds, or 0 to turn it off")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
        fail("herd_avoidance_timeout", f"must be an int >= 0, not {timeout!r}")
    duration = cls.cache_duration
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < -1:
        fail("cache_duration", f"must be an int >= -1, not {duration!r}")
    if not isinstance(cls.memleak_threshold, (int, float)):
        fail("memleak_threshold", f"must be a number, not {cls.memleak_threshold!r}")
    if not isinstance(cls.cancellable, bool):
        fail("cancellable", f"must be True or False, not {cls.cancellable!r}")
    if cls.estimate_from_history is not None and not isinstance(cls.estimate_from_history, bool):
        fail(
            "estimate_from_history",
            f"must be True, False or None, not {cls.estimate_from_history!r}",
        )


BYTES_PER_MB = 1_000_000  # SI megabytes, as ``memleak_threshold`` is documented


def _resident_bytes() -> int:
    """The resident set size of this process, in bytes."""
    return int(psutil.Process().memory_info().rss)


def _exceeds(growth: int, threshold_mb: float) -> bool:
    """Whether ``growth`` bytes is above ``threshold_mb`` (SI megabytes)."""
    return growth > threshold_mb * BYTES_PER_MB


def _to_mb(size: int) -> float:
    return round(size / BYTES_PER_MB, 1)
