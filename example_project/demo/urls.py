from __future__ import annotations

from django.urls import path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/<str:kind>/", views.start, name="start"),
    path("jobs/<str:kind>/<str:task_id>/", views.job, name="job"),
    path("download/<str:kind>/<str:name>", views.download, name="download"),
]
