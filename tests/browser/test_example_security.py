"""The example project is safe to copy: its forms, its files and its secret key.

- A file a job wrote is served only to those who asked for that job (a new job, or an
  identical one answered from the cache: both are granted it), never by its name to whoever
  guesses it.
- Invalid form input is shown in the form, and starts nothing.
- No usable secret key is built in: with DEBUG off the site does not start without one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

MANAGE = Path(__file__).resolve().parents[2] / "example_project" / "manage.py"
#: Long enough for any job here: the longest (2,000 rows) takes about 4 s.
JOB_TIMEOUT = 30_000
FILE_JOBS = {
    # kind: (the form's number field, a value range that keeps the job short)
    "export": ("rows", range(100, 2000)),
    "chart": ("points", range(5, 60)),
}


def job_page(kind: str) -> re.Pattern[str]:
    return re.compile(rf"/jobs/{kind}/[0-9a-f-]+/\?outcome=(new|running|cached)$")


def run_file_job(page: Page, kind: str, value: int) -> tuple[str, str]:
    """Ask for a job that writes a file, wait for it; its outcome and the result link's URL."""
    field, _ = FILE_JOBS[kind]
    page.goto("/")
    page.locator(f"#{kind}-form input[name={field}]").fill(str(value))
    page.locator(f"#{kind}-form button").click()
    page.wait_for_url(job_page(kind))
    outcome = job_page(kind).search(page.url)
    assert outcome is not None
    expect(page.locator(".jobtastic")).to_have_attribute(
        "data-jobtastic-state", "SUCCESS", timeout=JOB_TIMEOUT
    )
    link = page.locator(".jobtastic-result a")
    expect(link).to_have_text("Open the result")
    return outcome.group(1), str(link.evaluate("link => link.href"))


def fresh_value(kind: str) -> int:
    values = FILE_JOBS[kind][1]
    return values[uuid.uuid4().int % len(values)]


@pytest.mark.parametrize("kind", ["export", "chart"])
def test_a_jobs_file_is_served_only_to_sessions_that_asked_for_the_job(
    page: Page, stranger: BrowserContext, kind: str
) -> None:
    value = fresh_value(kind)
    _, url = run_file_job(page, kind, value)

    mine = page.request.get(url)
    assert mine.status == 200
    if kind == "export":
        assert mine.headers["content-disposition"] == f'attachment; filename="orders-{value}.csv"'
        lines = mine.text().splitlines()
        assert lines[0] == "order,customer,amount"
        assert len(lines) == value + 1
    else:
        assert mine.headers["content-type"] == "image/svg+xml"
        assert mine.text().startswith("<svg ")

    # Someone else, with a session of their own, who never asked for this job: nothing.
    other = stranger.new_page()
    other.goto("/")
    refused = stranger.request.get(url)
    assert refused.status == 404
    assert "order,customer" not in refused.text()
    # The link names the job, not the file: the job is the key.
    assert re.search(rf"/jobs/{kind}/[0-9a-f-]+/file/$", url), url

    # The same task under the other kind's URL: not a file of that kind.
    swapped = "chart" if kind == "export" else "export"
    assert page.request.get(url.replace(f"/jobs/{kind}/", f"/jobs/{swapped}/")).status == 404

    # Once they ask for the identical job, the cache answers them with the same job: now
    # they hold it, and its file is theirs too.
    outcome, their_url = run_file_job(other, kind, value)
    assert outcome == "cached"
    assert their_url == url
    theirs = stranger.request.get(url)
    assert theirs.status == 200
    assert theirs.body() == mine.body()


def test_a_file_is_not_found_by_guessing_its_name(page: Page, site) -> None:
    run_file_job(page, "export", 200)
    # The address the demo used to serve every export at, to anyone.
    assert page.request.get("/download/exports/orders-200.csv").status == 404
    # The file is there, under a name with a random part, and never at the guessable one.
    exports = site.var / "output" / "exports"
    names = sorted(path.name for path in exports.iterdir() if re.match(r"orders-200\b", path.name))
    assert names, "the export wrote its file"
    assert all(re.fullmatch(r"orders-200-[0-9a-f]{32}\.csv", name) for name in names), names
    # A job id nobody was given.
    assert page.request.get(f"/jobs/export/{uuid.uuid4()}/file/").status == 404


def test_a_job_page_of_another_session_is_not_found(page: Page, stranger: BrowserContext) -> None:
    run_file_job(page, "export", fresh_value("export"))
    job_url = page.url.split("?")[0]
    assert stranger.request.get(job_url).status == 404


