"""The status routes' answers in Flask: the same JSON, statuses and headers as under Django.

The task objects come from the framework-neutral core (``web.status_answers.task_object``:
the lost verdict, the payload); only the response objects and the texts differ.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from flask import Response, current_app

from django_jobtastic.conf import conf
from django_jobtastic.texts import gettext
from django_jobtastic.web.answer_reuse import answers
from django_jobtastic.web.payloads import status_body
from django_jobtastic.web.result_reading import (
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_state,
)
from django_jobtastic.web.status_answers import (
    METHOD_MESSAGE,
    NOT_FOUND_MESSAGE,
    READ_METHODS,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    task_object,
)

_ENCODER = DjangoJSONEncoder()


def json_bytes_response(body: bytes, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    # One requester's answer, never stored for another (see web/status_answers.py).
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie"
    return response


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return json_bytes_response(json.dumps(body).encode(), status)


def not_found() -> Response:
    """The one 404 of a bad, expired or foreign token (and of unknown routes)."""
    return json_response({"error": gettext(NOT_FOUND_MESSAGE)}, status=404)


def method_not_allowed() -> Response:
    response = json_response({"error": gettext(METHOD_MESSAGE)}, status=405)
    response.headers["Allow"] = ", ".join(READ_METHODS)
    return response


def unavailable(error: Exception) -> Response:
    current_app.logger.warning("Jobtastic: cannot read job status: %s", error)
    response = json_response({"error": gettext(UNAVAILABLE_MESSAGE)}, status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def status(task_id: str) -> Response:
    """The status answer of ``task_id`` (re-used for a moment across pollers)."""
    debug = bool(current_app.debug)
    poll_interval = conf.POLL_INTERVAL
    key = ("flask", task_id, debug, poll_interval)
    body = answers.get(key)
    if body is None:
        read_at = answers.clock()
        stored: TaskState | ResultNotReadableError
        try:
            stored = read_task_state(task_id)
        except ResultNotReadableError as error:
            stored = error
        except ResultBackendUnavailableError as error:
            return unavailable(error)
        task = task_object(task_id, stored, debug=debug)
        body = _ENCODER.encode(status_body(task, poll_interval)).encode()
        answers.put(key, body, conf.STATUS_REUSE_SECONDS, read_at)
    return json_bytes_response(body)
