"""The status view under a real WSGI server: requests/s and latency, against two peers.

Run: ``.venv/bin/python bench/status_view.py [--backend redis|embedded] [--seconds 5]``.
Needs ``wrk`` (Debian package) and the ``bench`` dependency group (gunicorn,
celery-progress); ``make bench`` installs both.

gunicorn serves three views through one middleware stack, with a real worker having left a
PROGRESS (held) and a SUCCESS task in the result backend:
- the floor: a constant ``JsonResponse`` of the same size (any view costs at least this);
- ours: ``jobtastic:status`` with a session-bound token (signature and owner checked);
- celery-progress's ``get_progress`` on the same task ids and result backend.
wrk drives each with 32 connections; rounds alternate the targets. Each target's best round
(the machine's CPU sags now and then, which only ever slows a round) gives the ratios
ours/floor (target >= 0.8) and ours/celery-progress (target > 1); medians are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

CONNECTIONS = 32
SERVER_WORKERS = 2  # one per core
SERVER_THREADS = 4
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}  # wrk's latency units, in ms


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS)),
        *("--worker-class", "gthread", "--threads", str(SERVER_THREADS)),
        *("--log-level", "warning"),
    ]
    env = _harness.child_env(DJANGO_SETTINGS_MODULE="bench.web_settings")
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def fetch(url: str, cookie: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def wait_for_server(url: str, cookie: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            fetch(url, cookie)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not come up") from None
            time.sleep(0.1)


def wrk(url: str, cookie: str, seconds: float) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) of ``url`` under CONNECTIONS connections."""
    command = [
        *("wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--latency"),
        *("-H", f"Cookie: {cookie}", url),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{output}")

    def latency(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert found, output
        return float(found.group(1)) * UNITS[found.group(2)]

    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found, output
    return {"rps": float(found.group(1)), "p50": latency("50"), "p99": latency("99")}


def prepare_tasks() -> tuple[str, str, str]:
    """A SUCCESS and a held PROGRESS task run by a real worker: ``(success, progress, marker)``."""
    from tests import jobs
    from tests.integration.conftest import wait_until_held

    success = jobs.CountingJob.delay(marker=uuid.uuid4().hex, steps=4)
    success.get(timeout=60)
    marker = uuid.uuid4().hex
    progress = jobs.CountingJob.delay(marker=marker, hold=True)
    wait_until_held(progress)
    return success.id, progress.id, marker


def session_cookie() -> tuple[str, str]:
    """A visitor's session, in the cache as the server's settings keep them: ``(key, cookie)``."""
    from django.contrib.sessions.backends.cache import SessionStore

    session = SessionStore()
    session.create()
    assert session.session_key is not None
    return session.session_key, f"sessionid={session.session_key}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _harness.add_backend_argument(parser)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=7, help="runs per target, alternated")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench does)")
    _harness.setup(options.backend)
    from django_jobtastic.tokens import make_token, session_owner
    from tests import probe

    port = _harness.free_port()
    base = f"http://127.0.0.1:{port}"
    with _harness.running_worker():
        success_id, progress_id, marker = prepare_tasks()
        try:
            key, cookie = session_cookie()

            def ours(task_id: str) -> str:
                return f"{base}/jobtastic/status/{make_token(task_id, session_owner(key))}/"

            targets = {
                "floor (constant JsonResponse)": f"{base}/floor/",
                "jobtastic PROGRESS": ours(progress_id),
                "celery-progress PROGRESS": f"{base}/celery-progress/{progress_id}/",
                "jobtastic SUCCESS": ours(success_id),
                "celery-progress SUCCESS": f"{base}/celery-progress/{success_id}/",
            }
            server = start_server(port)
            try:
                wait_for_server(targets["floor (constant JsonResponse)"], cookie, server)
                check_answers(targets, cookie)
                results = measure(targets, cookie, options.seconds, options.rounds)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        finally:
            probe.release(marker)
    report(results, options)


def check_answers(targets: dict[str, str], cookie: str) -> None:
    """Each view answers 200 with the state we mean to measure (not a 404 or a PENDING)."""
    for name, url in targets.items():
        status, body = fetch(url, cookie)
        state = body.get("task", {}).get("status") or body.get("state")
        expected = name.split()[-1] if "floor" not in name else "PROGRESS"
        if (status, state) != (200, expected):
            raise RuntimeError(f"{name}: HTTP {status}, state {state!r}, expected {expected}")


def measure(
    targets: dict[str, str], cookie: str, seconds: float, rounds: int
) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for url in targets.values():
        wrk(url, cookie, 1)  # warm-up: imports, connections, caches
    for round_number in range(rounds):
        order = list(targets.items())
        if round_number % 2:
            order.reverse()  # alternate, so drift favours no target
        for name, url in order:
            results[name].append(wrk(url, cookie, seconds))
    return results


def report(results: dict[str, list[dict[str, float]]], options: argparse.Namespace) -> None:
    """Best round per target (this machine's CPU sags now and then, which only slows), and
    the median for comparison; latencies are the best round's."""

    def best(name: str) -> dict[str, float]:
        return max(results[name], key=lambda run: run["rps"])

    print(
        f"\nstatus view, backend={options.backend}, {CONNECTIONS} connections, gunicorn "
        f"{SERVER_WORKERS}x{SERVER_THREADS} gthread, {options.rounds} x {options.seconds:g} s "
        "per target"
    )
    header = f"{'view':32} {'best req/s':>10} {'median':>7} {'p50 ms':>7} {'p99 ms':>7}"
    print(f"{header}  req/s of each round")
    for name in results:
        rounds = " ".join(f"{run['rps']:.0f}" for run in results[name])
        median = statistics.median(run["rps"] for run in results[name])
        top = best(name)
        print(
            f"{name:32} {top['rps']:10.0f} {median:7.0f} {top['p50']:7.2f} {top['p99']:7.2f}"
            f"  {rounds}"
        )
    floor = best("floor (constant JsonResponse)")["rps"]
    for state in ("PROGRESS", "SUCCESS"):
        ours = best(f"jobtastic {state}")["rps"]
        peer = best(f"celery-progress {state}")["rps"]
        print(
            f"{state}: ours/floor {ours / floor:.2f} (target >= 0.8), "
            f"ours/celery-progress {ours / peer:.2f} (target > 1)"
        )


if __name__ == "__main__":
    main()
