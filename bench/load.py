"""The status view under sustained load: errors, latency and the web workers' memory.

Run: ``flock /tmp/jobtastic-services.lock .venv/bin/python bench/load.py`` (options:
``--backend redis|embedded``, ``--seconds 60``, ``--connections 200``, ``--pause-ms 0``,
``--worker-class gthread|sync``). Needs ``wrk`` and the ``bench`` dependency group, as
``bench/status_view.py`` does; ``make bench`` installs both.

200 pollers (wrk connections) ask gunicorn for job statuses for 60 s, each poll for the next
line of a shuffled list of 1,000, with the session cookie of the visitor who owns that job
(200 visitors):
- 400 running jobs: a writer thread in this process rewrites each one's progress meta every
  2 s (``updated_at``, ``alive_at``, an estimate), as a worker would, and stores its SUCCESS
  at a time drawn for it, so that about 40 % of them finish during the run; one of them is a
  real worker's job, held at step 1 (its heartbeat keeps it alive) and released half-way
  (30 s in at most);
- 450 succeeded jobs and 100 failed ones (one succeeded job ran on the real worker);
- 50 lines (5 %) that must answer 404: 25 tokens of other visitors (a valid signature,
  someone else's cookie: the view also looks the cookie's session up, as for any refusal)
  and 25 tokens with a damaged signature.

What is measured, and why:
- errors: every answer is matched to the line it was for through gunicorn's access log (wrk
  cannot tell which request an answer belongs to), so "0 errors" means every job answered
  200 and every designed line 404, and nothing else: no 5xx, no 404 for a job's owner, no
  socket error or timeout in wrk (its timeout is the widget's, 10 s). The script exits 1
  otherwise, and when a gunicorn worker was restarted;
- latency, p50 / p90 / p99 as wrk sees it (queueing included), and the time gunicorn spent
  on each request (from the access log): the difference is time spent waiting for a thread,
  or in the listen backlog with sync workers. The access log costs what a deployment's does;
- RSS of each gunicorn worker after a warm-up (imports, connection pools, caches filled; up
  to 3 rounds, until each worker has answered 200 polls) and at the end: growth over 10 % in
  60 s would be a leak worth chasing. It is printed, not asserted: a benchmark, not a timed
  test.

gunicorn runs 2 workers x 4 threads (gthread), the shape the deployment docs recommend
(``--workers 4 --threads 4``) fitted to this machine's 2 cores and the one of
``bench/status_view.py``, so the figures compare. Its connections stay open between polls
(keep-alive), as a browser's do. By default every poller asks again as soon as it has its
answer: the server is saturated, so latency is mostly queueing (about connections / req/s)
and p99 shows how unevenly the wait is shared. ``--pause-ms 1000`` paces each poller like the
widget (one poll per second, 200 req/s in all; keep it under gunicorn's 2 s keep-alive, which
would close the waiting connections). ``--worker-class sync`` runs gunicorn's
default worker instead (2 processes, one request at a time each, a new connection per
request): 200 pollers then wait in the listen backlog.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from gunicorn.glogging import Logger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

SCRIPT = Path(__file__).resolve().parent / "load.lua"
WRK_THREADS = 2
#: The widget gives up on a poll after max(10, 3 x poll interval) s: slower is an error.
WRK_TIMEOUT = "10s"
SERVER_WORKERS = 2  # one per core
SERVER_THREADS = 4
VISITORS = 200
RUNNING, SUCCEEDED, FAILED = 400, 450, 100
FOREIGN, DAMAGED = 25, 25  # designed 404s: 5 % of the 1,000 lines
GOOD_KINDS = ("running", "succeeded", "failed")
STATE_OF = {"running": "PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE"}
WRITE_EVERY = 2.0  # seconds between two progress writes of one running job
TICK = 0.1  # the writer's step: each tick writes WRITE_EVERY / TICK-th of the jobs
STEPS = 100  # a running job's total
RSS_LIMIT = 0.10  # the growth the issue accepts
WARM_POLLS, WARM_ROUNDS = 200, 3
SOCKET_ERRORS = ("connect", "read", "write", "timeout")  # wrk's "status" errors are HTTP ones
#: Seconds into the run the held job is released at most: tests.probe holds a job 60 s.
HELD_AT_MOST = 30
SEED = 10


class AccessLogger(Logger):
    """gunicorn's logger, writing the access log even after Django configured logging.

    The bench settings' LOGGING disables existing loggers, which includes gunicorn.access
    once a worker has loaded the application; the answers are matched to their lines here.
    """

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        self.access_log.disabled = False
        super().access(resp, req, environ, request_time)


@dataclass
class RunningJob:
    """A job a worker would be running: progress written now and then, done at ``finish_at``."""

    task_id: str
    started_at: float
    started_iso: str
    finish_at: float
    finished: bool = False


@dataclass(frozen=True)
class Line:
    """One line of the polls file: a status URL and the visitor whose cookie goes with it."""

    kind: str  # running, succeeded, failed, or a designed 404: foreign, damaged
    task_id: str
    path: str
    session_key: str


@dataclass
class Jobs:
    """The job set, the lines that poll it, and the writer's bookkeeping."""

    lines: list[Line]
    running: list[RunningJob]  # the synthetic ones, which the writer keeps fresh
    task_ids: list[str]  # every job, forgotten at the end
    sessions: list[str]
    held_marker: str  # the real worker's held job, released at held_release_at
    held_line: Line
    held_release_at: float = 0.0
    writes: int = 0
    write_errors: list[str] = field(default_factory=list)


