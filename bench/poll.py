"""One poll: what a status poll costs against the least any poll can cost.

Run: ``.venv/bin/python bench/poll.py [--rounds 15] [--polls 400] [--seconds 3]``. Needs
Redis (the bench's result backend) and the ``bench`` dependency group (gunicorn,
celery-progress); uses ``wrk`` when installed. Prints figures, asserts nothing.

Answer re-use is off (``JOBTASTIC_STATUS_REUSE_SECONDS = 0``), so every poll reads Redis.
A PROGRESS task (the meta a running job writes, with a fresh sign of life) and a SUCCESS
task are written with the backend's ``store_result``; the status URLs are bound to a
visitor's session (cache sessions, as on a production site).

- In-process: Django's WSGI handler called directly with a prepared request (the bench's
  middleware: sessions, common, CSRF, auth), CPU time of this process per poll (the Redis
  client's share included, the Redis server's not), best of ROUNDS alternating rounds of
  POLLS polls. Against (a) a constant ``JsonResponse`` of the same shape and (b) the same
  plus one raw redis-py ``GET`` of the task's key: the floor of a poll, one request and one
  backend round trip.
- Under gunicorn (2 sync workers, one per core; re-use off): requests/s of ours against the
  floor (b) and celery-progress's ``get_progress`` on the same tasks, rounds alternated,
  best round shown (medians too). With ``wrk`` (32 connections) when installed, else
  CLIENTS Python processes polling as fast as they can (they share the 2 cores with the
  server, so every target is slowed alike: compare the ratios).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

SERVER_WORKERS = 2  # sync workers, one per core
CLIENTS = 4  # Python load processes when wrk is missing
CONNECTIONS = 32  # wrk's
FLOOR = "floor (constant JsonResponse)"
FLOOR_GET = "floor + raw GET"


def setup() -> None:
    """The bench's settings with the web front, answer re-use off, Redis results."""
    os.environ["JOBTASTIC_BENCH_STATUS_REUSE"] = "0"
    os.environ.update(_harness.bench_env("redis", DJANGO_SETTINGS_MODULE="bench.web_settings"))
    os.environ.pop("JOBTASTIC_TEST_BROKER_URL", None)
    import django

    django.setup()
    import tests.celery_app  # noqa: F401


def write_tasks() -> tuple[str, str]:
    """A PROGRESS task as a running job writes it (alive now) and a SUCCESS task."""
    from tests.celery_app import app

    progress, success = str(uuid.uuid4()), str(uuid.uuid4())
    heartbeat(progress)
    app.backend.store_result(success, {"rows": 3, "url": "/files/export.csv"}, "SUCCESS")
    return progress, success


def heartbeat(task_id: str) -> None:
    """(Re)write ``task_id``'s PROGRESS meta with a fresh sign of life, as a running job's
    heartbeat does: a poll a minute after the last one would find the job lost."""
    from datetime import UTC, datetime

    from tests.celery_app import app

    now = datetime.now(UTC).isoformat()
    meta = {
        "progress_percent": 25.0,
        "time_remaining": 300.0,
        "completed": 1,
        "total": 4,
        "message": None,
        "started_at": now,
        "updated_at": now,
        "alive_at": now,
    }
    app.backend.store_result(task_id, meta, "PROGRESS")


def session_cookie() -> tuple[str, str]:
    from django.contrib.sessions.backends.cache import SessionStore

    session = SessionStore()
    session.create()
    assert session.session_key is not None
    return session.session_key, f"sessionid={session.session_key}"


def paths(session_key: str, progress: str, success: str) -> dict[str, str]:
    from django_jobtastic.web.tokens import make_token, session_owner

    owner = session_owner(session_key)
    return {
        FLOOR: "/floor/",
        FLOOR_GET: f"/floor-get/{progress}/",
        "jobtastic PROGRESS": f"/jobtastic/status/{make_token(progress, owner)}/",
        "jobtastic SUCCESS": f"/jobtastic/status/{make_token(success, owner)}/",
        "celery-progress PROGRESS": f"/celery-progress/{progress}/",
        "celery-progress SUCCESS": f"/celery-progress/{success}/",
    }


def in_process_poll(path: str, cookie: str) -> Callable[[], bytes]:
    """One GET of ``path`` through Django's WSGI handler, as a WSGI server makes it."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": cookie,
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: {status}")

    def poll() -> bytes:
        response = handler({**base, "wsgi.input": io.BytesIO()}, start_response)
        try:
            return b"".join(response)
        finally:
            response.close()

    return poll


def measure_in_process(
    targets: dict[str, str], cookie: str, rounds: int, polls: int, progress: str
) -> None:
    calls = {name: in_process_poll(path, cookie) for name, path in targets.items()}
    for call in calls.values():
        for _ in range(50):  # warm-up: imports, connections, caches
            call()
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    for number in range(rounds):
        heartbeat(progress)
        order = list(calls.items())
        if number % 2:
            order.reverse()
        for name, call in order:
            started_cpu, started = time.process_time(), time.perf_counter()
            for _ in range(polls):
                call()
            cpu[name].append((time.process_time() - started_cpu) / polls * 1e6)
            wall[name].append((time.perf_counter() - started) / polls * 1e6)
    check_states(calls)
    floor_get = min(cpu[FLOOR_GET])
    print(
        f"\nin-process, {rounds} rounds x {polls} polls, re-use off: µs per poll "
        "(best round; median in brackets)"
    )
    print(f"{'target':28} {'CPU µs':>14} {'wall µs':>14} {'CPU - floor+GET':>16}")
    for name in calls:
        best = min(cpu[name])
        print(
            f"{name:28} {best:6.0f} ({statistics.median(cpu[name]):5.0f}) "
            f"{min(wall[name]):6.0f} ({statistics.median(wall[name]):5.0f}) "
            f"{best - floor_get:+16.0f}"
        )


def check_states(calls: dict[str, Callable[[], bytes]]) -> None:
    """Every status target still answers the state it is named after (a PROGRESS job found
    lost, or a PENDING, would measure another answer)."""
    for name, call in calls.items():
        state = name.rsplit(" ", 1)[-1]
        if state in ("PROGRESS", "SUCCESS"):
            body = json.loads(call())
            found = body.get("task", {}).get("status") or body.get("state")
            if found != state:
                raise RuntimeError(f"{name}: answered {found}")


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS)),
        *("--worker-class", "sync", "--log-level", "warning"),
    ]
    env = _harness.child_env(
        DJANGO_SETTINGS_MODULE="bench.web_settings", JOBTASTIC_BENCH_STATUS_REUSE="0"
    )
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def served_poll(port: int, path: str, cookie: str) -> Callable[[], bytes]:
    """One GET over a new connection (a sync worker closes each), read to the end."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()

    def poll() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(request)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        if not answer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{path}: {answer[:200]!r}")
        return answer.partition(b"\r\n\r\n")[2]

    return poll


