"""URLs of the status-view benchmark: the floors, ours and celery-progress's."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

#: What the floor answers: a body of the same shape and size as a PROGRESS status.
FLOOR_BODY = {
    "task": {
        "id": "00000000-0000-4000-8000-000000000000",
        "status": "PROGRESS",
        "ready": False,
        "successful": None,
        "result": {"progress_percent": 25.0, "time_remaining": 3.0, "completed": 1, "total": 4},
        "progress": {"percent": 25.0, "time_remaining": 3.0, "completed": 1, "total": 4},
        "error": None,
    },
    "poll_interval": 1.0,
}


def floor(request: HttpRequest) -> JsonResponse:
    """A constant JSON answer: what any status view costs before it does its own work."""
    return JsonResponse(FLOOR_BODY)


@cache
def _raw_redis() -> Any:
    """A plain redis-py client of the result backend's Redis (one per process)."""
    import redis

    return redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)


def floor_get(request: HttpRequest, task_id: str) -> JsonResponse:
    """The floor plus one raw GET of the task's key: the least a status poll can cost (one
    request, one backend round trip), with nothing decoded, checked or encoded."""
    _raw_redis().get(f"celery-task-meta-{task_id}")
    return JsonResponse(FLOOR_BODY)


urlpatterns = [
    path("floor/", floor),
    path("floor-get/<str:task_id>/", floor_get),
    path("jobtastic/", include("django_jobtastic.urls")),
    path("celery-progress/", include("celery_progress.urls")),
]
