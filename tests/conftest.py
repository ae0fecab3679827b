from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from django_jobtastic.web import views
from django_jobtastic.web.answer_reuse import answers
from django_jobtastic.web.result_reading import TaskState
from tests.celery_app import app


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
def publishes() -> Iterator[list[str]]:
    """Ids of the messages this process publishes (Celery's own signal, not our code)."""
    from celery.signals import before_task_publish

    seen: list[str] = []

    def record(headers: dict[str, object] | None = None, **_: object) -> None:
        seen.append(str((headers or {}).get("id")))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)
