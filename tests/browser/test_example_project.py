"""The example project in Chromium: what a user sees while their jobs run.

Each test starts real jobs on the example site (uvicorn + a Celery worker on the embedded
set-up) and follows them through the progress widget, as a user would. Nothing here depends
on how fast the machine is: a state a test must see is held by a gate until the page showed
it (the ``gate`` fixture, see tests.browser.pace), or recorded by the page as it happens
(``record_status_texts``), and time in the page is the test's to move (``page.clock``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.widget_page import POLL_ONLY, RECORD_STATUS_TEXTS, bar_value

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "progress-widget.png"
STATUS_ROUTE = "**/jobtastic/status/**"
JOB_PAGE = re.compile(r"/jobs/division/[0-9a-f-]+/\?outcome=\w+$")
PROGRESS_TEXT = re.compile(r"\d+% complete, about \d+ seconds? left")

#: How many status requests the page made, counted as the widget calls fetch().
COUNT_STATUS_FETCHES = """
window.statusFetches = 0;
const realFetch = window.fetch;
window.fetch = function (input, init) {
  if (String(input && input.url ? input.url : input).includes("/jobtastic/status/")) {
    window.statusFetches += 1;
  }
  return realFetch.call(this, input, init);
};
"""


def job_path(page: Page) -> str:
    """The job page's address without the one-time outcome notice."""
    return page.url.split("?")[0]


def start_division(page: Page, label: str, numerators: str = "", denominators: str = "") -> None:
    page.goto("/")
    form = page.locator("#division-form")
    if numerators:
        form.locator("textarea[name=numerators]").fill(numerators)
        form.locator("textarea[name=denominators]").fill(denominators)
    form.locator("input[name=label]").fill(label)
    form.locator("button").click()
    page.wait_for_url(JOB_PAGE)


def wait_for_state(page: Page, state: str, timeout: float = 30_000) -> None:
    expect(page.locator(".jobtastic")).to_have_attribute(
        "data-jobtastic-state", state, timeout=timeout
    )


def test_the_bar_moves_estimates_time_and_shows_the_result(page: Page, site, gate) -> None:
    # Held at its first progress write from step 4 on (2.5 %, so the widget shows a
    # percentage): at most a few writes in, the estimate is linear, and with each division
    # taking at least its 0.05 s pause, at least 0.05 s x 156 = 7.8 s are left, over the
    # widget's 5 s "almost finished" threshold on any machine. Then held again at 30 %.
    paced = gate(4, 48)
    label = f"Run {paced.token}"
    numbers = ", ".join(str(n) for n in range(1, 161))  # 160 divisions, about 8 s
    start_division(page, label, numbers, ", ".join("2" for _ in range(160)))
    bar = page.locator(".jobtastic-bar")
    status = page.locator(".jobtastic-status")
    message = page.locator(".jobtastic-task-message")
    values: set[int] = set()
    texts: set[str] = set()
    messages: set[str] = set()
    for hold in range(2):
        meta = paced.held(hold)
        expect(bar).to_have_attribute("aria-valuenow", bar_value(meta["progress_percent"]))
        expect(message).to_have_text(f"{label}: {meta['completed']} of 160 divisions")
        value = int(bar.get_attribute("aria-valuenow") or 0)
        text = status.text_content() or ""
        assert 0 < value < 100
        values.add(value)
        texts.add(text)
        messages.add(message.text_content() or "")
        if 30 <= value <= 70 and "left" in text:
            shot = site.var / "running-bar.png"
            page.locator("main").screenshot(path=str(shot))
            if os.environ.get("JOBTASTIC_UPDATE_SCREENSHOT"):
                SCREENSHOT.parent.mkdir(exist_ok=True)
                shutil.copy(shot, SCREENSHOT)
        paced.release(hold)
    wait_for_state(page, "SUCCESS")

    assert len(values) >= 2, f"the bar should move before 100: {sorted(values)}"
    assert any(PROGRESS_TEXT.fullmatch(text) for text in texts), texts
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(status).to_have_text("Done.")
    expect(page.locator("#job-result")).to_have_text(re.compile(r"^Results: 0\.5, 1, 1\.5, 2, "))
    assert any(re.search(r": \d+ of 160 divisions$", text) for text in messages), messages
    expect(message).to_be_hidden()


def test_csv_export_ends_with_a_download_that_works(page: Page, marker: str) -> None:
    rows = 1000 + int(marker, 16) % 500  # a size no other test exports: a run of its own
    page.goto("/")
    page.locator("#export-form input[name=rows]").fill(str(rows))
    page.locator("#export-form button").click()
    wait_for_state(page, "SUCCESS")
    link = page.locator(".jobtastic-result a")
    expect(link).to_have_text("Open the result")
    with page.expect_download() as download_info:
        link.click()
    lines = Path(download_info.value.path()).read_text().splitlines()
    assert lines[0] == "order,customer,amount"
    assert len(lines) == rows + 1
    expect(page.locator("#job-result")).to_have_text(f"{rows} orders exported.")


def test_chart_job_draws_its_chart(page: Page, marker: str) -> None:
    page.goto("/")
    page.locator("#chart-form input[name=points]").fill(str(40 + int(marker, 16) % 50))
    page.locator("#chart-form button").click()
    wait_for_state(page, "SUCCESS")
    chart = page.locator("#job-result img")
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth") == 600


