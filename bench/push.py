"""Pushed updates: how soon a progress write reaches a viewer, and what 1,000 viewers cost.

Run: ``.venv/bin/python bench/push.py [--viewers 1000] [--jobs 100] [--seconds 30]
[--write-every 1,5]``. Needs
``redis-server`` and the ``bench`` dependency group (gunicorn, uvicorn with uvloop and
httptools); prints figures, asserts nothing. The result backend is a Redis server of the
benchmark's own, so its ``INFO commandstats`` count this benchmark's reads and nobody else's.

- **Latency**, one viewer: a real worker runs a job that calls ``update_progress`` STEPS
  times, a pause apart, noting the clock just before each call; one stream (uvicorn, one
  process) follows it. Per write: from the call to the event read by the viewer on the same
  machine (so the time to leave the server, plus a loopback hop). Against it, what 1 s polling
  gives: a write waits for the next poll, half an interval on average.
- **Scale**: JOBS running jobs, each rewritten every WRITE_EVERY seconds (one run per value:
  1 s, as often as a viewer polls, and 5 s; ``update_progress`` writes at most every
  ``JOBTASTIC_PROGRESS_INTERVAL``, 0.5 s by default), written by a separate process with the
  backend's ``store_result`` as a job does, and VIEWERS viewers, each following one job
  (VIEWERS / JOBS per job), served two ways: (a) one uvicorn process, each viewer holding a
  stream; (b) gunicorn, 2 sync workers (one per core), each viewer polling its status URL a
  second after each answer, as the widget does (answer re-use on, its default 0.2 s). Over
  SECONDS after every viewer is in: the
  server's CPU seconds per minute (all its processes and threads), its memory (RSS, summed
  over its processes), the server's reads of the result backend per second (GET and MGET,
  less the one GET Celery makes before each store: the writer's), and how long a write took
  to reach a viewer (p50 / p95, each write each viewer of it saw, in the window). The
  viewers are one asyncio process on the same 2 cores: its CPU is not counted, and it slows
  both servers alike.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

STEPS = 60  # progress writes of the latency job
PAUSE = 0.1  # seconds between two of them
RAMP = 50  # viewers that connect at once while the scale run fills up
WARM_UP = 3.0  # seconds between the last viewer in and the measured window
BACKEND_READS = ("get", "mget")

Write = tuple[str, int]  # (task id, completed): one progress write
Seen = tuple[str, int, float]  # (task id, completed, when the viewer read it)


# -- the servers ------------------------------------------------------------------------


def start_uvicorn(port: int) -> subprocess.Popen[bytes]:
    """One uvicorn process serving the bench site, on uvloop and httptools when installed."""
    fast = all(importlib.util.find_spec(name) for name in ("uvloop", "httptools"))
    command = [
        *(sys.executable, "-m", "uvicorn", "bench.asgi:application", "--port", str(port)),
        *("--no-access-log", "--log-level", "warning", "--backlog", "4096"),
        *(("--loop", "uvloop", "--http", "httptools") if fast else ()),
    ]
    env = _harness.child_env(DJANGO_SETTINGS_MODULE="bench.web_settings")
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    """gunicorn, 2 sync workers (one per core), answer re-use at its default."""
    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync"),
        *("--backlog", "4096", "--log-level", "warning"),
    ]
    env = _harness.child_env(DJANGO_SETTINGS_MODULE="bench.web_settings")
    env.pop("JOBTASTIC_BENCH_STATUS_REUSE", None)
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The server's process and its children (gunicorn's workers)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid, *map(int, children)]


def cpu_seconds(server: subprocess.Popen[bytes]) -> tuple[float, float]:
    """CPU seconds (user, system; every thread) the server's processes have used."""
    user = system = 0
    for pid in server_pids(server):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / os.sysconf("SC_CLK_TCK"), system / os.sysconf("SC_CLK_TCK")


