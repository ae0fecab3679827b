"""The soak's processes: private Redis servers, RabbitMQ's application, gunicorn, workers,
and the services lock every integration run holds.

Every process is started in a session of its own (a signal to a worker's group reaches
nothing else) and gets SIGTERM if the runner dies (``die_with_parent``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis

from tests.helpers import die_with_parent, wait_until

ROOT = Path(__file__).resolve().parents[2]
LOCK_FILE = Path("/tmp/jobtastic-services.lock")
START_TIMEOUT = 90.0  # seconds a service or worker gets to come up
STOP_TIMEOUT = 90.0  # seconds a graceful stop gets (a warm shutdown finishes its jobs)


def spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def end(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop ``process`` (its whole group: gunicorn's and celery's children too)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


# -- the services lock -------------------------------------------------------------------


def _lock_holders(descriptor: int) -> set[int]:
    """Pids holding a lock on the file open as ``descriptor`` (from /proc/locks)."""
    status = os.fstat(descriptor)
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    holders = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" not in fields and len(fields) >= 6 and fields[5] == device:
                holders.add(int(fields[4]))
    return holders


@contextlib.contextmanager
def services_lock() -> Iterator[str]:
    """Hold /tmp/jobtastic-services.lock, which every integration run of every session holds:
    no one else uses RabbitMQ while the soak restarts it. Run under ``flock`` by a caller
    (``scripts/test.sh`` under ``flock``), the caller's lock is ours: taking it again would
    wait for ever. Yields how it is held."""
    with LOCK_FILE.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            taken = True
        except BlockingIOError:
            taken = False
        if not taken:
            ancestors = {parent.pid for parent in psutil.Process().parents()}
            if _lock_holders(lock.fileno()) & ancestors:
                yield "held by the calling process"
                return
            print(f"soak: waiting for {LOCK_FILE} (another run holds it)", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield "taken"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- Redis -------------------------------------------------------------------------------


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class RedisServer:
    """A ``redis-server`` of the soak's own on ``port``, with its data in ``folder``.

    ``persistent``: an append-only file synced on every write, so a crash loses no queued
    message (a broker that loses them leaves their jobs PENDING for ever).
    """

    def __init__(self, name: str, folder: Path, port: int, persistent: bool) -> None:
        self.name, self.folder, self.port, self.persistent = name, folder, port, persistent
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}"

    def start(self) -> None:
        durability = ["--appendonly", "yes", "--appendfsync", "always"]
        command = [
            *(shutil.which("redis-server") or "redis-server", "--port", str(self.port)),
            *("--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""),
            *(durability if self.persistent else ["--appendonly", "no"]),
        ]
        self.process = spawn(command, self.folder / "redis.log")
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            wait_until(lambda: _pings(client), START_TIMEOUT, f"redis-server {self.name}")
        finally:
            client.close()

    def crash(self) -> None:
        """SIGKILL: what an out-of-memory kill or a lost machine does; nothing is flushed."""
        end(self.process, signal.SIGKILL)

    def stop(self) -> None:
        end(self.process)


# -- RabbitMQ ----------------------------------------------------------------------------


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(
        ["rabbitmqctl", *arguments], check=True, capture_output=True, timeout=START_TIMEOUT
    )


def rabbitmq_start_app() -> None:
    """Start RabbitMQ's application (a no-op when it runs) and wait until it serves."""
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def rabbitmq_delete_queue(queue: str) -> None:
    with contextlib.suppress(subprocess.SubprocessError):
        rabbitmqctl("delete_queue", queue)


# -- gunicorn ----------------------------------------------------------------------------


class WebServer:
    """gunicorn serving the soak's project on ``port`` (gthread workers, as in production)."""

    def __init__(self, folder: Path, port: int, env: dict[str, str]) -> None:
        self.folder, self.port, self.env = folder, port, env
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            *(sys.executable, "-m", "gunicorn", "tests.soak.wsgi:application"),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", "2"),
            *("--worker-class", "gthread", "--threads", "4"),
            *("--access-logfile", str(self.folder / "access.log")),
        ]
        self.process = spawn(command, self.folder / "web.log", self.env)
        wait_until(self._answers, START_TIMEOUT, "gunicorn to answer")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited, see {self.folder / 'web.log'}")
        try:
            with urllib.request.urlopen(f"{self.base}/jobtastic/jobs/", timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to the master: a graceful stop, requests under way are answered."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                end(self.process, signal.SIGKILL)

    def kill(self) -> None:
        end(self.process)


# -- Celery workers ----------------------------------------------------------------------


class Worker:
    """A real ``celery worker`` with a prefork pool, started again after each fault."""

    def __init__(self, name: str, folder: Path, queue: str, env: dict[str, str]) -> None:
        self.name, self.folder, self.queue, self.env = name, folder, queue, env
        self.incarnation = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / f"worker-{name}-0.log"

    def start(self) -> None:
        self.incarnation += 1
        self.log = self.folder / f"worker-{self.name}-{self.incarnation}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "tests.soak.celery_app", "worker"),
            *("-n", f"soak-{self.name}@%h", "-Q", self.queue, "-P", "prefork", "-c", "2"),
            *("-l", "INFO", "-f", str(self.log), "--without-gossip", "--without-mingle"),
        ]
        self.process = spawn(command, self.folder / f"worker-{self.name}.out", self.env)

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited, see {self.log}")
            return self.log.exists() and " ready." in self.log.read_text(errors="replace")

        wait_until(ready, START_TIMEOUT, f"worker {self.name} to be ready")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> set[int]:
        """The pool's processes (they run the jobs)."""
        try:
            return {child.pid for child in psutil.Process(self.pid).children(recursive=True)}
        except psutil.Error:
            return set()

    def kill_group(self) -> None:
        """SIGKILL to the worker's whole process group: nothing records an end."""
        end(self.process, signal.SIGKILL)

    def warm_shutdown(self) -> None:
        """SIGTERM to the main process: it stops taking jobs and finishes those it runs."""
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            end(self.process, signal.SIGKILL)
            raise RuntimeError(f"worker {self.name} ignored SIGTERM, see {self.log}") from None

    def stop(self) -> None:
        end(self.process)
