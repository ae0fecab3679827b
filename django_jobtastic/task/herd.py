"""The cache entries behind herd avoidance and result caching.

Every cache error is turned into ``CacheUnavailableError`` so the task can fall back to an
uncached submission instead of failing the user's request.

The cache is a ``JobCache`` (``django_jobtastic.job_cache``): a Django cache or plain
Redis, each with the atomic operations a claim needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum

from django_jobtastic.job_cache import JobCache, open_cache
from django_jobtastic.task import keys

#: How often a claim re-reads an entry that changed under it before giving up the race.
CLAIM_ATTEMPTS = 5
#: Seconds a caller that lost a takeover waits for the winner to swap the entry in.
TAKEOVER_WAIT = 0.005


class CacheUnavailableError(Exception):
    """The cache raised; the caller degrades to working without it."""


class Liveness(Enum):
    """What a herd entry's task tells an identical call."""

    RUNNING = "running"  # queued, started, in progress or retrying: latch onto it
    REUSABLE = "reusable"  # succeeded and caching is on: its result serves the call
    DEAD = "dead"  # failed, revoked, or succeeded without caching: start afresh


@contextmanager
def cache_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:  # any backend's failure means "no cache" to us
        raise CacheUnavailableError(f"{type(error).__name__}: {error}") from error


class JobEntries:
    """The herd and result entries of one job (one digest) in one cache."""

    def __init__(self, cache: JobCache, digest: str) -> None:
        self.cache = cache
        self.digest = digest
        self.herd_key = keys.herd_key(digest)
        self.result_key = keys.result_key(digest)

    def cached_task_id(self) -> str | None:
        with cache_errors():
            value = self.cache.get(self.result_key)
        return value if isinstance(value, str) else None

    def remember_result(self, task_id: str, cache_duration: int) -> None:
        """Point identical calls at ``task_id`` for ``cache_duration`` s (0: no expiry)."""
        with cache_errors():
            self.cache.set(self.result_key, task_id, cache_duration or None)

    def forget_result(self, task_id: str | None = None) -> None:
        """Drop the result entry (only if it still names ``task_id``, when given)."""
        with cache_errors():
            if task_id is None:
                self.cache.delete(self.result_key)
            else:
                self.cache.delete_if_equal(self.result_key, task_id)

    def claim(
        self, task_id: str, timeout: int, liveness: Callable[[str], Liveness]
    ) -> tuple[str, bool]:
        """Atomically claim the job for ``task_id``; ``(winner_id, won)``.

        ``cache.add`` is the only write that decides, so however many identical calls race,
        one wins and the others get its id. An entry naming a dead task is replaced by the
        one caller that wins the matching takeover key, and only while it still names the
        dead task.
        """
        with cache_errors():
            for _ in range(CLAIM_ATTEMPTS):
                if self.cache.add(self.herd_key, task_id, timeout):
                    return task_id, True
                existing = self.cache.get(self.herd_key)
                if not isinstance(existing, str):
                    continue  # expired or released between add and get: race again
                if liveness(existing) is not Liveness.DEAD:
                    return existing, False
                takeover = keys.takeover_key(self.digest, existing)
                if self.cache.add(takeover, task_id, timeout):
                    if self.cache.replace_if_equal(self.herd_key, existing, task_id, timeout):
                        return task_id, True
                    continue  # the entry changed under us (released or claimed): race again
                successor = self.cache.get(takeover)
                if (
                    isinstance(successor, str)
                    and self.cache.get(self.herd_key) == successor
                    and liveness(successor) is not Liveness.DEAD
                ):
                    return successor, False
                # The successor has not swapped the entry in (yet), or lost it: look again.
                time.sleep(TAKEOVER_WAIT)
        # Entries kept changing under us (tasks dying as fast as they start): run uncoordinated.
        return task_id, True

    def release(self, task_id: str) -> None:
        """Remove the herd entry if it still names ``task_id``, never someone else's."""
        with cache_errors():
            self.cache.delete_if_equal(self.herd_key, task_id)


def open_entries(name: str, digest: str) -> JobEntries:
    """The entries of ``digest`` in the cache ``name`` (alias or URL);
    ``CacheUnavailableError`` if it cannot be opened."""
    with cache_errors():
        cache = open_cache(name)
    return JobEntries(cache, digest)
