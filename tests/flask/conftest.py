"""Fixtures of the Django-free tests: a real worker process on the Celery app of
``tests.flask.celery_app``, and the proof that neither process ever configures Django."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports the app: no Django settings anywhere, and a queue of this run's own.
os.environ.pop("DJANGO_SETTINGS_MODULE", None)
os.environ["JOBTASTIC_FLASK_TEST_QUEUE"] = f"jobtastic-flask-tests-{uuid.uuid4().hex}"

from tests.flask.celery_app import QUEUE, app
from tests.helpers import die_with_parent
from tests.soak.services import services_lock

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("JOBTASTIC_TEST_VAR", "/tmp/jobtastic-flask-tests"))
WORKER_READY_TIMEOUT = 60  # seconds


@pytest.fixture(scope="session", autouse=True)
def django_never_configured() -> Iterator[None]:
    """Every test here runs in a process where Django settings are never configured."""
    from django.conf import settings

    assert not settings.configured
    yield
    assert not settings.configured, "a test of the Django-free suite configured Django"


class Worker:
    """One ``celery worker`` process on the Django-free app (solo pool)."""

    def __init__(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self.log = VAR / f"flask-worker-{QUEUE}.log"
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        env["PYTHONPATH"] = str(ROOT)
        command = [
            *(sys.executable, "-m", "celery", "-A", "tests.flask.celery_app", "worker"),
            *("-n", f"flask-{QUEUE}@%h", "-Q", QUEUE, "-P", "solo", "-l", "INFO"),
            *("-f", str(self.log), "--without-gossip", "--without-mingle"),
        ]
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, start_new_session=True, preexec_fn=die_with_parent
        )

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=15)


@pytest.fixture(scope="session")
def services_to_ourselves() -> Iterator[None]:
    """The machine's services lock, once for the whole run (as the integration tests hold it;
    taking it twice in one process would wait for ever)."""
    with services_lock():
        yield


@pytest.fixture(scope="session")
def worker(services_to_ourselves: None) -> Iterator[Worker]:
    """The session's worker; it answers whether it configured Django before any test runs."""
    from tests.flask.jobs import django_configured

    started = Worker()
    try:
        answer = django_configured.apply_async()
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while not answer.ready():
            if started.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready, see {started.log}")
            time.sleep(0.05)
        assert answer.get() is False, "the worker configured Django"
        yield started
    finally:
        started.stop()
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(QUEUE)
