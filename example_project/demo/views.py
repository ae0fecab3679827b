"""The demo's pages: start a job, follow it, download what it made, see all of yours.

Who may see a job: whoever asked for it. ``start`` calls ``django_jobtastic.grant`` for the
job it hands out (a new job, a running identical one it latched onto, or one answered from
the cache alike: the visitor asked for it), which records the visitor (their session here:
the demo has no sign-in) as an owner. The job page and the job's file are served only when
``has_grant`` says so; anyone else gets a 404, as for a job that does not exist. The front
page lists the visitor's jobs with ``{% jobtastic_jobs %}``, each with its live bar, so a
reload or another tab resumes them all, and another browser sees none.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from demo.forms import ChartForm, DivisionForm, ExportForm
from demo.jobs import OUTPUT_KINDS, ChartTask, CsvExportTask, LotsOfDivisionTask
from django_jobtastic import grant, has_grant

JOBS: dict[str, Any] = {
    "division": LotsOfDivisionTask,
    "export": CsvExportTask,
    "chart": ChartTask,
}
FORMS: dict[str, type[forms.Form]] = {
    "division": DivisionForm,
    "export": ExportForm,
    "chart": ChartForm,
}
INITIAL: dict[str, dict[str, Any]] = {
    "division": {
        "numerators": ", ".join(str(n) for n in range(1, 81)),
        "denominators": ", ".join(str(2 + n % 7) for n in range(80)),
        "label": "Dividing",
    },
    "export": {"rows": 1500},
    "chart": {"points": 150},
}
TITLES = {"division": "Lots of division", "export": "CSV export", "chart": "Random-walk chart"}
BUTTONS = {"division": "Divide", "export": "Export orders", "chart": "Draw the chart"}
#: How a submission was served, told on the job page. It travels in the redirect's query
#: string, not in django.contrib.messages: messages live in one cookie per browser, so two
#: tabs submitting at once would overwrite each other's notice.
OUTCOMES = {
    "new": "Started a new job.",
    "running": "This job is already running: following it, not starting another.",
    "cached": "Served from the cache: this exact job has run before.",
}


def index(request: HttpRequest) -> HttpResponse:
    return _front_page(request)


@require_POST
def start(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in JOBS:
        raise Http404("No such job.")
    form = FORMS[kind](request.POST)
    if not form.is_valid():
        # The front page again, with this form's errors and what the user typed.
        return _front_page(request, {kind: form})
    own_id = str(uuid.uuid4())
    # Broker down? Run it here and now rather than fail: the demo keeps working.
    result = JOBS[kind].async_or_eager(kwargs=form.cleaned_data, task_id=own_id)
    if result.id == own_id:
        outcome = "new"
    elif result.state == "SUCCESS":
        outcome = "cached"
    else:
        outcome = "running"
    grant(request, result)  # whoever asked for the job may follow it, and nobody else
    job_url = reverse("job", kwargs={"kind": kind, "task_id": result.id})
    return redirect(f"{job_url}?{urlencode({'outcome': outcome})}")


def job(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    # The widget would say "cannot be shown" to anyone else; the page itself is not theirs
    # either: a 404, as for a job that does not exist.
    if kind not in JOBS or not has_grant(request, task_id):
        raise Http404("No such job of yours.")
    context = {
        "kind": kind,
        "title": TITLES[kind],
        "task_id": task_id,
        "outcome": OUTCOMES.get(request.GET.get("outcome", "")),
    }
    return render(request, "demo/job.html", context)


def job_file(request: HttpRequest, kind: str, task_id: str) -> FileResponse:
    """The file a finished job wrote, for those who asked for that job only.

    The task id is the key: the visitor must hold a grant for it, and the file's name is read
    from that task's own result, never from the URL.
    """
    if kind not in OUTPUT_KINDS or not has_grant(request, task_id):
        raise Http404("No such file.")
    output = OUTPUT_KINDS[kind]
    result = JOBS[kind].AsyncResult(task_id)
    value = result.result if result.successful() else None
    name = value.get("file") if isinstance(value, dict) else None
    if not isinstance(name, str) or not output.name_pattern.fullmatch(name):
        raise Http404("No such file.")  # not finished, or a job of another kind
    path = settings.OUTPUT_DIR / output.folder / name
    if not path.is_file():
        raise Http404("No such file.")  # cleaned up since
    response = FileResponse(
        path.open("rb"),
        as_attachment=output.attachment,
        filename=str(value.get("filename") or name),
        content_type=output.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    # Shown in the browser (the chart), the file is a document of its own: no scripts.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


def _front_page(request: HttpRequest, bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    _ensure_session(request)
    bound = bound or {}
    sections = [
        {
            "kind": kind,
            "title": TITLES[kind],
            "button": BUTTONS[kind],
            "form": bound[kind] if kind in bound else form_class(initial=INITIAL[kind]),
        }
        for kind, form_class in FORMS.items()
    ]
    return render(request, "demo/index.html", {"sections": sections})


def _ensure_session(request: HttpRequest) -> None:
    """A session from the first page on, so two forms sent at once share it.

    Otherwise each submission would create a session of its own (``grant`` does when there is
    none), the browser would keep the last cookie, and the other tab's job would not be its.
    """
    request.session.keys()  # loads it: a cookie naming an expired session resets the key
    if request.session.session_key is None:
        request.session.save()
        request.session.modified = True  # so SessionMiddleware sets the cookie
