"""Reading the status view as a visitor would, and the ``task`` objects it should answer.

Shared by the view tests (states stored with the backend's ``store_result``) and the
integration tests (states written by a real worker).
"""

from __future__ import annotations

import json
import uuid

from celery.app.task import Context
from django.db import OperationalError
from django.test import Client

from tests.celery_app import app

PROGRESS_META = {
    "progress_percent": 42.0,
    "time_remaining": 12.5,
    "completed": 42,
    "total": 100,
    "message": "halfway <b>there</b>",
    "started_at": "2026-11-25T00:00:00+00:00",
}


def new_id() -> str:
    return str(uuid.uuid4())


def status_url_for(client: Client, task_id: str) -> str:
    """The status URL a page hands this client for ``task_id`` (as a real page would)."""
    response = client.get(f"/follow/{task_id}/")
    assert response.status_code == 200
    return response.content.decode()


def read(client: Client, url: str, method: str = "get"):
    """``(status code, JSON body)`` of one request, after the headers every answer carries."""
    response = getattr(client, method)(url)
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    return response.status_code, json.loads(response.content)


def assert_method_not_allowed(response) -> None:
    """The read-only routes' answer to any method but GET and HEAD."""
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    assert json.loads(response.content) == {"error": "Only GET is allowed here."}


def fail_loading_users(monkeypatch) -> None:
    """From now on, loading ``request.user`` fails as it does while the database is down."""

    def database_down(request: object) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("django.contrib.auth.middleware.auth.get_user", database_down)


def store(task_id: str, result, state: str, traceback: str | None = None) -> None:
    # With a request, as a worker stores it (django-celery-results drops tracebacks without).
    request = Context(id=task_id, task="tests.jobs.Job", args=[], kwargs={})
    app.backend.store_result(task_id, result, state, traceback=traceback, request=request)


#: The ``progress`` object of a SUCCESS answer: done, and nothing else to say.
DONE_PROGRESS = {
    "percent": 100,
    "time_remaining": 0,
    "completed": None,
    "total": None,
    "message": None,
    "started_at": None,
    "updated_at": None,
    "overdue": False,
}


def expected_task(task_id: str, status: str, **values: object) -> dict:
    """The expected ``task`` object: a waiting task unless ``values`` say otherwise.

    PENDING answers carry ``queued_at``: null unless jobtastic queued the job.
    """
    pending = {"queued_at": None} if status == "PENDING" else {}
    return {
        "id": task_id,
        "status": status,
        "ready": False,
        "successful": None,
        "result": None,
        "progress": None,
        "error": None,
        **pending,
        **values,
    }


def failed(task_id: str, kind: str, message: str, status: str = "FAILURE") -> dict:
    """The expected ``task`` object of a job that failed (or was revoked) with ``message``."""
    error = {"type": kind, "message": message}
    return expected_task(task_id, status, ready=True, successful=False, result=message, error=error)
