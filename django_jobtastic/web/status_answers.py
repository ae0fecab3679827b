"""What every status answer is made of: one task's object, and the JSON responses around it.

The single status view and the batch view answer each task through ``task_object``, so a
task reads the same alone or among others: kept outcomes, the lost verdict, the payload,
``DEBUG`` and the request's language. Every response is JSON with ``Cache-Control:
private, no-store`` and ``Vary: Cookie``, so no shared cache stores one requester's answer
for another.
"""

from __future__ import annotations

import json
import logging
from time import time
from typing import Any

from celery import states
from django.http import HttpResponse

from django_jobtastic.texts import gettext, gettext_noop
from django_jobtastic.web.kept_outcomes import may_look_up, settle_unstored
from django_jobtastic.web.lost_jobs import found_lost, settle_lost
from django_jobtastic.web.payloads import task_payload
from django_jobtastic.web.result_reading import ResultNotReadableError, TaskState

logger = logging.getLogger(__name__)

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


def task_object(
    task_id: str,
    stored: TaskState | ResultNotReadableError,
    *,
    debug: bool,
    lost_after: float | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The ``task`` object of ``task_id`` as read from the result backend (``stored``).

    ``lost_after`` is ``JOBTASTIC_LOST_AFTER``, read by the caller once for many tasks (by
    default, when a running task needs it); ``now`` the clock it is answered at (default:
    the time of the call).
    """
    if isinstance(stored, ResultNotReadableError):
        logger.warning("Jobtastic: the stored state of %s cannot be decoded: %s", task_id, stored)
        # Reported as a FAILURE of type ResultNotReadableError, so that polling stops: asking
        # again cannot make it readable. Its reason is shown under DEBUG only.
        return task_payload(task_id, states.FAILURE, stored, None, debug=debug)
    now = time() if now is None else now
    settled = settle_lost(task_id, settle_unstored(task_id, stored), now, lost_after)
    return task_payload(
        task_id, settled.state, settled.info, settled.traceback, debug=debug, now=now
    )


def answered_in_memory(
    task_id: str, stored: TaskState | ResultNotReadableError, now: float, lost_after: float
) -> bool:
    """Whether ``task_object`` answers ``stored`` at ``now`` without reading a store: no
    kept outcome to look up, no lost verdict to record. A stream answers those in its event
    loop; a hop to a thread costs more than the answer (a third of a stream's CPU)."""
    if isinstance(stored, ResultNotReadableError):
        return True
    return not may_look_up(task_id, stored) and not found_lost(stored, now, lost_after)


def unavailable(error: Exception) -> HttpResponse:
    """503 with ``Retry-After``: the backend (or the owner check's store) is unreachable."""
    logger.warning("Jobtastic: cannot read job status, the backend is unreachable: %s", error)
    response = json_response({"error": gettext(UNAVAILABLE_MESSAGE)}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def not_found() -> HttpResponse:
    """The one 404 of a bad, expired or foreign token."""
    return json_response({"error": gettext(NOT_FOUND_MESSAGE)}, status=404)


def method_not_allowed() -> HttpResponse:
    response = json_response({"error": gettext(METHOD_MESSAGE)}, status=405)
    response["Allow"] = ", ".join(READ_METHODS)
    return response


def json_response(body: dict[str, object], status: int = 200) -> HttpResponse:
    return json_bytes_response(json.dumps(body).encode(), status)


def json_bytes_response(body: bytes, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    # One requester's answer, never stored for another: "private" is what Django 4.2's
    # per-site cache middleware honours ("no-store" alone it caches), "no-store" keeps
    # browsers and proxies from storing it, and Vary: Cookie marks whose answer it is.
    response["Cache-Control"] = "private, no-store"
    response["Vary"] = "Cookie"  # a new response has no Vary to add to
    return response
