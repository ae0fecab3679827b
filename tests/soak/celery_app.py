"""The soak's Celery app, configured from the Django settings like a project's."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.soak.settings")

app = Celery("soak")
app.config_from_object("django.conf:settings", namespace="CELERY")
