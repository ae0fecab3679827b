"""The status views: one task's state as JSON, for whoever started it.

Every answer is JSON with ``Cache-Control: no-store``. A bad, expired or foreign token gets
one and the same 404, so probing tells nothing; an unreachable result backend gets a 503 with
``Retry-After``, which the widget honours.
"""

from __future__ import annotations

import logging
import re

from celery import states
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_jobtastic.conf import conf
from django_jobtastic.reading import (
    BACKEND_DOWN,
    ResultBackendUnavailable,
    ResultNotReadable,
    read_task_state,
)
from django_jobtastic.status import status_body, task_payload
from django_jobtastic.tokens import is_owner, read_token

logger = logging.getLogger(__name__)

#: The task ids the raw-id route accepts (Celery's are UUIDs; custom ids stay in this set).
RAW_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,255}")
READ_METHODS = ("GET", "HEAD")
NOT_FOUND_MESSAGE = "This job does not exist, has expired, or belongs to someone else."
UNAVAILABLE_MESSAGE = "The job's status cannot be read right now. Please try again shortly."
#: Seconds a client should wait after a 503 before asking again.
RETRY_AFTER_SECONDS = 5


@csrf_exempt
def status(request: HttpRequest, token: str) -> JsonResponse:
    """``status/<token>/``: the task in a signed token, if the token is the requester's."""
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    try:
        if signed is None or not is_owner(request, signed.owner):
            return _not_found()
    except BACKEND_DOWN as error:  # loading request.user hit a database that is down
        return _unavailable(error)
    return _task_status(signed.task_id)


@csrf_exempt
def task_status(request: HttpRequest, task_id: str) -> JsonResponse:
    """``<task_id>/status/``: django-celery's route; anyone with an id reads, so opt-in."""
    if not conf.STATUS_ALLOW_RAW_IDS or not RAW_TASK_ID.fullmatch(task_id):
        return _not_found()  # a disabled route looks like no route at all
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    return _task_status(task_id)


def _task_status(task_id: str) -> JsonResponse:
    debug = bool(settings.DEBUG)
    try:
        stored = read_task_state(task_id)
    except ResultBackendUnavailable as error:
        return _unavailable(error)
    except ResultNotReadable as error:
        logger.warning("Jobtastic: the stored state of %s cannot be decoded: %s", task_id, error)
        # Reported as a FAILURE of type ResultNotReadable, so that polling stops: asking
        # again cannot make it readable. Its reason is shown under DEBUG only.
        task = task_payload(task_id, states.FAILURE, error, None, debug=debug)
    else:
        task = task_payload(task_id, stored.state, stored.info, stored.traceback, debug=debug)
    return _json(status_body(task, conf.POLL_INTERVAL))


def _unavailable(error: Exception) -> JsonResponse:
    logger.warning("Jobtastic: cannot read job status, the backend is unreachable: %s", error)
    response = _json({"error": UNAVAILABLE_MESSAGE}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _not_found() -> JsonResponse:
    return _json({"error": NOT_FOUND_MESSAGE}, status=404)


def _method_not_allowed() -> JsonResponse:
    response = _json({"error": "Only GET is allowed here."}, status=405)
    response["Allow"] = ", ".join(READ_METHODS)
    return response


def _json(body: dict[str, object], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response