def main() -> None:
    options = parse_arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench does)")
    _harness.setup(options.backend)
    from tests import probe

    warm_up = max(1, min(5, options.seconds // 4))  # wrk takes whole seconds
    with _harness.running_worker():
        jobs = make_jobs(lifetime=warm_up + options.seconds)
        try:
            failures = run(options, jobs, warm_up)
        finally:
            probe.release(jobs.held_marker)
            forget(jobs)
    sys.exit(1 if failures else 0)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _harness.add_backend_argument(parser)
    parser.add_argument("--seconds", type=int, default=60, help="length of the run")
    parser.add_argument("--connections", type=int, default=200, help="concurrent pollers")
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=0,
        help="a poller's wait after each answer (1000: the widget's pace; 0: flat out)",
    )
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    return parser.parse_args()


def make_jobs(lifetime: float) -> Jobs:
    """Store the job set and mint its lines. Synthetic running jobs finish between 20 % and
    200 % of ``lifetime`` from now: about 40 % of them during the run."""
    from celery import states

    from bench.status_view import session_cookie
    from django_jobtastic.task.progress import utc_now_iso
    from tests import jobs as test_jobs
    from tests.celery_app import app
    from tests.integration.harness import wait_until_held

    sessions = [session_cookie()[0] for _ in range(VISITORS)]
    chooser = random.Random(SEED)
    real_success = test_jobs.CountingJob.delay(marker=uuid.uuid4().hex, steps=4)
    real_success.get(timeout=60)
    held_marker = uuid.uuid4().hex
    held = test_jobs.CountingJob.delay(marker=held_marker, hold=True)
    wait_until_held(held)

    now = time.time()
    running = [
        RunningJob(str(uuid.uuid4()), now, utc_now_iso(), now + lifetime * chooser.uniform(0.2, 2))
        for _ in range(RUNNING - 1)
    ]
    for job in running:
        app.backend.store_result(job.task_id, progress_meta(job, now), "PROGRESS")
    succeeded = [str(uuid.uuid4()) for _ in range(SUCCEEDED - 1)]
    for task_id in succeeded:
        app.backend.store_result(task_id, {"rows": chooser.randrange(10_000)}, states.SUCCESS)
    failed = [str(uuid.uuid4()) for _ in range(FAILED)]
    for task_id in failed:
        error = ValueError("The uploaded file is not a spreadsheet.")
        app.backend.store_result(task_id, error, states.FAILURE)

    running_ids = [held.id] + [job.task_id for job in running]
    succeeded_ids = [real_success.id, *succeeded]
    lines = [
        *(make_line(sessions, "running", task_id, i) for i, task_id in enumerate(running_ids)),
        *(make_line(sessions, "succeeded", id_, i) for i, id_ in enumerate(succeeded_ids)),
        *(make_line(sessions, "failed", task_id, i) for i, task_id in enumerate(failed)),
        # Owned by a visitor other than the running line's, so that the path differs too.
        *(make_line(sessions, "foreign", running_ids[i], i + 1, i) for i in range(FOREIGN)),
        *(make_line(sessions, "damaged", succeeded_ids[i], i) for i in range(DAMAGED)),
    ]
    assert len({line.path for line in lines}) == len(lines), "the access log tells lines by path"
    held_line = lines[0]
    chooser.shuffle(lines)
    task_ids = running_ids + succeeded_ids + failed
    return Jobs(lines, running, task_ids, sessions, held_marker, held_line)


def make_line(
    sessions: list[str], kind: str, task_id: str, owner: int, visitor: int | None = None
) -> Line:
    """The status URL of ``task_id`` owned by visitor ``owner``, polled by ``visitor``
    (the owner unless given); a damaged line's token has a wrong signature."""
    from django_jobtastic.web.tokens import make_token, session_owner

    token = make_token(task_id, session_owner(sessions[owner % VISITORS]))
    if kind == "damaged":
        middle = len(token) - 10  # inside the signature, away from base64's padding bits
        token = token[:middle] + ("B" if token[middle] == "A" else "A") + token[middle + 1 :]
    polled_by = owner if visitor is None else visitor
    return Line(kind, task_id, f"/jobtastic/status/{token}/", sessions[polled_by % VISITORS])


def progress_meta(job: RunningJob, now: float) -> dict[str, Any]:
    """What a worker's progress write holds at ``now`` (see ProgressTracker.meta)."""
    from django_jobtastic.task.progress import clamp_percent, utc_now_iso

    share = (now - job.started_at) / (job.finish_at - job.started_at)
    completed = max(1, min(STEPS - 1, int(STEPS * share)))
    written = utc_now_iso()
    return {
        "progress_percent": clamp_percent(completed, STEPS),
        "time_remaining": round(max(0.0, job.finish_at - now), 1),
        "completed": completed,
        "total": STEPS,
        "message": None,
        "started_at": job.started_iso,
        "updated_at": written,
        "alive_at": written,
    }


def keep_writing(jobs: Jobs, stop: threading.Event) -> None:
    """The workers' share of the load: every WRITE_EVERY s each running job writes its
    progress, or its result once its time has come; the held job is released half-way."""
    from django.db import connections

    from tests import probe
    from tests.celery_app import app

    slots = round(WRITE_EVERY / TICK)
    tick = 0
    while not stop.wait(TICK):
        now = time.time()
        if jobs.held_release_at and now >= jobs.held_release_at:
            probe.release(jobs.held_marker)
            jobs.held_release_at = 0.0
        for job in jobs.running[tick % slots :: slots]:
            if job.finished:
                continue
            try:
                if now >= job.finish_at:
                    app.backend.store_result(job.task_id, {"rows": STEPS}, "SUCCESS")
                    job.finished = True
                else:
                    app.backend.store_result(job.task_id, progress_meta(job, now), "PROGRESS")
                jobs.writes += 1
            except Exception as error:  # reported with the figures
                jobs.write_errors.append(f"{type(error).__name__}: {error}")
        tick += 1
    connections.close_all()  # the thread's own, on the django-db backend


def run(options: argparse.Namespace, jobs: Jobs, warm_up: int) -> list[str]:
    """Serve, check, warm up, measure; print the figures and return what went wrong."""
    var = Path(_harness.VAR)
    var.mkdir(parents=True, exist_ok=True)
    polls = var / "load.polls"
    polls.write_text("".join(f"{line.path} {line.session_key}\n" for line in jobs.lines))
    log = var / "load-access.log"
    log.write_text("")
    port = _harness.free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, log, options.worker_class)
    stop = threading.Event()
    writer = threading.Thread(target=keep_writing, args=(jobs, stop), daemon=True)
    writer.start()
    try:
        wait_for_server(base, jobs.lines, server)
        checks = check_lines(base, jobs.lines)
        warm(base, polls, options, warm_up, log, server)
        before = memory(server)
        offset = log.stat().st_size
        jobs.held_release_at = time.time() + min(options.seconds / 2, HELD_AT_MOST)
        figures = wrk(base, polls, options, options.seconds)
        after = memory(server)
        checks += check_finished(base, jobs)
    finally:
        stop.set()
        writer.join(timeout=10)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    served = read_access_log(log, offset, {line.path: line.kind for line in jobs.lines})
    return report(options, jobs, Outcome(figures, served, before, after, checks))


