"""Reading tasks' states from the result backend, telling "down" from "unreadable".

The status view must answer 503 while the backend is unreachable (the widget retries) and
must never answer 500 because of what a task stored: a result this process cannot decode
(another serializer, a forged exception type) reads as a failure, so polling stops.

A poll must not hang on a backend that accepts connections and never answers: statuses are
read through ``django_jobtastic.bounded_backends``, whose Redis client gives up every socket
operation after ``READ_TIMEOUT`` (Celery's ``redis_socket_timeout`` is 120 s, for the
workers' writes too); other backends are bounded by their own clients' timeouts (the
database's for django-db). No thread per poll.

Many tasks are read in one round trip where the backend can: one ``MGET`` on Redis (any
key-value backend with ``mget``), one query on django-celery-results' ``django-db``; one
read per task elsewhere. Each is decoded as the backend decodes one task, so a task reads
the same alone or among others, and one undecodable task spoils only its own answer.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery import current_app, states
from celery.backends.base import BaseKeyValueStoreBackend, DisabledBackend
from celery.exceptions import BackendError, SecurityError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import KombuError
from kombu.exceptions import OperationalError as KombuOperationalError

from django_jobtastic.bounded_backends import bounded

logger = logging.getLogger(__name__)

try:  # redis-py's errors are not OSErrors
    from celery.backends.redis import RedisBackend
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
    _REDIS_BACKENDS_FOLLOWED: tuple[type[Any], ...] = (RedisBackend,)
except ImportError:  # pragma: no cover - redis is optional
    _REDIS_DOWN = ()
    _REDIS_BACKENDS_FOLLOWED = ()

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


_KEY_VALUE_READER = getattr(BaseKeyValueStoreBackend, "_get_task_meta_for", None)
#: django-celery-results' backend, loaded by Celery when configured (its module imports
#: models, so it is looked up, never imported here).
_DATABASE_MODULE = "django_celery_results.backends.database"
#: What a task's meta is read with: the backend's reader for one task, or the reader of
#: what one round trip fetched for many.
Reader = Callable[[str], Any]


def read_task_state(task_id: str) -> TaskState:
    """The stored state of ``task_id`` (PENDING when the backend knows nothing of it).

    Raises ``ResultBackendUnavailableError`` or ``ResultNotReadableError``.
    """
    return _decoded(_one_by_one(_status_backend()), task_id)


def read_task_states(task_ids: Sequence[str]) -> dict[str, TaskState | ResultNotReadableError]:
    """The stored state of each of ``task_ids`` (distinct), read in one round trip where the
    backend can; a task whose state cannot be decoded has its ``ResultNotReadableError``.

    Raises ``ResultBackendUnavailableError``: one task's outage is every task's.
    """
    backend = _status_backend()
    if not task_ids:
        return {}
    try:
        read = _all_at_once(backend, task_ids)
    except BACKEND_DOWN as error:
        raise ResultBackendUnavailableError(f"{type(error).__name__}: {error}") from error
    except UNREADABLE:  # an id the round trip cannot carry (empty, NUL): each read alone,
        read = _one_by_one(backend)  # so it fails as it would alone, the others answered
    found: dict[str, TaskState | ResultNotReadableError] = {}
    for task_id in task_ids:
        try:
            found[task_id] = _decoded(read, task_id)
        except ResultNotReadableError as error:
            found[task_id] = error
    return found


def _status_backend() -> Any:
    backend = current_app.backend
    if isinstance(backend, DisabledBackend):  # no result backend configured: check E002
        raise ResultBackendUnavailableError("no Celery result backend is configured")
    return bounded(backend, READ_TIMEOUT)


def _one_by_one(backend: Any) -> Reader:
    # Every backend's own reader, without get_task_meta's wrapper: that one re-reads Celery
    # settings twice per call (a third of a poll's cost) and would retry a backend that is
    # down, where a poll must fail fast (the widget retries, honouring Retry-After).
    read: Reader = getattr(backend, "_get_task_meta_for", None) or backend.get_task_meta
    return read


def _all_at_once(backend: Any, task_ids: Sequence[str]) -> Reader:
    """A reader of ``task_ids``' metas, after the one round trip that fetches them all."""
    # Only where the backend's reader of one task is the one these decode as (a subclass
    # reading otherwise is read one task at a time, as it reads).
    kind: Any = type(backend)
    if isinstance(backend, BaseKeyValueStoreBackend) and (
        kind.mget is not BaseKeyValueStoreBackend.mget
        and kind._get_task_meta_for is _KEY_VALUE_READER
    ):
        return _fetched_values(backend, task_ids)
    database = getattr(sys.modules.get(_DATABASE_MODULE), "DatabaseBackend", None)
    if (
        database is not None
        and isinstance(backend, database)
        and kind._get_task_meta_for is database._get_task_meta_for
    ):
        return _fetched_rows(backend, task_ids)
    return _one_by_one(backend)


