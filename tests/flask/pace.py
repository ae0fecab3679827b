"""The tests' control of a job's pace, in Redis: runs counted outside the code under test,
and jobs held until the test releases them (no sleeps)."""

from __future__ import annotations

import time

import redis

from tests.flask.celery_app import REDIS_URL

_client = redis.Redis.from_url(REDIS_URL)
EXPIRY = 600  # seconds: a run's marks never outlive it by much


def record_run(marker: str) -> int:
    runs = int(_client.incr(f"pace:runs:{marker}"))
    _client.expire(f"pace:runs:{marker}", EXPIRY)
    return runs


def runs(marker: str) -> int:
    return int(_client.get(f"pace:runs:{marker}") or 0)


def release(marker: str) -> None:
    _client.set(f"pace:release:{marker}", 1, ex=EXPIRY)


def wait_for_release(marker: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not _client.exists(f"pace:release:{marker}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker} was never released")
        time.sleep(0.02)
