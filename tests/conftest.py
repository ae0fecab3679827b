from __future__ import annotations

import pytest

from tests.celery_app import app


@pytest.fixture
def celery_app():
    return app


@pytest.fixture
def eager(settings):
    """Run jobs in this process (Celery's eager mode), results still stored for real."""
    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = False
