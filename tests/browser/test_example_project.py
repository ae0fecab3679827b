"""The example project in Chromium: what a user sees while their jobs run.

Each test starts real jobs on the example site (runserver + a Celery worker on the embedded
set-up) and follows them through the progress widget, as a user would.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "progress-widget.png"
STATUS_ROUTE = "**/jobtastic/status/**"
JOB_PAGE = re.compile(r"/jobs/division/[0-9a-f-]+/\?outcome=\w+$")


def job_path(page: Page) -> str:
    """The job page's address without the one-time outcome notice."""
    return page.url.split("?")[0]


def unique_label() -> str:
    """A label no other run used: the division job then really runs (nothing cached)."""
    return f"Run {uuid.uuid4().hex[:8]}"


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


def test_the_bar_moves_estimates_time_and_shows_the_result(page: Page, site) -> None:
    numbers = ", ".join(str(n) for n in range(1, 161))  # 160 divisions, about 8 s
    start_division(page, unique_label(), numbers, ", ".join("2" for _ in range(160)))
    bar = page.locator(".jobtastic-bar")
    status = page.locator(".jobtastic-status")
    values: set[int] = set()
    texts: set[str] = set()
    messages: set[str] = set()
    screenshot_taken = False
    deadline = time.monotonic() + 40
    while page.locator(".jobtastic").get_attribute("data-jobtastic-state") != "SUCCESS":
        assert time.monotonic() < deadline, f"no SUCCESS; saw {sorted(values)}"
        value = int(bar.get_attribute("aria-valuenow") or 0)
        text = status.text_content() or ""
        if 0 < value < 100:
            values.add(value)
            texts.add(text)
            messages.add(page.locator(".jobtastic-task-message").text_content() or "")
            if not screenshot_taken and 30 <= value <= 70 and "left" in text:
                shot = site.var / "running-bar.png"
                page.locator("main").screenshot(path=str(shot))
                if os.environ.get("JOBTASTIC_UPDATE_SCREENSHOT"):
                    SCREENSHOT.parent.mkdir(exist_ok=True)
                    shutil.copy(shot, SCREENSHOT)
                screenshot_taken = True
        time.sleep(0.1)

    assert len(values) >= 2, f"the bar should move before 100: {sorted(values)}"
    assert any(re.fullmatch(r"\d+% complete, about \d+ seconds? left", t) for t in texts), texts
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(status).to_have_text("Done.")
    expect(page.locator("#job-result")).to_have_text(re.compile(r"^Results: 0\.5, 1, 1\.5, 2, "))
    assert any(re.search(r": \d+ of 160 divisions$", message) for message in messages), messages
    expect(page.locator(".jobtastic-task-message")).to_be_hidden()


def test_csv_export_ends_with_a_download_that_works(page: Page) -> None:
    page.goto("/")
    page.locator("#export-form input[name=rows]").fill(str(1000 + uuid.uuid4().int % 500))
    rows = int(page.locator("#export-form input[name=rows]").input_value())
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


def test_chart_job_draws_its_chart(page: Page) -> None:
    page.goto("/")
    page.locator("#chart-form input[name=points]").fill(str(40 + uuid.uuid4().int % 50))
    page.locator("#chart-form button").click()
    wait_for_state(page, "SUCCESS")
    chart = page.locator("#job-result img")
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth") == 600


def test_a_failing_job_shows_its_message(page: Page) -> None:
    start_division(page, unique_label(), "4, 6, 8", "2, 0, 4")
    wait_for_state(page, "FAILURE")
    expect(page.locator(".jobtastic-status")).to_have_text("Cannot divide 6 by zero (pair 2).")


def test_two_quick_clicks_give_one_job(page: Page) -> None:
    """Two submissions of the same form at once (two tabs of one session): one job."""
    label = unique_label()
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
    wait_for_state(page, "SUCCESS")
    other.close()


def test_an_identical_repeat_is_served_from_the_cache(page: Page) -> None:
    label = unique_label()
    start_division(page, label, "9, 8", "3, 2")
    wait_for_state(page, "SUCCESS")
    first = job_path(page)
    polls: list[Response] = []
    page.on(
        "response",
        lambda response: polls.append(response) if "/jobtastic/status/" in response.url else None,
    )
    start_division(page, label, "9, 8", "3, 2")
    wait_for_state(page, "SUCCESS")
    # At once: the very first poll already answers SUCCESS, so the widget asks only once.
    assert [poll.json()["task"]["status"] for poll in polls] == ["SUCCESS"]
    assert job_path(page) == first
    expect(page.locator(".notice")).to_have_text(
        "Served from the cache: this exact job has run before."
    )
    expect(page.locator("#job-result")).to_have_text("Results: 3, 4")


def test_the_widget_recovers_after_two_503s(page: Page, problems) -> None:
    problems.expected.append("status of 503")
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
    start_division(page, unique_label(), "1, 2, 3", "1, 1, 1")
    expect(page.locator(".jobtastic-status")).to_have_text(
        "Lost contact with the server. Reconnecting…"
    )
    wait_for_state(page, "SUCCESS")
    assert len(refused) == 2
    expect(page.locator(".jobtastic-status")).to_have_text("Done.")


def test_an_invalid_token_stops_with_a_message(page: Page, problems) -> None:
    problems.expected.append("status of 404")
    requests = []

    def tamper(route) -> None:
        requests.append(route.request.url)
        route.continue_(url=route.request.url.replace("/status/", "/status/x"))

    page.route(STATUS_ROUTE, tamper)
    start_division(page, unique_label(), "1", "1")
    wait_for_state(page, "ERROR")
    expect(page.locator(".jobtastic-status")).to_have_text(
        "The progress of this job cannot be shown."
    )
    polled = len(requests)
    page.wait_for_timeout(1500)  # three poll intervals: nothing more is asked
    assert len(requests) == polled == 1


def test_a_hostile_progress_message_is_shown_as_text(page: Page) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    numbers = ", ".join("1" for _ in range(30))
    start_division(page, f"{hostile} {uuid.uuid4().hex[:6]}", numbers, numbers)
    message = page.locator(".jobtastic-task-message")
    expect(message).to_contain_text(f"{hostile} ")
    wait_for_state(page, "SUCCESS")
    assert page.locator(".jobtastic img").count() == 0
    assert page.locator("img[src=x]").count() == 0
