"""``JobCache`` over a plain Redis server, for Celery apps without Django settings.

Values are stored as JSON (task ids, flags, small records): readable by anyone inspecting
the server, and never unpickled from a shared store. A server that does not answer makes an
operation fail within ``SOCKET_TIMEOUT`` (the URL's own ``socket_timeout`` wins), so a
submission degrades to working without the cache instead of hanging.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis

from django_jobtastic.job_cache import lua

SOCKET_TIMEOUT = 5.0  # seconds, for connecting and for each reply

_clients: dict[str, RedisJobCache] = {}
_lock = threading.Lock()


def redis_cache(url: str) -> RedisJobCache:
    """The process's one cache for ``url`` (redis-py's pool is thread- and fork-safe)."""
    cache = _clients.get(url)
    if cache is None:
        with _lock:
            cache = _clients.get(url)
            if cache is None:
                client = redis.Redis.from_url(
                    url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
                )
                cache = _clients[url] = RedisJobCache(client)
    return cache


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _expiry(timeout: float | None) -> int | None:
    """redis-py's ``px``: whole milliseconds, at least 1; None for no expiry."""
    return None if timeout is None else max(1, int(timeout * 1000))


class RedisJobCache:
    """A Redis database seen through ``JobCache``; keys are used as they are given."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> Any:
        raw = self.client.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:  # not one of ours: as good as absent
            return None

    def set(self, key: str, value: Any, timeout: float | None) -> None:
        self.client.set(key, _dump(value), px=_expiry(timeout))

    def add(self, key: str, value: Any, timeout: float | None) -> bool:
        return bool(self.client.set(key, _dump(value), px=_expiry(timeout), nx=True))

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def delete_if_equal(self, key: str, expected: str) -> bool:
        return self._script(lua.DELETE_IF_EQUAL, key, _dump(expected)) == 1

    def replace_if_equal(self, key: str, expected: str, new: str, timeout: float | None) -> bool:
        arguments = (_dump(expected), _dump(new), lua.milliseconds(timeout))
        return self._script(lua.REPLACE_IF_EQUAL, key, *arguments) == 1

    def _script(self, script: str, key: str, *arguments: Any) -> int:
        return int(self.client.eval(script, 1, key, *arguments))
