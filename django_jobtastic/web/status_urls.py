"""``status_url``: the URL at which the requester, and only they, can follow a job.

It verifies, it never grants: a job is followed by who holds a grant for it (``grant()``,
called where the job is submitted), so a page rendering a task id taken from a URL cannot
hand a stranger a way to read that job.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from django_jobtastic.web.grants import has_grant
from django_jobtastic.web.task_refs import TaskOrId, task_id_of
from django_jobtastic.web.tokens import token_url

NOT_GRANTED = (
    "This request holds no grant to follow job {task_id!r}: call "
    "django_jobtastic.grant(request, result) in the view that submits the job."
)


def status_url(request: HttpRequest, task_or_id: TaskOrId) -> str:
    """The ``jobtastic:status`` URL of a job the requester holds a grant for.

    Raises ``PermissionDenied`` (a 403 when it escapes a view) for any other job.
    """
    task_id = task_id_of(task_or_id)
    if not has_grant(request, task_id):
        raise PermissionDenied(NOT_GRANTED.format(task_id=task_id[:80]))
    return token_url(request, task_id)
