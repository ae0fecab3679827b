"""WSGI entry of the soak's web server (``gunicorn tests.soak.wsgi``)."""

from __future__ import annotations

import importlib
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.soak.settings")
application = get_wsgi_application()
importlib.import_module("tests.soak.celery_app")  # the project's app, as proj/__init__ loads it
