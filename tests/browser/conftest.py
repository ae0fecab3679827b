"""Fixtures of the browser tests: the example site, Chromium, a page, gates for jobs.

Every test fails on a console error, a page error or a JavaScript dialog. The plumbing is
in ``tests.browser.harness``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PageProblems,
    Site,
    ignoring_playwrights_driver_exit,
    running_site,
)
from tests.browser.pace.gate import Gate


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("example-site")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
        ignoring_playwrights_driver_exit()  # until the end of the session


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser, site, problems) -> Iterator[object]:
    """A tab of a new browser context; what any tab of that context reports is checked."""
    context = browser.new_context(base_url=site.url, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)  # expect() has its own default, 5 s: too short under load
    context.on(
        "console",
        lambda message: message.type == "error" and problems.console_errors.append(message.text),
    )
    context.on("weberror", lambda error: problems.page_errors.append(str(error.error)))

    def dialog(shown) -> None:
        problems.dialogs.append(f"dialog: {shown.message}")
        shown.dismiss()

    context.on("dialog", dialog)
    page = context.new_page()
    yield page
    context.close()
    assert problems.unexpected() == []


@pytest.fixture
def stranger(browser, site) -> Iterator[object]:
    """Another browser: a session of its own, which asked for none of the first one's jobs."""
    context = browser.new_context(base_url=site.url, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    errors: list[str] = []
    context.on("console", lambda m: m.type == "error" and errors.append(m.text))
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert errors == []


@pytest.fixture
def gate(site: Site) -> Iterator[Callable[..., Gate]]:
    """``gate(c1, c2, ...)``: hold a job at its first progress writes reaching c1, c2, ...

    The job is the one whose label names ``gate(...).token``; every hold still closed at the
    end of the test is released, so a failed test never leaves the worker waiting.
    """
    opened: list[Gate] = []

    def open_gate(*hold_at: int) -> Gate:
        opened.append(site.gate(*hold_at))
        return opened[-1]

    yield open_gate
    for each in opened:
        each.release_all()


@pytest.fixture
def label(marker: str) -> str:
    """A label no other run used: the division job then really runs (nothing cached)."""
    return f"Run {marker[:8]}"
