"""Every way to submit a job, each re-using cached results and running identical jobs.

``delay``/``apply_async`` behave as in Celery; the ``*_or_eager`` and ``*_or_fail`` helpers
also give the broker ``JOBTASTIC_PUBLISH_TIMEOUT`` seconds and then fall back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery import states
from celery.result import EagerResult
from celery.utils import uuid
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic import submissions
from django_jobtastic.bounded_backends import bounded
from django_jobtastic.conf import conf
from django_jobtastic.task import run_history
from django_jobtastic.task.fallbacks import JobResult, PublishingTask
from django_jobtastic.task.herd import CacheUnavailableError
from django_jobtastic.task.progress import utc_now_iso
from django_jobtastic.task.registration import class_or_instance_method

logger = logging.getLogger(__name__)

#: Submits one message: ``(args, kwargs, task_id, options) -> result``.
Publisher = Callable[[tuple[Any, ...], dict[str, Any], str, dict[str, Any]], JobResult]


class SubmittingTask(PublishingTask):
    """The submission API; callable on the class as on the registered instance."""

    #: Keep a history of successful runs and estimate from it; None: the project's
    #: ``JOBTASTIC_ESTIMATE_FROM_HISTORY`` (True by default).
    estimate_from_history: bool | None = None

    #: Set instead of raised for a misconfigured decorator-style task (raising inside Celery's
    #: app finalization would leave the app half-finalized); raised at its first use.
    _configuration_error: ImproperlyConfigured | None = None

    @property
    def uses_history(self) -> bool:
        """Whether this class keeps a run history and estimates from it."""
        if self.estimate_from_history is None:
            return conf.ESTIMATE_FROM_HISTORY
        return bool(self.estimate_from_history)

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
        self._entries(self._digest(args, kwargs)).forget_result()

    def _submit(
        self,
        args: Sequence[Any] | None,
        kwargs: Mapping[str, Any] | None,
        task_id: str | None,
        options: dict[str, Any],
        publish: Publisher,
    ) -> JobResult:
        result = self._new_or_reused(args, kwargs, task_id, options, publish)
        # The registered name travels with the result, so grant() records which job it is
        # without asking the result backend (AsyncResult.name would).
        setattr(result, "task_name", self.name)  # noqa: B010
        submissions.announce(result.id, self.name)
        return result

    def _noting_queued(self, publish: Publisher) -> Publisher:
        """``publish``, preceded by storing PENDING with ``queued_at`` (now) for the job.

        Stored before the message exists, so it can never overwrite what a worker stored;
        readers show how long the job has waited. A backend that cannot store it costs the
        job nothing but that figure.
        """
        if self.ignore_result or self.app.conf.task_always_eager:
            return publish  # nothing would ever replace the record: no state to show

        def publish_after_noting(
            args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
        ) -> JobResult:
            # A silent backend may delay the submission by the broker's deadline, not more.
            backend = bounded(self.backend, conf.PUBLISH_TIMEOUT)
            try:
                backend.store_result(task_id, self._queued_meta(), states.PENDING)
            except Exception as error:
                logger.warning(
                    "Jobtastic: queue time of %s[%s] not stored: %s", self.name, task_id, error
                )
            try:
                return publish(args, kwargs, task_id, options)
            except BaseException:
                with contextlib.suppress(Exception):  # never queued: nothing has waited
                    backend.forget(task_id)
                raise

        return publish_after_noting

    def _queued_meta(self) -> dict[str, Any]:
        """What a queued job's PENDING record holds: when, and what its history expects.

        The expectation is read here, once per submission, so the status view reads it with
        the state it reads anyway (the batch view, the stream and the raw-id route alike).
        """
        meta: dict[str, Any] = {"queued_at": utc_now_iso()}
        expected = (
            run_history.expectation(self.cache_alias or conf.CACHE, self.name)
            if self.uses_history
            else None
        )
        if expected is not None:
            meta["expected_wait"] = None if expected.wait is None else round(expected.wait, 1)
            meta["expected_run"] = round(expected.run, 1)
        return meta

    def _new_or_reused(
        self,
        args: Sequence[Any] | None,
        kwargs: Mapping[str, Any] | None,
        task_id: str | None,
        options: dict[str, Any],
        publish: Publisher,
    ) -> JobResult:
        if self._configuration_error is not None:
            raise self._configuration_error
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        if task_id is not None and task_id == self.request.id:
            # The running job re-publishing itself (``self.retry()``): never latch onto itself.
            return publish(args, kwargs, task_id, options)
        task_id = task_id or uuid()
        publish = self._noting_queued(publish)
        if not self.coordinated:
            return publish(args, kwargs, task_id, options)
        digest = self._digest(args, kwargs)
        try:
            entries = self._entries(digest)
            reused = self._reuse_or_claim(entries, task_id)
        except CacheUnavailableError as error:
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
            self._release_for(args, kwargs, task_id)
            raise
