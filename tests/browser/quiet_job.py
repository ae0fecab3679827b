"""A job that reports no progress at all, for the browser tests' site (test-only).

Its class keeps a history (the default), so a run of it gets a bar that moves with time
against the duration of its earlier runs. It sleeps once, standing in for work: a gate
(tests.browser.pace) holds it there, at its initial write, for as long as the test wants.
"""

from __future__ import annotations

import time

from django_jobtastic import JobtasticTask


class QuietJob(JobtasticTask):
    significant_kwargs = ["label"]
    herd_avoidance_timeout = 0
    estimate_from_history = True

    def calculate_result(self, label: str) -> dict[str, str]:
        time.sleep(0.05)
        return {"label": label}
