"""Publishing when the broker may be down: the ``*_or_eager`` and ``*_or_fail`` fallbacks.

The broker gets ``JOBTASTIC_PUBLISH_TIMEOUT`` seconds (``publishing.publish_within``); then
the job runs in this process (``*_or_eager``) or is recorded as a FAILURE the user can read
(``*_or_fail``), and its herd entry is freed so an identical call can try again.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from celery import states
from celery.result import AsyncResult

from django_jobtastic.conf import conf
from django_jobtastic.queueing_errors import not_queued
from django_jobtastic.task.coordination import CoordinatedTask
from django_jobtastic.task.publishing import (
    BrokerUnavailableError,
    PublishUnconfirmedError,
    publish_within,
)
from django_jobtastic.unstored_results import UnstoredResult

if TYPE_CHECKING:
    from typing import TypeAlias

    JobResult: TypeAlias = AsyncResult[Any]
else:
    JobResult = AsyncResult

logger = logging.getLogger(__name__)


class _EagerOutcome(threading.local):
    """The value of a fallback run in this thread, kept in case storing it fails."""

    task_id: str | None = None  # the run whose value is wanted
    ready: bool = False
    value: Any = None


eager_outcome = _EagerOutcome()


class PublishingTask(CoordinatedTask):
    """The ways a job's message reaches the broker, with or without a fallback."""

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
            return UnstoredResult(task_id, eager_outcome.value, states.SUCCESS)
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
            return UnstoredResult(task_id, failure, states.FAILURE)
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
