"""Cancel marks, for both halves: how the web side tells workers that a job was cancelled.

When every owner of a cancellable job has cancelled it, the cancel view sets a mark for its
task id in the job's cache (the one holding its herd entries). The worker reads it before the
job starts and before each of its progress writes, so the job itself ends the run and stores
REVOKED: nothing else writes the job's state, so nothing races its progress writes. A mark
lives as long as results do (Celery's ``result_expires``).
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

KEY_PREFIX = "jobtastic:cancelled:"


def mark_key(task_id: str) -> str:
    """The cache key of ``task_id``'s mark (a digest: any id fits memcached's 250 bytes)."""
    return KEY_PREFIX + hashlib.sha256(task_id.encode()).hexdigest()


def set_mark(alias: str, task_id: str, lifetime: int | None) -> None:
    """Mark ``task_id`` cancelled in the cache ``alias`` (an alias or a URL) for ``lifetime``
    s (None: no expiry).

    Raises whatever the cache raises: a cancel that cannot be recorded must say so.
    """
    from django_jobtastic.job_cache import open_cache

    open_cache(alias).set(mark_key(task_id), True, lifetime)


def is_marked(alias: str, task_id: str) -> bool:
    """Whether ``task_id`` is marked cancelled in the cache ``alias`` (an alias or a URL);
    raises if it is down."""
    from django_jobtastic.job_cache import open_cache

    return open_cache(alias).get(mark_key(task_id)) is True


def lifetime_of(result_expires: Any) -> int | None:
    """Whole seconds a mark is kept: as long as results (``result_expires``; None: for ever)."""
    if isinstance(result_expires, timedelta):
        result_expires = result_expires.total_seconds()
    if isinstance(result_expires, bool) or not isinstance(result_expires, (int, float)):
        return None
    return math.ceil(result_expires) if 0 < result_expires < math.inf else None
