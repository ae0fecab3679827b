"""The status view under a real WSGI server: requests/s and latency, against two peers.

Run: ``.venv/bin/python bench/status_view.py [--backend redis|embedded] [--seconds 3]``.
Needs ``wrk`` (Debian package) and the ``bench`` dependency group (gunicorn,
celery-progress); ``make bench`` installs both.

gunicorn serves three views through one middleware stack, with a real worker having left a
PROGRESS (held) and a SUCCESS task in the result backend:
- the floor: a constant ``JsonResponse`` of the same size (any view costs at least this);
- ours: ``jobtastic:status`` with a session-bound token (signature and owner checked), on
  one server with the default ``JOBTASTIC_STATUS_REUSE_SECONDS`` (0.2 s) and on a second
  one with re-use off, which reads the backend on every poll;
- celery-progress's ``get_progress`` on the same task ids and result backend.
32 connections on one task is many browsers following one herd-shared job. The other case,
every poll for a different job, is measured too: wrk rotates over MANY_TASKS PROGRESS states
(written with the backend's ``store_result``), so a process rarely sees a task twice within
the re-use window. Rounds alternate the targets. Each target's best round (the machine's CPU
sags now and then, which only ever slows a round) gives the ratios; medians are printed too.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

CONNECTIONS = 32
WRK_THREADS = 2
SERVER_WORKERS = 2  # one per core
SERVER_THREADS = 4
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}  # wrk's latency units, in ms
MANY_TASKS = 10_000
ROTATE_SCRIPT = Path(__file__).resolve().parent / "rotate.lua"
FLOOR = "floor (constant JsonResponse)"


@dataclass(frozen=True)
class Target:
    """What wrk asks for: one path, or a file of paths it rotates over."""

    name: str
    base: str
    path: str
    expected_state: str
    paths_file: Path | None = None

    @property
    def url(self) -> str:
        return self.base + self.path


def start_server(port: int, reuse_seconds: str) -> subprocess.Popen[bytes]:
    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS)),
        *("--worker-class", "gthread", "--threads", str(SERVER_THREADS)),
        *("--log-level", "warning"),
    ]
    env = _harness.child_env(
        DJANGO_SETTINGS_MODULE="bench.web_settings", JOBTASTIC_BENCH_STATUS_REUSE=reuse_seconds
    )
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


def wrk(target: Target, cookie: str, seconds: float) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) of ``target`` under CONNECTIONS connections."""
    command = [
        *("wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s"),
        *("--latency", "-H", f"Cookie: {cookie}", target.url),
    ]
    if target.paths_file:
        command[-1:-1] = ["-s", str(ROTATE_SCRIPT)]
        command += ["--", str(target.paths_file), str(WRK_THREADS)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{target.name}: {errors.group(1)} error responses\n{output}")

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
    from tests.integration.harness import wait_until_held

    success = jobs.CountingJob.delay(marker=uuid.uuid4().hex, steps=4)
    success.get(timeout=60)
    marker = uuid.uuid4().hex
    progress = jobs.CountingJob.delay(marker=marker, hold=True)
    wait_until_held(progress)
    return success.id, progress.id, marker


def many_progress_tasks() -> list[str]:
    """MANY_TASKS ids in PROGRESS, written straight into the result backend."""
    from tests.celery_app import app

    meta = {"progress_percent": 25.0, "time_remaining": 3.0, "completed": 1, "total": 4}
    ids = [str(uuid.uuid4()) for _ in range(MANY_TASKS)]
    for task_id in ids:
        app.backend.store_result(task_id, meta, "PROGRESS")
    return ids


def paths_file(name: str, paths: list[str]) -> Path:
    path = Path(_harness.VAR) / f"status-view-{name}.paths"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(paths) + "\n")
    return path


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
    from tests import probe

    with _harness.running_worker():
        success_id, progress_id, marker = prepare_tasks()
        try:
            many = many_progress_tasks()
            key, cookie = session_cookie()
            ports = {"0.2": _harness.free_port(), "0": _harness.free_port()}
            targets = build_targets(ports, key, success_id, progress_id, many)
            servers = [start_server(port, reuse) for reuse, port in ports.items()]
            try:
                for server, target in zip(servers, (targets[0], targets[2]), strict=True):
                    wait_for_server(target.url, cookie, server)
                check_answers(targets, cookie)
                results = measure(targets, cookie, options.seconds, options.rounds)
            finally:
                for server in servers:
                    os.killpg(server.pid, signal.SIGTERM)
                    server.wait(timeout=30)
        finally:
            probe.release(marker)
    report(results, options)


