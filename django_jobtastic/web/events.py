"""``events/?t=<token>&t=<token>…``: a page's jobs as Server-Sent Events, under ASGI.

The tokens are checked as the batch status view checks them. The stream sends an event
``status`` with ``{"token", "task"}`` for each token at once, then whenever its task's
answer changes (the process's follower, ``live_updates.py``, hands on each stored state:
nothing is read per client on Redis), ``{"token", "error"}`` once for a bad, expired or
foreign token, a comment at least every ``KEEP_ALIVE_SECONDS`` (proxies close idle
connections), and ends once every task is ready. A running job gone silent is found lost
at those beats too, as a poll would find it.

Under WSGI a stream would hold a worker thread for as long as it is open: the view answers
501 there, and the template tag offers no stream (the widget polls the batch view).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator
from time import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext, gettext_noop

from django_jobtastic.conf import conf
from django_jobtastic.web.batch_status import DOWN, owned_task_ids, requested_tokens
from django_jobtastic.web.live_updates import Change, Inbox, follower_for, in_thread
from django_jobtastic.web.result_reading import (
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    read_task_states,
)
from django_jobtastic.web.status_answers import (
    NOT_FOUND_MESSAGE,
    READ_METHODS,
    answered_in_memory,
    json_response,
    method_not_allowed,
    task_object,
    unavailable,
)

#: Seconds between two comments on a quiet stream; also how often silent jobs are checked.
KEEP_ALIVE_SECONDS = 15.0
#: How long a browser waits before reconnecting a stream that broke (EventSource's retry).
RECONNECT_MILLISECONDS = 3000
WSGI_MESSAGE = gettext_noop(
    "Live updates need an ASGI server: read status/?t=<token>&t=<token> instead."
)


async def events(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """``events/?t=…``: ``text/event-stream`` of the tokens' tasks (see the module)."""
    if request.method not in READ_METHODS:
        return method_not_allowed()
    if not isinstance(request, ASGIRequest):
        return json_response({"error": gettext(WSGI_MESSAGE)}, status=501)
    tokens = requested_tokens(request)
    if isinstance(tokens, HttpResponse):
        return tokens
    try:
        owned = await in_thread(owned_task_ids)(request, tokens)
        first = await in_thread(read_task_states)(list(dict.fromkeys(owned.values())))
    except DOWN as error:
        return unavailable(error)
    stream = _Stream(tokens, owned, translation.get_language(), bool(settings.DEBUG))
    response = StreamingHttpResponse(stream.events(first), content_type="text/event-stream")
    response["Cache-Control"] = "private, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    patch_vary_headers(response, ("Cookie",))
    return response


# Exempt from CSRF, as the other read-only views (a POST gets this view's JSON 405): set by
# hand, since Django 4.2's csrf_exempt wraps a coroutine function into a plain one.
events.csrf_exempt = True  # type: ignore[attr-defined]


