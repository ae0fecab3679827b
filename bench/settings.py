"""The test settings, isolated for benchmarks: own queue, own probe database, bench jobs.

A test run going on at the same time neither eats the benchmark's messages nor flushes its
execution counters (the tests flush probe database 13 at session start).
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import BACKEND, REDIS_HOST

CELERY_TASK_DEFAULT_QUEUE = f"jobtastic-bench-{BACKEND}"
CELERY_IMPORTS = ["tests.jobs", "bench.jobs"]
REDIS_PROBE = f"{REDIS_HOST}/14"
