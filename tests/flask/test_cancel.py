"""The Flask cancel route with Flask's test client and a real worker: CSRF, owners, 409s, and
a job shared by two owners cancelled only once both have cancelled it."""

from __future__ import annotations

import re
import uuid

import pytest

from django_jobtastic.conf import forget
from tests.flask import pace
from tests.flask.celery_app import REDIS_URL
from tests.flask.celery_app import app as celery_app
from tests.flask.site import app as site
from tests.helpers import free_port, wait_until

RESULT_TIMEOUT = 60  # seconds
ATTRIBUTE = re.compile(r'data-jobtastic-(?P<name>[a-z-]+)="(?P<value>[^"]*)"')


@pytest.fixture
def marker() -> str:
    celery_app.set_current()
    return f"flask-cancel-{uuid.uuid4().hex}"


def browser():
    return site.test_client()


def widget_of(client, marker: str) -> dict[str, str]:
    """The data- attributes of the widget the cancellable page renders for ``marker``."""
    page = client.get(f"/cancellable/{marker}").get_data(as_text=True)
    return {match["name"]: match["value"] for match in ATTRIBUTE.finditer(page)}


def cancel(client, widget: dict[str, str], csrf: str | None = None):
    token = widget["csrf-token"] if csrf is None else csrf
    return client.post(widget["cancel-url"], headers={"X-CSRFToken": token})


def status_of(client, widget: dict[str, str]) -> dict:
    return client.get(widget["url"]).get_json()["task"]


def held(client, widget: dict[str, str]) -> bool:
    task = status_of(client, widget)
    return task["status"] == "PROGRESS" and task["progress"]["completed"] == 1


def test_a_cancellable_jobs_widget_offers_cancel(worker, marker):
    client = browser()
    widget = widget_of(client, marker)
    pace.release(marker)

    assert widget["cancel-url"] == widget["url"] + "cancel/"
    assert widget["csrf-token"]
    page = client.get("/widget", query_string={"id": "plain"}).get_data(as_text=True)
    assert "jobtastic-cancel" not in page  # a job that is not cancellable: no button


def test_cancel_ends_a_running_job_revoked(worker, marker):
    client = browser()
    widget = widget_of(client, marker)
    wait_until(lambda: held(client, widget), what="the job to hold at step 1")

    answer = cancel(client, widget)
    pace.release(marker)

    assert answer.status_code == 202
    assert answer.get_json()["task"]["status"] == "PROGRESS"
    assert answer.headers["Cache-Control"] == "private, no-store"
    final = celery_app.AsyncResult(answer.get_json()["task"]["id"])
    wait_until(lambda: final.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")


def test_a_shared_job_runs_on_until_every_owner_cancelled(worker, marker):
    first, second = browser(), browser()
    mine, theirs = widget_of(first, marker), widget_of(second, marker)
    wait_until(lambda: held(first, mine), what="the job to hold at step 1")
    assert status_of(first, mine)["id"] == status_of(second, theirs)["id"]  # herd avoidance

    assert cancel(first, mine).status_code == 202
    assert first.get(mine["url"]).status_code == 200  # the token still reads
    assert first.get("/jobtastic/jobs/").get_json()["jobs"] == []  # no longer followed
    assert status_of(second, theirs)["status"] == "PROGRESS"
    assert cancel(second, theirs).status_code == 202
    pace.release(marker)

    final = celery_app.AsyncResult(status_of(second, theirs)["id"])
    wait_until(lambda: final.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")


def test_one_owner_cancelling_lets_the_others_job_finish(worker, marker):
    first, second = browser(), browser()
    mine, theirs = widget_of(first, marker), widget_of(second, marker)
    wait_until(lambda: held(first, mine), what="the job to hold at step 1")

    assert cancel(first, mine).status_code == 202
    pace.release(marker)

    final = celery_app.AsyncResult(status_of(second, theirs)["id"])
    assert final.get(timeout=RESULT_TIMEOUT) == marker


def test_without_the_csrf_token_it_is_a_json_403(worker, marker):
    client = browser()
    widget = widget_of(client, marker)
    pace.release(marker)

    answer = cancel(client, widget, csrf="forged")

    assert (answer.status_code, answer.get_json()) == (
        403,
        {"error": "This request could not be verified. Please reload the page."},
    )


def test_a_stranger_gets_the_one_404(worker, marker):
    widget = widget_of(browser(), marker)
    stranger = browser()
    own = widget_of(stranger, f"{marker}-theirs")  # a session with its own CSRF token
    pace.release(marker)
    pace.release(f"{marker}-theirs")

    answer = cancel(stranger, widget, csrf=own["csrf-token"])

    assert (answer.status_code, answer.get_json()) == (
        404,
        {"error": "This job does not exist, has expired, or belongs to someone else."},
    )


def test_a_job_that_is_not_cancellable_is_a_409(worker, marker):
    client = browser()
    pace.release(marker)
    url = client.post(f"/held/{marker}").get_json()["status_url"]
    widget_of(client, f"{marker}-other")  # gives the session its CSRF token
    pace.release(f"{marker}-other")
    with client.session_transaction() as session:
        token = session["_jobtastic_csrf"]

    answer = client.post(url + "cancel/", headers={"X-CSRFToken": token})

    assert (answer.status_code, answer.get_json()) == (
        409,
        {"error": "This job cannot be cancelled."},
    )


def test_an_ended_job_is_a_409(worker, marker):
    client = browser()
    pace.release(marker)
    widget = widget_of(client, marker)
    wait_until(lambda: status_of(client, widget)["ready"], what="the job to end")

    answer = cancel(client, widget)

    assert (answer.status_code, answer.get_json()) == (
        409,
        {"error": "This job has already ended."},
    )


def test_other_methods_are_a_json_405(worker, marker):
    client = browser()
    widget = widget_of(client, marker)
    pace.release(marker)

    answer = client.get(widget["cancel-url"])

    assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")
    assert answer.get_json() == {"error": "Only POST is allowed here."}


def test_a_cancel_that_cannot_read_the_grants_is_a_503(worker, marker):
    client = browser()
    widget = widget_of(client, marker)
    pace.release(marker)
    celery_app.conf.jobtastic_cache = f"redis://127.0.0.1:{free_port()}/0"
    forget()
    try:
        answer = cancel(client, widget)
    finally:
        celery_app.conf.jobtastic_cache = REDIS_URL
        forget()

    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")