class _Stream:
    """One client's stream: its tokens, the answers it was sent, the tasks still running."""

    def __init__(self, tokens: list[str], owned: dict[str, str], language: str, debug: bool):
        self.tokens = tokens
        self.owned = owned
        self.language = language
        self.debug = debug
        self.tokens_of: dict[str, list[str]] = {}
        for token, task_id in owned.items():
            self.tokens_of.setdefault(task_id, []).append(token)
        # Each token's event up to its task object, made once: 1,000 streams, 1,000 events.
        self.heads = {
            token: f'event: status\ndata: {{"token": {json.dumps(token)}, "task": '.encode()
            for token in owned
        }
        self.sent: dict[str, bytes] = {}  # task id -> the task object last sent, as JSON
        self.latest: dict[str, TaskState | ResultNotReadableError] = {}
        self.ended: set[str] = set()  # task ids whose last answer was ready

    async def events(
        self, first: dict[str, TaskState | ResultNotReadableError]
    ) -> AsyncIterator[bytes]:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
        refusal = {"error": self._in_language(gettext, NOT_FOUND_MESSAGE)}
        for token in self.tokens:
            if token not in self.owned:
                yield _event({"token": token, **refusal})
        running: set[str] = set()
        for task_id, state in first.items():
            for chunk in await self._answer(task_id, Change(state)):
                yield chunk
            if not self._ready(task_id):
                running.add(task_id)
        if not running:
            return
        inbox: Inbox = asyncio.Queue()
        follower = follower_for(current_app.backend)
        followed = set(running)
        await follower.follow(followed, inbox)
        try:
            # States stored between the first read and following are read once more.
            again = await in_thread(read_task_states)(sorted(running))
            for task_id, state in again.items():
                for chunk in await self._answer(task_id, Change(state)):
                    yield chunk
            running = {task_id for task_id in running if not self._ready(task_id)}
            heard = set(running)  # tasks with news since the last beat
            _beat_for().join(inbox)
            while running:
                task_id, news = await inbox.get()
                if news is not None:
                    if task_id in running:
                        heard.add(task_id)
                        for chunk in await self._answer(task_id, news):
                            yield chunk
                elif (task_id, news) == BEAT:
                    yield b": keep-alive\n\n"
                    for silent in sorted(running - heard):  # lost, or its estimate aged
                        for chunk in await self._answer(silent, Change(self.latest[silent])):
                            yield chunk
                    heard = set()
                else:  # CONTACT_LOST: the follower lost its source
                    return  # the client polls instead
                running = {task_id for task_id in running if not self._ready(task_id)}
        except ResultBackendUnavailableError:
            return  # the client polls instead, and is told 503 while it lasts
        finally:
            _beat_for().leave(inbox)
            await follower.unfollow(followed, inbox)

    async def _answer(self, task_id: str, change: Change) -> list[bytes]:
        """The events for ``task_id``'s new state: one per token, none if nothing changed."""
        self.latest[task_id] = change.state
        ready, encoded = await _shared_answer(task_id, change, self.language, self.debug)
        if self.sent.get(task_id) == encoded:
            return []
        self.sent[task_id] = encoded
        if ready:
            self.ended.add(task_id)
        return [self.heads[token] + encoded + b"}\n\n" for token in self.tokens_of[task_id]]

    def _ready(self, task_id: str) -> bool:
        return task_id in self.ended

    def _in_language(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        with translation.override(self.language):
            return function(*args, **kwargs)


async def _shared_answer(
    task_id: str, change: Change, language: str, debug: bool
) -> tuple[bool, bytes]:
    """Whether ``change`` is ready, and its task object as JSON: worked out once per
    language and DEBUG for all the streams that were handed ``change`` (one encoding per
    change, not per viewer), in a thread only when answering it reads a store."""
    key = ("answer", language, debug)
    answer = change.shared.get(key)
    if answer is not None and answer.done():
        return answer.result()  # type: ignore[no-any-return]
    if answer is None:
        now, lost_after = time(), conf.LOST_AFTER
        if answered_in_memory(task_id, change.state, now, lost_after):  # most changes
            answer = asyncio.get_running_loop().create_future()
            answer.set_result(_encoded(task_id, change.state, language, debug, now, lost_after))
        else:  # a database query or a backend write: not in the event loop
            answer = asyncio.ensure_future(
                in_thread(_encoded)(task_id, change.state, language, debug, now, lost_after)
            )
            answer.add_done_callback(_retrieved)  # a stream may be gone by the time it fails
        change.shared[key] = answer
    # Shielded: a stream that closes while waiting must not cancel the others' answer.
    return await asyncio.shield(answer)


def _encoded(
    task_id: str,
    state: TaskState | ResultNotReadableError,
    language: str,
    debug: bool,
    now: float,
    lost_after: float,
) -> tuple[bool, bytes]:
    with translation.override(language):
        task = task_object(task_id, state, debug=debug, lost_after=lost_after, now=now)
    return bool(task.get("ready")), json.dumps(task, cls=DjangoJSONEncoder).encode()


def _retrieved(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()


def _event(data: dict[str, Any]) -> bytes:
    return f"event: status\ndata: {json.dumps(data, cls=DjangoJSONEncoder)}\n\n".encode()


#: What the beat puts in every inbox (``live_updates.CONTACT_LOST`` is the other signal).
BEAT = ("beat", None)


class _Beat:
    """One timer per process (and event loop) for the keep-alives of every open stream:
    cheaper than a timeout on each stream's every wait, which 1,000 streams pay per event."""

    def __init__(self) -> None:
        self._inboxes: set[Inbox] = set()
        self._timer: asyncio.Task[None] | None = None

    def join(self, inbox: Inbox) -> None:
        self._inboxes.add(inbox)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.ensure_future(self._beat())

    def leave(self, inbox: Inbox) -> None:
        self._inboxes.discard(inbox)
        if not self._inboxes and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _beat(self) -> None:
        while self._inboxes:
            await asyncio.sleep(KEEP_ALIVE_SECONDS)
            for inbox in list(self._inboxes):
                inbox.put_nowait(BEAT)


_beats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Beat] = weakref.WeakKeyDictionary()


def _beat_for() -> _Beat:
    loop = asyncio.get_running_loop()
    beat = _beats.get(loop)
    if beat is None:
        beat = _beats[loop] = _Beat()
    return beat
