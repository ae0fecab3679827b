"""Test instrumentation in its own Redis database: counts runs, holds jobs until released.

Counting in Redis, outside the code under test, is how the tests know how many times a
calculation really ran, whichever process ran it.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

_client: redis.Redis | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_PROBE)
    return _client


def record_run(marker: str) -> int:
    return int(client().incr(f"runs:{marker}"))


def runs(marker: str) -> int:
    return int(client().get(f"runs:{marker}") or 0)


def release(marker: str) -> None:
    client().set(f"release:{marker}", 1, ex=600)


def wait_for_release(marker: str, timeout: float = 60.0) -> None:
    """Block a job until the test releases it (the test decides, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not client().exists(f"release:{marker}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker} was never released")
        time.sleep(0.02)


def note(marker: str, value: str) -> None:
    client().rpush(f"notes:{marker}", value)


def notes(marker: str) -> list[str]:
    return [item.decode() for item in client().lrange(f"notes:{marker}", 0, -1)]
