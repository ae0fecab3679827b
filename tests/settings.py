"""Settings for the test suite; JOBTASTIC_TEST_BACKEND picks the services under test.

- ``embedded`` (default): filesystem broker, django-db results and the database cache on
  SQLite in WAL mode: no server needed.
- ``redis``: Redis as broker, result backend and cache.
- ``rabbitmq``: RabbitMQ as broker, Redis for results and cache.

Worker processes started by the tests set ``JOBTASTIC_TEST_WORKER=1`` and so open the test
database file that pytest-django created.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django

from django_jobtastic.filesystem_transport import broker_folders

BACKEND = os.environ.get("JOBTASTIC_TEST_BACKEND", "embedded")
if BACKEND not in {"embedded", "redis", "rabbitmq"}:
    raise RuntimeError(f"JOBTASTIC_TEST_BACKEND={BACKEND!r}: use embedded, redis or rabbitmq")

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("JOBTASTIC_TEST_VAR", ROOT / "var" / "tests")) / BACKEND
VAR.mkdir(parents=True, exist_ok=True)
REDIS_HOST = os.environ.get("JOBTASTIC_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_RESULTS = f"{REDIS_HOST}/11"
REDIS_CACHE = f"{REDIS_HOST}/12"
#: Instrumentation only (execution counters, release flags), never the code under test.
REDIS_PROBE = f"{REDIS_HOST}/13"
VOLATILE_CACHE_PORT = int(os.environ.get("JOBTASTIC_TEST_VOLATILE_PORT", "6391"))

SECRET_KEY = "tests-only-not-secret"
#: Short in the workers of the lost-job tests (set by them); the defaults everywhere else.
JOBTASTIC_HEARTBEAT_INTERVAL = float(os.environ.get("JOBTASTIC_TEST_HEARTBEAT", "10"))
JOBTASTIC_LOST_AFTER = float(os.environ.get("JOBTASTIC_TEST_LOST_AFTER", "60"))
#: Off for the suite: its jobs run again and again, and the tests written before history
#: assert the answers of a job without one. The history tests turn it on per class
#: (``estimate_from_history = True``) and test the default (True) without this line.
JOBTASTIC_ESTIMATE_FROM_HISTORY = False
DEBUG = False
# The servers some tests start (uvicorn for the stream) are asked at these names.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django_celery_results",
    "django_jobtastic",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    }
]
STATIC_URL = "/static/"
TEST_DB = str(VAR / "test-db.sqlite3")
SQLITE_OPTIONS: dict[str, Any] = {"timeout": 20}
if django.VERSION >= (5, 1):
    SQLITE_OPTIONS.update(init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("JOBTASTIC_TEST_DATABASE")  # a test may make it unopenable
        or (TEST_DB if os.environ.get("JOBTASTIC_TEST_WORKER") else str(VAR / "db.sqlite3")),
        # WAL and IMMEDIATE transactions (Django 5.1+) let the worker and the tests write
        # at once; IMMEDIATE also makes the database cache's add() atomic.
        "OPTIONS": SQLITE_OPTIONS,
        "TEST": {"NAME": TEST_DB},
    }
}
VOLATILE_CACHE = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": f"redis://127.0.0.1:{VOLATILE_CACHE_PORT}/0",
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
}
if BACKEND == "embedded" and django.VERSION < (5, 1):
    # Before Django 5.1, SQLite cannot open IMMEDIATE transactions, so the database cache's
    # add() is not atomic (check W003 says so): the compatibility leg caches in Redis.
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE,
        },
    }
elif BACKEND == "embedded":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "jobtastic_cache",
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE,
        },
    }
CACHES["volatile"] = VOLATILE_CACHE
# Nothing listens on port 1: a cache that is down for the whole run.
CACHES["unreachable"] = {**VOLATILE_CACHE, "LOCATION": "redis://127.0.0.1:1/0"}
# Both shared kinds, whatever the backend under test, for the cache primitives' tests.
CACHES["redis"] = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": REDIS_CACHE,
}
CACHES["database"] = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "jobtastic_cache_primitives",
}

BROKER_FOLDER = VAR / "broker"
if BACKEND == "embedded":
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = broker_folders(BROKER_FOLDER, polling_interval=0.05)
    CELERY_RESULT_BACKEND = "django-db"
elif BACKEND == "redis":
    CELERY_BROKER_URL = f"{REDIS_HOST}/10"
    CELERY_RESULT_BACKEND = REDIS_RESULTS
else:
    CELERY_BROKER_URL = os.environ.get("JOBTASTIC_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
    CELERY_RESULT_BACKEND = REDIS_RESULTS
# A test may point the submitting process at a dead broker or result backend.
CELERY_BROKER_URL = os.environ.get("JOBTASTIC_TEST_BROKER_URL", CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = os.environ.get("JOBTASTIC_TEST_RESULT_BACKEND", CELERY_RESULT_BACKEND)
if CELERY_BROKER_URL.startswith("filesystem:"):
    # kombu's own filesystem transport can hand a worker a half-written message.
    CELERY_BROKER_TRANSPORT = "django_jobtastic.filesystem_transport:Transport"
CELERY_TASK_DEFAULT_QUEUE = f"jobtastic-tests-{BACKEND}"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_LOST_WAIT = 1  # seconds before a dead pool child's job is failed (default 10)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_IMPORTS = ["tests.jobs"]

JOBTASTIC_PROGRESS_INTERVAL = 0.05
JOBTASTIC_PUBLISH_TIMEOUT = 2.0

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_jobtastic": {"handlers": ["console"], "level": "INFO"}},
}
