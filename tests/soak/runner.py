"""The soak: per leg (the broker: Redis or RabbitMQ), private services, gunicorn, two
workers and several clients; faults one after another while jobs run; then the counts.

Each fault waits for a state, never for a time: a worker fault waits until the runs log
shows the worker running a job, and the next fault waits until every job in flight at the
previous one has its terminal answer (each wait bounded by a generous deadline). Services
are held down for ``OUTAGE`` seconds, so that clients meet the outage.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis

from tests.helpers import free_port
from tests.soak.client import TERMINAL
from tests.soak.observe import ClientEvents, JobRecord, Runs
from tests.soak.services import (
    ROOT,
    RedisServer,
    WebServer,
    Worker,
    end,
    rabbitmq_delete_queue,
    rabbitmq_start_app,
    rabbitmqctl,
    spawn,
)

T = TypeVar("T")

CLIENTS = 4
WORKERS = ("a", "b")
#: Seconds a restarted service stays down: long enough for polls and submissions to meet it.
OUTAGE = 4.0
#: Bounds of the waits for a state (generous: a busy machine is slow, never wrong).
RUNNING_TIMEOUT = 90.0  # until a worker runs a job mid-run
#: Seconds since a job's start that count as mid-run (a job takes 3 s: tests.soak.jobs).
MID_RUN = (0.5, 2.0)
SETTLE_TIMEOUT = 120.0  # until every job in flight at a fault has its terminal answer
#: After the last fault: how long clients may follow their last job (past visibility_timeout
#: and JOBTASTIC_LOST_AFTER), then read every status URL once more.
DRAIN_SECONDS = 120.0
RECHECK_TIMEOUT = 300.0

LABELS = {
    "kill-group": "worker's process group SIGKILLed",
    "kill-child": "pool child SIGKILLed",
    "sigterm": "worker SIGTERMed (warm shutdown)",
    "redis": "Redis restart",
    "rabbitmq": "RabbitMQ restart",
    "cache": "cache restart (emptied)",
    "gunicorn": "gunicorn restart",
}
WORKER_FAULTS = ("kill-group", "kill-child", "sigterm")
FAULTS = {
    "redis": ["kill-group", "kill-child", "sigterm", "redis", "cache", "gunicorn"],
    "rabbitmq": ["kill-group", "kill-child", "sigterm", "redis", "rabbitmq", "cache", "gunicorn"],
}
DESCRIPTIONS = {
    "redis": "broker and results in one Redis, the cache in another",
    "rabbitmq": "broker RabbitMQ, results in one Redis, the cache in another",
}


def poll_until(condition: Callable[[], T], timeout: float) -> T | None:
    """``condition()`` once truthy, or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def mid_run(running: list[tuple[str, int, float]]) -> list[tuple[str, int, float]]:
    """The runs in MID_RUN: started a moment ago, far from their end. Not at their start: a
    worker then also takes the next messages, and a SIGKILL between Redis handing one over
    (BRPOP) and kombu recording it as unacknowledged loses that message for good."""
    now = time.time()
    return [run for run in running if MID_RUN[0] <= now - run[2] <= MID_RUN[1]]


@dataclass
class Fault:
    name: str
    injected_at: float
    restored_at: float
    mid_run: bool  # a job was running where the fault struck
    hit: list[str]  # task ids running where it struck
    visitor: str | None = None  # the client that submitted one job during the outage
    affected: list[str] = field(default_factory=list)  # in flight, or submitted meanwhile
    honest_after: float | None = None  # seconds from the fault to the last affected answer
    unresolved: int = 0  # affected jobs with no terminal answer when the wait ended


def outcome(job: JobRecord | None) -> str:
    if job is None or job.status is None:
        return "never terminal"
    return job.status if job.status != "FAILURE" else f"FAILURE {job.error_type}"


