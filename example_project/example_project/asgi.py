"""ASGI entry point, what ``make demo`` serves with uvicorn: pushed updates need it (under
WSGI the widget polls). With DEBUG on it also serves the static files, as runserver does."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
django_application = get_asgi_application()

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(django_application)
else:
    application = django_application