def memory_mib(server: subprocess.Popen[bytes]) -> float:
    """RSS of the server's processes, summed."""
    total = 0
    for pid in server_pids(server):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def wait_for(port: int, path: str, cookie: str, server: subprocess.Popen[bytes]) -> None:
    async def answers() -> bool:
        try:
            status, _ = await fetch(port, path, cookie)
        except OSError:
            return False
        return status == 200

    def ready() -> bool:
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        return asyncio.run(answers())

    _harness.wait_until(ready, timeout=60, what="the server to answer")


# -- the viewers ------------------------------------------------------------------------


def request(path: str, cookie: str) -> bytes:
    # HTTP/1.0: the body comes as written (no chunks), and ends when the server closes.
    return f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode()


async def fetch(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request(path, cookie))
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def progress_of(task: dict[str, Any]) -> int:
    return int((task.get("progress") or {}).get("completed") or 0)


async def follow_stream(port: int, path: str, cookie: str, seen: list[Seen]) -> None:
    """One viewer's stream: notes each status event until it is cancelled or ends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request(path, cookie))
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream refused: {head[:200]!r}")
        async for line in reader:
            if line.startswith(b"data: "):
                task = json.loads(line[6:])["task"]
                seen.append((task["id"], progress_of(task), time.time()))
    finally:
        writer.close()


async def poll_forever(
    port: int, path: str, cookie: str, interval: float, seen: list[Seen], errors: list[str]
) -> None:
    """One viewer polling as the widget does: the next poll an interval after each answer."""
    while True:
        try:
            status, body = await fetch(port, path, cookie)
        except OSError as error:
            errors.append(repr(error))
        else:
            if status == 200:
                task = json.loads(body)["task"]
                seen.append((task["id"], progress_of(task), time.time()))
            else:
                errors.append(f"HTTP {status}")
        await asyncio.sleep(interval)


# -- the jobs ---------------------------------------------------------------------------


def progress_meta(completed: int) -> dict[str, Any]:
    """What a running job writes with PROGRESS (never finishing: total is far away)."""
    now = datetime.now(UTC).isoformat()
    total = 1_000_000
    return {
        "progress_percent": round(100 * completed / total, 2),
        "time_remaining": 600.0,
        "completed": completed,
        "total": total,
        "message": None,
        "started_at": now,
        "updated_at": now,
        "alive_at": now,
    }


def write_progress(task_ids: list[str], every: float, seconds: float, written: Any) -> None:
    """Rewrite each job every ``every`` seconds, the jobs spread evenly over that time; puts
    the clock of each write (``{(task id, completed): time}``) in ``written`` at the end."""
    from tests.celery_app import app

    started, times = time.monotonic(), {}
    for tick in range(1, int(seconds / every) + 2):
        for index, task_id in enumerate(task_ids):
            due = started + (tick - 1 + index / len(task_ids)) * every
            time.sleep(max(0.0, due - time.monotonic()))
            times[(task_id, tick)] = time.time()
            app.backend.store_result(task_id, progress_meta(tick), "PROGRESS")
    written.put(times)


def delays(
    seen: list[Seen], written: dict[Write, float], since: float, until: float
) -> list[float]:
    """Seconds from each write to the first time each viewer saw it (or a later one), for
    the writes in [since, until); ``seen`` is one list per viewer."""
    found = []
    last_seen: int = 0
    for task_id, completed, at in seen:
        for step in range(last_seen + 1, completed + 1):
            when = written.get((task_id, step))
            if when is not None and since <= when < until:
                found.append(at - when)
        last_seen = max(last_seen, completed)
    return found


# -- the runs ---------------------------------------------------------------------------


def latency(cookie_of: Callable[[str], str], session_key: str) -> dict[str, Any]:
    """One viewer of a real job's ``update_progress`` writes, through one stream."""
    import bench.jobs
    from django_jobtastic.web.tokens import make_token, session_owner
    from tests import probe

    marker = f"push-{uuid.uuid4()}"
    port = _harness.free_port()
    server = start_uvicorn(port)
    try:
        with _harness.running_worker():
            result = bench.jobs.PacedProgressJob.delay(marker=marker, steps=STEPS, pause=PAUSE)
            token = make_token(result.id, session_owner(session_key))
            path = f"/jobtastic/events/?t={token}"
            wait_for(port, f"/jobtastic/status/{token}/", cookie_of(session_key), server)
            seen: list[Seen] = []

            async def follow() -> None:
                viewer = asyncio.create_task(
                    follow_stream(port, path, cookie_of(session_key), seen)
                )
                while not seen:  # the stream's first answer: the job waits for it
                    await asyncio.sleep(0.01)
                probe.release(marker)
                await asyncio.wait_for(viewer, STEPS * PAUSE + 60)

            asyncio.run(follow())
            result.get(timeout=60)
    finally:
        stop(server)
    written = {}
    for note in probe.notes(marker):
        step, at = note.split()
        written[(result.id, int(step))] = float(at)
    found = delays(seen, written, 0, float("inf"))
    return {"writes": len(written), "delays": found}


