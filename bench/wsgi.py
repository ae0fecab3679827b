"""WSGI entry of the status-view benchmark (``gunicorn bench.wsgi``)."""

from __future__ import annotations

import importlib
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.web_settings")
application = get_wsgi_application()
importlib.import_module("tests.celery_app")  # the project's Celery app, as proj/__init__ loads it
