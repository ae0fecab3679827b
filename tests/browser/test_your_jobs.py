"""Your jobs: every job a browser asked for, on the front page, each with its live bar.

The example site grants a job to whoever submits it (``django_jobtastic.grant``) and only
verifies everywhere else. So a reload or a second tab resumes every bar of that browser,
while another browser, opening the very same addresses, is shown nothing at all; and a page
rendering a widget for any id a URL names hands a stranger no status URL.

Jobs that must still be running while a page is looked at are held by a gate (the ``gate``
fixture, see tests.browser.pace), and released once the page showed what the test checks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.pace.gate import Gate
from tests.browser.widget_page import bar_value

pytestmark = pytest.mark.browser

JOB_PAGE = re.compile(r"/jobs/division/(?P<task_id>[0-9a-f-]+)/\?outcome=(?P<outcome>\w+)$")
DIVISIONS = 40  # at 0.05 s each, about 2 s of work once released
HOLD_AT = (2, 20)  # held at its first progress write from step 2 on, then from step 20 on
UNAVAILABLE = "The progress of this job cannot be shown."
NOT_FOUND = "This job does not exist, has expired, or belongs to someone else."
WIDGET_FOR_ANY_ID = "/test-only/widget/?id={}"  # tests.browser.site_urls


@dataclass(frozen=True)
class HeldJob:
    """A division job started from the front page, held by its own gate."""

    task_id: str
    label: str
    gate: Gate
    path: str  # its job page, without the one-time outcome notice


def start_division(page: Page, label: str, numerators: str, denominators: str) -> str:
    """Submit the division form; the new job's task id (its job page is then open)."""
    page.goto("/")
    form = page.locator("#division-form")
    form.locator("textarea[name=numerators]").fill(numerators)
    form.locator("textarea[name=denominators]").fill(denominators)
    form.locator("input[name=label]").fill(label)
    form.locator("button").click()
    page.wait_for_url(JOB_PAGE)
    found = JOB_PAGE.search(page.url)
    assert found is not None
    assert found["outcome"] == "new", "a label of its own: a job of its own"
    return found["task_id"]


def start_held_job(page: Page, gate: Callable[..., Gate]) -> HeldJob:
    paced = gate(*HOLD_AT)
    label = f"Run {paced.token}"
    numbers = ", ".join(str(n) for n in range(1, DIVISIONS + 1))
    task_id = start_division(page, label, numbers, ", ".join("2" for _ in range(DIVISIONS)))
    return HeldJob(task_id, label, paced, page.url.split("?")[0])


def listed(page: Page) -> list[str]:
    """The task ids the page lists under "Your jobs", in order."""
    items = page.locator("#your-jobs li.jobtastic-job")
    return [str(item.get_attribute("data-jobtastic-task-id")) for item in items.all()]


def entry(page: Page, job: HeldJob) -> Locator:
    return page.locator(f'#your-jobs li.jobtastic-job[data-jobtastic-task-id="{job.task_id}"]')


def expect_shows(page: Page, job: HeldJob, meta: dict[str, Any]) -> None:
    """The job's bar in the list shows the progress it is held at."""
    item = entry(page, job)
    expect(item.locator(".jobtastic")).to_have_attribute("data-jobtastic-state", "PROGRESS")
    expect(item.locator(".jobtastic-bar")).to_have_attribute(
        "aria-valuenow", bar_value(meta["progress_percent"])
    )
    expect(item.locator(".jobtastic-task-message")).to_have_text(
        f"{job.label}: {meta['completed']} of {DIVISIONS} divisions"
    )


def expect_done(page: Page, job: HeldJob) -> None:
    item = entry(page, job)
    expect(item.locator(".jobtastic")).to_have_attribute("data-jobtastic-state", "SUCCESS")
    expect(item.locator(".jobtastic-bar")).to_have_attribute("aria-valuenow", "100")
    expect(item.locator(".jobtastic-status")).to_have_text("Done.")


def status_urls(page: Page) -> list[str]:
    """The status URLs the listed widgets poll, in the list's order."""
    widgets = page.locator("#your-jobs li.jobtastic-job .jobtastic")
    return [str(widget.get_attribute("data-jobtastic-url")) for widget in widgets.all()]


