"""Every way to submit a job, each re-using cached results and running identical jobs.

``delay``/``apply_async`` behave as in Celery; the ``*_or_eager`` and ``*_or_fail`` helpers
also give the broker ``JOBTASTIC_PUBLISH_TIMEOUT`` seconds and then fall back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from celery import states
from celery.result import AsyncResult, EagerResult
from celery.utils import uuid
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic.conf import conf
from django_jobtastic.queueing_errors import not_queued
from django_jobtastic.task.coordination import CoordinatedTask
from django_jobtastic.task.herd import CacheUnavailableError
from django_jobtastic.task.publishing import (
    BrokerUnavailableError,
    PublishUnconfirmedError,
    publish_within,
)
from django_jobtastic.task.registration import class_or_instance_method

if TYPE_CHECKING:
    from typing import TypeAlias

    JobResult: TypeAlias = AsyncResult[Any]
else:
    JobResult = AsyncResult

logger = logging.getLogger(__name__)

#: Submits one message: ``(args, kwargs, task_id, options) -> result``.
Publisher = Callable[[tuple[Any, ...], dict[str, Any], str, dict[str, Any]], JobResult]


class _EagerOutcome(threading.local):
    """The value of a fallback run in this thread, kept in case storing it fails."""

    task_id: str | None = None  # the run whose value is wanted
    ready: bool = False
    value: Any = None


eager_outcome = _EagerOutcome()


class SubmittingTask(CoordinatedTask):
    """The submission API; callable on the class as on the registered instance."""

    #: Set instead of raised for a misconfigured decorator-style task (raising inside Celery's
    #: app finalization would leave the app half-finalized); raised at its first use.
    _configuration_error: ImproperlyConfigured | None = None

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
        if self._configuration_error is not None:
            raise self._configuration_error
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

    # -- publishers ------------------------------------------------------------------------

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
        parent = self.app.current_worker_task  # thread-local: read it here, not in the helper
        if parent is not None and parent.request.id:
            options.setdefault("root_id", parent.request.root_id or parent.request.id)
            options.setdefault("parent_id", parent.request.id)

        def send(producer: Any) -> JobResult:
            return self._publish(args, kwargs, task_id, {**options, "producer": producer})

        def not_queued_after_all(error: BaseException) -> None:
            cause = error.cause if isinstance(error, BrokerUnavailableError) else error
            logger.warning(
                "Jobtastic: %s[%s] was not queued after all: %s", self.name, task_id, cause
            )
            self._record_not_queued(args, kwargs, task_id, cause)

        try:
            return publish_within(self.app, conf.PUBLISH_TIMEOUT, send, not_queued_after_all)
        except PublishUnconfirmedError as error:
            logger.warning("Jobtastic: %s[%s] assumed queued: %s", self.name, task_id, error)
            return self.AsyncResult(task_id)

    def _publish_or_run_here(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        try:
            return self._publish_by_deadline(args, kwargs, task_id, options)
        except BrokerUnavailableError as error:
            logger.warning(
                "Jobtastic: broker unavailable (%s); running %s[%s] in this process",
                error,
                self.name,
                task_id,
            )
        eager_outcome.task_id, eager_outcome.ready = task_id, False
        try:
            return self.apply(args, kwargs, task_id=task_id)
        except Exception:
            # The job ran, but its outcome could not be stored (the result backend is down
            # too, e.g. one Redis for both): hand the value over directly.
            if not eager_outcome.ready:
                raise
            logger.warning(
                "Jobtastic: result of %s[%s] could not be stored; only this process has it",
                self.name,
                task_id,
                exc_info=True,
            )
            return EagerResult(task_id, eager_outcome.value, states.SUCCESS)
        finally:
            eager_outcome.task_id = eager_outcome.value = None
            eager_outcome.ready = False

    def _publish_or_fail(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, options: dict[str, Any]
    ) -> JobResult:
        try:
            return self._publish_by_deadline(args, kwargs, task_id, options)
        except BrokerUnavailableError as error:
            logger.warning(
                "Jobtastic: broker unavailable (%s); %s[%s] recorded as failed",
                error,
                self.name,
                task_id,
            )
            cause = error.cause
        failure = self._record_not_queued(args, kwargs, task_id, cause)
        if failure is not None:
            return EagerResult(task_id, failure, states.FAILURE)
        return self.AsyncResult(task_id)

    def _record_not_queued(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str, cause: BaseException
    ) -> BaseException | None:
        """Store FAILURE for a job the broker did not take, and free its herd entry.

        Returns the failure if the result backend could not store it (only we know it).
        """
        failure = not_queued(cause)
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
            return failure
        return None

    def _remember_eager_outcome(self, value: Any) -> None:
        """Keep a fallback run's value until its caller has it (see ``_publish_or_run_here``)."""
        if eager_outcome.task_id is not None and eager_outcome.task_id == self.request.id:
            eager_outcome.value, eager_outcome.ready = value, True
