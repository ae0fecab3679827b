"""What the runner reads while the soak runs: the jobs' runs log and the clients' events,
both appended by other processes and read incrementally (whole lines only)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Tail:
    """The lines appended to a file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.partial = path, 0, b""

    def lines(self) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *complete, self.partial = (self.partial + data).split(b"\n")
        return [line.decode() for line in complete if line]


class Runs:
    """The runs log: when each task id started and ended, and in which process."""

    def __init__(self, path: Path) -> None:
        self.tail = Tail(path)
        self.starts: dict[str, list[tuple[float, int]]] = {}
        self.ends: dict[str, float] = {}

    def refresh(self) -> None:
        for line in self.tail.lines():
            moment, event, task_id, pid = line.split()
            if event == "start":
                self.starts.setdefault(task_id, []).append((float(moment), int(pid)))
            else:
                self.ends[task_id] = float(moment)

    def running_in(self, pids: set[int]) -> list[tuple[str, int, float]]:
        """``(task id, pid, started)`` of the runs under way in ``pids``, latest first."""
        self.refresh()
        running = [
            (task_id, pid, started)
            for task_id, runs in self.starts.items()
            if task_id not in self.ends
            for started, pid in runs[-1:]
            if pid in pids
        ]
        return sorted(running, key=lambda run: -run[2])

    def ran_more_than_once(self) -> list[str]:
        self.refresh()
        return sorted(task_id for task_id, runs in self.starts.items() if len(runs) > 1)


@dataclass
class JobRecord:
    id: str
    submitted_at: float
    client: str
    terminal_at: float | None = None
    status: str | None = None
    error_type: str | None = None
    via: str | None = None
    recheck: tuple[str, str | None] | None = None


@dataclass
class Answers:
    """Every answer that was not a 200, by kind."""

    designed_503: int = 0  # 503 with Retry-After: the backend is down, ask again later
    other_5xx: list[dict[str, Any]] = field(default_factory=list)
    client_errors: list[dict[str, Any]] = field(default_factory=list)  # 4xx
    connection_errors: int = 0
    bad_bodies: int = 0
    by_code: Counter[str] = field(default_factory=Counter)


class ClientEvents:
    """The events of every client, folded into one record per job."""

    def __init__(self) -> None:
        self.tails: dict[str, Tail] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.answers = Answers()
        self.done: set[str] = set()
        self.submit_refused = 0

    def add(self, name: str, path: Path) -> None:
        self.tails[name] = Tail(path)

    def refresh(self) -> None:
        for name, tail in self.tails.items():
            for line in tail.lines():
                self._fold(name, json.loads(line))

    def _fold(self, client: str, event: dict[str, Any]) -> None:
        kind = event["e"]
        if kind == "submitted":
            self.jobs.setdefault(event["id"], JobRecord(event["id"], event["t"], client))
        elif kind == "terminal":
            job = self.jobs[event["id"]]
            if job.terminal_at is None:
                job.terminal_at, job.status = event["t"], event["status"]
                job.error_type, job.via = event["type"], event["via"]
        elif kind == "recheck":
            self.jobs[event["id"]].recheck = (event["status"], event["type"])
        elif kind == "answer":
            self._fold_answer(client, event)
        elif kind == "submit_refused":
            self.submit_refused += 1
        elif kind == "done":
            self.done.add(client)

    def _fold_answer(self, client: str, event: dict[str, Any]) -> None:
        code = event["code"]
        answers = self.answers
        answers.by_code[f"{event['kind']} {code}"] += 1
        if code == "conn":
            answers.connection_errors += 1
        elif code == "bad-body":
            answers.bad_bodies += 1
        elif code == 503 and event.get("retry_after"):
            answers.designed_503 += 1
        elif code >= 500:
            answers.other_5xx.append({"client": client, **event})
        elif code >= 400:
            answers.client_errors.append({"client": client, **event})

    def in_flight(self) -> list[JobRecord]:
        self.refresh()
        return [job for job in self.jobs.values() if job.terminal_at is None]

    def affected(self, injected_at: float, restored_at: float) -> list[JobRecord]:
        """Jobs in flight when a fault began, or submitted while it lasted."""
        self.refresh()
        return [
            job
            for job in self.jobs.values()
            if job.submitted_at <= restored_at
            and (job.terminal_at is None or job.terminal_at > injected_at)
        ]
