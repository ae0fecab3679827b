"""Compare-and-delete / compare-and-swap on a Django cache, atomic where the backend allows.

Django's cache API has ``add`` (atomic on shared backends) but no compare-and-delete, so
"remove the entry only if it still names my task" is a read then a delete, and a claim made
between the two would be lost. On Django's own Redis backend both operations run as one Lua
script. Other backends fall back to read-then-write: the window is a few microseconds.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

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
