"""One soak client: submits jobs one after another through the web server and follows each
one's status URL until it is terminal, as a page with the widget does.

``python -m tests.soak.client BASE_URL EVENTS_FILE STOP_FILE --name NAME [--jobs N]``. Every
event is
a JSON line appended to EVENTS_FILE as it happens, so the runner sees which jobs are in
flight: ``submitted``, ``terminal``, ``answer`` (anything but a 200: its status code, or
``conn`` for a connection error), ``recheck`` and ``never_terminal``. Once STOP_FILE exists
the client submits nothing more; it follows its last job until STOP_FILE's deadline (epoch
seconds), then reads every status URL once more (``recheck``: an answer must never change
once terminal) and exits.

Retries behave like the widget's: the server's ``Retry-After``, else a backoff doubling
from 1 s up to 30 s. Only the standard library: the client imports nothing under test.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERMINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT = 30.0
#: A visitor reads a job's outcome before starting the next one.
THINK_SECONDS = 1.0
#: Errors that mean no HTTP answer at all (refused, reset, closed mid-answer, timed out).
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Job:
    id: str
    url: str
    marker: str
    status: str = "PENDING"
    error_type: str | None = None
    terminal_via: str | None = None  # "poll", or "submit" when the submit answer said it


@dataclass
class Answer:
    code: int | None  # None: a connection error
    body: Any = None
    retry_after: str | None = None


def retry_delay(attempt: int, retry_after: str | None, base: float) -> float:
    """The widget's ``retryDelay``: the server's Retry-After, else a doubling backoff."""
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    return float(min(MAX_BACKOFF_SECONDS, max(base, 1.0) * 2 ** (attempt - 1)))


class SoakClient:
    def __init__(self, base: str, events: Path, stop_file: Path, poll_interval: float) -> None:
        self.base = base.rstrip("/")
        self.events = events.open("a", buffering=1)
        self.stop_file = stop_file
        self.poll_interval = poll_interval
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.jobs: list[Job] = []

    # -- plumbing ------------------------------------------------------------------------

    def emit(self, event: str, **fields: Any) -> None:
        self.events.write(json.dumps({"e": event, "t": time.time(), **fields}) + "\n")

    def stopping(self) -> bool:
        return self.stop_file.exists()

    def drained(self) -> bool:
        """Past the stop file's deadline: stop following."""
        try:
            deadline = float(self.stop_file.read_text() or "0")
        except (FileNotFoundError, ValueError):
            return False
        return time.time() > deadline

    def request(self, kind: str, path: str, data: dict[str, str] | None = None) -> Answer:
        encoded = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=encoded)
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                raw = response.read()
                code = response.status
        except urllib.error.HTTPError as error:
            with error:
                error.read()
                answer = Answer(error.code, retry_after=error.headers.get("Retry-After"))
            self.emit("answer", kind=kind, code=error.code, retry_after=answer.retry_after)
            return answer
        except CONNECTION_ERRORS as error:
            self.emit("answer", kind=kind, code="conn", error=type(error).__name__)
            return Answer(None)
        try:
            return Answer(code, json.loads(raw))
        except ValueError:
            self.emit("answer", kind=kind, code="bad-body", status=code)
            return Answer(None)

    def retrying(
        self, kind: str, ask: Callable[[], Answer], give_up: Callable[[], bool]
    ) -> Answer | None:
        """``ask`` until a 200 (or a 404, final for the widget too), waiting between tries as
        the widget does; None if ``give_up`` first."""
        attempt = 0
        while True:
            answer = ask()
            if answer.code in (200, 404):
                return answer
            attempt += 1
            delay = retry_delay(attempt, answer.retry_after, self.poll_interval)
            wake = time.monotonic() + delay
            while time.monotonic() < wake:
                if give_up():
                    return None
                time.sleep(min(0.1, delay))

    # -- the job's life ------------------------------------------------------------------

    def submit(self, marker: str, fail: bool) -> Job | None:
        """POST the submit page (again with the same marker after an error: a retried click
        latches onto the job if the first one started it). None if the run stops first."""
        answer = self.retrying(
            "submit",
            lambda: self.request("submit", f"/submit/{marker}/", {"fail": "1" if fail else "0"}),
            self.stopping,
        )
        if answer is None:
            return None
        if answer.code != 200:
            self.emit("submit_refused", marker=marker, code=answer.code)
            return None
        body = answer.body
        job = Job(id=body["id"], url=body["status_url"], marker=marker)
        self.jobs.append(job)
        self.emit("submitted", id=job.id, marker=marker, url=job.url, fail=fail)
        if body.get("state") in TERMINAL:  # known to the submitting request only
            self.finish(job, body["state"], body.get("error_type"), via="submit")
        return job

    def finish(self, job: Job, status: str, error_type: str | None, via: str) -> None:
        job.status, job.error_type, job.terminal_via = status, error_type, via
        self.emit("terminal", id=job.id, status=status, type=error_type, via=via)

    def read(self, job: Job, give_up: Callable[[], bool]) -> tuple[str, str | None] | None:
        """``(status, error type)`` from the job's status URL, or None if ``give_up`` first."""
        answer = self.retrying("poll", lambda: self.request("poll", job.url), give_up)
        if answer is None:
            return None
        if answer.code == 404:  # the widget stops here: "cannot be shown"
            return "NOT_FOUND", None
        task = answer.body["task"]
        return task["status"], (task.get("error") or {}).get("type")

    def follow(self, job: Job) -> None:
        """Poll until the job is terminal, or the run's drain deadline passes."""
        while job.terminal_via is None:
            seen = self.read(job, self.drained)
            if seen is None:
                break
            status, error_type = seen
            job.status = status
            if status in TERMINAL or status == "NOT_FOUND":
                self.finish(job, status, error_type, via="poll")
                return
            if self.drained():
                break
            time.sleep(self.poll_interval)
        if job.terminal_via is None:
            self.emit("never_terminal", id=job.id, last=job.status)

    def recheck(self) -> None:
        """Every job's status URL once more: a terminal answer must never change."""
        for job in self.jobs:
            give_up_at = time.monotonic() + 60
            seen = self.read(job, lambda: time.monotonic() > give_up_at)  # noqa: B023
            status, error_type = seen if seen is not None else ("UNREADABLE", None)
            self.emit("recheck", id=job.id, status=status, type=error_type)

    def run(self, name: str, fail_every: int, jobs: int | None) -> None:
        number = 0
        while not self.stopping() and (jobs is None or number < jobs):
            number += 1
            job = self.submit(f"{name}-{number}", fail=number % fail_every == 0)
            if job is not None:
                self.follow(job)
                time.sleep(THINK_SECONDS)
        self.recheck()
        self.emit("done")
        self.events.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("events", type=Path)
    parser.add_argument("stop_file", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--fail-every", type=int, default=10, help="every Nth job fails")
    parser.add_argument("--jobs", type=int, help="submit this many jobs, then stop")
    options = parser.parse_args()
    client = SoakClient(options.base_url, options.events, options.stop_file, options.poll_interval)
    client.run(options.name, options.fail_every, options.jobs)


if __name__ == "__main__":
    main()
