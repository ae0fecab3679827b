from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from tests.celery_app import app


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
