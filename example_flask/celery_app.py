"""The example's Celery app: no Django anywhere, the jobtastic settings as lower-case keys.

Broker, results and the jobtastic cache (herd avoidance, cached results, grants) all live on
the Redis server ``REDIS_URL`` names.
"""

from __future__ import annotations

import os

from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")

app = Celery("example_flask", include=["example_flask.tasks"])
app.conf.update(
    broker_url=REDIS_URL,
    result_backend=REDIS_URL,
    result_extended=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    jobtastic_cache=REDIS_URL,
)
