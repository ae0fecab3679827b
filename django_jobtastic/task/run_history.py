"""A job class's run history in the cache: read before a run, added to after a success.

The history is one cache entry per task name, read and written whole. Two runs ending at
the same moment may each add theirs to the same old list, and one of them is then lost:
a history is a sample of recent runs, and losing one costs nothing worth a lock. A cache
that is down or holds garbage means no history: the run goes on, with a WARNING.
"""

from __future__ import annotations

import logging

from django_jobtastic.job_cache import JobCache, open_cache
from django_jobtastic.task import keys
from django_jobtastic.task.herd import CacheUnavailableError, cache_errors
from django_jobtastic.task.history import Expectation, Run, add, decode, expect

logger = logging.getLogger(__name__)

#: Seconds a history is kept after its last run (30 days): a class nobody runs any more
#: does not hold its entry for ever, one run now and then keeps it.
HISTORY_TIMEOUT = 30 * 24 * 3600


def _cache(alias: str) -> JobCache:
    """The cache ``alias`` names: a Django alias, or a URL without Django settings."""
    return open_cache(alias)


def runs_of(alias: str, task_name: str) -> list[Run]:
    """The runs kept for ``task_name``; raises ``CacheUnavailableError`` if the cache does."""
    with cache_errors():
        value = _cache(alias).get(keys.history_key(task_name))
    return decode(value)


def expectation(alias: str, task_name: str) -> Expectation | None:
    """What the history of ``task_name`` expects of its next run; None without one."""
    try:
        return expect(runs_of(alias, task_name))
    except CacheUnavailableError as error:
        logger.warning("Jobtastic: no run history for %s, the cache failed: %s", task_name, error)
        return None


def remember(alias: str, task_name: str, run: Run) -> None:
    """Add ``run`` to the history of ``task_name`` (nothing but a WARNING if the cache fails)."""
    try:
        runs = add(runs_of(alias, task_name), run)
        with cache_errors():
            encoded = [kept.encode() for kept in runs]
            _cache(alias).set(keys.history_key(task_name), encoded, HISTORY_TIMEOUT)
    except CacheUnavailableError as error:
        logger.warning("Jobtastic: run of %s not added to its history: %s", task_name, error)
