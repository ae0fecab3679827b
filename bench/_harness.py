"""Shared benchmark plumbing: settings, a real ``celery worker`` process, small statistics.

``setup()`` must run before anything imports Django models or the Celery app.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The benchmarks use these as _harness.*; importable once ROOT is on sys.path.
from tests.helpers import free_port as free_port  # noqa: E402
from tests.helpers import wait_until as wait_until  # noqa: E402

BACKENDS = ("redis", "embedded", "rabbitmq")
VAR = os.environ.get("JOBTASTIC_BENCH_VAR", str(ROOT / "var" / "bench"))
READY_TIMEOUT = 60.0  # seconds a worker gets to answer its first ping


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("JOBTASTIC_BENCH_BACKEND", "redis"),
        help="services to use (env JOBTASTIC_BENCH_BACKEND; default redis)",
    )


def bench_env(backend: str, **extra: str) -> dict[str, str]:
    """The environment of this process and its children (worker, submitters)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "JOBTASTIC_TEST_BACKEND": backend,
        "JOBTASTIC_TEST_VAR": VAR,
        # Everyone opens the same SQLite file (the settings' TEST NAME) on the embedded backend.
        "JOBTASTIC_TEST_WORKER": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def setup(backend: str) -> None:
    """Configure this process for ``backend`` and set up Django (and the SQLite schema)."""
    os.environ.update(bench_env(backend))
    os.environ.pop("JOBTASTIC_TEST_BROKER_URL", None)
    import django

    django.setup()
    import bench.jobs  # noqa: F401 - registers the bench tasks
    import tests.celery_app
    import tests.jobs  # noqa: F401

    if backend == "embedded":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process joining this benchmark."""
    env = dict(os.environ)
    env.update(bench_env(os.environ["JOBTASTIC_TEST_BACKEND"], **extra))
    return env


def purge_queue() -> None:
    """Drop messages a previous, interrupted run left in the bench queue."""
    from django.conf import settings

    from tests.celery_app import app

    if settings.BACKEND == "embedded":
        shutil.rmtree(settings.BROKER_FOLDER / "queue", ignore_errors=True)
        (settings.BROKER_FOLDER / "queue").mkdir(parents=True, exist_ok=True)
        return
    with app.connection_for_write() as connection, suppress(Exception):  # no queue yet
        channel: Any = connection.default_channel
        channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


class Worker:
    """One ``celery worker`` process consuming the bench queue."""

    def __init__(self, pool: str = "solo", concurrency: int = 1) -> None:
        from django.conf import settings

        self.queue = settings.CELERY_TASK_DEFAULT_QUEUE
        self.log = Path(settings.VAR) / "worker.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker"),
            *("--include", "bench.jobs", "-Q", self.queue, "-n", f"bench-{os.getpid()}@%h"),
            *("-P", pool, "-c", str(concurrency), "-l", "WARNING", "-f", str(self.log)),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        self.errors = self.log.with_suffix(".err")
        with self.errors.open("w") as errors:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                command,
                env=child_env(),
                cwd=ROOT,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until the worker ran a ping task."""
        from tests.jobs import ping

        started = time.monotonic()
        result = ping.apply_async(queue=self.queue)
        while not result.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"worker died, see {self.log} and {self.errors}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"worker silent after {timeout:g} s, see {self.log}")
            time.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextmanager
def running_worker(pool: str = "solo", concurrency: int = 1) -> Iterator[Worker]:
    purge_queue()
    worker = Worker(pool, concurrency)
    try:
        ready = worker.wait_ready()
        print(f"worker ready in {ready:.1f} s (pool={pool}, log {worker.log})", flush=True)
        yield worker
    finally:
        worker.stop()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis server of the benchmark's own (no persistence), answering when returned: its
    ``INFO commandstats`` count the benchmark's round trips and nobody else's."""
    import redis

    command = [
        *(shutil.which("redis-server") or "redis-server", "--port", str(port)),
        *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--maxclients", "20000"),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)

    def pings() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_until(pings, what="the benchmark's Redis")
    return server
