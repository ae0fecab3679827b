"""The status views: one task's state as JSON, for whoever started it; the requester's jobs.

Every answer is JSON with ``Cache-Control: private, no-store`` and ``Vary: Cookie``, so no
shared cache stores one requester's answer for another. A bad, expired or foreign token gets
one and the same 404, so probing tells nothing; an unreachable result backend gets a 503
with ``Retry-After``, which the widget honours. A status just read is answered again for a
moment (``answer_reuse.py``), so many pollers of one job cost one backend read.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt

from django_jobtastic.conf import conf
from django_jobtastic.web.answer_reuse import answers
from django_jobtastic.web.grants import jobs_of
from django_jobtastic.web.payloads import status_body
from django_jobtastic.web.result_reading import (
    BACKEND_DOWN,
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_state,
)
from django_jobtastic.web.status_answers import (
    READ_METHODS,
    json_bytes_response,
    json_response,
    method_not_allowed,
    not_found,
    task_object,
    unavailable,
)
from django_jobtastic.web.tokens import is_owner, read_token

#: The task ids the raw-id route accepts (Celery's are UUIDs; custom ids stay in this set).
RAW_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,255}")
#: json.dumps(..., cls=DjangoJSONEncoder) without building an encoder per poll.
_ENCODER = DjangoJSONEncoder()


@csrf_exempt
def status_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """``status/<token>/``: the task in a signed token, if the token is the requester's."""
    if request.method not in READ_METHODS:
        return method_not_allowed()
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    try:
        if signed is None or not is_owner(request, signed.owner):
            return not_found()
    except BACKEND_DOWN as error:  # loading request.user hit a database that is down
        return unavailable(error)
    return _answer_status(signed.task_id)


@csrf_exempt
def status_by_raw_id(request: HttpRequest, task_id: str) -> HttpResponse:
    """``<task_id>/status/``: django-celery's route; anyone with an id reads, so opt-in."""
    if not conf.STATUS_ALLOW_RAW_IDS or not RAW_TASK_ID.fullmatch(task_id):
        return not_found()  # a disabled route looks like no route at all
    if request.method not in READ_METHODS:
        return method_not_allowed()
    return _answer_status(task_id)


@csrf_exempt
def jobs(request: HttpRequest) -> HttpResponse:
    """``jobs/``: the requester's granted jobs, most recent first, with their status URLs."""
    if request.method not in READ_METHODS:
        return method_not_allowed()
    try:
        listed = jobs_of(request)
    except BACKEND_DOWN as error:  # the grants' database, or the session store, is down
        return unavailable(error)
    return json_response(
        {
            "jobs": [
                {
                    "id": job.task_id,
                    "name": job.task_name,
                    "granted_at": job.granted_at.isoformat(),
                    "status_url": job.status_url,
                }
                for job in listed
            ]
        }
    )


def _answer_status(task_id: str) -> HttpResponse:
    debug = bool(settings.DEBUG)
    poll_interval = conf.POLL_INTERVAL
    # Everything the body depends on: its failure texts are in the request's language.
    key = (task_id, debug, poll_interval, get_language())
    body = answers.get(key)
    if body is None:
        read_at = answers.clock()
        try:
            body = _read_status(task_id, debug, poll_interval)
        except ResultBackendUnavailableError as error:
            return unavailable(error)
        answers.put(key, body, conf.STATUS_REUSE_SECONDS, read_at)
    return json_bytes_response(body)


def _read_status(task_id: str, debug: bool, poll_interval: float) -> bytes:
    """The encoded status body of ``task_id``, read from the result backend now."""
    stored: TaskState | ResultNotReadableError
    try:
        stored = read_task_state(task_id)
    except ResultNotReadableError as error:
        stored = error
    task = task_object(task_id, stored, debug=debug)
    return _ENCODER.encode(status_body(task, poll_interval)).encode()
