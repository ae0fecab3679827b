"""The Celery app of a Flask-configured worker for the benchmarks: no Django settings, the
jobtastic settings as lower-case keys, everything on Redis database 15 under a queue of the
run's own (``JOBTASTIC_BENCH_FLASK_QUEUE``)."""

from __future__ import annotations

import os

from celery import Celery

REDIS_URL = f"{os.environ.get('JOBTASTIC_TEST_REDIS', 'redis://127.0.0.1:6379')}/15"
QUEUE = os.environ.get("JOBTASTIC_BENCH_FLASK_QUEUE", "jobtastic-bench-flask")

app = Celery("bench_flask", include=["bench.jobs"])
app.conf.update(
    broker_url=REDIS_URL,
    result_backend=REDIS_URL,
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    jobtastic_cache=REDIS_URL,
)
