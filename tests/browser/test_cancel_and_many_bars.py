"""A page's bars follow one pushed stream (no polls), or share one request per interval when
the stream fails; a cancellable job's Cancel button, used with the keyboard, stops it
(Chromium, the example site under uvicorn).

Paced by gates (tests.browser.pace): a job is held at a progress write until the test has
seen what it must, so nothing depends on how fast the machine is. Requests are counted as
the browser sends them (``page.on("request")``), not per unit of time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.pace.gate import Gate
from tests.browser.test_waiting_and_lost import start_held
from tests.browser.test_your_jobs import HeldJob, entry, start_held_job

pytestmark = pytest.mark.browser

CANCELLED = "The job was cancelled."


def page_requests(page: Page) -> list[str]:
    """Every request of the app's routes the page sends from now on (its URL)."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/jobtastic/" in request.url:
            seen.append(request.url)

    page.on("request", record)
    return seen


def task_state(page: Page, status_url: str) -> str:
    return str(page.request.get(status_url).json()["task"]["status"])


def finish(job: HeldJob) -> None:
    """Let a held job run to its end (it is held twice: from step 2, then from step 20)."""
    job.gate.release(0)
    job.gate.held(1)
    job.gate.release(1)


def requested_tokens(url: str) -> set[str]:
    return set(parse_qs(urlsplit(url).query)["t"])


def listed_tokens(page: Page) -> set[str]:
    widgets = page.locator("#your-jobs .jobtastic")
    return {str(widget.get_attribute("data-jobtastic-token")) for widget in widgets.all()}


def test_the_bars_of_a_page_follow_one_stream_and_never_poll(
    page: Page, gate: Callable[..., Gate]
) -> None:
    jobs = [start_held_job(page, gate) for _ in range(2)]
    for job in jobs:
        job.gate.held(0)  # both running, both held

    seen = page_requests(page)
    page.goto("/")
    for job in jobs:
        expect(entry(page, job).locator(".jobtastic")).to_have_attribute(
            "data-jobtastic-state", "PROGRESS"
        )
    tokens = listed_tokens(page)
    assert len(tokens) == 2
    finish(jobs[0])  # it runs to its end: pushed to the page, never asked for
    expect(entry(page, jobs[0]).locator(".jobtastic")).to_have_attribute(
        "data-jobtastic-state", "SUCCESS"
    )
    streams = [url for url in seen if urlsplit(url).path == "/jobtastic/events/"]
    polls = [url for url in seen if urlsplit(url).path.startswith("/jobtastic/status/")]
    assert polls == []
    assert len(streams) == 1, streams  # one stream for the page's bars
    assert requested_tokens(streams[0]) == tokens


def test_when_the_stream_fails_the_bars_share_each_poll(
    page: Page, problems, gate: Callable[..., Gate]
) -> None:
    problems.expected.append("net::ERR_FAILED")  # the refused stream, in the console
    jobs = [start_held_job(page, gate) for _ in range(2)]
    for job in jobs:
        job.gate.held(0)

    page.route("**/jobtastic/events/**", lambda route: route.abort())  # a proxy that refuses
    seen = page_requests(page)
    page.goto("/")
    for job in jobs:
        expect(entry(page, job).locator(".jobtastic")).to_have_attribute(
            "data-jobtastic-state", "PROGRESS"
        )
    tokens = listed_tokens(page)
    finish(jobs[0])
    expect(entry(page, jobs[0]).locator(".jobtastic")).to_have_attribute(
        "data-jobtastic-state", "SUCCESS"
    )
    polls = [url for url in seen if urlsplit(url).path == "/jobtastic/status/"]
    assert polls, seen
    assert requested_tokens(polls[0]) == tokens  # both bars in one request
    assert all(requested_tokens(url) <= tokens for url in polls)
    assert not [url for url in seen if re.search(r"/jobtastic/status/[^?]", url)]  # no single


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
