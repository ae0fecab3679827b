"""django-celery-results' result backend, with the gate after each PROGRESS write (worker)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_celery_results.backends import DatabaseBackend

from tests.browser.pace.gate import after_progress, holding

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
        if state == PROGRESS and holding(task_id):
            return result  # the held state stays on show until the job is released
        stored = super().store_result(task_id, result, state, traceback, request, **kwargs)
        if state == PROGRESS and isinstance(result, dict):
            kwargs_of_job = getattr(request, "kwargs", None)
            after_progress(settings.VAR / "pace", task_id, kwargs_of_job, result)
        return stored
