"""``status_url``: the URL at which the requester, and only they, can follow a job."""

from __future__ import annotations

from typing import Protocol, TypeAlias

from django.http import HttpRequest
from django.urls import reverse

from django_jobtastic.web.tokens import make_token, owner_of


class HasTaskId(Protocol):
    """An ``AsyncResult``, ``EagerResult`` or anything else with the task's ``id``."""

    @property
    def id(self) -> str: ...


TaskOrId: TypeAlias = "str | HasTaskId"


def task_id_of(task_or_id: TaskOrId) -> str:
    """The task id of a result object or of an id string; TypeError for anything else."""
    task_id = task_or_id if isinstance(task_or_id, str) else getattr(task_or_id, "id", None)
    if not isinstance(task_id, str) or not task_id:
        raise TypeError(
            f"expected a task id or an AsyncResult, got {type(task_or_id).__name__}: "
            f"{task_or_id!r:.80}"
        )
    return task_id


def status_url(request: HttpRequest, task_or_id: TaskOrId) -> str:
    """The ``jobtastic:status`` URL of a job, readable by this request's user or session.

    For an anonymous visitor without a session, a session is created (and its cookie set on
    this response by ``SessionMiddleware``), so the visitor can read the status back.
    """
    token = make_token(task_id_of(task_or_id), owner_of(request))
    return reverse("jobtastic:status", kwargs={"token": token})
