"""The Celery app of the Django-free tests, configured like a Flask site's: no Django settings,
the jobtastic settings as lower-case keys, the cache a Redis URL.

Everything lives in Redis database 15, which no other test suite uses. A run's queue is its
own (``JOBTASTIC_FLASK_TEST_QUEUE``), so concurrent runs never eat each other's messages.
"""

from __future__ import annotations

import os

from celery import Celery

REDIS_HOST = os.environ.get("JOBTASTIC_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_URL = f"{REDIS_HOST}/15"
QUEUE = os.environ.get("JOBTASTIC_FLASK_TEST_QUEUE", "jobtastic-flask-tests")

app = Celery("flask_tests", include=["tests.flask.jobs"])
app.conf.update(
    broker_url=os.environ.get("JOBTASTIC_FLASK_TEST_BROKER", REDIS_URL),
    result_backend=REDIS_URL,
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_extended=True,
    broker_connection_retry_on_startup=True,
    jobtastic_cache=REDIS_URL,
    jobtastic_progress_interval=0,  # every step is written: the tests read each one
    jobtastic_publish_timeout=2.0,
)
