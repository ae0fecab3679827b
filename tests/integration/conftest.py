"""A real ``celery worker`` process against the services JOBTASTIC_TEST_BACKEND names."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests import probe
from tests.celery_app import app
from tests.helpers import die_with_parent, wait_until

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60  # seconds


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a process that joins this test run (worker or submitter)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        JOBTASTIC_TEST_BACKEND=settings.BACKEND,
        JOBTASTIC_TEST_WORKER="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def wait_until_held(result: object) -> None:
    """Wait until a ``hold=True`` job has written step 1 and waits for its release.

    Only then is the job quiet: killing or revoking it earlier races its own progress
    writes, which could land after the REVOKED or FAILURE state.
    """
    wait_until(
        lambda: result.state == "PROGRESS" and result.info.get("completed") == 1,  # type: ignore[attr-defined]
        what="the job to hold at step 1",
    )


class Worker:
    """One ``celery worker`` process (solo pool unless told otherwise)."""

    def __init__(self, name: str, queues: str, extra: list[str]) -> None:
        self.log = Path(settings.VAR) / f"worker-{name}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery_app",
            "worker",
            "-n",
            f"{name}@%h",
            "-Q",
            queues,
            "-l",
            "INFO",
            "-f",
            str(self.log),
            "--without-gossip",
            "--without-mingle",
            *extra,
        ]
        self.process = subprocess.Popen(
            command,
            env=child_env(),
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the main process only: it stops its pool children)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for_worker(worker: Worker, queue: str) -> None:
    from tests.jobs import ping

    result = ping.apply_async(queue=queue)  # answered only once the worker consumes `queue`
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while not result.ready():
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker died, see {worker.log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready after {WORKER_READY_TIMEOUT} s, see {worker.log}")
        time.sleep(0.05)


def purge_queues() -> None:
    if settings.BACKEND == "embedded":
        shutil.rmtree(settings.BROKER_FOLDER / "queue", ignore_errors=True)
        (settings.BROKER_FOLDER / "queue").mkdir(parents=True, exist_ok=True)
        return
    with app.connection_for_write() as connection, contextlib.suppress(Exception):
        connection.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)  # if any


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
    if settings.BACKEND != "embedded":
        with app.connection_for_write() as connection, contextlib.suppress(Exception):
            connection.default_channel.queue_delete(queue)


@pytest.fixture
def start_worker() -> Iterator[Callable[..., Worker]]:
    """Start extra workers (solo pool) for one test; stopped at its end."""
    started: list[Worker] = []

    def start(name: str, queue: str) -> Worker:
        extra = Worker(name, queue, ["-P", "solo"])
        started.append(extra)
        wait_for_worker(extra, queue)
        return extra

    yield start
    for extra in started:
        extra.kill()  # a solo worker with nothing left to do: no need to wait for it


def run_submitter(
    task: str,
    method: str,
    kwargs: dict[str, object],
    *,
    threads: int = 1,
    go: str | None = None,
    broker_url: str | None = None,
    result_backend: str | None = None,
    background: bool = False,
) -> subprocess.Popen[str] | list[dict[str, object]]:
    """Run ``tests.integration.submit`` in a new process; its outcomes, or the process."""
    import json

    command = [
        sys.executable,
        "-m",
        "tests.integration.submit",
        task,
        method,
        json.dumps(kwargs),
        "--threads",
        str(threads),
    ]
    if go:
        command += ["--go", go]
    overrides = {
        "JOBTASTIC_TEST_BROKER_URL": broker_url,
        "JOBTASTIC_TEST_RESULT_BACKEND": result_backend,
    }
    env = child_env(**{name: value for name, value in overrides.items() if value})
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if background:
        return process
    return collect(process)


def collect(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    import json

    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def entries_of(task_class: type, **kwargs: object):
    """The herd and result entries of ``task_class`` called with ``kwargs``."""
    from django_jobtastic.task.registration import registered_instance

    task = registered_instance(task_class)
    return task._entries(task._digest((), kwargs))


def herd_entry(task_class: type, **kwargs: object) -> object:
    """What the cache holds as the herd entry of ``task_class`` called with ``kwargs``."""
    entries = entries_of(task_class, **kwargs)
    return entries.cache.get(entries.herd_key)


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


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis server of the test's own on ``port``, so stopping it is safe; up when returned."""
    command = [
        *(shutil.which("redis-server") or "redis-server", "--port", str(port)),
        *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    client = probe.client().from_url(f"redis://127.0.0.1:{port}/0")
    try:
        wait_until(lambda: _pings(client), what="the Redis server")
    except BaseException:
        server.kill()  # never up: the caller has no handle to stop it with
        server.wait(timeout=10)
        raise
    return server


def _pings(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False
