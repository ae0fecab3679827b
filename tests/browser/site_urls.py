"""The browser test site's URLs: the example project's, and one page of the tests' own.

``test-only/quiet-job/?label=<label>`` submits a job that reports no progress, grants it
and shows its widget.

``test-only/widget/?id=<task id>`` renders ``{% jobtastic_progress request.GET.id %}``: a
widget for whatever id the URL names, the page a careless site might write. The tests show
that it hands a stranger no status URL, since django-jobtastic's tag only verifies grants
(``grant()`` is called where a job is submitted, by the example's own views).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from example_project.urls import urlpatterns as example_urlpatterns

WIDGET_FOR_ANY_ID = """{% load jobtastic %}<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="icon" href="data:,">
  <title>A widget for any id</title>
</head>
<body>
  <main>{% jobtastic_progress request.GET.id label="The job named in the URL" %}</main>
</body>
</html>
"""


def widget_for_any_id(request: HttpRequest) -> HttpResponse:
    page = engines["django"].from_string(WIDGET_FOR_ANY_ID)
    return HttpResponse(page.render(request=request))


QUIET_JOB_PAGE = """{% load jobtastic %}<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="icon" href="data:,">
  <title>A job without progress</title>
</head>
<body>
  <main>{% jobtastic_progress task_id label="A job that reports no progress" %}</main>
</body>
</html>
"""


def quiet_job(request: HttpRequest) -> HttpResponse:
    """Submits ``QuietJob`` with the label the URL names, grants it, shows its widget."""
    from django_jobtastic import grant
    from tests.browser.quiet_job import QuietJob

    result = QuietJob.delay(label=request.GET.get("label", ""))
    grant(request, result)
    page = engines["django"].from_string(QUIET_JOB_PAGE)
    return HttpResponse(page.render({"task_id": result.id}, request=request))


urlpatterns = [
    path("test-only/widget/", widget_for_any_id, name="widget_for_any_id"),
    path("test-only/quiet-job/", quiet_job, name="quiet_job"),
    *example_urlpatterns,
]
