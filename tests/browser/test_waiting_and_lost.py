"""The widget's texts for a job still in the queue and for a job whose worker is gone.

Queued: the site's worker runs two jobs at a time; two jobs held by gates (see
tests.browser.pace) keep both busy, so a third waits in the queue for as long as the test
holds them, and its page says how long it has waited.

Lost: a held job's last write is made to look as a worker killed outright leaves it, silent
for longer than ``JOBTASTIC_LOST_AFTER`` (its ``alive_at`` rewritten in the site's database,
the job still held, so nothing writes over it). The next poll finds the job lost, stores the
verdict, and the widget says so. That a real SIGKILLed worker leads there is shown with real
workers in tests/integration/test_lost_jobs.py; here the browser's side of it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import MANAGE, Site, site_env
from tests.browser.pace.gate import Gate
from tests.browser.test_your_jobs import DIVISIONS, start_division

pytestmark = pytest.mark.browser

WAITED = re.compile(r"^Waiting for your task to begin… \(in the queue for \d+ seconds?\)$")
LOST = "The job stopped unexpectedly. Please try again."
NUMBERS = ", ".join(str(n) for n in range(1, DIVISIONS + 1))
TWOS = ", ".join("2" for _ in range(DIVISIONS))
#: The time the rewritten write claims: long before any JOBTASTIC_LOST_AFTER.
LONG_AGO = "2000-01-01T00:00:00Z"

#: Run by the site's own manage.py: the held job's stored meta, silent since LONG_AGO.
SILENCE = """
import json
from django_celery_results.models import TaskResult
row = TaskResult.objects.get(task_id="{task_id}")
meta = json.loads(row.result)
meta["alive_at"] = meta["updated_at"] = "{long_ago}"
row.result = json.dumps(meta)
row.save(update_fields=["result"])
print(row.status)
"""


def start_held(page: Page, gate: Callable[..., Gate], label: str = "") -> tuple[str, Gate]:
    paced = gate(2)
    task_id = start_division(page, f"{label}Run {paced.token}", NUMBERS, TWOS)
    paced.held(0)
    return task_id, paced


def test_a_queued_job_says_how_long_it_has_waited(
    page: Page, gate: Callable[..., Gate], label: str
) -> None:
    holding = [start_held(page, gate)[1] for _ in range(2)]  # both of the worker's slots

    start_division(page, label, NUMBERS, TWOS)
    widget = page.locator(".jobtastic")
    status = page.locator(".jobtastic-status")
    expect(status).to_have_text(WAITED, timeout=60_000)  # from 5 s of waiting on
    expect(widget).to_have_attribute("data-jobtastic-state", "PENDING")
    answer = page.request.get(widget.get_attribute("data-jobtastic-url") or "").json()["task"]
    assert answer["status"] == "PENDING"
    assert answer["queued_at"].endswith("Z"), answer

    for paced in holding:
        paced.release(0)
    expect(widget).to_have_attribute("data-jobtastic-state", "SUCCESS")
    expect(status).to_have_text("Done.")


def test_a_job_whose_worker_is_gone_is_reported_lost(
    page: Page, gate: Callable[..., Gate], site: Site
) -> None:
    task_id, _held = start_held(page, gate)  # never released here: nothing writes over it
    widget = page.locator(".jobtastic")
    expect(widget).to_have_attribute("data-jobtastic-state", "PROGRESS")

    silence = SILENCE.replace("{long_ago}", LONG_AGO).replace("{task_id}", task_id)
    command = [sys.executable, str(MANAGE), "shell", "-c", silence]
    done = subprocess.run(
        command, env=site_env(site.var), capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "PROGRESS", done.stderr

    expect(widget).to_have_attribute("data-jobtastic-state", "FAILURE")
    expect(page.locator(".jobtastic-status")).to_have_text(LOST)
    answer = page.request.get(widget.get_attribute("data-jobtastic-url") or "").json()["task"]
    assert answer["error"] == {"type": "JobLostError", "message": LOST}
    assert json.dumps(answer).count(LONG_AGO) == 0, "the verdict replaced the silent write"