def test_a_failing_job_shows_its_message(page: Page, label: str) -> None:
    start_division(page, label, "4, 6, 8", "2, 0, 4")
    wait_for_state(page, "FAILURE")
    expect(page.locator(".jobtastic-status")).to_have_text("Cannot divide 6 by zero (pair 2).")


def test_two_quick_clicks_give_one_job(page: Page, gate) -> None:
    """Two submissions of the same form at once (two tabs of one session): one job.

    The job is held at its first progress write until both tabs follow it: a job that had
    already finished would rightly be started again (the division job is not cached).
    """
    paced = gate(1)
    label = f"Run {paced.token}"
    page.goto("/")
    other = page.context.new_page()
    other.goto("/")
    for tab in (page, other):
        tab.locator("#division-form input[name=label]").fill(label)
    page.locator("#division-form button").click(no_wait_after=True)
    other.locator("#division-form button").click(no_wait_after=True)
    for tab in (page, other):
        tab.wait_for_url(JOB_PAGE)
    assert job_path(page) == job_path(other), "both clicks follow the same job"
    notices = [text for tab in (page, other) for text in tab.locator(".notice").all_text_contents()]
    assert sorted(notices) == [
        "Started a new job.",
        "This job is already running: following it, not starting another.",
    ]
    paced.held(0)  # the job really ran, and is still running
    paced.release(0)
    wait_for_state(page, "SUCCESS")
    other.close()


def test_an_identical_repeat_is_served_from_the_cache(page: Page, label: str) -> None:
    page.add_init_script(POLL_ONLY)  # its requests are counted
    start_division(page, label, "9, 8", "3, 2")
    wait_for_state(page, "SUCCESS")
    first = job_path(page)
    # Counted in each page of the tab: the front page ("Your jobs") polls the first job too.
    page.add_init_script(COUNT_STATUS_FETCHES)
    page.add_init_script(RECORD_STATUS_TEXTS)
    start_division(page, label, "9, 8", "3, 2")
    wait_for_state(page, "SUCCESS")
    # At once: the very first poll already answers SUCCESS, so the job page asks only once,
    # and shows nothing between the served markup's text and "Done.".
    assert page.evaluate("window.statusFetches") == 1
    assert page.evaluate("window.statusTexts") == ["Waiting for your task to begin…", "Done."]
    assert job_path(page) == first
    expect(page.locator(".notice")).to_have_text(
        "Served from the cache: this exact job has run before."
    )
    expect(page.locator("#job-result")).to_have_text("Results: 3, 4")


def test_the_widget_recovers_after_two_503s(page: Page, problems, label: str) -> None:
    problems.expected.append("status of 503")
    page.add_init_script(POLL_ONLY)  # the polling widget's retries
    page.add_init_script(RECORD_STATUS_TEXTS)
    refused = []

    def flaky(route) -> None:
        if len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Cache-Control": "no-store"},
                content_type="application/json",
                body='{"error": "The job\'s status cannot be read right now."}',
            )
        else:
            route.continue_()

    page.route(STATUS_ROUTE, flaky)
    start_division(page, label, "1, 2, 3", "1, 1, 1")
    wait_for_state(page, "SUCCESS")
    assert len(refused) == 2
    expect(page.locator(".jobtastic-status")).to_have_text("Done.")
    shown = page.evaluate("window.statusTexts")
    reconnecting = "Lost contact with the server. Reconnecting…"
    assert reconnecting in shown, shown
    assert shown.index(reconnecting) < shown.index("Done.") == len(shown) - 1, shown


def test_an_invalid_token_stops_with_a_message(page: Page, problems, label: str) -> None:
    problems.expected.append("status of 404")
    page.add_init_script(POLL_ONLY)  # the polling widget's refusal
    page.clock.install()  # the page's timers run on a clock the test can move forward
    page.add_init_script(COUNT_STATUS_FETCHES)
    requests = []

    def tamper(route) -> None:
        requests.append(route.request.url)
        route.continue_(url=route.request.url.replace("/status/", "/status/x"))

    page.route(STATUS_ROUTE, tamper)
    start_division(page, label, "1", "1")
    wait_for_state(page, "ERROR")
    expect(page.locator(".jobtastic-status")).to_have_text(
        "The progress of this job cannot be shown."
    )
    assert page.evaluate("window.statusFetches") == len(requests) == 1
    # Twenty minutes of the page's time, every timer due in them fired (a poll every 0.5 s,
    # the widget's 15-minute give-up): nothing more is asked.
    page.clock.run_for(20 * 60 * 1000)
    assert page.evaluate("window.statusFetches") == 1
    assert len(requests) == 1


def test_a_hostile_progress_message_is_shown_as_text(page: Page, gate) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    paced = gate(1)  # held at its first progress write until the message was seen
    numbers = ", ".join("1" for _ in range(30))
    start_division(page, f"{hostile} {paced.token}", numbers, numbers)
    message = page.locator(".jobtastic-task-message")
    meta = paced.held(0)
    expect(message).to_have_text(f"{hostile} {paced.token}: {meta['completed']} of 30 divisions")
    assert page.locator(".jobtastic img").count() == 0
    assert page.locator("img[src=x]").count() == 0
    paced.release(0)
    wait_for_state(page, "SUCCESS")
    assert page.locator(".jobtastic img").count() == 0
    assert page.locator("img[src=x]").count() == 0
