"""django-celery-results' result backend, with the gate after each PROGRESS write (worker)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_celery_results.backends import DatabaseBackend

from tests.browser.pace.gate import after_progress

PROGRESS = "PROGRESS"


class PacedDatabaseBackend(DatabaseBackend):  # type: ignore[misc]
    def store_result(
        self,
        task_id: str,
        result: Any,
        state: str,
        traceback: Any = None,
        request: Any = None,
        **kwargs: Any,
    ) -> Any:
        stored = super().store_result(task_id, result, state, traceback, request, **kwargs)
        if state == PROGRESS and isinstance(result, dict):
            after_progress(settings.VAR / "pace", getattr(request, "kwargs", None), result)
        return stored
