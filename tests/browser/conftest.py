"""The example project served for real (runserver + a Celery worker process) and Chromium.

The site runs on its embedded default in a temporary folder; Playwright drives Debian's
Chromium (/usr/bin/chromium, never a downloaded browser). Every test fails on a console
error, a page error or a JavaScript dialog.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import die_with_parent, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
CHROMIUM = os.environ.get("JOBTASTIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Site:
    url: str
    var: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def site_env(var: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBTASTIC_")}
    env.update(DJANGO_SETTINGS_MODULE="example_project.settings", EXAMPLE_VAR=str(var))
    env.pop("REDIS_URL", None)  # the embedded default, as `make demo` runs it
    return env


def read_or_empty(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("example-site")
    env = site_env(var)
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, str(MANAGE), *command], env=env, check=True)
    port = free_port()
    site = Site(url=f"http://127.0.0.1:{port}/", var=var)
    worker_log = var / "worker.log"
    spawn = {"env": env, "start_new_session": True, "preexec_fn": die_with_parent}
    site.processes.append(
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "--workdir", str(ROOT / "example_project")),
                *("-A", "example_project", "worker", "-c", "2", "-l", "INFO"),
                *("-f", str(worker_log), "--without-gossip", "--without-mingle"),
            ],
            **spawn,  # type: ignore[arg-type]
        )
    )
    with (var / "server.log").open("wb") as server_log:
        site.processes.append(
            subprocess.Popen(
                [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
                stdout=server_log,
                stderr=subprocess.STDOUT,
                **spawn,  # type: ignore[arg-type]
            )
        )
    try:
        wait_until(lambda: answers(site.url), timeout=60, what="the example site")
        wait_until(lambda: " ready." in read_or_empty(worker_log), timeout=60, what="the worker")
        yield site
    finally:
        site.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
        ignoring_playwrights_driver_exit()  # until the end of the session


def ignoring_playwrights_driver_exit() -> None:
    """Drop one known report, and only it, from Python's "unraisable" hook.

    Playwright closes its event loop without reaping its driver process, whose Popen is
    then collected while the process is still exiting: Popen.__del__ warns "subprocess N is
    still running", an error under this suite's warnings-are-errors rule. Anything else
    still reaches pytest.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        report = unraisable.exc_value
        if isinstance(report, ResourceWarning) and "is still running" in str(report):
            return
        previous(unraisable)

    sys.unraisablehook = hook


@dataclass
class PageProblems:
    """What a page reported that a finished product never should."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    #: Console errors a test provokes on purpose (a 503 it serves), as substrings.
    expected: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        console = [
            text for text in self.console_errors if not any(e in text for e in self.expected)
        ]
        return console + self.page_errors + self.dialogs


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser, site, problems) -> Iterator[object]:
    context = browser.new_context(base_url=site.url, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on(
        "console",
        lambda message: message.type == "error" and problems.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))

    def dialog(shown) -> None:
        problems.dialogs.append(f"dialog: {shown.message}")
        shown.dismiss()

    page.on("dialog", dialog)
    yield page
    context.close()
    assert problems.unexpected() == []
