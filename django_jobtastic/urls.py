"""``path("jobtastic/", include("django_jobtastic.urls"))``: the status routes."""

from __future__ import annotations

from django.urls import path

from django_jobtastic import views

app_name = "jobtastic"

urlpatterns = [
    # <path:> so that a token damaged into containing "/" still reaches the view's JSON 404.
    path("status/<path:token>/", views.status, name="status"),
    path("<str:task_id>/status/", views.task_status, name="task_status"),
]
