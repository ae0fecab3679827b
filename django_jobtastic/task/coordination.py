"""Sharing work between identical calls: keys, cached results and herd entries.

``CoordinatedTask`` holds the attributes that say which calls are identical and for how
long they share work, and the cache operations both sides need: the submitting process
(re-use or claim) and the worker (cache the result, release the claim).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from time import time
from typing import Any, ClassVar

from celery import states
from celery.signals import task_failure, task_revoked, task_success

from django_jobtastic.conf import conf
from django_jobtastic.liveness import is_lost, record_lost
from django_jobtastic.task import keys
from django_jobtastic.task.cancelling import cancel_marked
from django_jobtastic.task.herd import CacheUnavailableError, JobEntries, Liveness, open_entries
from django_jobtastic.task.registration import AnyTask

logger = logging.getLogger(__name__)

_DEAD_STATES = frozenset({states.FAILURE, states.REVOKED})


class CoordinatedTask(AnyTask):
    """A task whose identical calls share one run and, optionally, its cached result."""

    #: Values that make two calls identical: ``name`` or ``(name, to_str)``. Required.
    significant_kwargs: ClassVar[Sequence[keys.SignificantKwarg] | None] = None
    #: Seconds an identical call latches onto a queued or running one; 0 disables. Required.
    herd_avoidance_timeout: ClassVar[int | None] = None
    #: -1: no result caching; 0: cache with no expiry; N: cache for N seconds.
    cache_duration: ClassVar[int] = -1
    #: Tasks sharing a prefix share cached results and herd entries. Default: module.Class.
    cache_prefix: ClassVar[str | None] = None
    #: Cache for this task's entries (a Django alias, or a URL without Django settings);
    #: default ``JOBTASTIC_CACHE``.
    cache_alias: ClassVar[str | None] = None

    @property
    def coordinated(self) -> bool:
        """Whether calls of this task share results or running jobs at all."""
        return bool(self.herd_avoidance_timeout) or self.cache_duration >= 0

    def calculate_result(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work and return the result; call ``self.update_progress`` along the way."""
        raise NotImplementedError(f"{type(self).__name__} must define calculate_result()")

    # -- keys ------------------------------------------------------------------------------

    @cached_property
    def _signature(self) -> inspect.Signature | None:
        try:
            return inspect.signature(self.calculate_result)
        except (TypeError, ValueError):  # a builtin or C callable: keywords only
            return None

    @cached_property
    def _significant(self) -> tuple[tuple[str, Callable[[Any], str] | None], ...]:
        return keys.normalize_significant_kwargs(self.significant_kwargs or ())

    def _digest(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        named = keys.bind_arguments(self._signature, args, kwargs)
        values = keys.significant_values(self._significant, named, self.name)
        prefix = self.cache_prefix or f"{type(self).__module__}.{type(self).__name__}"
        return keys.job_digest(prefix, self._significant, values, self.serializer)

    def _entries(self, digest: str) -> JobEntries:
        return open_entries(self.cache_alias or conf.CACHE, digest)

    # -- the submitting side ---------------------------------------------------------------

    def _reuse_or_claim(self, entries: JobEntries, task_id: str) -> str | None:
        """The id of a job serving this call, or None once this call owns the job."""
        caching = self.cache_duration >= 0
        if caching and (cached := self._cached_success(entries)):
            return cached
        if not self.herd_avoidance_timeout:
            return None
        winner, won = entries.claim(task_id, self.herd_avoidance_timeout, self._liveness)
        if not won:
            return winner
        # A run may have finished between our cache read and our claim (the worker caches
        # the result, then releases its claim): look again before publishing a second run.
        if caching and (cached := self._cached_success(entries)):
            entries.release(task_id)
            return cached
        return None

    def _cached_success(self, entries: JobEntries) -> str | None:
        cached = entries.cached_task_id()
        if cached is None:
            return None
        state = self._state(cached)
        if state == states.SUCCESS:
            return cached
        if state == states.PENDING:  # the result backend no longer holds that result
            entries.forget_result(cached)
        return None

    def _liveness(self, task_id: str) -> Liveness:
        state, meta = self._stored(task_id)
        if state == states.SUCCESS:
            return Liveness.REUSABLE if self.cache_duration >= 0 else Liveness.DEAD
        if state in _DEAD_STATES:
            return Liveness.DEAD
        if getattr(self, "cancellable", False) and cancel_marked(self, task_id):
            # Cancelled, and ending REVOKED as soon as its run notices: start afresh.
            return Liveness.DEAD
        if state is not None and is_lost(state, meta, time(), conf.LOST_AFTER):
            # Its worker was killed outright: nobody will end it. The verdict, stored, is
            # what its followers read; this call starts a fresh run.
            try:
                record_lost(self.backend, task_id)
            except Exception:
                logger.warning("Jobtastic: cannot record %s as lost", task_id, exc_info=True)
            return Liveness.DEAD
        return Liveness.RUNNING

    def _stored(self, task_id: str) -> tuple[str | None, Any]:
        """The task's state and meta in the result backend; (None, None) when it cannot say."""
        try:
            meta = self.backend.get_task_meta(task_id)
        except Exception:
            logger.warning("Jobtastic: cannot read the state of %s", task_id, exc_info=True)
            return None, None
        return str(meta.get("status") or states.PENDING), meta.get("result")

    def _state(self, task_id: str) -> str | None:
        """The task's state in the result backend, None when the backend cannot say."""
        try:
            return str(self.AsyncResult(task_id).state)
        except Exception:
            logger.warning("Jobtastic: cannot read the state of %s", task_id, exc_info=True)
            return None

    # -- the worker side -------------------------------------------------------------------

    def _succeeded(self, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """SUCCESS is stored by now: cache the id first, then drop the herd entry, so an
        identical call always finds one of the two."""
        if self.cache_duration >= 0:
            try:
                entries = self._entries(self._digest(args, kwargs))
                entries.remember_result(task_id, self.cache_duration)
            except (TypeError, CacheUnavailableError) as error:
                logger.warning(
                    "Jobtastic: result of %s[%s] not cached: %s", self.name, task_id, error
                )
        self._release_for(args, kwargs, task_id)

    def _release_for(self, args: Sequence[Any], kwargs: Mapping[str, Any], task_id: str) -> None:
        """Clear this job's herd entry if it names ``task_id`` (end of a run, or no run)."""
        if not self.herd_avoidance_timeout:
            return
        try:
            self._entries(self._digest(args, kwargs)).release(task_id)
        except (TypeError, CacheUnavailableError) as error:
            logger.warning(
                "Jobtastic: could not clear the herd entry of %s[%s]: %s", self.name, task_id, error
            )


# Celery's signals rather than on_success/on_failure: a subclass overriding those without
# calling super() cannot break caching, and task_failure also fires when the worker process
# running the job died.


@task_success.connect(weak=False)
def _cache_succeeded(sender: Any = None, **_: Any) -> None:
    """Sent after the SUCCESS is stored, with the job's request still current."""
    if isinstance(sender, CoordinatedTask):
        request = sender.request
        if request.id:
            sender._succeeded(request.id, request.args or (), request.kwargs or {})


@task_failure.connect(weak=False)
def _release_failed(
    sender: Any = None, task_id: str = "", args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    """A failed job frees its herd entry (also when its worker process died)."""
    if isinstance(sender, CoordinatedTask) and task_id:
        sender._release_for(args or (), kwargs or {}, task_id)


@task_revoked.connect(weak=False)
def _release_revoked(sender: Any = None, request: Any = None, **_: Any) -> None:
    """A revoked job frees its herd entry so an identical call can start a fresh one."""
    if isinstance(sender, CoordinatedTask) and request is not None:
        sender._release_for(request.args or (), request.kwargs or {}, request.id)
