"""The status routes of the Flask integration (a blueprint mounted under ``/jobtastic/``).

- ``status/<token>/``: one job, for the owner the token names (404 for anyone else);
- ``<task_id>/status/``: by raw id, only with ``jobtastic_status_allow_raw_ids``;
- ``status/?t=<token>&t=…``: many bars, one request and one backend read;
- ``jobs/``: the requester's granted jobs;
- ``status/<token>/cancel/``: POST, an owner cancels a cancellable job (``cancel.py``).

Every route answers JSON, other methods included (405), and so does any other path under
the prefix (404): never Flask's HTML error pages. There is no event stream: Flask's WSGI
servers hold a thread per open stream, so the widget polls (the batch route) instead.
"""

from __future__ import annotations

import json
import re

from django.core.serializers.json import DjangoJSONEncoder
from flask import Blueprint, Response, current_app, request

from django_jobtastic.conf import conf
from django_jobtastic.flask import answers, grants
from django_jobtastic.flask.cancel import cancel
from django_jobtastic.flask.tokens import current_owner, is_owner, read_token
from django_jobtastic.texts import gettext
from django_jobtastic.web.batch_status import (
    MAX_TOKENS,
    NO_TOKENS_MESSAGE,
    TOKEN_PARAMETER,
    TOO_MANY_TOKENS_MESSAGE,
)
from django_jobtastic.web.result_reading import (
    BACKEND_DOWN,
    ResultBackendUnavailableError,
    read_task_states,
)
from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE, READ_METHODS, task_object

#: The result backend is down: the whole batch answers 503.
DOWN: tuple[type[Exception], ...] = (ResultBackendUnavailableError, *BACKEND_DOWN)
#: Every method reaches the views, which answer 405 as JSON for all but GET and HEAD.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: The task ids the raw-id route accepts (as under Django).
RAW_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def blueprint(static_folder: str) -> Blueprint:
    """The blueprint serving the routes, and the widget's files under ``static/``."""
    routes = Blueprint(
        "jobtastic",
        __name__,
        static_folder=static_folder,
        static_url_path="/static",
        template_folder="templates",
    )
    routes.add_url_rule("/status/<token>/", "status", status_by_token, methods=METHODS)
    routes.add_url_rule("/status/<token>/cancel/", "cancel", cancel, methods=METHODS)
    routes.add_url_rule("/<task_id>/status/", "task_status", status_by_raw_id, methods=METHODS)
    routes.add_url_rule("/status/", "statuses", statuses, methods=METHODS)
    routes.add_url_rule("/jobs/", "jobs", jobs, methods=METHODS)
    routes.add_url_rule("/<path:anything>", "unknown", unknown, methods=METHODS)
    return routes


def status_by_token(token: str) -> Response:
    if request.method not in READ_METHODS:
        return answers.method_not_allowed()
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    if signed is None or not is_owner(signed.owner):
        return answers.not_found()
    return answers.status(signed.task_id)


def status_by_raw_id(task_id: str) -> Response:
    if not conf.STATUS_ALLOW_RAW_IDS or not RAW_TASK_ID.fullmatch(task_id):
        return answers.not_found()  # a disabled route looks like no route at all
    if request.method not in READ_METHODS:
        return answers.method_not_allowed()
    return answers.status(task_id)


def statuses() -> Response:
    if request.method not in READ_METHODS:
        return answers.method_not_allowed()
    tokens = list(dict.fromkeys(request.args.getlist(TOKEN_PARAMETER)))
    if not tokens:
        return answers.json_response({"error": gettext(NO_TOKENS_MESSAGE)}, status=400)
    if len(tokens) > MAX_TOKENS:
        message = gettext(TOO_MANY_TOKENS_MESSAGE) % {"limit": MAX_TOKENS}
        return answers.json_response({"error": message}, status=400)
    max_age = conf.TOKEN_MAX_AGE
    owned: dict[str, str] = {}
    for token in tokens:
        signed = read_token(token, max_age)
        if signed is not None and is_owner(signed.owner):
            owned[token] = signed.task_id
    try:
        stored = read_task_states(list(dict.fromkeys(owned.values()))) if owned else {}
    except DOWN as error:
        return answers.unavailable(error)
    debug, lost_after = bool(current_app.debug), conf.LOST_AFTER
    tasks = {
        task_id: task_object(task_id, state, debug=debug, lost_after=lost_after)
        for task_id, state in stored.items()
    }
    refusal = {"error": gettext(NOT_FOUND_MESSAGE)}
    body = {
        "tasks": {token: tasks[owned[token]] if token in owned else refusal for token in tokens},
        "poll_interval": conf.POLL_INTERVAL,
    }
    return answers.json_bytes_response(json.dumps(body, cls=DjangoJSONEncoder).encode())


def jobs() -> Response:
    from django_jobtastic.flask.extension import status_url_of

    if request.method not in READ_METHODS:
        return answers.method_not_allowed()
    owner = current_owner(create=False)
    try:
        listed = grants.granted(owner) if owner is not None else []
    except Exception as error:  # the cache is down: "no jobs" would be a lie
        return answers.unavailable(error)
    return answers.json_response(
        {
            "jobs": [
                {
                    "id": job.task_id,
                    "name": job.task_name,
                    "granted_at": job.granted_at_datetime.isoformat(),
                    "status_url": status_url_of(job.task_id),
                }
                for job in listed
            ]
        }
    )


def unknown(anything: str) -> Response:
    return answers.not_found()
