"""The jobs the Django-free tests run in their worker: the original's division job, and jobs
whose pace the tests control."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from django_jobtastic import JobtasticTask
from tests.flask import pace

_leaked: list[bytes] = []


class LotsOfDivisionTask(JobtasticTask):
    """The original's example job, as its README wrote it (lists instead of ranges)."""

    significant_kwargs = [("numerators", str), ("denominators", str)]
    herd_avoidance_timeout = 60
    cache_duration = 600

    def calculate_result(
        self, numerators: list[int], denominators: list[int], **kwargs: Any
    ) -> list[float]:
        results = []
        for count, divisors in enumerate(zip(numerators, denominators, strict=True)):
            numerator, denominator = divisors
            results.append(numerator / denominator)
            self.update_progress(count, len(numerators), update_frequency=10)
        return results


class HeldJob(JobtasticTask):
    """Counts its runs; writes step 1 of 2, then waits until the test releases its marker."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 60
    cache_duration = 600

    def calculate_result(self, marker: str) -> str:
        pace.record_run(marker)
        self.update_progress(1, 2, message="half way")
        pace.wait_for_release(marker)
        return marker


class CancellableHeldJob(HeldJob):
    """A HeldJob its owners may cancel: once released, its next progress write ends it."""

    cancellable = True
    cache_duration = -1

    def calculate_result(self, marker: str) -> str:
        result = super().calculate_result(marker)
        self.update_progress(2, 2, message="done")
        return result


class LeakyJob(JobtasticTask):
    """Keeps 20 MB for ever: above its threshold of 1 MB."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 0
    memleak_threshold = 1

    def calculate_result(self, marker: str) -> str:
        _leaked.append(b"\x01" * 20_000_000)  # touched pages, kept after the run: a leak
        return marker


@shared_task
def django_configured() -> bool:
    """Whether the worker process configured Django (it never should)."""
    from django.conf import settings

    return bool(settings.configured)