def test_a_reload_and_a_second_tab_resume_every_bar(page: Page, gate: Callable[..., Gate]) -> None:
    first = start_held_job(page, gate)
    second = start_held_job(page, gate)
    jobs = (first, second)
    held = {job.task_id: job.gate.held(0) for job in jobs}  # both running, both held

    page.goto("/")
    page.reload()
    other = page.context.new_page()
    other.goto("/")
    tabs = (page, other)
    for tab in tabs:
        expect(tab.locator("#your-jobs li.jobtastic-job")).to_have_count(2)
        assert listed(tab) == [second.task_id, first.task_id], "most recent first"
        for job in jobs:
            expect_shows(tab, job, held[job.task_id])

    # Released, each job moves on to its next hold: both bars advance, in both tabs.
    for job in jobs:
        job.gate.release(0)
    for job in jobs:
        meta = job.gate.held(1)
        assert meta["completed"] > held[job.task_id]["completed"]
        for tab in tabs:
            expect_shows(tab, job, meta)

    for job in jobs:
        job.gate.release(1)
    for tab in tabs:
        for job in jobs:
            expect_done(tab, job)
    other.close()


def test_another_browser_sees_none_of_them(
    page: Page, stranger: BrowserContext, gate: Callable[..., Gate]
) -> None:
    first = start_held_job(page, gate)
    second = start_held_job(page, gate)
    jobs = (first, second)
    for job in jobs:
        job.gate.held(0)  # both still running while the stranger looks

    page.goto("/")
    expect(page.locator("#your-jobs li.jobtastic-job")).to_have_count(2)
    urls = status_urls(page)
    assert all(url.startswith("/jobtastic/status/") for url in urls), urls
    # The owner reads each of them, as well as those the list of its jobs gives: the
    # addresses are real.
    owned = page.request.get("/jobtastic/jobs/").json()["jobs"]
    assert [listed_job["id"] for listed_job in owned] == [second.task_id, first.task_id]
    urls += [listed_job["status_url"] for listed_job in owned]  # signed anew: other tokens
    for url, job in zip(urls, (second, first) * 2, strict=True):
        mine = page.request.get(url)
        assert mine.status == 200
        assert mine.json()["task"]["id"] == job.task_id

    def sees_nothing(other: Page) -> None:
        other.goto("/")
        expect(other.locator("#your-jobs .jobtastic-jobs-empty")).to_have_text(
            "You have no jobs yet."
        )
        assert other.locator(".jobtastic, li.jobtastic-job").count() == 0
        html = other.content()
        assert "/jobtastic/status/" not in html
        assert not any(job.task_id in html for job in jobs)
        for job in jobs:
            assert stranger.request.get(job.path).status == 404  # the job pages
        for url in urls:
            refused = stranger.request.get(url)  # the URLs the owner's widgets poll
            assert refused.status == 404
            assert refused.json() == {"error": NOT_FOUND}
        assert stranger.request.get("/jobtastic/jobs/").json() == {"jobs": []}

    # Another browser (a session of its own) opens the very same addresses: nothing.
    other = stranger.new_page()
    sees_nothing(other)

    # Nor once the jobs are done.
    for job in jobs:
        job.gate.release_all()
    for job in jobs:
        expect_done(page, job)
    sees_nothing(other)


def test_a_widget_for_an_id_from_the_url_shows_a_stranger_nothing(
    page: Page, stranger: BrowserContext, site, label: str
) -> None:
    task_id = start_division(page, label, "6, 9", "2, 3")
    job_path = page.url.split("?")[0]
    expect(page.locator(".jobtastic")).to_have_attribute("data-jobtastic-state", "SUCCESS")
    widget_page = WIDGET_FOR_ANY_ID.format(task_id)

    # The owner, on the page that renders {% jobtastic_progress request.GET.id %}: it works.
    page.goto(widget_page)
    owners = page.locator(".jobtastic")
    expect(owners).to_have_attribute("data-jobtastic-state", "SUCCESS")
    assert (owners.get_attribute("data-jobtastic-url") or "").startswith("/jobtastic/status/")

    # A stranger puts that id in the URL: the widget says it cannot show the job, and the
    # page holds no status URL to read it by.
    other = stranger.new_page()
    response = other.goto(widget_page)
    assert response is not None
    assert response.status == 200
    assert "/jobtastic/status/" not in response.text()
    widget = other.locator(".jobtastic")
    expect(widget).to_have_attribute("data-jobtastic-state", "ERROR")
    assert widget.get_attribute("data-jobtastic-url") is None
    expect(widget.locator(".jobtastic-status")).to_have_text(UNAVAILABLE)
    assert "/jobtastic/status/" not in other.content()
    # The site was told why, with the way out.
    server_log = (site.var / "server.log").read_text()
    assert f"for job {task_id!r}, which this request holds no grant for" in server_log
    assert "django_jobtastic.grant(request, result)" in server_log

    # The example's own job page, for an id this visitor did not submit: not found, as for
    # an id nobody was ever given.
    assert stranger.request.get(job_path).status == 404
    assert stranger.request.get(f"/jobs/division/{uuid.uuid4()}/").status == 404
    assert page.request.get(job_path).status == 200
