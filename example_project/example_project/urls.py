"""URLs: the demo pages and django-jobtastic's status routes."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("demo.urls")),
    path("jobtastic/", include("django_jobtastic.urls")),
]
