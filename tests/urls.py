"""The test project's URLs: the app's routes, and a page that hands out status URLs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from django_jobtastic import grant


def follow(request: HttpRequest, task_id: str) -> HttpResponse:
    """What a page does after starting a job: grant it and give the visitor its status URL."""
    return HttpResponse(grant(request, task_id), content_type="text/plain")


WIDGET_PAGE = engines["django"].from_string(
    "{% load jobtastic %}<!doctype html><title>job</title>{% jobtastic_progress task_id %}"
)


def widget(request: HttpRequest, task_id: str) -> HttpResponse:
    """A page following one job with the progress widget (for its owners only)."""
    return HttpResponse(WIDGET_PAGE.render({"task_id": task_id}, request))


urlpatterns = [
    path("jobtastic/", include("django_jobtastic.urls")),
    path("follow/<str:task_id>/", follow),
    path("widget/<str:task_id>/", widget),
]
