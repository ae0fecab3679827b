"""The bench settings plus a web front: the status views under a real WSGI server.

Sessions live in the cache (Redis, or the database cache with --backend embedded), as on a
production site; every view is served through the same middleware stack, so the figures
differ only by what each view does.
"""

from __future__ import annotations

import os

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "celery_progress"]
ROOT_URLCONF = "bench.web_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
LOGGING = {"version": 1, "disable_existing_loggers": True}
#: The benchmark runs a second server with answer re-use off, to show what it saves.
JOBTASTIC_STATUS_REUSE_SECONDS = float(os.environ.get("JOBTASTIC_BENCH_STATUS_REUSE", "0.2"))
