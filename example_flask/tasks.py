"""The original's example job, as its README wrote it (only the import line differs)."""

from __future__ import annotations

import os
from time import sleep
from typing import Any

from django_jobtastic import JobtasticTask

#: Seconds each division pretends to take, so the bar has something to show.
STEP_SECONDS = float(os.environ.get("EXAMPLE_STEP_SECONDS", "0.005"))


class LotsOfDivisionTask(JobtasticTask):
    """Division is hard. Make Celery do it a bunch."""

    # These are the Task kwargs that matter for caching purposes
    significant_kwargs = [
        ("numerators", str),
        ("denominators", str),
    ]
    # How long should we give a task before assuming it has failed?
    herd_avoidance_timeout = 60  # Shouldn't take more than 60 seconds
    # How long we want to cache results with identical ``significant_kwargs``
    cache_duration = 0  # Cache these results forever. Math is pretty stable.

    def calculate_result(
        self, numerators: list[int], denominators: list[int], **kwargs: Any
    ) -> list[float]:
        results = []
        divisions_to_do = len(numerators)
        # Only actually update the progress in the backend every 10 operations
        update_frequency = 10
        for count, divisors in enumerate(zip(numerators, denominators, strict=True)):
            numerator, denominator = divisors
            results.append(numerator / denominator)
            # Let's let everyone know how we're doing
            self.update_progress(count, divisions_to_do, update_frequency=update_frequency)
            # Let's pretend that we're using the computers that landed us on the moon
            sleep(STEP_SECONDS)

        return results
