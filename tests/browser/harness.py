"""The browser tests' plumbing: the example site's processes, Chromium, what a page reported.

The site is the example project served for real (uvicorn, as ``make demo`` serves it, and
a Celery worker process) on its embedded default in a temporary folder, with the tests' own
settings module (``tests.browser.site_settings``: the example's settings plus the test gate
of ``tests.browser.pace`` and one test-only page, ``tests.browser.site_urls``). Playwright
drives Debian's Chromium (/usr/bin/chromium, never a downloaded browser).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.pace.gate import Gate
from tests.helpers import die_with_parent, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
SETTINGS = "tests.browser.site_settings"
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
STARTUP_TIMEOUT = 60  # seconds the site and its worker get to come up


@dataclass
class Site:
    url: str
    var: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def gate(self, *hold_at: int) -> Gate:
        """A gate holding a job whose label names ``gate.token`` (see tests.browser.pace)."""
        return Gate(self.var / "pace", hold_at)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # a worker still in a job: stop it outright
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)  # reaped, or Python warns "still running" at exit


def site_env(var: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOBTASTIC_")}
    env.update(DJANGO_SETTINGS_MODULE=SETTINGS, EXAMPLE_VAR=str(var), PYTHONPATH=str(ROOT))
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


@contextlib.contextmanager
def running_site(var: Path) -> Iterator[Site]:
    """The example site in ``var``: migrated, served, its worker ready; stopped at the end."""
    env = site_env(var)
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, str(MANAGE), *command], env=env, check=True)
    port = free_port()
    site = Site(url=f"http://127.0.0.1:{port}/", var=var)
    worker_log = var / "worker.log"
    spawn = {"env": env, "start_new_session": True, "preexec_fn": die_with_parent}
    try:
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
                    [
                        *(sys.executable, "-m", "uvicorn", "--app-dir", str(MANAGE.parent)),
                        *("example_project.asgi:application", "--host", "127.0.0.1"),
                        *("--port", str(port), "--no-access-log"),
                    ],
                    stdout=server_log,
                    stderr=subprocess.STDOUT,
                    **spawn,  # type: ignore[arg-type]
                )
            )
        wait_until(lambda: answers(site.url), timeout=STARTUP_TIMEOUT, what="the example site")
        wait_until(
            lambda: " ready." in read_or_empty(worker_log),
            timeout=STARTUP_TIMEOUT,
            what="the worker",
        )
        yield site
    finally:
        site.stop()


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