def scale(
    mode: str,
    every: float,
    options: argparse.Namespace,
    task_ids: list[str],
    session_key: str,
    cookie: str,
) -> dict[str, Any]:
    """VIEWERS viewers of JOBS jobs written every ``every`` seconds, streaming (``mode``
    "stream") or polling."""
    import redis

    from django_jobtastic.web.tokens import make_token, session_owner

    owner = session_owner(session_key)
    tokens = {task_id: make_token(task_id, owner) for task_id in task_ids}
    viewers = [task_ids[index % len(task_ids)] for index in range(options.viewers)]
    port = _harness.free_port()
    server = (start_uvicorn if mode == "stream" else start_gunicorn)(port)
    context = multiprocessing.get_context("fork")
    written_queue = context.Queue()
    # Long enough for the viewers to come in, the warm-up, the window, and a margin.
    writing = options.viewers / RAMP * 0.5 + WARM_UP + options.seconds + 30
    writer = context.Process(target=write_progress, args=(task_ids, every, writing, written_queue))
    backend = redis.Redis.from_url(os.environ["JOBTASTIC_TEST_RESULT_BACKEND"])
    try:
        wait_for(port, f"/jobtastic/status/{tokens[task_ids[0]]}/", cookie, server)
        writer.start()
        figures = asyncio.run(
            _measure(mode, options, port, server, backend, viewers, tokens, cookie)
        )
        written = written_queue.get(timeout=writing + 60)
        writer.join(timeout=30)
    finally:
        if writer.is_alive():
            writer.terminate()
        stop(server)
    window = figures.pop("window")
    found = [
        delay
        for seen in figures.pop("seen")
        for delay in delays(seen, written, window[0], window[1] - 1.0)
    ]
    return {**figures, "delays": found}


