"""``status/?t=<token>&t=<token>…``: many bars on one page, one request and one backend read.

Each token is checked as the single status view checks it (signature, age, owner) and
answered with the same ``task`` object, or with the single view's 404 message when it is
bad, expired or foreign: 200 all the same, so one stale bar does not stop the others. The
tasks are read in one round trip where the backend can (``read_task_states``). An outage
of the result backend, or of what the owner check needs, is the whole answer's 503.

Held answers (``answer_reuse.py``) are not used: a batch costs one read whatever it holds,
and its tasks would crowd out the answers held for the single view's herd-shared jobs.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from django_jobtastic.conf import conf
from django_jobtastic.texts import gettext, gettext_noop
from django_jobtastic.web.result_reading import (
    BACKEND_DOWN,
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_states,
)
from django_jobtastic.web.status_answers import (
    NOT_FOUND_MESSAGE,
    READ_METHODS,
    json_bytes_response,
    json_response,
    method_not_allowed,
    task_object,
    unavailable,
)
from django_jobtastic.web.tokens import check_session_store, owns, read_token

#: The query parameter, repeated, that carries the tokens.
TOKEN_PARAMETER = "t"
#: Distinct tokens one request may ask about (a page's bars share one request).
MAX_TOKENS = 50
NO_TOKENS_MESSAGE = gettext_noop("Name the jobs to read: status/?t=<token>&t=<token>.")
TOO_MANY_TOKENS_MESSAGE = gettext_noop("At most %(limit)d jobs can be read in one request.")
#: The result backend, or the session store or database the owner check needs, is down.
DOWN: tuple[type[Exception], ...] = (ResultBackendUnavailableError, *BACKEND_DOWN)


@csrf_exempt
def statuses(request: HttpRequest) -> HttpResponse:
    """``status/?t=…``: ``{"tasks": {token: task or {"error": …}}, "poll_interval": …}``."""
    if request.method not in READ_METHODS:
        return method_not_allowed()
    tokens = requested_tokens(request)
    if isinstance(tokens, HttpResponse):
        return tokens
    try:
        owned = owned_task_ids(request, tokens)
        stored = read_task_states(list(dict.fromkeys(owned.values()))) if owned else {}
    except DOWN as error:
        return unavailable(error)
    body = {"tasks": _answers(tokens, owned, stored), "poll_interval": conf.POLL_INTERVAL}
    return json_bytes_response(json.dumps(body, cls=DjangoJSONEncoder).encode())


def requested_tokens(request: HttpRequest) -> list[str] | HttpResponse:
    """The distinct tokens the request names (``t``, repeated), or its 400 answer."""
    try:
        tokens = list(dict.fromkeys(request.GET.getlist(TOKEN_PARAMETER)))
    except TooManyFieldsSent:  # over DATA_UPLOAD_MAX_NUMBER_FIELDS: too many by far
        return _too_many()
    if not tokens:
        return json_response({"error": gettext(NO_TOKENS_MESSAGE)}, status=400)
    if len(tokens) > MAX_TOKENS:
        return _too_many()
    return tokens


def owned_task_ids(request: HttpRequest, tokens: list[str]) -> dict[str, str]:
    """``{token: task id}`` of the tokens that are genuine, fresh and the requester's.

    Refusals cost one lookup of the session store in all (is it down, or a stranger?), not
    one each: a batch of foreign tokens asks the store no more than a single poll does.
    """
    max_age = conf.TOKEN_MAX_AGE
    owned: dict[str, str] = {}
    refused = False
    for token in tokens:
        signed = read_token(token, max_age)
        if signed is None:
            continue
        if owns(request, signed.owner):
            owned[token] = signed.task_id
        else:
            refused = True
    if refused:
        check_session_store(request)  # raises when the store is down
    return owned


def _answers(
    tokens: list[str],
    owned: dict[str, str],
    stored: dict[str, TaskState | ResultNotReadableError],
) -> dict[str, object]:
    """Each token's answer: its task's object (built once per task), or the refusal."""
    debug = bool(settings.DEBUG)
    lost_after = conf.LOST_AFTER
    tasks = {
        task_id: task_object(task_id, state, debug=debug, lost_after=lost_after)
        for task_id, state in stored.items()
    }
    refusal = {"error": gettext(NOT_FOUND_MESSAGE)}
    return {token: tasks[owned[token]] if token in owned else refusal for token in tokens}


def _too_many() -> HttpResponse:
    message = gettext(TOO_MANY_TOKENS_MESSAGE) % {"limit": MAX_TOKENS}
    return json_response({"error": message}, status=400)