def test_an_over_long_label_is_refused_in_the_form_and_starts_nothing(page: Page) -> None:
    label = f"Run {uuid.uuid4().hex[:8]} " + "x" * 200  # 213 characters; at most 200 allowed
    page.goto("/")
    form = page.locator("#division-form")
    form.locator("textarea[name=numerators]").fill("7, 9")
    form.locator("textarea[name=denominators]").fill("7, 3")
    # Not typed: the field's maxlength would stop a browser user, not a script.
    form.locator("input[name=label]").evaluate("(input, value) => { input.value = value; }", label)
    form.locator("button").click()

    form = page.locator("#division-form")
    label_input = form.locator("input[name=label]")
    expect(form.locator(".errorlist")).to_have_text(
        "Ensure this value has at most 200 characters (it has 213).", timeout=JOB_TIMEOUT
    )
    expect(label_input).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_contain_text("Nothing was started")
    # What the user typed is kept, to be corrected.
    expect(form.locator("textarea[name=numerators]")).to_have_value("7, 9")
    expect(label_input).to_have_value(label)
    assert page.locator(".jobtastic").count() == 0
    assert "/jobs/division/" in page.url  # the form's own address: no job page
    assert not job_page("division").search(page.url)

    # Had the refused request started a job (the label cut to 200 characters), this one
    # would latch onto it or be answered from the cache. It starts a job of its own.
    form.locator("input[name=label]").fill(label[:200])
    form.locator("button").click()
    page.wait_for_url(job_page("division"))
    expect(page.locator(".notice")).to_have_text("Started a new job.", timeout=JOB_TIMEOUT)
    expect(page.locator(".jobtastic")).to_have_attribute(
        "data-jobtastic-state", "SUCCESS", timeout=JOB_TIMEOUT
    )
    expect(page.locator("#job-result")).to_have_text("Results: 1, 3")


def test_form_errors_are_shown_in_their_form_as_text(page: Page) -> None:
    page.goto("/")
    form = page.locator("#division-form")
    hostile = "</textarea><img src=x onerror=alert(1)>"
    form.locator("textarea[name=numerators]").fill(hostile)
    form.locator("textarea[name=denominators]").fill("1")
    form.locator("button").click()

    form = page.locator("#division-form")
    numerators = form.locator("textarea[name=numerators]")
    expect(numerators).to_have_attribute("aria-invalid", "true", timeout=JOB_TIMEOUT)
    error = form.locator(f"#{numerators.get_attribute('aria-describedby')}")
    expect(error).to_have_text("Whole numbers only, separated by commas.")
    expect(numerators).to_have_value(hostile)  # shown back as text, not as markup
    assert page.locator("img[src=x]").count() == 0
    assert page.locator(".jobtastic").count() == 0

    form.locator("textarea[name=numerators]").fill("4, 6, 8")
    form.locator("textarea[name=denominators]").fill("2, 3")
    form.locator("button").click()
    expect(page.locator("#division-form .errorlist")).to_have_text(
        "Give as many denominators as numerators (3 numerators, 2 denominators).",
        timeout=JOB_TIMEOUT,
    )
    assert page.locator(".jobtastic").count() == 0


def test_a_number_out_of_range_is_refused_by_the_server_too(page: Page) -> None:
    page.goto("/")
    form = page.locator("#export-form")
    form.evaluate("form => { form.noValidate = true; }")  # past the browser's own check
    form.locator("input[name=rows]").fill("20001")
    form.locator("button").click()
    rows = page.locator("#export-form input[name=rows]")
    expect(rows).to_have_attribute("aria-invalid", "true", timeout=JOB_TIMEOUT)
    expect(page.locator("#export-form .errorlist")).to_have_text(
        "Ensure this value is less than or equal to 20000."
    )
    expect(rows).to_have_value("20001")
    assert page.locator(".jobtastic").count() == 0
    # The other forms are shown as new, without errors.
    assert page.locator("#chart-form .errorlist, #division-form .errorlist").count() == 0


# -- the secret key ----------------------------------------------------------------------------


def manage(var: Path, *command: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run the example's manage.py as a user would: none of this test run's settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EXAMPLE_", "JOBTASTIC_", "DJANGO_")) and key != "REDIS_URL"
    }
    env.update(DJANGO_SETTINGS_MODULE="example_project.settings", EXAMPLE_VAR=str(var))
    env.update(environment)
    return subprocess.run(
        [sys.executable, str(MANAGE), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_debug_the_site_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    refused = manage(tmp_path, "check", EXAMPLE_DEBUG="0")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set EXAMPLE_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "secret_key").exists()

    key = "a-test-key-" + uuid.uuid4().hex * 2
    started = manage(tmp_path, "check", EXAMPLE_DEBUG="0", EXAMPLE_SECRET_KEY=key)
    assert started.returncode == 0, started.stderr
    assert "System check identified no issues" in started.stdout


def test_with_debug_a_random_key_is_made_once_and_kept(tmp_path: Path) -> None:
    show_key = (
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
    )
    first = manage(tmp_path, *show_key)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert key == (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    again = manage(tmp_path, *show_key)
    assert again.stdout.strip() == key, "a restart keeps the key (and so the sessions)"
    elsewhere = manage(tmp_path / "elsewhere", *show_key)
    assert elsewhere.stdout.strip() not in ("", key), "every installation has its own"