def build_targets(
    ports: dict[str, int], key: str, success_id: str, progress_id: str, many: list[str]
) -> list[Target]:
    from django_jobtastic.web.tokens import make_token, session_owner

    owner = session_owner(key)
    reuse, fresh = (f"http://127.0.0.1:{ports[seconds]}" for seconds in ("0.2", "0"))

    def ours(task_id: str) -> str:
        return f"/jobtastic/status/{make_token(task_id, owner)}/"

    def peer(task_id: str) -> str:
        return f"/celery-progress/{task_id}/"

    ours_many = paths_file("jobtastic", [ours(task_id) for task_id in many])
    peer_many = paths_file("celery-progress", [peer(task_id) for task_id in many])
    return [
        Target(FLOOR, reuse, "/floor/", "PROGRESS"),
        Target("jobtastic PROGRESS", reuse, ours(progress_id), "PROGRESS"),
        Target("jobtastic PROGRESS, no re-use", fresh, ours(progress_id), "PROGRESS"),
        Target("celery-progress PROGRESS", reuse, peer(progress_id), "PROGRESS"),
        Target("jobtastic SUCCESS", reuse, ours(success_id), "SUCCESS"),
        Target("jobtastic SUCCESS, no re-use", fresh, ours(success_id), "SUCCESS"),
        Target("celery-progress SUCCESS", reuse, peer(success_id), "SUCCESS"),
        Target(f"jobtastic {MANY_TASKS:,} tasks", reuse, ours(many[0]), "PROGRESS", ours_many),
        Target(
            f"celery-progress {MANY_TASKS:,} tasks", reuse, peer(many[0]), "PROGRESS", peer_many
        ),
    ]


def check_answers(targets: list[Target], cookie: str) -> None:
    """Each view answers 200 with the state we mean to measure (not a 404 or a PENDING)."""
    for target in targets:
        status, body = fetch(target.url, cookie)
        state = body.get("task", {}).get("status") or body.get("state")
        if (status, state) != (200, target.expected_state):
            raise RuntimeError(
                f"{target.name}: HTTP {status}, state {state!r}, expected {target.expected_state}"
            )


def measure(
    targets: list[Target], cookie: str, seconds: float, rounds: int
) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {target.name: [] for target in targets}
    for target in targets:
        wrk(target, cookie, 1)  # warm-up: imports, connections, caches
    for round_number in range(rounds):
        order = list(targets)
        if round_number % 2:
            order.reverse()  # alternate, so drift favours no target
        for target in order:
            results[target.name].append(wrk(target, cookie, seconds))
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
    floor = best(FLOOR)["rps"]
    comparisons = [
        (f"{state}{case}", f"jobtastic {state}{case}", f"celery-progress {state}")
        for state in ("PROGRESS", "SUCCESS")
        for case in ("", ", no re-use")
    ]
    comparisons.append(
        (
            f"{MANY_TASKS:,} tasks",
            f"jobtastic {MANY_TASKS:,} tasks",
            f"celery-progress {MANY_TASKS:,} tasks",
        )
    )
    for label, ours_name, peer_name in comparisons:
        ours = best(ours_name)["rps"]
        peer = best(peer_name)["rps"]
        print(
            f"{label}: ours/floor {ours / floor:.2f} (target >= 0.8), "
            f"ours/celery-progress {ours / peer:.2f} (target > 1)"
        )


if __name__ == "__main__":
    main()
