from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client

from django_jobtastic.web import batch_status, views
from django_jobtastic.web.answer_reuse import answers
from django_jobtastic.web.result_reading import TaskState
from tests.celery_app import app

#: The Django-free tests run as their own pytest run, where Django is never configured
#: (scripts/test.sh): ``pytest tests/flask -p no:django --confcutdir tests/flask``.
collect_ignore = ["flask"]


@pytest.fixture(autouse=True)
def no_status_answers_held() -> Iterator[None]:
    """Each test starts with no status answer held from another test (same process)."""
    answers.clear()
    yield
    answers.clear()


@pytest.fixture
def backend_reads(monkeypatch) -> list[str]:
    """The task ids the status view read from the result backend, in order."""
    seen: list[str] = []
    real = views.read_task_state

    def counted(task_id: str) -> TaskState:
        seen.append(task_id)
        return real(task_id)

    monkeypatch.setattr(views, "read_task_state", counted)
    return seen


@pytest.fixture
def backend_batches(monkeypatch) -> list[list[str]]:
    """The task ids of each read of the result backend the batch status view made, in order."""
    seen: list[list[str]] = []
    real = batch_status.read_task_states

    def counted(task_ids: list[str]) -> dict[str, object]:
        seen.append(list(task_ids))
        return real(task_ids)

    monkeypatch.setattr(batch_status, "read_task_states", counted)
    return seen


@pytest.fixture
def eager():
    """Run jobs in this process (Celery's eager mode), results still stored for real."""
    app.conf.task_always_eager = True
    app.conf.task_store_eager_result = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = False
        app.conf.task_store_eager_result = False


@pytest.fixture
def marker() -> str:
    """A value no other test uses, so counters and cache entries never collide."""
    return uuid.uuid4().hex


@pytest.fixture
def task_id() -> str:
    """A task id no job has: for a state a test stores itself, or one never stored."""
    return str(uuid.uuid4())


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.fixture
def silent_session_visitor(settings, silent_port) -> Client:
    """A visitor whose session cookie names a session in a cache that accepts connections and
    never answers."""
    settings.CACHES = {
        **settings.CACHES,
        "silent": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{silent_port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "silent"
    visitor = Client()
    visitor.cookies[settings.SESSION_COOKIE_NAME] = "k" * 32
    return visitor


@pytest.fixture
def publishes() -> Iterator[list[str]]:
    """Ids of the messages this process publishes (Celery's own signal, not our code)."""
    from celery.signals import before_task_publish

    seen: list[str] = []

    def record(headers: dict[str, object] | None = None, **_: object) -> None:
        seen.append(str((headers or {}).get("id")))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)
