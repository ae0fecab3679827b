"""The cache jobs share, behind one small interface, for Django's caches and plain Redis.

Herd avoidance, result caching and cancel marks need more than get and set: an atomic
``add`` (the claim), compare-and-delete (release only one's own claim) and compare-and-swap
(take over a dead task's claim). ``open_cache`` picks the implementation through the one
settings seam (``django_jobtastic.conf``): a Django cache alias where Django settings are
configured, else a cache URL from the Celery app's ``jobtastic_cache``.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from django_jobtastic.conf import conf, django_configured


class JobCache(Protocol):
    """What the task side needs of a cache. Timeouts are seconds; None means no expiry."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None) -> None: ...

    def add(self, key: str, value: Any, timeout: float | None) -> bool:
        """Set ``key`` only if it is absent, atomically; whether it was set."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_if_equal(self, key: str, expected: str) -> bool:
        """Delete ``key`` only while it holds ``expected``; whether it was deleted."""
        ...

    def replace_if_equal(self, key: str, expected: str, new: str, timeout: float | None) -> bool:
        """Set ``key`` to ``new`` only while it holds ``expected``; whether it was set."""
        ...


def open_cache(name: str | None = None) -> JobCache:
    """The cache ``name`` (default ``JOBTASTIC_CACHE``): a Django alias, or a cache URL.

    Raises what opening it raises (an unknown alias, a missing ``jobtastic_cache``); the
    callers turn that into working without the cache.
    """
    name = name or conf.CACHE
    if django_configured():
        from django.core.cache import caches

        from django_jobtastic.job_cache.django_cache import DjangoJobCache

        return DjangoJobCache(caches[name])
    if not name:
        raise ImproperlyConfigured(
            "jobtastic_cache is not set in the Celery configuration: herd avoidance, result "
            "caching and cancelling need a shared cache URL such as 'redis://127.0.0.1:6379/0'."
        )
    from django_jobtastic.job_cache.redis_cache import redis_cache

    return redis_cache(name)
