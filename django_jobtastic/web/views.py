"""The status views: one task's state as JSON, for whoever started it; the requester's jobs.

Every answer is JSON with ``Cache-Control: private, no-store`` and ``Vary: Cookie``, so no
shared cache stores one requester's answer for another. A bad, expired or foreign token gets
one and the same 404, so probing tells nothing; an unreachable result backend gets a 503
with ``Retry-After``, which the widget honours. A status just read is answered again for a
moment (``answer_reuse.py``), so many pollers of one job cost one backend read.
"""

from __future__ import annotations

import json
import logging
import re

from celery import states
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext, gettext_noop
from django.views.decorators.csrf import csrf_exempt

from django_jobtastic.conf import conf
from django_jobtastic.web.answer_reuse import answers
from django_jobtastic.web.grants import jobs_of
from django_jobtastic.web.kept_outcomes import settle_unstored
from django_jobtastic.web.lost_jobs import settle_lost
from django_jobtastic.web.payloads import status_body, task_payload
from django_jobtastic.web.result_reading import (
    BACKEND_DOWN,
    ResultBackendUnavailableError,
    ResultNotReadableError,
    read_task_state,
)
from django_jobtastic.web.tokens import is_owner, read_token

logger = logging.getLogger(__name__)

#: The task ids the raw-id route accepts (Celery's are UUIDs; custom ids stay in this set).
RAW_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,255}")
READ_METHODS = ("GET", "HEAD")
#: Error texts, translated into the request's language when answered.
NOT_FOUND_MESSAGE = gettext_noop(
    "This job does not exist, has expired, or belongs to someone else."
)
UNAVAILABLE_MESSAGE = gettext_noop(
    "The job's status cannot be read right now. Please try again shortly."
)
METHOD_MESSAGE = gettext_noop("Only GET is allowed here.")
#: Seconds a client should wait after a 503 before asking again.
RETRY_AFTER_SECONDS = 5


@csrf_exempt
def status_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """``status/<token>/``: the task in a signed token, if the token is the requester's."""
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    try:
        if signed is None or not is_owner(request, signed.owner):
            return _not_found()
    except BACKEND_DOWN as error:  # loading request.user hit a database that is down
        return _unavailable(error)
    return _answer_status(signed.task_id)


@csrf_exempt
def status_by_raw_id(request: HttpRequest, task_id: str) -> HttpResponse:
    """``<task_id>/status/``: django-celery's route; anyone with an id reads, so opt-in."""
    if not conf.STATUS_ALLOW_RAW_IDS or not RAW_TASK_ID.fullmatch(task_id):
        return _not_found()  # a disabled route looks like no route at all
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    return _answer_status(task_id)


@csrf_exempt
def jobs(request: HttpRequest) -> HttpResponse:
    """``jobs/``: the requester's granted jobs, most recent first, with their status URLs."""
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    try:
        listed = jobs_of(request)
    except BACKEND_DOWN as error:  # the grants' database, or the session store, is down
        return _unavailable(error)
    return _json(
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
            return _unavailable(error)
        answers.put(key, body, conf.STATUS_REUSE_SECONDS, read_at)
    return _json_bytes(body)


def _read_status(task_id: str, debug: bool, poll_interval: float) -> bytes:
    """The encoded status body of ``task_id``, read from the result backend now."""
    try:
        stored = settle_lost(task_id, settle_unstored(task_id, read_task_state(task_id)))
    except ResultNotReadableError as error:
        logger.warning("Jobtastic: the stored state of %s cannot be decoded: %s", task_id, error)
        # Reported as a FAILURE of type ResultNotReadableError, so that polling stops: asking
        # again cannot make it readable. Its reason is shown under DEBUG only.
        task = task_payload(task_id, states.FAILURE, error, None, debug=debug)
    else:
        task = task_payload(task_id, stored.state, stored.info, stored.traceback, debug=debug)
    return json.dumps(status_body(task, poll_interval), cls=DjangoJSONEncoder).encode()


def _unavailable(error: Exception) -> HttpResponse:
    logger.warning("Jobtastic: cannot read job status, the backend is unreachable: %s", error)
    response = _json({"error": gettext(UNAVAILABLE_MESSAGE)}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _not_found() -> HttpResponse:
    return _json({"error": gettext(NOT_FOUND_MESSAGE)}, status=404)


def _method_not_allowed() -> HttpResponse:
    response = _json({"error": gettext(METHOD_MESSAGE)}, status=405)
    response["Allow"] = ", ".join(READ_METHODS)
    return response


def _json(body: dict[str, object], status: int = 200) -> HttpResponse:
    return _json_bytes(json.dumps(body).encode(), status)


def _json_bytes(body: bytes, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    # One requester's answer, never stored for another: "private" is what Django 4.2's
    # per-site cache middleware honours ("no-store" alone it caches), "no-store" keeps
    # browsers and proxies from storing it, and Vary: Cookie marks whose answer it is.
    response["Cache-Control"] = "private, no-store"
    patch_vary_headers(response, ("Cookie",))
    return response
