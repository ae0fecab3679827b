"""The integration tests' plumbing: worker processes, submitters, queues, cache entries.

A real ``celery worker`` process runs against the services JOBTASTIC_TEST_BACKEND names;
fixtures built on these are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from tests import probe
from tests.celery_app import app
from tests.helpers import die_with_parent, wait_until

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60  # seconds
SUBMITTER_TIMEOUT = 120  # seconds a submitting or reading process gets


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


def wait_until_held(result: Any) -> None:
    """Wait until a ``hold=True`` job has written step 1 and waits for its release.

    Only then is the job quiet: killing or revoking it earlier races its own progress
    writes, which could land after the REVOKED or FAILURE state.
    """
    wait_until(
        lambda: result.state == "PROGRESS" and result.info.get("completed") == 1,
        what="the job to hold at step 1",
    )


class Worker:
    """One ``celery worker`` process (solo pool unless told otherwise)."""

    def __init__(
        self, name: str, queues: str, extra: list[str], env: dict[str, str] | None = None
    ) -> None:
        self.log = Path(settings.VAR) / f"worker-{name}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker"),
            *("-n", f"{name}@%h", "-Q", queues, "-l", "INFO", "-f", str(self.log)),
            *("--without-gossip", "--without-mingle", *extra),
        ]
        self.process = subprocess.Popen(
            command,
            env=child_env(**(env or {})),
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


def delete_queue(queue: str) -> None:
    if settings.BACKEND != "embedded":
        with app.connection_for_write() as connection, contextlib.suppress(Exception):
            connection.default_channel.queue_delete(queue)


def run_submitter(
    task: str,
    method: str,
    kwargs: dict[str, object],
    *,
    threads: int = 1,
    go: str | None = None,
    broker_url: str | None = None,
    result_backend: str | None = None,
    grant: bool = False,
) -> subprocess.Popen[str]:
    """Start ``tests.integration.submit`` in a new process; ``collect`` its report."""
    command = [sys.executable, "-m", "tests.integration.submit", task, method]
    command += [json.dumps(kwargs), "--threads", str(threads)]
    if go:
        command += ["--go", go]
    if grant:
        command.append("--grant")
    overrides = {
        "JOBTASTIC_TEST_BROKER_URL": broker_url,
        "JOBTASTIC_TEST_RESULT_BACKEND": result_backend,
    }
    env = child_env(**{name: value for name, value in overrides.items() if value})
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def collect(process: subprocess.Popen[str]) -> dict[str, list[Any]]:
    """A submitter's report: ``outcomes`` (id, state, seconds), ``published``, ``warnings``."""
    stdout, stderr = process.communicate(timeout=SUBMITTER_TIMEOUT)
    assert process.returncode == 0, stderr
    report: dict[str, list[Any]] = json.loads(stdout.strip().splitlines()[-1])
    return report


def submit_elsewhere(task: str, method: str, kwargs: dict[str, object], **options: Any) -> Any:
    """One call from another process (see ``run_submitter``); its report."""
    return collect(run_submitter(task, method, kwargs, **options))


def read_elsewhere(path: str, session: str, **env: str) -> dict[str, Any]:
    """Read ``path`` from another web process whose settings ``env`` overrides."""
    command = [sys.executable, "-m", "tests.integration.read_status", path, "--session", session]
    process = subprocess.run(
        command,
        env=child_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SUBMITTER_TIMEOUT,
    )
    assert process.returncode == 0, process.stderr
    answer: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return answer


def entries_of(task_class: type, **kwargs: object) -> Any:
    """The herd and result entries of ``task_class`` called with ``kwargs``."""
    from django_jobtastic.task.registration import registered_instance

    task = registered_instance(task_class)
    return task._entries(task._digest((), kwargs))


def herd_entry(task_class: type, **kwargs: object) -> object:
    """What the cache holds as the herd entry of ``task_class`` called with ``kwargs``."""
    entries = entries_of(task_class, **kwargs)
    return entries.cache.get(entries.herd_key)


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


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False
