"""The test project under ASGI (uvicorn serves it in the stream's integration tests)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
application = get_asgi_application()

import tests.celery_app  # noqa: E402, F401 - the project's Celery app, as proj/__init__ loads it
