from __future__ import annotations

from django.urls import path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/<str:kind>/", views.start, name="start"),
    path("jobs/<str:kind>/<str:task_id>/", views.job, name="job"),
    # A job's file is reached through the job, so only by those who asked for it.
    path("jobs/<str:kind>/<str:task_id>/file/", views.job_file, name="job_file"),
]