def start_server(port: int, log: Path, worker_class: str) -> subprocess.Popen[bytes]:
    command = [
        *(sys.executable, "-m", "gunicorn", "bench.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS)),
        *("--worker-class", worker_class, "--log-level", "warning"),
        *("--access-logfile", str(log), "--access-logformat", "%(s)s %(L)s %(p)s %(U)s"),
        *("--logger-class", "bench.load.AccessLogger"),
    ]
    if worker_class == "gthread":
        command += ["--threads", str(SERVER_THREADS)]
    env = _harness.child_env(DJANGO_SETTINGS_MODULE="bench.web_settings")
    return subprocess.Popen(command, env=env, cwd=_harness.ROOT, start_new_session=True)


def answer(base: str, line: Line) -> tuple[int, str | None]:
    """HTTP status and job state of one poll of ``line``."""
    request = urllib.request.Request(
        base + line.path, headers={"Cookie": f"sessionid={line.session_key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())["task"]["status"]
    except urllib.error.HTTPError as error:
        return error.code, None


def wait_for_server(base: str, lines: list[Line], server: subprocess.Popen[bytes]) -> None:
    first = next(line for line in lines if line.kind in GOOD_KINDS)
    deadline = time.monotonic() + 30
    while True:
        try:
            answer(base, first)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not come up") from None
            time.sleep(0.1)


def warm(
    base: str,
    polls: Path,
    options: argparse.Namespace,
    seconds: int,
    log: Path,
    server: subprocess.Popen[bytes],
) -> None:
    """Poll until every worker has answered WARM_POLLS times (WARM_ROUNDS rounds at most): a
    gthread worker keeps the connections it accepted, and one may take a whole round's."""
    for _ in range(WARM_ROUNDS):
        wrk(base, polls, options, seconds)
        answered = read_access_log(log, 0, {}).by_worker
        if all(answered[pid] >= WARM_POLLS for pid in memory(server)):
            break
    print(
        "warm-up answers by worker: "
        + ", ".join(f"{pid}: {n:,}" for pid, n in sorted(answered.items()))
    )


def check_lines(base: str, lines: list[Line]) -> list[str]:
    """Before the run: the first line of each kind answers as designed."""
    failures = []
    for kind in (*GOOD_KINDS, "foreign", "damaged"):
        line = next(line for line in lines if line.kind == kind)
        expected = (200, STATE_OF[kind]) if kind in STATE_OF else (404, None)
        got = answer(base, line)
        if got != expected:
            failures.append(f"before the run, a {kind} line answered {got}, not {expected}")
    return failures


def check_finished(base: str, jobs: Jobs) -> list[str]:
    """After the run: the real worker's job, released half-way, and a job the writer
    finished answer SUCCESS."""
    finished = {job.task_id for job in jobs.running if job.finished}
    lines = [jobs.held_line]
    lines += [line for line in jobs.lines if line.task_id in finished and line.kind == "running"]
    failures = []
    for line in lines[:2]:
        got = answer(base, line)
        if got != (200, "SUCCESS"):
            failures.append(f"after the run, a finished job answered {got}, not (200, 'SUCCESS')")
    return failures


def wrk(base: str, polls: Path, options: argparse.Namespace, seconds: int) -> dict[str, float]:
    """The figures load.lua prints: counts by status and state, socket errors, latency (µs)."""
    command = [
        *("wrk", "-t", str(WRK_THREADS), "-c", str(options.connections)),
        *("-d", f"{seconds}s", "--timeout", WRK_TIMEOUT, "-s", str(SCRIPT)),
        *(base, "--", str(polls), str(WRK_THREADS), str(options.connections // WRK_THREADS)),
    ]
    env = dict(os.environ, JOBTASTIC_LOAD_PAUSE_MS=str(options.pause_ms))
    finished = subprocess.run(command, capture_output=True, text=True, env=env)
    output = finished.stdout
    if finished.returncode:
        raise RuntimeError(f"wrk failed ({finished.returncode}):\n{output}{finished.stderr}")
    figures = {name: float(value) for name, value in re.findall(r"^([\w.]+) (\d+)$", output, re.M)}
    if "requests" not in figures:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    return figures


def memory(server: subprocess.Popen[bytes]) -> dict[int, tuple[int, int]]:
    """RSS (bytes) and thread count of each gunicorn worker, by pid. The thread pool starts
    its threads as they are needed: a new thread's stack and connections are memory that
    is not a leak."""
    return {
        worker.pid: (int(worker.memory_info().rss), worker.num_threads())
        for worker in psutil.Process(server.pid).children()
    }


@dataclass
class Served:
    """What gunicorn's access log says about the requests after a point."""

    by_line: Counter[tuple[str, int]]  # answers by (kind of line, HTTP status)
    by_worker: Counter[int]  # answers by worker pid
    times: list[float]  # seconds gunicorn spent on each request


def read_access_log(log: Path, offset: int, kinds: dict[str, str]) -> Served:
    served = Served(Counter(), Counter(), [])
    with log.open() as entries:
        entries.seek(offset)
        for entry in entries:
            status, seconds, pid, path = entry.rstrip("\n").split(" ", 3)
            served.by_line[kinds.get(path, "unknown"), int(status)] += 1
            served.by_worker[int(pid.strip("<>"))] += 1
            served.times.append(float(seconds))
    return served


@dataclass
class Outcome:
    """What one measured run gave."""

    figures: dict[str, float]  # load.lua's: requests, statuses, states, latency in µs
    served: Served
    before: dict[int, tuple[int, int]]  # RSS and threads by worker pid, after the warm-up
    after: dict[int, tuple[int, int]]
    checks: list[str]  # what the single polls before and after the run found wrong

    def counts(self, prefix: str) -> dict[str, int]:
        return {
            name.removeprefix(prefix): int(count)
            for name, count in self.figures.items()
            if name.startswith(prefix)
        }


def report(options: argparse.Namespace, jobs: Jobs, outcome: Outcome) -> list[str]:
    """Print the figures; return the errors."""
    figures = outcome.figures
    seconds = figures["duration_us"] / 1e6
    requests = int(figures["requests"])
    pace = f"a poll every {options.pause_ms} ms each" if options.pause_ms else "flat out"
    shape = f"{SERVER_WORKERS} sync"
    if options.worker_class == "gthread":
        shape = f"{SERVER_WORKERS} x {SERVER_THREADS} gthread"
    finished = sum(job.finished for job in jobs.running)
    designed = FOREIGN + DAMAGED
    statuses = outcome.counts("status_")
    sockets = {kind: outcome.counts("socket_").get(kind, 0) for kind in SOCKET_ERRORS}
    print(
        f"\nload: {options.connections} pollers ({pace}) for {seconds:.0f} s, gunicorn {shape}, "
        f"backend={options.backend}\n"
        f"jobs: {RUNNING} running ({finished} finished by the end, and the real worker's held "
        f"one was released half-way), {SUCCEEDED} succeeded, {FAILED} failed; {designed} of "
        f"{len(jobs.lines):,} lines designed to 404; {VISITORS} visitors\n"
        f"requests: {requests:,} in {seconds:.1f} s, {requests / seconds:,.1f} req/s\n"
        f"logged by gunicorn: {sum(outcome.served.by_line.values()):,} (with what was in flight "
        "as wrk stopped), by worker: "
        + ", ".join(f"{pid}: {n:,}" for pid, n in sorted(outcome.served.by_worker.items()))
        + "\n"
        "answers: "
        + ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items()))
        + f" (404: {statuses.get('404', 0) / max(1, requests):.1%} of the answers, "
        f"{designed / len(jobs.lines):.1%} of the lines); socket errors: "
        + ", ".join(f"{kind} {count}" for kind, count in sockets.items())
    )
    print(
        "by line (access log): "
        + ", ".join(
            f"{kind} {status}: {n:,}"
            for (kind, status), n in sorted(outcome.served.by_line.items())
        )
    )
    states = sorted(outcome.counts("state_").items())
    print("states answered: " + ", ".join(f"{state} {count:,}" for state, count in states))

    def ms(name: str) -> str:
        return f"{figures[f'latency_{name}_us'] / 1e3:.1f}"

    print(
        f"latency (wrk, ms): p50 {ms('p50')}, p90 {ms('p90')}, p99 {ms('p99')}, "
        f"p99.9 {ms('p99.9')}, max {ms('max')}"
    )
    times = outcome.served.times
    if times:
        print(
            "time in gunicorn (ms): "
            + ", ".join(f"p{q:g} {_harness.percentile(times, q) * 1e3:.1f}" for q in (50, 90, 99))
        )
    print(f"progress writes: {jobs.writes:,} ({len(jobs.write_errors)} failed)")
    growth = report_rss(outcome.before, outcome.after)
    print(f"RSS growth under {RSS_LIMIT:.0%}: {'yes' if growth < RSS_LIMIT else 'NO'}")
    failures = errors(jobs, outcome, statuses, sockets)
    print("errors: " + ("none" if not failures else "\n  " + "\n  ".join(failures)))
    return failures


def errors(
    jobs: Jobs, outcome: Outcome, statuses: dict[str, int], sockets: dict[str, int]
) -> list[str]:
    """Anything but a 200 for a job's owner and a 404 for a designed line, socket errors,
    a restarted worker, failed progress writes, and what the single polls found."""
    found = list(outcome.checks)
    for (kind, status), count in sorted(outcome.served.by_line.items()):
        expected = 200 if kind in GOOD_KINDS else 404
        if kind == "unknown" or status != expected:
            found.append(f"{count:,} answers {status} to {kind} lines (expected {expected})")
    found += [
        f"wrk saw {count:,} answers {status}"
        for status, count in statuses.items()
        if status not in ("200", "404")
    ]
    found += [f"{count:,} socket errors ({kind})" for kind, count in sockets.items() if count]
    if sorted(outcome.before) != sorted(outcome.after):
        found.append(
            f"gunicorn workers changed: {sorted(outcome.before)} -> {sorted(outcome.after)}"
        )
    found += [f"progress write failed: {error}" for error in jobs.write_errors[:5]]
    return found


def report_rss(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> float:
    """Print each worker's RSS before and after the run; return the growth of their sum."""
    mib = 1024 * 1024
    print("RSS of the web workers, after the warm-up -> at the end:")
    for pid in sorted(before.keys() | after.keys()):
        start, end = before.get(pid), after.get(pid)
        if start is None or end is None:
            print(f"  worker {pid}: {'started during' if start is None else 'gone after'} the run")
            continue
        print(
            f"  worker {pid}: {start[0] / mib:.1f} -> {end[0] / mib:.1f} MiB "
            f"({end[0] / start[0] - 1:+.1%}), threads {start[1]} -> {end[1]}"
        )
    total_before = sum(size for size, _ in before.values())
    total_after = sum(size for size, _ in after.values())
    growth = total_after / total_before - 1
    print(f"  all: {total_before / mib:.1f} -> {total_after / mib:.1f} MiB ({growth:+.1%})")
    return growth


def forget(jobs: Jobs) -> None:
    """Drop the run's results and sessions, so that nothing of it stays in the services."""
    from django.contrib.sessions.backends.cache import SessionStore

    from tests.celery_app import app

    for task_id in jobs.task_ids:
        app.backend.forget(task_id)
    for key in jobs.sessions:
        SessionStore(session_key=key).delete()


if __name__ == "__main__":
    main()
