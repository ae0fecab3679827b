"""The soak's job: a few seconds of steps with progress, each run logged outside Celery.

The runs log (``settings.RUNS_LOG``) is how the runner knows which process runs which job
(to hit a job mid-run) and how many times a task id really ran, whatever Celery recorded.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings

from django_jobtastic import JobtasticTask, UserFacingError

STEPS = 6
STEP_SECONDS = 0.5


def log_run(event: str, task_id: str) -> None:
    """Append ``time event task_id pid``: one short write, so lines of processes never mix."""
    line = f"{time.time():.3f} {event} {task_id} {os.getpid()}\n".encode()
    descriptor = os.open(settings.RUNS_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


class DesignedFailureError(UserFacingError):
    """The failure some jobs end with on purpose, to tell it from the faults' failures."""


class SoakJob(JobtasticTask):
    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 60  # a client retrying a submission latches onto its job

    def calculate_result(self, marker: str, fail: bool = False) -> dict[str, Any]:
        task_id = str(self.request.id)
        log_run("start", task_id)
        for done in range(1, STEPS + 1):
            time.sleep(STEP_SECONDS)
            self.update_progress(done, STEPS, message=f"step {done}")
        log_run("end", task_id)
        if fail:
            raise DesignedFailureError(f"{marker} fails by design")
        return {"marker": marker, "pid": os.getpid()}
