"""The cache entries behind herd avoidance and result caching.

Every cache error is turned into ``CacheUnavailableError`` so the task can fall back to an
uncached submission instead of failing the user's request.

Django's cache API has ``add`` (atomic on shared backends) but no compare-and-delete, so
"remove the entry only if it still names my task" is a read then a delete, and a claim made
between the two would be lost. On Django's own Redis backend both operations run as one Lua
script. Other backends fall back to read-then-write: the window is a few microseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

from django_jobtastic.task import keys

#: How often a claim re-reads an entry that changed under it before giving up the race.
CLAIM_ATTEMPTS = 5
#: Seconds a caller that lost a takeover waits for the winner to swap the entry in.
TAKEOVER_WAIT = 0.005

_DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_REPLACE_IF_EQUAL = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then
    redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
    redis.call('set', KEYS[1], ARGV[2])
end
return 1
"""


def _redis_script(cache: RedisCache, script: str, key: str, *values: Any) -> int:
    client_wrapper: Any = cache._cache
    redis_key = cache.make_and_validate_key(key)
    client = client_wrapper.get_client(redis_key, write=True)
    serialize = client_wrapper._serializer.dumps
    arguments = [serialize(value) if isinstance(value, str) else value for value in values]
    return int(client.eval(script, 1, redis_key, *arguments))


def delete_if_equal(cache: BaseCache, key: str, expected: str) -> bool:
    """Delete ``key`` only while it holds ``expected``; whether it was deleted."""
    if isinstance(cache, RedisCache):
        return _redis_script(cache, _DELETE_IF_EQUAL, key, expected) == 1
    if cache.get(key) != expected:
        return False
    cache.delete(key)
    return True


def replace_if_equal(cache: BaseCache, key: str, expected: str, new: str, timeout: int) -> bool:
    """Set ``key`` to ``new`` for ``timeout`` s only while it holds ``expected``."""
    if isinstance(cache, RedisCache):
        milliseconds = int(timeout * 1000) if timeout else 0
        return _redis_script(cache, _REPLACE_IF_EQUAL, key, expected, new, milliseconds) == 1
    if cache.get(key) != expected:
        return False
    cache.set(key, new, timeout=timeout)
    return True


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
    """The herd and result entries of one job (one digest) in one Django cache."""

    def __init__(self, cache: BaseCache, digest: str) -> None:
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
            self.cache.set(self.result_key, task_id, timeout=cache_duration or None)

    def forget_result(self, task_id: str | None = None) -> None:
        """Drop the result entry (only if it still names ``task_id``, when given)."""
        with cache_errors():
            if task_id is None:
                self.cache.delete(self.result_key)
            else:
                delete_if_equal(self.cache, self.result_key, task_id)

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
                if self.cache.add(self.herd_key, task_id, timeout=timeout):
                    return task_id, True
                existing = self.cache.get(self.herd_key)
                if not isinstance(existing, str):
                    continue  # expired or released between add and get: race again
                if liveness(existing) is not Liveness.DEAD:
                    return existing, False
                takeover = keys.takeover_key(self.digest, existing)
                if self.cache.add(takeover, task_id, timeout=timeout):
                    if replace_if_equal(self.cache, self.herd_key, existing, task_id, timeout):
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
            delete_if_equal(self.cache, self.herd_key, task_id)


def open_entries(alias: str, digest: str) -> JobEntries:
    """The entries of ``digest`` in the cache ``alias``; ``CacheUnavailableError`` if it
    cannot be opened."""
    from django.core.cache import caches

    with cache_errors():
        cache = caches[alias]
    return JobEntries(cache, digest)
