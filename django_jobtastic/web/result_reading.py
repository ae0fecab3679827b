"""Reading one task's state from the result backend, telling "down" from "unreadable".

The status view must answer 503 while the backend is unreachable (the widget retries) and
must never answer 500 because of what a task stored: a result this process cannot decode
(another serializer, a forged exception type) reads as a failure, so polling stops.

A poll must not hang on a backend that accepts connections and never answers: statuses are
read through ``django_jobtastic.bounded_backends``, whose Redis client gives up every socket
operation after ``READ_TIMEOUT`` (Celery's ``redis_socket_timeout`` is 120 s, for the
workers' writes too); other backends are bounded by their own clients' timeouts (the
database's for django-db). No thread per poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from celery import current_app, states
from celery.backends.base import DisabledBackend
from celery.exceptions import BackendError, SecurityError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import KombuError
from kombu.exceptions import OperationalError as KombuOperationalError

from django_jobtastic.bounded_backends import bounded

logger = logging.getLogger(__name__)

try:  # redis-py's errors are not OSErrors
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # pragma: no cover - redis is optional
    _REDIS_DOWN = ()

#: Seconds each socket operation of a status read may wait on the Redis result backend (to
#: connect, then for the answer) before the poll is answered 503: a silent server costs a
#: poll about this long. A shorter ``redis_socket_timeout`` or connect timeout is kept.
READ_TIMEOUT = 2.0

#: Errors meaning "the result backend cannot be reached now; ask again later".
BACKEND_DOWN: tuple[type[Exception], ...] = (
    OSError,  # ConnectionError, TimeoutError, socket errors
    KombuOperationalError,
    BackendError,  # BackendGetMetaError once Celery's own retries gave up
    DatabaseOperationalError,
    DatabaseInterfaceError,
    *_REDIS_DOWN,
)
#: Errors meaning "what is stored cannot be turned back into Python here": bad data, or a
#: serializer this process does not accept (ContentDisallowed) or lacks. Checked after
#: BACKEND_DOWN, which holds kombu's OperationalError, another KombuError.
UNREADABLE = (KombuError, SecurityError, ValueError, TypeError, LookupError)


class ResultBackendUnavailableError(Exception):
    """The result backend did not answer; the status is unknown for now."""


class ResultNotReadableError(Exception):
    """The stored state exists but cannot be decoded by this process."""


@dataclass(frozen=True)
class TaskState:
    """What the backend holds for one task: Celery's state, result or meta, traceback."""

    state: str
    info: Any
    traceback: str | None


def read_task_state(task_id: str) -> TaskState:
    """The stored state of ``task_id`` (PENDING when the backend knows nothing of it)."""
    backend = current_app.backend
    if isinstance(backend, DisabledBackend):  # no result backend configured: check E002
        raise ResultBackendUnavailableError("no Celery result backend is configured")
    # Every backend's own reader, without get_task_meta's wrapper: that one re-reads Celery
    # settings twice per call (a third of a poll's cost) and would retry a backend that is
    # down, where a poll must fail fast (the widget retries, honouring Retry-After).
    backend = bounded(backend, READ_TIMEOUT)
    read = getattr(backend, "_get_task_meta_for", None) or backend.get_task_meta
    try:
        meta = read(task_id)
    except BACKEND_DOWN as error:
        raise ResultBackendUnavailableError(f"{type(error).__name__}: {error}") from error
    except UNREADABLE as error:
        raise ResultNotReadableError(f"{type(error).__name__}: {error}") from error
    if not isinstance(meta, dict):  # a backend returning something else: unreadable too
        raise ResultNotReadableError(f"the backend returned {type(meta).__name__}")
    state = meta.get("status") or states.PENDING
    traceback = meta.get("traceback")
    return TaskState(
        state=str(state),
        info=meta.get("result"),
        traceback=traceback if isinstance(traceback, str) else None,
    )
