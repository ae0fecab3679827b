"""The soak's pages: the app's status routes, and a page that starts a job and hands out
its status URL, as a project's view does (``delay_or_fail``, then ``grant``)."""

from __future__ import annotations

from celery.result import EagerResult
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from django_jobtastic import grant
from tests.soak.jobs import SoakJob


@csrf_exempt
@require_POST
def submit(request: HttpRequest, marker: str) -> JsonResponse:
    """Start the job ``marker`` (POST ``fail=1``: it fails by design at its end).

    When the broker refused the job and the result backend could not store that failure
    either, the failure is known to this request only: the answer carries it.
    """
    result = SoakJob.delay_or_fail(marker=marker, fail=request.POST.get("fail") == "1")
    answer: dict[str, object] = {"id": result.id, "status_url": grant(request, result)}
    if isinstance(result, EagerResult):
        answer.update(state=result.state, error_type=type(result.result).__name__)
    return JsonResponse(answer)


urlpatterns = [
    path("jobtastic/", include("django_jobtastic.urls")),
    path("submit/<str:marker>/", submit),
]