class Leg:
    """One broker's run: everything started, faults injected, the counts taken."""

    def __init__(self, broker: str, folder: Path) -> None:
        self.broker, self.folder = broker, folder
        folder.mkdir(parents=True)
        self.queue = f"jobtastic-soak-{uuid.uuid4().hex[:8]}"
        data_port, cache_port, web_port = distinct_free_ports(3)
        self.data = RedisServer("data", folder / "redis-data", data_port, persistent=True)
        self.cache = RedisServer("cache", folder / "redis-cache", cache_port, persistent=False)
        self.env = self._child_env()
        self.web = WebServer(folder, web_port, self.env)
        self.workers = [Worker(name, folder, self.queue, self.env) for name in WORKERS]
        self.runs = Runs(folder / "runs.log")
        self.stop_file = folder / "stop"
        self.events = ClientEvents()
        self.visitors = 0  # one-job clients submitting during outages
        self.stuck: set[str] = set()  # jobs still unanswered when a fault's wait ended
        self.clients: list[subprocess.Popen[bytes]] = []
        self.faults: list[Fault] = []
        self.unexpected_exits: list[str] = []
        self.started_at = time.time()

    def _child_env(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("JOBTASTIC_", "DJANGO_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="tests.soak.settings",
            JOBTASTIC_TEST_BACKEND="redis",
            JOBTASTIC_SOAK_DIR=str(self.folder),
            JOBTASTIC_SOAK_BROKER=self.broker,
            JOBTASTIC_SOAK_DATA_REDIS=self.data.url,
            JOBTASTIC_SOAK_CACHE_REDIS=self.cache.url,
            JOBTASTIC_SOAK_QUEUE=self.queue,
            PYTHONPATH=str(ROOT),
        )
        return env

    # -- the run -------------------------------------------------------------------------

    def run(self, seconds: float, faults: list[str]) -> dict[str, Any]:
        try:
            self.start()
            deadline = time.monotonic() + seconds
            cycle = 0
            while cycle == 0 or time.monotonic() < deadline:
                cycle += 1
                for name in faults:
                    if cycle > 1 and time.monotonic() >= deadline:
                        break
                    self.inject(name)
            self.drain()
            return self.report()
        finally:
            self.teardown()

    def start(self) -> None:
        self.data.start()
        self.cache.start()
        if self.broker == "rabbitmq":
            rabbitmq_start_app()
        migrate = [sys.executable, "-m", "django", "migrate", "--noinput", "--skip-checks", "-v0"]
        subprocess.run(migrate, cwd=ROOT, env=self.env, check=True, timeout=300)
        self.web.start()
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_ready()
        self.started_at = time.time()
        for number in range(CLIENTS):
            self.start_client(f"client-{number}")
        self.log(f"started: gunicorn on {self.web.base}, workers {', '.join(WORKERS)}")

    def start_client(self, name: str, *options: str) -> None:
        path = self.folder / f"{name}.jsonl"
        self.events.add(name, path)
        command = [
            *(sys.executable, "-m", "tests.soak.client", self.web.base),
            *(str(path), str(self.stop_file), "--name", name, *options),
        ]
        self.clients.append(spawn(command, self.folder / f"{name}.out", self.env))

    def check_workers(self) -> None:
        """A worker that died by itself is a finding: noted, and started again."""
        for worker in self.workers:
            if not worker.alive():
                self.unexpected_exits.append(f"worker {worker.name}: see {worker.log}")
                worker.start()
                worker.wait_ready()

    def inject(self, name: str) -> None:
        self.check_workers()
        fault = getattr(self, "_" + name.replace("-", "_"))()
        self.settle(fault)
        self.faults.append(fault)
        took = "unresolved" if fault.honest_after is None else f"{fault.honest_after:.1f} s"
        self.log(
            f"{LABELS[name]}: hit {len(fault.hit)} running, {len(fault.affected)} in flight, "
            f"the last honest answer after {took}"
        )

    def settle(self, fault: Fault) -> None:
        """Wait until every job the fault affected has its terminal answer: those in flight,
        those submitted while it lasted, and the outage visitor's."""

        def affected() -> list[JobRecord]:
            jobs = self.events.affected(fault.injected_at, fault.restored_at)
            seen = {job.id for job in jobs}
            return jobs + [
                job
                for job in self.events.jobs.values()
                if job.client == fault.visitor and job.id not in seen
            ]

        def resolved() -> bool:
            jobs = affected()
            visitor_submitted = fault.visitor is None or any(
                job.client == fault.visitor for job in jobs
            )
            # A job an earlier fault left unanswered is counted there, not waited for again.
            waiting = [job for job in jobs if job.terminal_at is None and job.id not in self.stuck]
            return visitor_submitted and not waiting

        poll_until(resolved, SETTLE_TIMEOUT)
        affected_jobs = affected()
        fault.affected = [job.id for job in affected_jobs]
        fault.unresolved = sum(job.terminal_at is None for job in affected_jobs)
        self.stuck.update(job.id for job in affected_jobs if job.terminal_at is None)
        answered = [job.terminal_at for job in affected_jobs if job.terminal_at is not None]
        if not fault.unresolved:
            fault.honest_after = max(answered, default=fault.restored_at) - fault.injected_at

    def drain(self) -> None:
        """No more submissions: clients follow their last job, then read all once more."""
        self.check_workers()
        staged = self.stop_file.with_suffix(".new")
        staged.write_text(f"{time.time() + DRAIN_SECONDS:.3f}")
        staged.rename(self.stop_file)
        poll_until(
            lambda: all(client.poll() is not None for client in self.clients),
            DRAIN_SECONDS + RECHECK_TIMEOUT,
        )
        self.events.refresh()

    def teardown(self) -> None:
        try:
            if self.broker == "rabbitmq":
                rabbitmq_start_app()  # whatever happened, RabbitMQ serves again
        finally:
            for client in self.clients:
                end(client)
            for worker in self.workers:
                worker.stop()
            self.web.kill()
            if self.broker == "rabbitmq":
                rabbitmq_delete_queue(self.queue)
            self.data.stop()
            self.cache.stop()

    def log(self, text: str) -> None:
        print(f"soak [{self.broker} {time.time() - self.started_at:6.1f} s] {text}", flush=True)

    # -- the faults ----------------------------------------------------------------------

    def running_jobs(self) -> list[tuple[str, int, float]]:
        """The runs under way, once one of them is mid-run (else none)."""
        pids = set().union(*(worker.children() for worker in self.workers if worker.alive()))
        running = self.runs.running_in(pids)
        return running if mid_run(running) else []

    def worker_running_a_job(self) -> tuple[Worker, list[tuple[str, int, float]]]:
        """A worker and the jobs it runs, one of them mid-run (none if no job was before the
        deadline)."""

        def found() -> tuple[Worker, list[tuple[str, int, float]]] | None:
            for worker in self.workers:
                running = self.runs.running_in(worker.children()) if worker.alive() else []
                if mid_run(running):
                    return worker, running
            return None

        return poll_until(found, RUNNING_TIMEOUT) or (self.workers[0], [])

    def service_fault(
        self, name: str, stop: Callable[[], None], start: Callable[[], None]
    ) -> Fault:
        """Stop a service while jobs run, hold it down for OUTAGE seconds, start it again."""
        running = poll_until(self.running_jobs, RUNNING_TIMEOUT) or []
        injected_at = time.time()
        try:
            stop()
            # A visitor clicking during the outage: one job, submitted and followed.
            self.visitors += 1
            visitor = f"visitor-{self.visitors}"
            self.start_client(visitor, "--jobs", "1")
            time.sleep(OUTAGE)  # the outage itself, not a wait for a state
        finally:
            start()
        hit = [task_id for task_id, _, _ in running]
        return Fault(name, injected_at, time.time(), bool(running), hit, visitor)

    def _kill_group(self) -> Fault:
        return self.worker_fault("kill-group", lambda worker: worker.kill_group())

    def _kill_child(self) -> Fault:
        worker, running = self.worker_running_a_job()
        if running:
            task_id, pid, _ = (mid_run(running) or running)[0]  # the most of its run ahead
            hit = [task_id]
        else:  # no job ran before the deadline: any child (the fault is marked not mid-run)
            pid, hit = min(worker.children(), default=0), []
        injected_at = time.time()
        with contextlib.suppress(ProcessLookupError):
            if pid:
                os.kill(pid, signal.SIGKILL)
        return Fault("kill-child", injected_at, injected_at, bool(running), hit)

    def _sigterm(self) -> Fault:
        return self.worker_fault("sigterm", lambda worker: worker.warm_shutdown())

    def worker_fault(self, name: str, stop: Callable[[Worker], None]) -> Fault:
        """Stop the worker running a job with ``stop``, then start it again."""
        worker, running = self.worker_running_a_job()
        injected_at = time.time()
        stop(worker)
        worker.start()
        worker.wait_ready()
        hit = [task_id for task_id, _, _ in running]
        return Fault(name, injected_at, time.time(), bool(running), hit)

    def _redis(self) -> Fault:
        return self.service_fault("redis", self.data.crash, self.data.start)

    def _rabbitmq(self) -> Fault:
        return self.service_fault("rabbitmq", lambda: rabbitmqctl("stop_app"), rabbitmq_start_app)

    def _cache(self) -> Fault:
        return self.service_fault("cache", self.cache.crash, self.cache.start)

    def _gunicorn(self) -> Fault:
        return self.service_fault("gunicorn", self.web.stop, self.web.start)

    # -- the counts ----------------------------------------------------------------------

    def message_whereabouts(self, task_id: str) -> str:
        """Where a Redis broker holds the job's message: queued, unacknowledged (a worker
        took it), or nowhere (lost)."""
        if self.broker != "redis":
            return "unknown (RabbitMQ)"
        client = redis.Redis(port=self.data.port, db=0, socket_timeout=5)
        try:
            if any(task_id.encode() in item for item in client.lrange(self.queue, 0, -1)):
                return "queued"
            if any(task_id.encode() in item for item in client.hvals("unacked")):
                return "unacknowledged"
            return "nowhere: lost"
        except redis.RedisError as error:
            return f"unknown ({error})"
        finally:
            client.close()

    def report(self) -> dict[str, Any]:
        jobs = self.events.jobs
        statuses = Counter(outcome(job) for job in jobs.values())
        ran_twice = self.runs.ran_more_than_once()
        lost = [job for job in jobs.values() if job.error_type == "JobLostError"]
        answers = self.events.answers
        changed = [
            {
                "id": job.id,
                "first": outcome(job),
                "later": " ".join(filter(None, job.recheck or ("not read again",))),
            }
            for job in jobs.values()
            if job.via == "poll" and job.recheck != (job.status, job.error_type)
        ]
        counts = {
            "submitted": len(jobs),
            "SUCCESS": statuses.pop("SUCCESS", 0),
            "reported lost": len(lost),
            "never terminal": statuses.pop("never terminal", 0),
            "ran more than once": len(ran_twice),
            "5xx other than 503": len(answers.other_5xx),
            "503 with Retry-After (designed)": answers.designed_503,
            "4xx": len(answers.client_errors),
            "connection errors": answers.connection_errors,
            "unreadable answers": answers.bad_bodies,
            "submissions given up": self.events.submit_refused,
            "terminal answer changed later": len(changed),
            "failure told by the submit answer only": sum(
                job.via == "submit" for job in jobs.values()
            ),
            "  ...and its status URL not terminal": sum(
                job.via == "submit" and (job.recheck or ("",))[0] not in TERMINAL
                for job in jobs.values()
            ),
            "lost verdict for a job that ran to its end": sum(
                job.id in self.runs.ends for job in lost
            ),
            "workers that died unasked": len(self.unexpected_exits),
        }
        never = [
            {
                "id": job.id,
                "client": job.client,
                "runs": len(self.runs.starts.get(job.id, [])),
                "message": self.message_whereabouts(job.id),
            }
            for job in jobs.values()
            if job.terminal_at is None
        ]
        faults = []
        for fault in self.faults:
            hit = Counter(outcome(jobs.get(task_id)) for task_id in fault.hit)
            faults.append(
                {
                    **asdict(fault),
                    "label": LABELS[fault.name],
                    "at": fault.injected_at - self.started_at,
                    "down": fault.restored_at - fault.injected_at,
                    "hit_outcomes": dict(hit),
                }
            )
        return {
            "leg": self.broker,
            "folder": str(self.folder),
            "seconds": time.time() - self.started_at,
            "counts": counts,
            "outcomes": dict(statuses),  # the FAILURE kinds (and REVOKED, NOT_FOUND if any)
            "faults": faults,
            "details": {
                "never terminal": never,
                "failure told by the submit answer only": [
                    {"id": job.id, "first": outcome(job), "status URL": (job.recheck or ("?",))[0]}
                    for job in jobs.values()
                    if job.via == "submit"
                ],
                "ran more than once": ran_twice,
                "terminal answer changed later": changed,
                "5xx other than 503": answers.other_5xx,
                "4xx": answers.client_errors,
                "answers by kind and code": dict(answers.by_code),
                "workers that died unasked": self.unexpected_exits,
            },
        }


# -- the whole run -----------------------------------------------------------------------


def run(legs: list[str], minutes: float, folder: Path | None = None) -> dict[str, Any]:
    """Run each leg for its share of ``minutes`` (at least one round of its faults)."""
    folder = folder or ROOT / "var" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    reports = []
    for broker in legs:
        leg = Leg(broker, folder / broker)
        reports.append(leg.run(60 * minutes / len(legs), FAULTS[broker]))
    return {"minutes": minutes, "legs": reports, "total": total(reports)}


def total(reports: list[dict[str, Any]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for report in reports:
        counts.update(report["counts"])
        outcomes.update(report["outcomes"])
    longest = max(
        (fault["honest_after"] or 0.0 for report in reports for fault in report["faults"]),
        default=0.0,
    )
    by_fault: dict[str, dict[str, Any]] = {}
    for report in reports:
        for fault in report["faults"]:
            kind = by_fault.setdefault(
                fault["label"], {"times": 0, "longest": 0.0, "hit": Counter()}
            )
            kind["times"] += 1
            kind["longest"] = max(kind["longest"], fault["honest_after"] or 0.0)
            kind["hit"].update(fault["hit_outcomes"])
    return {
        "counts": dict(counts),
        "outcomes": dict(outcomes),
        "faults": sum(len(report["faults"]) for report in reports),
        "longest fault to honest answer": longest,
        "by fault": {label: {**kind, "hit": dict(kind["hit"])} for label, kind in by_fault.items()},
    }


def count_rows(counts: dict[str, int], outcomes: dict[str, int]) -> list[str]:
    """submitted, SUCCESS, each FAILURE type, then the other counts: one line each."""
    rows = [("submitted", counts["submitted"]), ("SUCCESS", counts["SUCCESS"])]
    rows += sorted(outcomes.items())
    rows += [(name, value) for name, value in counts.items() if name not in dict(rows)]
    return [f"  {name:<48} {value:>6}" for name, value in rows]


def table(result: dict[str, Any]) -> str:
    """The figures as text: per leg, the counts and one row per fault; then the totals."""
    lines: list[str] = []
    for report in result["legs"]:
        counts = report["counts"]
        lines += [
            "",
            f"== {report['leg']} leg ({DESCRIPTIONS[report['leg']]}): "
            f"{report['seconds']:.0f} s, {CLIENTS} clients, {len(WORKERS)} workers x 2",
        ]
        lines += count_rows(counts, report["outcomes"])
        details = report["details"]
        lines += [
            f"    never terminal: {job['id']} ({job['client']}, ran {job['runs']} times, "
            f"message {job['message']})"
            for job in details["never terminal"]
        ]
        lines += [
            f"    changed: {job['id']} first {job['first']}, later {job['later']}"
            for job in details["terminal answer changed later"]
        ]
        lines += [
            f"    submit answer only: {job['id']} {job['first']}, status URL {job['status URL']}"
            for job in details["failure told by the submit answer only"]
        ]
        lines += [f"    5xx: {answer}" for answer in details["5xx other than 503"]]
        lines += [f"    died unasked: {text}" for text in details["workers that died unasked"]]
        lines += [
            "",
            f"  {'fault':<36} {'at s':>6} {'down s':>7} {'in flight':>9} "
            f"{'answered after s':>16}  hit: outcome",
        ]
        for fault in report["faults"]:
            after = fault["honest_after"]
            shown = "-" if after is None else f"{after:.1f}"
            hit = ", ".join(f"{name} x{count}" for name, count in fault["hit_outcomes"].items())
            unresolved = f" ({fault['unresolved']} unresolved)" if fault["unresolved"] else ""
            lines.append(
                f"  {fault['label']:<36} {fault['at']:>6.0f} {fault['down']:>7.1f} "
                f"{len(fault['affected']):>9} {shown:>16}  {hit or 'none running'}{unresolved}"
            )
    summary = result["total"]
    lines += ["", f"== all legs ({summary['faults']} faults)"]
    lines += count_rows(summary["counts"], summary["outcomes"])
    lines.append(
        f"  {'longest fault to honest answer (s)':<48} "
        f"{summary['longest fault to honest answer']:>6.1f}"
    )
    lines += ["", f"  {'fault':<36} {'times':>5} {'longest s':>9}  jobs hit: outcome"]
    for label, kind in summary["by fault"].items():
        hit = ", ".join(f"{name} x{count}" for name, count in sorted(kind["hit"].items()))
        lines.append(f"  {label:<36} {kind['times']:>5} {kind['longest']:>9.1f}  {hit}")
    return "\n".join(lines)