def _client(port: int, path: str, cookie: str, until: float, counts: Any, index: int) -> None:
    poll, done = served_poll(port, path, cookie), 0
    while time.monotonic() < until:
        poll()
        done += 1
    counts[index] = done


def python_load(port: int, path: str, cookie: str, seconds: float) -> int:
    """Requests CLIENTS processes made in ``seconds``, each polling as fast as it can."""
    counts = multiprocessing.Array("l", CLIENTS)
    until = time.monotonic() + seconds
    clients = [
        multiprocessing.Process(target=_client, args=(port, path, cookie, until, counts, i))
        for i in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return sum(int(count) for count in counts[:])


def load(port: int, path: str, cookie: str, seconds: float) -> int:
    """Requests served in ``seconds`` of load on ``path``."""
    if shutil.which("wrk"):
        from bench.status_view import Target, wrk

        target = Target(path, f"http://127.0.0.1:{port}", path, "")
        return round(wrk(target, cookie, seconds)["rps"] * seconds)
    return python_load(port, path, cookie, seconds)


def server_cpu(server: subprocess.Popen[bytes]) -> float:
    """CPU seconds the server's worker processes have used (user + system)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_served(
    targets: dict[str, str], cookie: str, rounds: int, seconds: float, progress: str
) -> None:
    port = _harness.free_port()
    server = start_server(port)
    calls = {name: served_poll(port, path, cookie) for name, path in targets.items()}
    rps: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    try:
        _harness.wait_until(lambda: _answers(calls[FLOOR]), what="gunicorn", timeout=30)
        check_states(calls)
        for path in targets.values():
            load(port, path, cookie, 1)  # warm-up
        for number in range(rounds):
            heartbeat(progress)
            order = list(targets.items())
            if number % 2:
                order.reverse()
            for name, path in order:
                used = server_cpu(server)
                served = load(port, path, cookie, seconds)
                rps[name].append(served / seconds)
                cpu[name].append((server_cpu(server) - used) / served * 1e6)
        check_states(calls)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    tool = (
        f"wrk, {CONNECTIONS} connections"
        if shutil.which("wrk")
        else f"{CLIENTS} Python client processes (wrk is not installed)"
    )
    print(
        f"\ngunicorn {SERVER_WORKERS} sync workers, {tool}, re-use off, "
        f"{rounds} x {seconds:g} s per target: req/s and the workers' CPU µs per request "
        "(best round; median in brackets)"
    )
    floor_rps, floor_cpu = max(rps[FLOOR_GET]), min(cpu[FLOOR_GET])
    print(f"{'target':28} {'req/s':>14} {'/ floor+GET':>11} {'CPU µs':>12} {'- floor+GET':>11}")
    for name in targets:
        best, least = max(rps[name]), min(cpu[name])
        print(
            f"{name:28} {best:6.0f} ({statistics.median(rps[name]):5.0f}) "
            f"{best / floor_rps:10.2f}x {least:5.0f} ({statistics.median(cpu[name]):4.0f}) "
            f"{least - floor_cpu:+11.0f}"
        )
    for state in ("PROGRESS", "SUCCESS"):
        ours, peer = f"jobtastic {state}", f"celery-progress {state}"
        print(
            f"{state}: ours/celery-progress req/s {max(rps[ours]) / max(rps[peer]):.2f} "
            f"(median {statistics.median(rps[ours]) / statistics.median(rps[peer]):.2f}), "
            f"CPU per request {min(cpu[ours]) / min(cpu[peer]):.2f}"
        )


def _answers(poll: Callable[[], bytes]) -> bool:
    try:
        poll()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="in-process rounds, alternated")
    parser.add_argument("--polls", type=int, default=400, help="polls per in-process round")
    parser.add_argument("--served-rounds", type=int, default=7, help="gunicorn rounds")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of a gunicorn round")
    parser.add_argument("--no-server", action="store_true", help="in-process figures only")
    options = parser.parse_args()
    setup()
    progress, success = write_tasks()
    key, cookie = session_cookie()
    targets = paths(key, progress, success)
    measure_in_process(targets, cookie, options.rounds, options.polls, progress)
    if not options.no_server:
        measure_served(targets, cookie, options.served_rounds, options.seconds, progress)


if __name__ == "__main__":
    main()
