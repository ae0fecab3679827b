"""The soak's project: the test settings, with every service the runner's own.

The runner passes the services in the environment: ``JOBTASTIC_SOAK_DIR`` (its folder: the
SQLite database, the runs log), ``JOBTASTIC_SOAK_BROKER`` (``redis`` or ``rabbitmq``),
``JOBTASTIC_SOAK_DATA_REDIS`` (broker on the Redis leg, and results: a private
``redis-server`` with an append-only file), ``JOBTASTIC_SOAK_CACHE_REDIS`` (the cache: another
private one) and ``JOBTASTIC_SOAK_QUEUE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.settings import *  # noqa: F403

SOAK_DIR = Path(os.environ["JOBTASTIC_SOAK_DIR"])
#: One line per run event, appended by the jobs: ``time event task_id pid``.
RUNS_LOG = SOAK_DIR / "runs.log"
DATA_REDIS = os.environ["JOBTASTIC_SOAK_DATA_REDIS"]
CACHE_REDIS = os.environ["JOBTASTIC_SOAK_CACHE_REDIS"]

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.soak.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(SOAK_DIR / "db.sqlite3"),
        "OPTIONS": SQLITE_OPTIONS,  # noqa: F405  (WAL, IMMEDIATE: web and workers write at once)
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{CACHE_REDIS}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

if os.environ["JOBTASTIC_SOAK_BROKER"] == "rabbitmq":
    CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = f"{DATA_REDIS}/0"
    # A Redis broker hands a dead worker's prefetched (unacknowledged) messages to another
    # worker only after visibility_timeout: an hour by default, jobs PENDING all that time.
    # The jobs here are acknowledged as they start, so only messages waiting in a worker's
    # buffer are concerned: 20 s is far longer than any wait there.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 20,
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    }
CELERY_RESULT_BACKEND = f"{DATA_REDIS}/1"
CELERY_REDIS_SOCKET_TIMEOUT = 5  # as docs/deployment.md advises
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 5
CELERY_TASK_DEFAULT_QUEUE = os.environ["JOBTASTIC_SOAK_QUEUE"]
CELERY_IMPORTS = ["tests.soak.jobs"]

#: Short liveness intervals, so a killed job's loss is told within seconds.
JOBTASTIC_HEARTBEAT_INTERVAL = 0.5
JOBTASTIC_LOST_AFTER = 5.0
JOBTASTIC_PROGRESS_INTERVAL = 0.2

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_jobtastic": {"handlers": ["console"], "level": "WARNING"}},
}
