"""The test project's URLs: the app's routes, and a page that hands out status URLs."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import include, path
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from django_jobtastic import grant
from django_jobtastic.queueing_errors import not_queued
from django_jobtastic.unstored_results import UnstoredResult
from tests.jobs import CachedJob, CancellableJob, CountingJob


def follow(request: HttpRequest, task_id: str) -> HttpResponse:
    """What a page does after starting a job: grant it and give the visitor its status URL."""
    return HttpResponse(grant(request, task_id), content_type="text/plain")


def follow_named(request: HttpRequest, task_id: str, task_name: str) -> HttpResponse:
    """``follow``, for a job of a known task: granted as ``grant(request, result)`` does."""
    result = SimpleNamespace(id=task_id, task_name=task_name)
    return HttpResponse(grant(request, result), content_type="text/plain")


def follow_unstored(request: HttpRequest, task_id: str, state: str) -> HttpResponse:
    """A page whose submission returned an outcome only it knows (broker and result backend
    down): a FAILURE as ``delay_or_fail`` records it, or a SUCCESS value, granted as usual."""
    if state == "FAILURE":
        outcome: object = not_queued(OperationalError("Connection refused"))
    else:
        outcome = {"rows": 3, "when": date(2026, 11, 30)}
    url = grant(request, UnstoredResult(task_id, outcome, state))
    return HttpResponse(url, content_type="text/plain")


WIDGET_PAGE = engines["django"].from_string(
    "{% load jobtastic %}<!doctype html><title>job</title>{% jobtastic_progress task_id %}"
)


def widget(request: HttpRequest, task_id: str) -> HttpResponse:
    """A page following one job with the progress widget (for its owners only)."""
    return HttpResponse(WIDGET_PAGE.render({"task_id": task_id}, request))


@require_POST
def submit(request: HttpRequest, job: str, marker: str) -> HttpResponse:
    """A page that starts a job, as SPEC §8 asks: ``delay()``, then ``grant()`` the requester
    (a new job, one latched onto, or a cached answer alike). POST ``hold=1`` holds it."""
    task = {"counting": CountingJob, "cached": CachedJob, "cancellable": CancellableJob}.get(job)
    if task is None:
        raise Http404(job)
    result = task.delay(marker=marker, hold=request.POST.get("hold") == "1")
    return JsonResponse({"id": result.id, "status_url": grant(request, result)})


urlpatterns = [
    path("jobtastic/", include("django_jobtastic.urls")),
    path("follow/<str:task_id>/", follow),
    path("follow/<str:task_id>/<str:task_name>/", follow_named),
    path("follow-unstored/<str:task_id>/<str:state>/", follow_unstored),
    path("widget/<str:task_id>/", widget),
    path("submit/<str:job>/<str:marker>/", submit),
]
