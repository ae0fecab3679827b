"""``POST status/<token>/cancel/``: an owner cancels a cancellable job.

Owner-checked as the status view is (one 404 for a bad, expired or foreign token), and
CSRF-protected like any POST of the site, but answering JSON: the view is exempt from the
middleware and runs Django's own check itself, turning a refusal into a 403 JSON body.

A job several owners share (herd avoidance or the result cache gave them one task id) is
cancelled only once every fresh grant of it is: until then each cancel just marks the
canceller's grant, and the canceller stops following the job. The last one marks the job
cancelled in its cache (``django_jobtastic.cancel_marks``), where its worker looks before
it starts and before each progress write, and asks the workers to drop its message
(Celery's revoke, never terminate).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from django_jobtastic import cancel_marks
from django_jobtastic.conf import conf
from django_jobtastic.texts import gettext, gettext_noop
from django_jobtastic.web.grants import names_granted, undo_withdraw, withdraw
from django_jobtastic.web.job_classes import cancellable_task
from django_jobtastic.web.result_reading import (
    BACKEND_DOWN,
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_state,
)
from django_jobtastic.web.status_answers import (
    RETRY_AFTER_SECONDS,
    json_response,
    not_found,
    task_object,
    unavailable,
)
from django_jobtastic.web.tokens import is_owner, read_token

logger = logging.getLogger(__name__)

#: Error texts, translated into the request's language when answered.
NOT_CANCELLABLE_MESSAGE = gettext_noop("This job cannot be cancelled.")
ALREADY_ENDED_MESSAGE = gettext_noop("This job has already ended.")
CSRF_MESSAGE = gettext_noop("This request could not be verified. Please reload the page.")
METHOD_MESSAGE = gettext_noop("Only POST is allowed here.")
NOT_RECORDED_MESSAGE = gettext_noop(
    "The job cannot be cancelled right now. Please try again shortly."
)
#: Revoke calls still waiting on a broker that does not answer; past this, none is sent.
MAX_STUCK_REVOKES = 4


@csrf_exempt  # checked below, so that a refusal is JSON rather than Django's HTML page
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """Cancel the job in ``token`` for the requester: 202 with the job's task object."""
    if request.method != "POST":
        response = json_response({"error": gettext(METHOD_MESSAGE)}, status=405)
        response["Allow"] = "POST"
        return response
    if not _csrf_verified(request):
        return json_response({"error": gettext(CSRF_MESSAGE)}, status=403)
    signed = read_token(token, conf.TOKEN_MAX_AGE)
    try:
        if signed is None or not is_owner(request, signed.owner):
            return not_found()
        names = names_granted(request, signed.task_id)
    except BACKEND_DOWN as error:  # the database, or the session store, is down
        return unavailable(error)
    task = cancellable_task(names)
    if task is None:
        return json_response({"error": gettext(NOT_CANCELLABLE_MESSAGE)}, status=409)
    try:
        answer = _current_task(signed.task_id)
    except ResultBackendUnavailableError as error:
        return unavailable(error)
    if answer["ready"]:
        return json_response({"error": gettext(ALREADY_ENDED_MESSAGE)}, status=409)
    try:
        withdrawn, last_owner = withdraw(request, signed.task_id)
    except BACKEND_DOWN as error:
        return unavailable(error)
    if last_owner and not mark_cancelled(task, signed.task_id):
        undo_withdraw(withdrawn)  # nothing recorded: the client may simply try again
        response = json_response({"error": gettext(NOT_RECORDED_MESSAGE)}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return json_response({"task": answer}, status=202)


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, whose refusal is reported to the view instead of rendered."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        logger.warning("Jobtastic: cancel refused (%s): %s", reason, request.path)
        return HttpResponse(status=403)


def _csrf_verified(request: HttpRequest) -> bool:
    check = _CsrfCheck(lambda request: HttpResponse())
    if "CSRF_COOKIE" not in request.META:  # the middleware is not installed: read the cookie
        check.process_request(request)
    try:
        return check.process_view(request, _checked_view, (), {}) is None
    except SuspiciousOperation:  # a form body too big or with too many fields to read
        return False


def _checked_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    """What the CSRF check is told it protects: a view that is not exempt."""
    raise NotImplementedError


def _current_task(task_id: str) -> dict[str, Any]:
    """The task object as the status view answers it now (read afresh, never re-used)."""
    try:
        stored: TaskState | ResultNotReadableError = read_task_state(task_id)
    except ResultNotReadableError as error:  # answered as a FAILURE: it has ended
        stored = error
    return task_object(task_id, stored, debug=bool(settings.DEBUG))


def mark_cancelled(task: Any, task_id: str) -> bool:
    """Mark the job cancelled where its worker looks; False if that cannot be recorded.

    Framework-neutral: the Flask cancel route uses it too."""
    alias = getattr(task, "cache_alias", None) or conf.CACHE
    lifetime = cancel_marks.lifetime_of(current_app.conf.result_expires)
    try:
        cancel_marks.set_mark(alias, task_id, lifetime)
    except Exception as error:  # any cache's failure: the cancel is not recorded
        logger.warning("Jobtastic: cannot record the cancel of %s: %s", task_id, error)
        return False
    logger.info("Jobtastic: job %s[%s] cancelled by its owners", task.name, task_id)
    _revoke(task_id)
    return True


_stuck = threading.BoundedSemaphore(MAX_STUCK_REVOKES)


def _revoke(task_id: str) -> None:
    """Ask live workers to drop the job's queued message, waiting at most the publish
    deadline: the mark alone is enough (a queued job reads it before it starts), so a
    broker that is down or silent costs the revoke, never the answer."""
    if not _stuck.acquire(blocking=False):
        logger.warning("Jobtastic: no revoke sent for %s: earlier ones still wait", task_id)
        return

    def send() -> None:
        try:
            current_app.control.revoke(task_id)
        except Exception as error:
            logger.warning("Jobtastic: revoke of %s not sent: %s", task_id, error)
        finally:
            _stuck.release()

    sender = threading.Thread(target=send, name="jobtastic-revoke", daemon=True)
    sender.start()
    sender.join(conf.PUBLISH_TIMEOUT)
    if sender.is_alive():
        logger.warning("Jobtastic: revoke of %s still waiting on the broker", task_id)
