"""``JobtasticTask``: a Celery task base class for jobs a user waits for."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from celery import Task, states
from celery.result import AsyncResult, EagerResult
from celery.signals import task_revoked
from celery.utils import uuid
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic import keys, memleak, progress
from django_jobtastic.conf import conf
from django_jobtastic.herd import CacheUnavailable, JobEntries, Liveness, open_entries
from django_jobtastic.publishing import BrokerUnavailable, publish_within
from django_jobtastic.queueing_errors import not_queued
from django_jobtastic.registration import class_or_instance_method, register_everywhere

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    JobResult: TypeAlias = AsyncResult[Any]
else:
    JobResult = AsyncResult

#: Submits one message: ``(args, kwargs, task_id, options) -> result``.
Publisher = Callable[[tuple[Any, ...], dict[str, Any], str, dict[str, Any]], "JobResult"]

_DEAD_STATES = frozenset({states.FAILURE, states.REVOKED})


class JobtasticTask(Task[Any, Any]):
    """Base class for user-facing jobs: progress, caching, herd avoidance, broker fallbacks.

    Subclass it and write ``calculate_result``, or decorate a function with
    ``@shared_task(base=JobtasticTask, bind=True, significant_kwargs=[...], ...)``.
    """

    #: Values that make two calls identical: ``name`` or ``(name, to_str)``. Required.
    significant_kwargs: ClassVar[Sequence[keys.SignificantKwarg] | None] = None
    #: Seconds an identical call latches onto a queued or running one; 0 disables. Required.
    herd_avoidance_timeout: ClassVar[int | None] = None
    #: -1: no result caching; 0: cache with no expiry; N: cache for N seconds.
    cache_duration: ClassVar[int] = -1
    #: Tasks sharing a prefix share cached results and herd entries. Default: module.Class.
    cache_prefix: ClassVar[str | None] = None
    #: Django cache alias for this task's entries; default ``JOBTASTIC_CACHE``.
    cache_alias: ClassVar[str | None] = None
    #: RSS growth per run (SI MB) above which ``warn_of_memory_leak`` is called; -1 disables.
    memleak_threshold: ClassVar[float] = -1
    #: Minimum seconds between two progress writes; default ``JOBTASTIC_PROGRESS_INTERVAL``.
    progress_interval: ClassVar[float | None] = None
    #: Mark a subclass meant to be subclassed further: it is not registered or validated.
    abstract: bool = True

    # An eagerly run job (``delay_or_eager``) must be readable by the status view.
    store_eager_result = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_decorated"):
            # Made by ``@shared_task(base=JobtasticTask)``: the function is the calculation,
            # and Celery registers the class itself.
            cls.calculate_result = cls.__dict__["run"]  # type: ignore[method-assign]
            del cls.run
            cls.abstract = False
            _validate(cls)
            return
        if cls.__dict__.get("abstract", False) or cls.calculate_result is _UNDEFINED:
            return  # a base for other jobs, not a job
        cls.abstract = False
        _validate(cls)
        if not cls.__dict__.get("name"):
            cls.name = f"{cls.__module__}.{cls.__name__}"
        register_everywhere(cls)

    # -- the calculation -------------------------------------------------------------------

    def calculate_result(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work and return the result; call ``self.update_progress`` along the way."""
        raise NotImplementedError(f"{type(self).__name__} must define calculate_result()")

    def run(self, *args: Any, **kwargs: Any) -> Any:
        tracker = progress.ProgressTracker(self._progress_interval)
        outer = progress.active.tracker
        progress.active.tracker = tracker
        self._write_progress(tracker.initial_meta())
        rss_before = memleak.resident_bytes() if self.memleak_threshold >= 0 else None
        try:
            return self.calculate_result(*args, **kwargs)
        finally:
            progress.active.tracker = outer
            if rss_before is not None:
                self._check_memory(rss_before, args, kwargs)

    def update_progress(
        self,
        completed: int,
        total: int,
        update_frequency: int = 1,
        message: str | None = None,
    ) -> None:
        """Report ``completed`` of ``total``; cheap enough to call on every item.

        A write happens at most every ``update_frequency`` calls and every
        ``progress_interval`` seconds, and always when ``completed >= total``.
        """
        tracker = progress.active.tracker
        if tracker is None:
            return  # not inside a running job: nothing to report to
        if completed < total and (
            (update_frequency > 1 and completed % update_frequency)
            or monotonic() < tracker.next_write_at
        ):
            return
        self._write_progress(tracker.meta(completed, total, message))

    def _write_progress(self, meta: dict[str, Any]) -> None:
        if not self.request.id:
            return
        try:
            self.update_state(state=progress.PROGRESS, meta=meta)
        except Exception:
            # A progress bar is not worth failing the job for.
            logger.warning(
                "Jobtastic: progress write failed for %s[%s]",
                self.name,
                self.request.id,
                exc_info=True,
            )

    @property
    def _progress_interval(self) -> float:
        if self.progress_interval is not None:
            return float(self.progress_interval)
        return conf.PROGRESS_INTERVAL

    # -- memory leaks ----------------------------------------------------------------------

    def _check_memory(self, before: int, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        after = memleak.resident_bytes()
        if memleak.exceeds(after - before, self.memleak_threshold):
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
            memleak.to_mb(growth),
            memleak.to_mb(beginning_usage),
            memleak.to_mb(ending_usage),
        )

    # -- submission ------------------------------------------------------------------------

    @class_or_instance_method
    def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> JobResult:
        """Celery's ``apply_async``, re-using a cached result or a running identical job."""
        return self._submit(args, kwargs, task_id, options, self._publish)

    @class_or_instance_method
    def delay(self, *args: Any, **kwargs: Any) -> JobResult:
        return self.apply_async(args, kwargs)

    @class_or_instance_method
    def async_or_eager(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> JobResult:
        """``apply_async``, or run here and now if the broker is down."""
        return self._submit(args, kwargs, task_id, options, self._publish_or_run_here)

    @class_or_instance_method
    def delay_or_eager(self, *args: Any, **kwargs: Any) -> JobResult:
        return self.async_or_eager(args, kwargs)

    @class_or_instance_method
    def async_or_fail(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> JobResult:
        """``apply_async``, or a FAILURE result the user can read if the broker is down."""
        return self._submit(args, kwargs, task_id, options, self._publish_or_fail)

    @class_or_instance_method
    def delay_or_fail(self, *args: Any, **kwargs: Any) -> JobResult:
        return self.async_or_fail(args, kwargs)

    @class_or_instance_method
    def AsyncResult(self, task_id: str, **kwargs: Any) -> JobResult:
        return super().AsyncResult(task_id, **kwargs)

    @class_or_instance_method
    def apply(self, *args: Any, **kwargs: Any) -> EagerResult[Any]:
        return super().apply(*args, **kwargs)

    @class_or_instance_method
    def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Forget the cached result of the call with these arguments (same as the call's)."""
        entries = self._entries(self._digest(args, kwargs))
        entries.forget_result()

    def _submit(
        self,
        args: Sequence[Any] | None,
        kwargs: Mapping[str, Any] | None,
        task_id: str | None,
        options: dict[str, Any],
        publish: Publisher,
    ) -> JobResult:
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        if task_id is not None and task_id == self.request.id:
            # The running job re-publishing itself (``self.retry()``): never latch onto itself.
            return publish(args, kwargs, task_id, options)
        task_id = task_id or uuid()
        if not self.coordinated:
            return publish(args, kwargs, task_id, options)
        digest = self._digest(args, kwargs)
        try:
            entries = self._entries(digest)
            reused = self._reuse_or_claim(entries, task_id)
        except CacheUnavailable as error:
            logger.warning(
                "Jobtastic: cache unavailable (%s); submitting %s[%s] without caching or "
                "herd avoidance",
                error,
                self.name,
                task_id,
            )
            return publish(args, kwargs, task_id, options)
        if reused is not None:
            if options:
                logger.debug(
                    "Jobtastic: %s re-uses %s (key %s); options %s ignored",
                    self.name,
                    reused,
                    digest,
                    sorted(options),
                )
            return self.AsyncResult(reused)
        try:
            return publish(args, kwargs, task_id, options)
        except BaseException:
            self._release(entries, task_id)
            raise

    def _reuse_or_claim(self, entries: JobEntries, task_id: str) -> str | None:
        """The id of a job serving this call, or None once this call owns the job."""
        if self.cache_duration >= 0:
            cached = entries.cached_task_id()
            if cached is not None:
                if self._state(cached) == states.SUCCESS:
                    return cached
                entries.forget_result(cached)  # the backend no longer holds that result
        if self.herd_avoidance_timeout:
            winner, won = entries.claim(task_id, self.herd_avoidance_timeout, self._liveness)
            return None if won else winner
        return None

    def _liveness(self, task_id: str) -> Liveness:
        state = self._state(task_id)
        if state == states.SUCCESS:
            return Liveness.REUSABLE if self.cache_duration >= 0 else Liveness.DEAD
        return Liveness.DEAD if state in _DEAD_STATES else Liveness.RUNNING

    def _state(self, task_id: str) -> str | None:
        """The task's state in the result backend, None when the backend cannot say."""
        try:
            return str(self.AsyncResult(task_id).state)
        except Exception:
            logger.warning("Jobtastic: cannot read the state of %s", task_id, exc_info=True)
            return None

    def _publish(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        return super().apply_async(args, kwargs, task_id=task_id, **options)

    def _publish_by_deadline(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        if self.app.conf.task_always_eager:
            return self._publish(args, kwargs, task_id, options)
        options = {key: value for key, value in options.items() if key != "producer"}
        return publish_within(
            self.app,
            conf.PUBLISH_TIMEOUT,
            lambda producer: self._publish(
                args, kwargs, task_id, {**options, "producer": producer}
            ),
        )

    def _publish_or_run_here(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        try:
            return self._publish_by_deadline(args, kwargs, task_id, options)
        except BrokerUnavailable as error:
            logger.warning(
                "Jobtastic: broker unavailable (%s); running %s[%s] in this process",
                error,
                self.name,
                task_id,
            )
            return self.apply(args, kwargs, task_id=task_id)

    def _publish_or_fail(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        try:
            return self._publish_by_deadline(args, kwargs, task_id, options)
        except BrokerUnavailable as error:
            logger.warning(
                "Jobtastic: broker unavailable (%s); %s[%s] recorded as failed",
                error,
                self.name,
                task_id,
            )
            failure = not_queued(error.cause)
            self._release_for(args, kwargs, task_id)
            try:
                self.backend.mark_as_failure(task_id, failure)
            except Exception:
                logger.warning(
                    "Jobtastic: result backend unavailable too; the failure of %s is only "
                    "known to this process",
                    task_id,
                    exc_info=True,
                )
                return EagerResult(task_id, failure, states.FAILURE)
            return self.AsyncResult(task_id)

    # -- keys and entries ------------------------------------------------------------------

    @property
    def coordinated(self) -> bool:
        """Whether calls of this task share results or running jobs at all."""
        return bool(self.herd_avoidance_timeout) or self.cache_duration >= 0

    @cached_property
    def _signature(self) -> inspect.Signature | None:
        try:
            return inspect.signature(self.calculate_result)
        except (TypeError, ValueError):
            return None

    @cached_property
    def _significant(self) -> tuple[tuple[str, Callable[[Any], str] | None], ...]:
        return keys.normalize_significant_kwargs(self.significant_kwargs or ())

    @property
    def _prefix(self) -> str:
        return self.cache_prefix or f"{type(self).__module__}.{type(self).__name__}"

    def _digest(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        named = keys.bind_arguments(self._signature, args, kwargs)
        values = keys.significant_values(self._significant, named, self.name)
        return keys.job_digest(self._prefix, self._significant, values, self.serializer)

    def _entries(self, digest: str) -> JobEntries:
        return open_entries(self.cache_alias or conf.CACHE, digest)

    def _release(self, entries: JobEntries, task_id: str) -> None:
        try:
            entries.release(task_id)
        except CacheUnavailable as error:
            logger.warning("Jobtastic: could not clear the herd entry of %s: %s", task_id, error)

    def _release_for(self, args: Sequence[Any], kwargs: Mapping[str, Any], task_id: str) -> None:
        """Clear this job's herd entry if it names ``task_id`` (end of a run, or no run)."""
        if not self.herd_avoidance_timeout:
            return
        try:
            self._release(self._entries(self._digest(args, kwargs)), task_id)
        except (TypeError, CacheUnavailable) as error:
            logger.warning("Jobtastic: could not clear the herd entry of %s: %s", task_id, error)

    # -- worker-side hooks -----------------------------------------------------------------

    def on_success(
        self, retval: Any, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> None:
        # SUCCESS is stored by now; cache the id first, then drop the herd entry, so an
        # identical call always finds one of the two.
        if self.cache_duration >= 0:
            try:
                self._entries(self._digest(args, kwargs)).remember_result(
                    task_id, self.cache_duration
                )
            except (TypeError, CacheUnavailable) as error:
                logger.warning(
                    "Jobtastic: result of %s[%s] not cached: %s", self.name, task_id, error
                )
        self._release_for(args, kwargs, task_id)

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        einfo: Any,
    ) -> None:
        self._release_for(args, kwargs, task_id)


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


@task_revoked.connect(weak=False)
def _clear_herd_entry_of_revoked_task(sender: Any = None, request: Any = None, **_: Any) -> None:
    """A revoked job frees its herd entry so an identical call can start a fresh one."""
    if isinstance(sender, JobtasticTask) and request is not None:
        sender._release_for(request.args or (), request.kwargs or {}, request.id)
