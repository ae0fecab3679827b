"""``JobCache`` over one of Django's caches.

Django's cache API has ``add`` (atomic on shared backends) but no compare-and-delete or
compare-and-swap. On Django's own Redis backend both run as one Lua script; other backends
fall back to a read then a write, whose window is a few microseconds.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

from django_jobtastic.job_cache import lua


class DjangoJobCache:
    """A Django cache seen through ``JobCache``."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def get(self, key: str) -> Any:
        return self.cache.get(key)

    def set(self, key: str, value: Any, timeout: float | None) -> None:
        self.cache.set(key, value, timeout=timeout)

    def add(self, key: str, value: Any, timeout: float | None) -> bool:
        return bool(self.cache.add(key, value, timeout=timeout))

    def delete(self, key: str) -> None:
        self.cache.delete(key)

    def delete_if_equal(self, key: str, expected: str) -> bool:
        if isinstance(self.cache, RedisCache):
            return self._script(lua.DELETE_IF_EQUAL, key, expected) == 1
        if self.cache.get(key) != expected:
            return False
        self.cache.delete(key)
        return True

    def replace_if_equal(self, key: str, expected: str, new: str, timeout: float | None) -> bool:
        if isinstance(self.cache, RedisCache):
            script = lua.REPLACE_IF_EQUAL
            return self._script(script, key, expected, new, lua.milliseconds(timeout)) == 1
        if self.cache.get(key) != expected:
            return False
        self.cache.set(key, new, timeout=timeout)
        return True

    def _script(self, script: str, key: str, *values: Any) -> int:
        """Run ``script`` on the Redis server holding ``key``, values serialized as Django's
        Redis cache stores them (so the script compares like with like)."""
        assert isinstance(self.cache, RedisCache)
        client_wrapper: Any = self.cache._cache
        redis_key = self.cache.make_and_validate_key(key)
        client = client_wrapper.get_client(redis_key, write=True)
        serialize = client_wrapper._serializer.dumps
        arguments = [serialize(value) if isinstance(value, str) else value for value in values]
        return int(client.eval(script, 1, redis_key, *arguments))
