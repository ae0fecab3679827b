"""Jobs the tests run, in the worker process and eagerly.

Every job records its runs in the probe Redis so tests count real executions.
"""

from __future__ import annotations

import os
from typing import Any

from celery import shared_task
from celery.signals import task_retry

from django_jobtastic import JobtasticTask, UserFacingError
from tests import probe

#: Memory a leaky run keeps for ever (bytes).
_leaked: list[bytes] = []


class CountingJob(JobtasticTask):
    """Counts its runs; ``hold`` keeps it running until the test releases the marker."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 60
    progress_interval = 0  # every step is written: the tests read each one

    def calculate_result(self, marker: str, steps: int = 4, hold: bool = False) -> dict[str, Any]:
        probe.record_run(marker)
        probe.note(marker, f"pid:{os.getpid()}")
        for done in range(1, steps + 1):
            self.update_progress(done, steps, message=f"step {done}")
            if hold and done == 1:
                probe.wait_for_release(marker)
        return {"marker": marker, "steps": steps}


class SteppedJob(CountingJob):
    """Waits after each step's progress write until the test releases ``<marker>:<step>``:
    a test following it sees every write, whatever the machine's speed."""

    def calculate_result(self, marker: str, steps: int = 4, hold: bool = False) -> dict[str, Any]:
        probe.record_run(marker)
        for done in range(1, steps + 1):
            self.update_progress(done, steps, message=f"step {done}")
            probe.wait_for_release(f"{marker}:{done}")
        return {"marker": marker, "steps": steps}


class HistoryJob(SteppedJob):
    """A SteppedJob with a history, which first waits for ``<marker>:start`` (at 0 %)."""

    estimate_from_history = True

    def calculate_result(self, marker: str, steps: int = 4, hold: bool = False) -> dict[str, Any]:
        probe.wait_for_release(f"{marker}:start")
        return super().calculate_result(marker, steps, hold)


class QuietHistoryJob(CountingJob):
    """Reports no progress at all, and runs until the test releases its marker."""

    estimate_from_history = True

    def calculate_result(self, marker: str, steps: int = 4, hold: bool = False) -> dict[str, Any]:
        probe.record_run(marker)
        probe.wait_for_release(marker)
        return {"marker": marker}


class CachedJob(CountingJob):
    cache_duration = 0


class CancellableJob(CountingJob):
    """A CountingJob its owners may cancel; notes each step it reaches (``step:N``)."""

    cancellable = True

    def calculate_result(self, marker: str, steps: int = 4, hold: bool = False) -> dict[str, Any]:
        probe.record_run(marker)
        for done in range(1, steps + 1):
            self.update_progress(done, steps, message=f"step {done}")
            probe.note(marker, f"step:{done}")
            if hold and done == 1:
                probe.wait_for_release(marker)
        probe.note(marker, "finished")
        return {"marker": marker, "steps": steps}


class ShortHerdJob(CountingJob):
    """Latches for 3 s only, for the killed-worker test (which gives it a queue of its own)."""

    herd_avoidance_timeout = 3


class FailingJob(CountingJob):
    cache_duration = 0

    def calculate_result(self, marker: str, **kwargs: Any) -> None:  # type: ignore[override]
        probe.record_run(marker)
        raise UserFacingError(f"cannot do {marker}")


class RetryingJob(CountingJob):
    """Retries once, at once. Celery publishes the retry before it stores the first attempt's
    RETRY, so the second attempt waits for that record (the ``task_retry`` signal below):
    otherwise its SUCCESS could be stored first, and be overwritten by the RETRY."""

    def calculate_result(self, marker: str, **kwargs: Any) -> str:  # type: ignore[override]
        if probe.record_run(marker) == 1:
            raise self.retry(countdown=0, max_retries=2)
        probe.wait_for_release(f"{marker}:retry-stored")
        return f"done after {self.request.retries} retries"


@task_retry.connect(weak=False)
def _retry_stored(sender: Any = None, request: Any = None, **_: Any) -> None:
    """Sent once the worker stored a job's RETRY state."""
    if isinstance(sender, RetryingJob) and request is not None:
        probe.release(f"{request.kwargs['marker']}:retry-stored")


class LeakyJob(CountingJob):
    memleak_threshold = 10  # MB

    def calculate_result(self, marker: str, **kwargs: Any) -> str:  # type: ignore[override]
        probe.record_run(marker)
        _leaked.append(b"\x01" * 60_000_000)  # touched pages, kept after the run: a leak
        return "leaked"

    def warn_of_memory_leak(self, growth: int, *args: Any, **kwargs: Any) -> None:
        probe.note(self.request.kwargs["marker"], str(growth))
        super().warn_of_memory_leak(growth, *args, **kwargs)


class VolatileCacheJob(CountingJob):
    """Uses the cache that a test stops."""

    cache_alias = "volatile"
    cache_duration = 0


class UnreachableCacheJob(CountingJob):
    """Uses a cache nothing listens to."""

    cache_alias = "unreachable"
    cache_duration = 0


class DivisionJob(JobtasticTask):
    """The README's example, positional arguments and all."""

    significant_kwargs = [("numerators", str), ("denominators", str)]
    herd_avoidance_timeout = 60
    cache_duration = 0

    def calculate_result(self, numerators: list[int], denominators: list[int]) -> list[float]:
        results = []
        pairs = zip(numerators, denominators, strict=True)
        for count, (numerator, denominator) in enumerate(pairs):
            results.append(numerator / denominator)
            self.update_progress(count + 1, len(numerators), update_frequency=10)
        return results


@shared_task(
    base=JobtasticTask, bind=True, significant_kwargs=["marker"], herd_avoidance_timeout=60
)
def decorated_job(self: JobtasticTask, marker: str, factor: int = 2, hold: bool = False) -> int:
    probe.record_run(marker)
    if hold:
        probe.wait_for_release(marker)
    self.update_progress(1, 1)
    return len(marker) * factor


@shared_task
def ping() -> str:
    return "pong"


class InternalErrorJob(CountingJob):
    """Fails with an exception whose text is not for users."""

    def calculate_result(self, marker: str, **kwargs: Any) -> None:  # type: ignore[override]
        probe.record_run(marker)
        raise ValueError(f"internal detail of {marker}")


class SlowRetryJob(CountingJob):
    """Retries once, a minute later: the job sits in RETRY meanwhile."""

    def calculate_result(self, marker: str, **kwargs: Any) -> str:  # type: ignore[override]
        if probe.record_run(marker) == 1:
            raise self.retry(countdown=60, max_retries=1)
        return "retried"


@shared_task(bind=True)
def held_plain_task(self: Any, marker: str, state: str | None = None) -> str:
    """A plain Celery task (STARTED is its state while held), or in a custom ``state``."""
    if state:
        self.update_state(state=state, meta={"stage": state.lower(), "marker": marker})
    probe.note(marker, "held")
    probe.wait_for_release(marker)
    return "released"