def _fetched_values(backend: Any, task_ids: Sequence[str]) -> Reader:
    """One ``mget``; each value then decoded as Celery's ``_get_task_meta_for`` does."""
    keys = {task_id: backend.get_key_for_task(task_id) for task_id in task_ids}
    values = backend.mget(list(keys.values()))
    if isinstance(values, Mapping):  # some clients answer {key: value}
        fetched = {task_id: values.get(key) for task_id, key in keys.items()}
    else:
        fetched = dict(zip(keys, values, strict=True))

    def read(task_id: str) -> Any:
        value = fetched[task_id]
        if not value:
            return {"status": states.PENDING, "result": None}
        return backend.decode_result(value)

    return read


def _fetched_rows(backend: Any, task_ids: Sequence[str]) -> Reader:
    """One query; each row then decoded by django-celery-results' own ``_get_task_meta_for``,
    which is given the rows fetched instead of its manager (it reads one row by id)."""
    manager = backend.TaskModel._default_manager
    rows = {row.task_id: row for row in manager.filter(task_id__in=task_ids)}
    decoder = _FetchedRows(backend, rows)
    decode = type(backend)._get_task_meta_for
    return lambda task_id: decode(decoder, task_id)


class _FetchedRows:
    """The backend, with a ``TaskModel._default_manager.get_task`` that answers from rows
    already fetched (an unsaved PENDING row for a task without one, as ``get_task`` does)."""

    def __init__(self, backend: Any, rows: dict[str, Any]) -> None:
        self._backend = backend
        self._rows = rows
        self.TaskModel = self  # TaskModel._default_manager.get_task(task_id)
        self._default_manager = self

    def get_task(self, task_id: str) -> Any:
        row = self._rows.get(task_id)
        return row if row is not None else self._backend.TaskModel(task_id=task_id)

    def __getattr__(self, name: str) -> Any:  # decode_content, meta_from_decoded, ...
        return getattr(self._backend, name)


def _decoded(read: Reader, task_id: str) -> TaskState:
    """``task_id``'s state as ``read`` gives it, its errors sorted into down or unreadable."""
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


def published_state(backend: Any, value: bytes | str) -> TaskState | ResultNotReadableError:
    """A state the Redis result backend published (the value it stored), decoded as a read
    of that task is: followers of a job's channel need no read of their own."""
    try:
        return _decoded(lambda _: backend.decode_result(value), "")
    except ResultNotReadableError as error:
        return error


def followed_channels(backend: Any) -> tuple[str, str] | None:
    """``(channel prefix, connection URL)`` when ``backend`` publishes each state it stores
    (Celery's Redis backend: on the task's key), else None: followers then read instead."""
    url = getattr(backend, "url", None)
    if not isinstance(backend, _REDIS_BACKENDS_FOLLOWED) or not isinstance(url, str):
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):  # Sentinel: read instead
        return None
    prefix = backend.task_keyprefix
    return prefix.decode() if isinstance(prefix, bytes) else str(prefix), url
