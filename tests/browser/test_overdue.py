"""A job whose estimate ran out while it still runs: the widget says so, in Chromium.

The example's division job is held by a gate (see tests.browser.pace) at a progress write
that carries an estimate: a few fast steps in, the estimate is a few seconds at most. The job
then writes nothing more, while every answer ages that estimate to the moment of reading
(``progress.time_remaining``), so it runs out while the job is held: from then on the answer
says ``overdue`` and the widget "Taking longer than expected…", over a bar that stays where
the job is. Nothing waits for a time of its own: the job stays held until the test releases
it, and the text is awaited until it comes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pace.gate import Gate
from tests.browser.widget_page import RECORD_STATUS_TEXTS, bar_value

pytestmark = pytest.mark.browser

JOB_PAGE = re.compile(r"/jobs/division/[0-9a-f-]+/\?outcome=new$")
OVERDUE = "Taking longer than expected…"
DIVISIONS = 40  # at 0.05 s each, about 2 s of work: any estimate a few steps in is short
HOLD_AT = 3  # the first progress write from step 3 on: completed > 0, so it has an estimate
#: How long the page gets to say it after the estimate ran out (ms): a few polls, under load.
SAY_IT_WITHIN = 30_000


def test_a_held_job_whose_estimate_ran_out_says_it_takes_longer(
    page: Page, gate: Callable[..., Gate]
) -> None:
    paced = gate(HOLD_AT)
    label = f"Run {paced.token}"
    page.add_init_script(RECORD_STATUS_TEXTS)
    page.goto("/")
    form = page.locator("#division-form")
    form.locator("textarea[name=numerators]").fill(", ".join(map(str, range(1, DIVISIONS + 1))))
    form.locator("textarea[name=denominators]").fill(", ".join("2" for _ in range(DIVISIONS)))
    form.locator("input[name=label]").fill(label)
    form.locator("button").click()
    page.wait_for_url(JOB_PAGE)

    meta = paced.held(0)  # what the job wrote last: every poll reads it until the release
    assert HOLD_AT <= meta["completed"] < DIVISIONS
    assert meta["time_remaining"] >= 0, f"the held write has an estimate: {meta}"
    assert meta["updated_at"], meta
    held_value = bar_value(meta["progress_percent"])
    widget = page.locator(".jobtastic")
    bar = page.locator(".jobtastic-bar")
    status = page.locator(".jobtastic-status")
    message = page.locator(".jobtastic-task-message")

    # The estimate runs out while the job is held: the widget says so, however long that
    # took (the estimate itself, plus a poll or two).
    timeout = meta["time_remaining"] * 1000 + SAY_IT_WITHIN
    expect(status).to_have_text(OVERDUE, timeout=timeout)
    # ...over the bar where the job is held, still running, its message unchanged.
    expect(widget).to_have_attribute("data-jobtastic-state", "PROGRESS")
    expect(bar).to_have_attribute("aria-valuenow", held_value)
    expect(message).to_have_text(f"{label}: {meta['completed']} of {DIVISIONS} divisions")

    # What the widget read: the written estimate, aged to 0, and overdue; nothing else moved.
    answer = page.request.get(widget.get_attribute("data-jobtastic-url") or "")
    assert answer.status == 200
    task = answer.json()["task"]
    assert (task["status"], task["ready"]) == ("PROGRESS", False)
    assert task["result"] == meta, "the held write is what every poll reads"
    progress = task["progress"]
    assert progress["overdue"] is True
    assert progress["time_remaining"] == 0
    assert progress["percent"] == meta["progress_percent"]
    assert progress["completed"] == meta["completed"]
    assert progress["updated_at"] == meta["updated_at"]

    # Once overdue, it stays so while the job is held: never back to a time left, never
    # "about 0 seconds left" (the job has not moved since).
    texts: list[str] = page.evaluate("window.statusTexts")
    said_overdue = texts[texts.index(OVERDUE) :]
    assert set(said_overdue) == {OVERDUE}, texts
    assert not any(re.search(r"about 0 seconds", text) for text in texts), texts
    expect(bar).to_have_attribute("aria-valuenow", held_value)

    # Released, the job runs to its end: done, and the bar full.
    paced.release(0)
    expect(widget).to_have_attribute("data-jobtastic-state", "SUCCESS")
    expect(status).to_have_text("Done.")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#job-result")).to_have_text(re.compile(r"^Results: 0\.5, 1, 1\.5, 2, "))
