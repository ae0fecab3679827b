"""Fixtures of the integration tests; the plumbing is in ``tests.integration.harness``."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from tests import probe
from tests.integration.harness import (
    Worker,
    delete_queue,
    purge_queues,
    start_redis,
    stop,
    wait_for_worker,
)
from tests.soak.services import services_lock


@pytest.fixture(scope="session", autouse=True)
def services_to_ourselves() -> Iterator[None]:
    """The machine's services lock, for the whole run: two runs at once would share the probe
    database (flushed as a run starts), the result databases and the queue names, and the
    soak restarts RabbitMQ. A run started under ``flock`` on the lock file keeps its caller's;
    a run on services of its own (``settings.PRIVATE_SERVICES``) takes none."""
    if settings.PRIVATE_SERVICES:
        yield
        return
    with services_lock():
        yield


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    """The session's worker, consuming the default test queue with 3 prefork children."""
    probe.client().flushdb()
    purge_queues()
    started = Worker("main", settings.CELERY_TASK_DEFAULT_QUEUE, ["-P", "prefork", "-c", "3"])
    try:
        with django_db_blocker.unblock():
            wait_for_worker(started, settings.CELERY_TASK_DEFAULT_QUEUE)
        yield started
    finally:
        started.stop()


@pytest.fixture
def private_queue() -> Iterator[str]:
    """A queue of this test's own: no message left by an earlier run can block its worker."""
    queue = f"jobtastic-tests-{uuid.uuid4().hex}"
    yield queue
    delete_queue(queue)


@pytest.fixture
def start_worker() -> Iterator[Callable[..., Worker]]:
    """Start extra workers (solo pool) for one test; stopped at its end."""
    started: list[Worker] = []

    def start(name: str, queue: str, **env: str) -> Worker:
        extra = Worker(name, queue, ["-P", "solo"], env)
        started.append(extra)
        wait_for_worker(extra, queue)
        return extra

    yield start
    for extra in started:
        extra.kill()  # a solo worker with nothing left to do: no need to wait for it


@pytest.fixture
def volatile_cache() -> Iterator[subprocess.Popen[bytes]]:
    """A Redis server of our own for the 'volatile' cache alias, so stopping it is safe."""
    server = start_redis(settings.VOLATILE_CACHE_PORT)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def go_key(marker: str) -> str:
    """The probe key submitters started with ``go=`` wait on (see tests.integration.submit)."""
    return f"go:{marker}"
