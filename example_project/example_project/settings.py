"""Settings of the example site.

With no environment, everything is embedded and needs no server: kombu's filesystem broker
(django-jobtastic's atomic variant) polled every 0.1 s, results in the database
(django-celery-results) and the database cache, all on SQLite in WAL mode. ``REDIS_URL``
switches broker, results and cache to Redis. ``EXAMPLE_VAR`` moves the data folder.

``EXAMPLE_DEBUG=0`` turns DEBUG off; then ``EXAMPLE_SECRET_KEY`` must be set (there is no
built-in key to fall back on). With DEBUG on, a random key is made once and kept in the data
folder, so sessions survive a restart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic.filesystem_transport import broker_folders
from example_project.secret_key import development_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("EXAMPLE_VAR", BASE_DIR.parent / "var" / "demo"))
VAR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("EXAMPLE_DEBUG", "1") == "1"
# No usable key is built in: with DEBUG off, the environment must give one.
SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set EXAMPLE_SECRET_KEY to a long random value to run the example with DEBUG off "
            "(EXAMPLE_DEBUG=0); for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = development_secret_key(VAR / "secret_key")  # sessions survive restarts
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "django_jobtastic",
    "demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

SQLITE_OPTIONS: dict[str, Any] = {"timeout": 20}
if django.VERSION >= (5, 1):
    # WAL lets the worker and the web server write at once; IMMEDIATE transactions make
    # the database cache's add() atomic, which herd avoidance relies on.
    SQLITE_OPTIONS.update(init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR / "db.sqlite3"),
        "OPTIONS": SQLITE_OPTIONS,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
#: Files the jobs write (CSV exports, charts), served by the demo's download view.
OUTPUT_DIR = VAR / "output"

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "django_jobtastic.filesystem_transport:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = broker_folders(VAR / "broker", polling_interval=0.1)
    CELERY_RESULT_BACKEND = "django-db"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "jobtastic_cache",
        }
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# A lively demo: progress written at most 4 times a second, polled twice a second.
JOBTASTIC_PROGRESS_INTERVAL = 0.25
JOBTASTIC_POLL_INTERVAL = 0.5

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_jobtastic": {"handlers": ["console"], "level": "INFO"}},
}
