"""The demo's pages: start a job, follow it, download what it made."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from demo.jobs import ChartTask, CsvExportTask, LotsOfDivisionTask

JOBS: dict[str, Any] = {
    "division": LotsOfDivisionTask,
    "export": CsvExportTask,
    "chart": ChartTask,
}
TITLES = {"division": "Lots of division", "export": "CSV export", "chart": "Random-walk chart"}
MAX_ITEMS = 5000
#: 2 ms a row: the longest export (40 s) stays well within its 120 s herd avoidance.
MAX_ROWS = 20_000
#: Jobs remembered per session: only who started a job may follow it.
REMEMBERED_JOBS = 50
OUTPUT_NAME = re.compile(r"[A-Za-z0-9_.-]+\.(csv|svg)")
#: How a submission was served, told on the job page. It travels in the redirect's query
#: string, not in django.contrib.messages: messages live in one cookie per browser, so two
#: tabs submitting at once would overwrite each other's notice.
OUTCOMES = {
    "new": "Started a new job.",
    "running": "This job is already running: following it, not starting another.",
    "cached": "Served from the cache: this exact job has run before.",
}


def index(request: HttpRequest) -> HttpResponse:
    # A session from the first page on: two forms sent at once then share it (and the jobs).
    request.session.setdefault("jobs", [])
    numerators = ", ".join(str(n) for n in range(1, 81))
    denominators = ", ".join(str(2 + n % 7) for n in range(80))
    context = {"numerators": numerators, "denominators": denominators, "titles": TITLES}
    return render(request, "demo/index.html", context)


@require_POST
def start(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in JOBS:
        raise Http404("No such job.")
    try:
        kwargs = _job_arguments(kind, request.POST)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("index")
    own_id = str(uuid.uuid4())
    # Broker down? Run it here and now rather than fail: the demo keeps working.
    result = JOBS[kind].async_or_eager(kwargs=kwargs, task_id=own_id)
    if result.id == own_id:
        outcome = "new"
    elif result.state == "SUCCESS":
        outcome = "cached"
    else:
        outcome = "running"
    _remember(request, result.id)
    job_url = reverse("job", kwargs={"kind": kind, "task_id": result.id})
    return redirect(f"{job_url}?{urlencode({'outcome': outcome})}")


def job(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    # status_url (and so the widget) grants whoever renders it the right to read the job:
    # render it only for the session that started the job.
    if kind not in JOBS or task_id not in request.session.get("jobs", []):
        raise Http404("No such job in your session.")
    context = {
        "kind": kind,
        "title": TITLES[kind],
        "task_id": task_id,
        "outcome": OUTCOMES.get(request.GET.get("outcome", "")),
    }
    return render(request, "demo/job.html", context)


def download(request: HttpRequest, kind: str, name: str) -> FileResponse:
    if kind not in ("exports", "charts") or not OUTPUT_NAME.fullmatch(name):
        raise Http404("No such file.")
    path = settings.OUTPUT_DIR / kind / name
    if not path.is_file():
        raise Http404("No such file.")
    return FileResponse(path.open("rb"), as_attachment=kind == "exports", filename=name)


def _remember(request: HttpRequest, task_id: str) -> None:
    jobs = [known for known in request.session.get("jobs", []) if known != task_id]
    request.session["jobs"] = [*jobs, task_id][-REMEMBERED_JOBS:]


def _numbers(text: str, field: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise ValueError(f"{field}: whole numbers only, separated by commas.") from None
    if not 0 < len(numbers) <= MAX_ITEMS:
        raise ValueError(f"{field}: between 1 and {MAX_ITEMS} numbers.")
    return numbers


def _count(text: str, field: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{field}: a whole number, please.") from None
    if not low <= value <= high:
        raise ValueError(f"{field}: between {low} and {high}.")
    return value


def _job_arguments(kind: str, form: Any) -> dict[str, Any]:
    if kind == "division":
        numerators = _numbers(form.get("numerators", ""), "Numerators")
        denominators = _numbers(form.get("denominators", ""), "Denominators")
        if len(numerators) != len(denominators):
            raise ValueError("Give as many denominators as numerators.")
        label = form.get("label", "")[:200]
        return {"numerators": numerators, "denominators": denominators, "label": label}
    if kind == "export":
        return {"rows": _count(form.get("rows", ""), "Rows", 1, MAX_ROWS)}
    return {"points": _count(form.get("points", ""), "Points", 2, 2_000)}
