from __future__ import annotations

import uuid

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
