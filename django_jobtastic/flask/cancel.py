"""``POST /jobtastic/status/<token>/cancel/``: an owner cancels a cancellable job (Flask).

The Django integration's rules and answers: owner-checked as the status route is (its 404),
CSRF-checked (403 JSON), 409 for a job that is not cancellable or has ended, 202 with the
task object otherwise. A job several owners share is cancelled once every owner has
cancelled it; until then the canceller just stops following it. The last cancel marks the
job in the jobtastic cache, where its worker looks, and asks the workers to revoke it.
"""

from __future__ import annotations

from typing import Any

from celery import current_app as current_celery_app
from flask import Response, current_app, request

from django_jobtastic.conf import conf
from django_jobtastic.flask import answers, grants
from django_jobtastic.flask.csrf import csrf_verified
from django_jobtastic.flask.tokens import current_owner, is_owner, read_token
from django_jobtastic.texts import gettext
from django_jobtastic.web.cancel import (
    ALREADY_ENDED_MESSAGE,
    CSRF_MESSAGE,
    NOT_CANCELLABLE_MESSAGE,
    NOT_RECORDED_MESSAGE,
    mark_cancelled,
)
from django_jobtastic.web.cancel import METHOD_MESSAGE as POST_ONLY_MESSAGE
from django_jobtastic.web.result_reading import (
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_state,
)
from django_jobtastic.web.status_answers import RETRY_AFTER_SECONDS, task_object


def cancellable_task(name: str | None) -> Any:
    """The registered task named ``name`` if its class is cancellable, else None."""
    task = current_celery_app.tasks.get(name) if name else None
    return task if task is not None and getattr(task, "cancellable", False) is True else None


def cancel(token: str) -> Response:
    if request.method != "POST":
        response = answers.json_response({"error": gettext(POST_ONLY_MESSAGE)}, status=405)
        response.headers["Allow"] = "POST"
        return response
    if not csrf_verified():
        return answers.json_response({"error": gettext(CSRF_MESSAGE)}, status=403)
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    if signed is None or not is_owner(signed.owner):
        return answers.not_found()
    owner = current_owner(create=False)
    assert owner is not None  # is_owner held: the session has its mark
    try:
        granted = [g for g in grants.granted(owner) if g.task_id == signed.task_id]
    except Exception as error:  # the cache is down
        return answers.unavailable(error)
    name = granted[0].task_name if granted else None
    task = cancellable_task(name)
    if task is None:
        return answers.json_response({"error": gettext(NOT_CANCELLABLE_MESSAGE)}, status=409)
    try:
        stored: TaskState | ResultNotReadableError = read_task_state(signed.task_id)
    except ResultNotReadableError as error:
        stored = error
    except ResultBackendUnavailableError as error:
        return answers.unavailable(error)
    answer = task_object(signed.task_id, stored, debug=bool(current_app.debug))
    if answer["ready"]:
        return answers.json_response({"error": gettext(ALREADY_ENDED_MESSAGE)}, status=409)
    try:
        last_owner = grants.withdraw(owner, signed.task_id)
    except Exception as error:
        return answers.unavailable(error)
    if last_owner and not mark_cancelled(task, signed.task_id):
        grants.undo_withdraw(owner, signed.task_id, name)
        response = answers.json_response({"error": gettext(NOT_RECORDED_MESSAGE)}, status=503)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return answers.json_response({"task": answer}, status=202)
