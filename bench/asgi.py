"""ASGI entry of the push benchmark (``uvicorn bench.asgi:application``)."""

from __future__ import annotations

import importlib
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.web_settings")
application = get_asgi_application()
importlib.import_module("tests.celery_app")  # the project's Celery app, as proj/__init__ loads it
