from __future__ import annotations

import ctypes
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from django_jobtastic import views
from django_jobtastic.reading import TaskState
from django_jobtastic.recent import answers
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


def free_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield int(listener.getsockname()[1])
    listener.close()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def wait_until(condition: Callable[[], object], timeout: float = 30, what: str = "") -> object:
    """Poll ``condition`` until it is truthy; the tests wait on state, never on a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def die_with_parent() -> None:
    """In the child: get SIGTERM when the test run dies, so no worker outlives it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
