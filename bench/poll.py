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
import http.client
import io
import multiprocessing
import os
import shutil
import signal
import statistics
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
    progress, success = str(uuid.uuid4()), str(uuid.uuid4())
    app.backend.store_result(progress, meta, "PROGRESS")
    app.backend.store_result(success, {"rows": 3, "url": "/files/export.csv"}, "SUCCESS")
    return progress, success


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
        "floor (constant JsonResponse)": "/floor/",
        "floor + raw GET": f"/floor-get/{progress}/",
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

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: {status}")

    def poll() -> bytes:
        response = handler({**base, "wsgi.input": io.BytesIO()}, start_response)
        try:
            return b"".join(response)
        finally:
            response.close()  # type: ignore[attr-defined]

    return poll


def measure_in_process(targets: dict[str, str], cookie: str, rounds: int, polls: int) -> None:
    calls = {name: in_process_poll(path, cookie) for name, path in targets.items()}
    for call in calls.values():
        for _ in range(50):  # warm-up: imports, connections, caches
            call()
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    for number in range(rounds):
        order = list(calls.items())
        if number % 2:
            order.reverse()
        for name, call in order:
            started_cpu, started = time.process_time(), time.perf_counter()
            for _ in range(polls):
                call()
            cpu[name].append((time.process_time() - started_cpu) / polls * 1e6)
            wall[name].append((time.perf_counter() - started) / polls * 1e6)
    floor_get = min(cpu["floor + raw GET"])
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


def start_server(port: int) -> Any:
    import subprocess

    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS)),
        *("--worker-class", "sync", "--log-level", "warning"),
    ]
    env = _harness.child_env(
        DJANGO_SETTINGS_MODULE="bench.web_settings", JOBTASTIC_BENCH_STATUS_REUSE="0"
    )
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def _client(port: int, path: str, cookie: str, until: float, counts: Any, index: int) -> None:
    done = 0
    while time.monotonic() < until:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} for {path}")
        done += 1
    counts[index] = done


def python_load(port: int, path: str, cookie: str, seconds: float) -> float:
    """Requests/s of CLIENTS processes, each polling ``path`` as fast as it can."""
    counts = multiprocessing.Array("l", CLIENTS)
    until = time.monotonic() + seconds
    workers = [
        multiprocessing.Process(target=_client, args=(port, path, cookie, until, counts, i))
        for i in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def load(port: int, path: str, cookie: str, seconds: float) -> float:
    if shutil.which("wrk"):
        from bench.status_view import Target, wrk

        target = Target(path, f"http://127.0.0.1:{port}", path, "")
        return wrk(target, cookie, seconds)["rps"]
    return python_load(port, path, cookie, seconds)


def measure_served(targets: dict[str, str], cookie: str, rounds: int, seconds: float) -> None:
    from bench.status_view import fetch

    port = _harness.free_port()
    server = start_server(port)
    try:
        _harness.wait_until(lambda: _answers(port, "/floor/", cookie), what="gunicorn", timeout=30)
        for name, path in targets.items():
            status, _ = fetch(f"http://127.0.0.1:{port}{path}", cookie)
            assert status == 200, name
        for path in targets.values():
            load(port, path, cookie, 1)  # warm-up
        rps: dict[str, list[float]] = {name: [] for name in targets}
        for number in range(rounds):
            order = list(targets.items())
            if number % 2:
                order.reverse()
            for name, path in order:
                rps[name].append(load(port, path, cookie, seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    tool = (
        f"wrk, {CONNECTIONS} connections"
        if shutil.which("wrk")
        else (f"{CLIENTS} Python client processes (wrk is not installed)")
    )
    print(
        f"\ngunicorn {SERVER_WORKERS} sync workers, {tool}, re-use off, "
        f"{rounds} x {seconds:g} s per target: req/s (best round; median in brackets)"
    )
    floor = max(rps["floor + raw GET"])
    for name in targets:
        best = max(rps[name])
        rounds_text = " ".join(f"{value:.0f}" for value in rps[name])
        print(
            f"{name:28} {best:7.0f} ({statistics.median(rps[name]):5.0f})  "
            f"{best / floor:.2f}x floor+GET   {rounds_text}"
        )
    for state in ("PROGRESS", "SUCCESS"):
        ours, peer = max(rps[f"jobtastic {state}"]), max(rps[f"celery-progress {state}"])
        print(f"{state}: ours/celery-progress {ours / peer:.2f} (target > 1)")


def _answers(port: int, path: str, cookie: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path, headers={"Cookie": cookie})
        return connection.getresponse().status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="in-process rounds, alternated")
    parser.add_argument("--polls", type=int, default=400, help="polls per in-process round")
    parser.add_argument("--served-rounds", type=int, default=5, help="gunicorn rounds")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of a gunicorn round")
    parser.add_argument("--no-server", action="store_true", help="in-process figures only")
    options = parser.parse_args()
    setup()
    progress, success = write_tasks()
    key, cookie = session_cookie()
    targets = paths(key, progress, success)
    measure_in_process(targets, cookie, options.rounds, options.polls)
    if not options.no_server:
        measure_served(targets, cookie, options.served_rounds, options.seconds)


if __name__ == "__main__":
    main()