async def _measure(
    mode: str,
    options: argparse.Namespace,
    port: int,
    server: subprocess.Popen[bytes],
    backend: Any,
    viewers: list[str],
    tokens: dict[str, str],
    cookie: str,
) -> dict[str, Any]:
    seen: list[list[Seen]] = [[] for _ in viewers]
    errors: list[str] = []
    running: list[asyncio.Task[None]] = []
    for index, task_id in enumerate(viewers):
        if mode == "stream":
            path = f"/jobtastic/events/?t={tokens[task_id]}"
            viewer = follow_stream(port, path, cookie, seen[index])
        else:
            path = f"/jobtastic/status/{tokens[task_id]}/"
            viewer = poll_forever(port, path, cookie, 1.0, seen[index], errors)
        running.append(asyncio.create_task(viewer))
        if index % RAMP == RAMP - 1:
            await asyncio.sleep(0.5)
    await asyncio.sleep(WARM_UP)
    cpu_before, started = cpu_seconds(server), time.time()
    seen_before = sum(map(len, seen))
    backend.config_resetstat()
    await asyncio.sleep(options.seconds)
    elapsed = time.time() - started
    cpu_after = cpu_seconds(server)
    user, system = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
    counted = {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in backend.info("commandstats").items()
    }
    answers = sum(map(len, seen)) - seen_before
    memory = memory_mib(server)
    broken = [task for task in running if task.done()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    failures = [repr(task.exception()) for task in broken if not task.cancelled()]
    return {
        "cpu_per_minute": (user + system) / elapsed * 60,
        "system_share": system / max(user + system, 1e-9),
        "memory_mib": memory,
        # Celery reads a task's state before storing one (it never overwrites a SUCCESS):
        # the writer's GET per SET is not the server's.
        "reads_per_second": (
            sum(counted.get(name, 0) for name in BACKEND_READS)
            - counted.get("set", 0)
            - counted.get("setex", 0)
        )
        / elapsed,
        "commands": counted,
        "answers_per_second": answers / elapsed,
        "errors": errors + failures,
        "streams_lost": len(broken),
        "window": (started, started + elapsed),
        "seen": seen,
    }


# -- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window")
    parser.add_argument(
        "--write-every",
        default="1,5",
        help="seconds between two progress writes of a job; one scale run each (default 1,5)",
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--modes", default=",".join(MODES), help="stream,polling")
    options = parser.parse_args()

    results_port = _harness.free_port()
    os.environ["JOBTASTIC_TEST_RESULT_BACKEND"] = f"redis://127.0.0.1:{results_port}/0"
    results_server = _harness.start_redis(results_port)
    try:
        _harness.setup("redis")
        from bench.status_view import session_cookie
        from tests.celery_app import app

        session_key, cookie = session_cookie()
        quiet = None
        if not options.skip_latency:
            quiet = latency(lambda key: f"sessionid={key}", session_key)
        runs: dict[float, dict[str, dict[str, Any]]] = {}
        for every in map(float, options.write_every.split(",")):
            for mode in options.modes.split(","):
                task_ids = [str(uuid.uuid4()) for _ in range(options.jobs)]  # the run's own
                for task_id in task_ids:
                    app.backend.store_result(task_id, progress_meta(0), "PROGRESS")
                run = scale(mode, every, options, task_ids, session_key, cookie)
                runs.setdefault(every, {})[mode] = run
    finally:
        results_server.terminate()
        results_server.wait(timeout=30)
    report(options, quiet, runs)


MODES = ("stream", "polling")


def report(
    options: argparse.Namespace,
    quiet: dict[str, Any] | None,
    runs: dict[float, dict[str, dict[str, Any]]],
) -> None:
    def spread(values: list[float]) -> str:
        if not values:
            return "none seen"
        p50 = _harness.percentile(values, 50) * 1000
        p95 = _harness.percentile(values, 95) * 1000
        return f"p50 {p50:.0f} / p95 {p95:.0f} ms ({len(values)})"

    if quiet is not None:
        print(
            f"\nlatency, one viewer, a real worker's update_progress ({quiet['writes']} writes,"
            f" {PAUSE:g} s apart), write to event read: {spread(quiet['delays'])}"
        )
        print("  1 s polling: a write waits for the next poll, 500 ms on average, up to 1 s")
    print(f"\n{options.viewers} viewers of {options.jobs} jobs, {options.seconds:g} s measured:")
    print(
        f"  {'written':>9} {'server':8} {'CPU s/min':>10} {'sys':>4} {'RSS MiB':>8} "
        f"{'reads/s':>8} {'answers/s':>10}  write to viewer (writes seen)"
    )
    for every, modes in runs.items():
        for mode, run in modes.items():
            print(
                f"  {'every ' + format(every, 'g') + ' s':>9} {mode:8} "
                f"{run['cpu_per_minute']:10.1f} {run['system_share']:4.0%} "
                f"{run['memory_mib']:8.0f} {run['reads_per_second']:8.1f} "
                f"{run['answers_per_second']:10.0f}  {spread(run['delays'])}"
            )
            if run["errors"] or run["streams_lost"]:
                print(f"    errors {len(run['errors'])} {run['errors'][:3]}")
                print(f"    streams that ended early {run['streams_lost']}")
        if set(modes) == set(MODES):
            stream, polling = modes["stream"], modes["polling"]
            cpu = polling["cpu_per_minute"] / stream["cpu_per_minute"]
            reads = polling["reads_per_second"] / max(stream["reads_per_second"], 0.01)
            print(f"  {'':9} polling / stream: CPU {cpu:.1f}x, backend reads {reads:.0f}x")


if __name__ == "__main__":
    main()
