"""The Flask example (example_flask/, as ``make demo-flask`` runs it) in Chromium: Flask's
server and a Celery worker in processes of their own, neither configuring Django."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PageProblems,
    ignoring_playwrights_driver_exit,
)
from tests.flask.celery_app import REDIS_URL
from tests.flask.conftest import ROOT, VAR
from tests.helpers import die_with_parent, free_port, wait_until

pytestmark = pytest.mark.browser
TIMEOUT = 30_000  # milliseconds a page gets to show a state


def _start(command: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    with (VAR / log).open("ab") as output:
        return subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def example(services_to_ourselves: None) -> Iterator[str]:
    """The example site's URL, with its worker consuming its queue."""
    VAR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        PYTHONPATH=str(ROOT),
        REDIS_URL=REDIS_URL,
        FLASK_SECRET_KEY="example-tests-secret",
        EXAMPLE_STEP_SECONDS="0.002",
    )
    python = sys.executable
    worker = _start(
        [python, "-m", "celery", "-A", "example_flask.celery_app", "worker", "-P", "solo",
         "-l", "INFO", "--without-gossip", "--without-mingle"],
        env,
        "example-flask-worker.log",
    )  # fmt: skip
    server = _start(
        [python, "-m", "flask", "--app", "example_flask.app", "run", "--port", str(port)],
        env,
        "example-flask-server.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/jobtastic/static/jobtastic.js"), what="the site")
        yield url
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
        ignoring_playwrights_driver_exit()


def new_context(browser, example: str, problems: PageProblems):
    context = browser.new_context(base_url=example)
    context.set_default_timeout(TIMEOUT)
    expect.set_options(timeout=TIMEOUT)
    context.on(
        "console",
        lambda message: message.type == "error" and problems.console_errors.append(message.text),
    )
    context.on("weberror", lambda error: problems.page_errors.append(str(error.error)))
    return context


@pytest.fixture
def page(browser, example) -> Iterator[object]:
    problems = PageProblems()
    context = new_context(browser, example, problems)
    yield context.new_page()
    context.close()
    assert problems.unexpected() == []


def followed_task_id(page) -> str:
    """The task id the page's widget follows, read from its status URL as the widget does."""
    return str(
        page.evaluate(
            """async () => {
                const url = document.querySelector(".jobtastic").dataset.jobtasticUrl;
                return (await (await fetch(url)).json()).task.id;
            }"""
        )
    )


def test_the_division_page_follows_its_job_to_the_end(page):
    iterations = random.randrange(200, 400)  # a job no earlier run has cached, most likely

    page.goto(f"/?iterations={iterations}")

    widget = page.locator(".jobtastic")
    expect(widget).to_have_attribute("data-jobtastic-state", "SUCCESS")
    expect(widget.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(widget.locator(".jobtastic-status")).to_have_text("Done.")


def test_the_same_request_again_follows_the_same_job(page):
    iterations = random.randrange(400, 600)
    page.goto(f"/?iterations={iterations}")
    first = followed_task_id(page)

    page.reload()

    assert followed_task_id(page) == first
    expect(page.locator(".jobtastic")).to_have_attribute("data-jobtastic-state", "SUCCESS")


def test_a_stranger_cannot_follow_someone_elses_job(page, browser, example):
    page.goto("/?iterations=50")
    url = page.locator(".jobtastic").get_attribute("data-jobtastic-url")
    problems = PageProblems(expected=["404"])
    stranger = new_context(browser, example, problems).new_page()
    stranger.goto("/jobtastic/static/jobtastic.css")  # any page of the site, another session

    status = stranger.evaluate("async (url) => (await fetch(url)).status", url)

    assert status == 404
    stranger.context.close()
