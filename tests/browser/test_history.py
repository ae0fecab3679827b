"""A job that never reports progress, with a history: its bar moves with time, in Chromium.

``QuietJob`` (tests.browser.quiet_job) calls no ``update_progress``. Its class's history
holds runs of ``EXPECTED`` seconds (written into the site's cache through its own
manage.py, as a worker keeps them); a run held by a gate at its initial write then writes
nothing more, yet its bar moves with time against those seconds, says about how long is
left, and once they have passed says it takes longer, short of 100 % until the job ends.
Nothing waits for a time of its own: each state is awaited until it shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import MANAGE, Site, site_env
from tests.browser.pace.gate import Gate
from tests.browser.widget_page import RECORD_STATUS_TEXTS

pytestmark = pytest.mark.browser

EXPECTED = 12.0  # seconds the earlier runs took
OVERDUE = "Taking longer than expected…"
ABOUT = re.compile(r"^About \d+ seconds? left$")
#: How long the page gets to say it is overdue after the expected seconds (ms), under load.
SAY_IT_WITHIN = 30_000

#: Run by the site's own manage.py: the class's history, replaced by three runs.
SEED = """
from django.core.cache import caches
from django_jobtastic.conf import conf
from django_jobtastic.task import keys, run_history
from django_jobtastic.task.history import Run
name = "tests.browser.quiet_job.QuietJob"
caches[conf.CACHE].delete(keys.history_key(name))
for _ in range(3):
    run_history.remember(conf.CACHE, name, Run(0.5, {seconds}, None, ()))
print(len(run_history.runs_of(conf.CACHE, name)))
"""
COUNT = """
from django_jobtastic.conf import conf
from django_jobtastic.task import run_history
print(len(run_history.runs_of(conf.CACHE, "tests.browser.quiet_job.QuietJob")))
"""
#: Every value the bar takes, in order, kept in ``window.barValues``.
RECORD_BAR_VALUES = """
window.barValues = [];
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.matches && record.target.matches(".jobtastic-bar")) {
      window.barValues.push(Number(record.target.getAttribute("aria-valuenow")));
    }
  }
}).observe(document, { attributes: true, attributeFilter: ["aria-valuenow"], subtree: true });
"""


def manage_shell(site: Site, code: str) -> str:
    command = [sys.executable, str(MANAGE), "shell", "-c", code]
    done = subprocess.run(command, env=site_env(site.var), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_a_job_without_progress_calls_has_a_bar_that_moves_with_time(
    page: Page, gate: Callable[..., Gate], site: Site
) -> None:
    assert manage_shell(site, SEED.replace("{seconds}", str(EXPECTED))) == "3"
    paced = gate(0)  # held at its initial write: it writes nothing after that
    page.add_init_script(RECORD_STATUS_TEXTS)
    page.add_init_script(RECORD_BAR_VALUES)
    page.goto(f"/test-only/quiet-job/?label=Run {paced.token}")

    meta = paced.held(0)
    assert meta["expected_duration"] == EXPECTED, meta
    assert 0 <= meta["time_remaining"] <= EXPECTED, meta
    assert "completed" not in meta, "the job reported nothing"
    widget = page.locator(".jobtastic")
    bar = page.locator(".jobtastic-bar")
    status = page.locator(".jobtastic-status")

    # While held, the bar moves with time and says about how long is left...
    expect(status).to_have_text(ABOUT)
    expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^([2-9]|[1-9]\d)$"))
    # ...until the expected seconds have passed: then it takes longer, short of 100 %.
    expect(status).to_have_text(OVERDUE, timeout=EXPECTED * 1000 + SAY_IT_WITHIN)
    expect(widget).to_have_attribute("data-jobtastic-state", "PROGRESS")
    expect(bar).to_have_attribute("aria-valuenow", "99")

    answer = page.request.get(widget.get_attribute("data-jobtastic-url") or "").json()["task"]
    assert answer["result"] == meta, "the held write is what every answer reads"
    progress = answer["progress"]
    assert (progress["percent"], progress["time_remaining"]) == (99, 0)
    assert (progress["overdue"], progress["from_history"]) == (True, True)

    values: list[float] = page.evaluate("window.barValues")
    moving = values[: values.index(99) + 1]
    assert moving == sorted(moving), values  # never back
    assert len(set(moving)) >= 3, values  # moved, not jumped to the end
    texts: list[str] = page.evaluate("window.statusTexts")
    assert any(ABOUT.match(text) for text in texts), texts
    assert set(texts[texts.index(OVERDUE) :]) == {OVERDUE}, texts

    paced.release(0)
    expect(widget).to_have_attribute("data-jobtastic-state", "SUCCESS")
    expect(status).to_have_text("Done.")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    assert manage_shell(site, COUNT) == "4", "the run joined its class's history"
