"""A page's bars share one request per interval; a cancellable job's Cancel button, used with
the keyboard, stops it (Chromium, the example site).

Paced by gates (tests.browser.pace): a job is held at a progress write until the test has
seen what it must, so nothing depends on how fast the machine is. Requests are counted as
the browser sends them (``page.on("request")``), not per unit of time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.pace.gate import Gate
from tests.browser.test_waiting_and_lost import start_held
from tests.browser.test_your_jobs import entry, start_held_job

pytestmark = pytest.mark.browser

CANCELLED = "The job was cancelled."


def status_requests(page: Page) -> list[str]:
    """Every status request the page sends from now on (its URL), recorded as it goes."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/jobtastic/status/" in request.url:
            seen.append(request.url)

    page.on("request", record)
    return seen


def task_state(page: Page, status_url: str) -> str:
    return str(page.request.get(status_url).json()["task"]["status"])


def test_the_bars_of_a_page_share_one_request(page: Page, gate: Callable[..., Gate]) -> None:
    jobs = [start_held_job(page, gate) for _ in range(2)]
    for job in jobs:
        job.gate.held(0)  # both running, both held (released by the fixture at the end)

    seen = status_requests(page)
    page.goto("/")
    for job in jobs:
        item = entry(page, job)
        expect(item.locator(".jobtastic")).to_have_attribute("data-jobtastic-state", "PROGRESS")
    widgets = page.locator("#your-jobs .jobtastic")
    tokens = {str(widget.get_attribute("data-jobtastic-token")) for widget in widgets.all()}
    assert len(tokens) == 2
    deadline = time.monotonic() + 60
    while len(seen) < 4 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # the page polls once a second: wait for a few rounds
    assert len(seen) >= 4, seen
    for url in seen:
        parts = urlsplit(url)
        assert parts.path == "/jobtastic/status/", url  # never a bar's own status URL
        assert set(parse_qs(parts.query)["t"]) == tokens, url  # both bars in each request


def test_cancel_with_the_keyboard_stops_a_running_job(
    page: Page, gate: Callable[..., Gate]
) -> None:
    _, paced = start_held(page, gate)  # running, held at a progress write
    widget = page.locator(".jobtastic")
    button = widget.locator(".jobtastic-cancel")
    expect(button).to_be_visible()
    expect(button).to_have_text("Cancel")

    for _ in range(30):  # reach it as a keyboard user does
        if button.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    assert button.evaluate("button => button === document.activeElement"), "not reachable by Tab"
    page.keyboard.press("Enter")

    expect(widget.locator(".jobtastic-status")).to_have_text(CANCELLED)
    expect(widget).to_have_attribute("data-jobtastic-state", "REVOKED")
    expect(button).to_be_hidden()
    status_url = str(widget.get_attribute("data-jobtastic-url"))
    assert task_state(page, status_url) == "PROGRESS"  # still held: it has not noticed yet

    paced.release(0)  # its next progress write reads the cancel and ends the run
    deadline = time.monotonic() + 60
    while task_state(page, status_url) != "REVOKED":
        assert time.monotonic() < deadline, "the job never stopped"
        page.wait_for_timeout(100)
