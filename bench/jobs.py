"""Bench-only tasks: the progress loops, and a plain Celery task that counts its runs."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task

from django_jobtastic import JobtasticTask
from tests import probe


class ProgressBenchJob(JobtasticTask):
    """Times an empty loop, ``update_progress`` per item, and ``update_state`` per item."""

    significant_kwargs = ["n"]
    herd_avoidance_timeout = 0
    progress_interval = 0.5  # the library default (the tests' settings say 0.05)

    writes = 0

    def _store_progress(self, task_id: str, request: Any, meta: dict[str, Any]) -> None:
        self.writes += 1
        super()._store_progress(task_id, request, meta)

    def calculate_result(self, n: int, state_writes: int, repeat: int = 3) -> dict[str, Any]:
        empty: list[int] = []
        calls: list[int] = []
        writes: list[int] = []
        for _ in range(repeat):
            started = time.perf_counter_ns()
            for i in range(1, n + 1):  # noqa: B007 - the loop is what is timed
                pass
            empty.append(time.perf_counter_ns() - started)

            self.writes = 0
            started = time.perf_counter_ns()
            for i in range(1, n + 1):
                self.update_progress(i, n)
            calls.append(time.perf_counter_ns() - started)
            writes.append(self.writes)

        started = time.perf_counter_ns()
        for i in range(1, state_writes + 1):
            self.update_state(
                state="PROGRESS",
                meta={
                    "pending": False,
                    "current": i,
                    "total": state_writes,
                    "percent": round(100 * i / state_writes, 2),
                    "description": None,
                },
            )
        per_item_state = time.perf_counter_ns() - started
        return {
            "empty_ns": empty,
            "update_progress_ns": calls,
            "update_progress_writes": writes,
            "update_state_ns": per_item_state,
        }


@shared_task(name="bench.jobs.plain_count")
def plain_count(marker: str, hold: bool = False) -> str:
    """A plain Celery task: no herd avoidance, so every call is a message and a run."""
    probe.record_run(marker)
    if hold:
        probe.wait_for_release(marker)
    return marker


class PacedProgressJob(JobtasticTask):
    """Waits for the benchmark's go, then writes progress ``steps`` times, ``pause`` apart,
    noting the clock just before each ``update_progress`` call (bench/push.py)."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 0
    progress_interval = 0  # every call writes

    def calculate_result(self, marker: str, steps: int, pause: float) -> int:
        probe.wait_for_release(marker)
        for done in range(1, steps + 1):
            time.sleep(pause)
            began = time.time()
            self.update_progress(done, steps)
            probe.note(marker, f"{done} {began}")
        return steps
