"""``path("jobtastic/", include("django_jobtastic.urls"))``: status, cancel, "my jobs"."""

from __future__ import annotations

from django.urls import path, register_converter

from django_jobtastic.web import batch_status, cancel, events, views


class AnyText:
    """Any non-empty text, "/" and newlines included (``path`` stops at newlines).

    So every URL under the prefix that ends in ``status/`` reaches a view and gets its JSON
    404, rather than the site's HTML page, whatever a damaged link holds.
    """

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyText, "jobtastic_any")

app_name = "jobtastic"

urlpatterns = [
    # Before the status route, whose token would otherwise take in "…/cancel".
    path("status/<jobtastic_any:token>/cancel/", cancel.cancel, name="cancel"),
    path("status/", batch_status.statuses, name="statuses"),
    path("events/", events.events, name="events"),
    path("status/<jobtastic_any:token>/", views.status_by_token, name="status"),
    path("<jobtastic_any:task_id>/status/", views.status_by_raw_id, name="task_status"),
    path("jobs/", views.jobs, name="jobs"),
]
