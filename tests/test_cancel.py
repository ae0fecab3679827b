"""Cancelling a job: the cancel view over HTTP, the cancel mark, and what the run does.

States are stored with the result backend's own ``store_result``; jobs run eagerly. The
integration tests (``tests/integration/test_cancel.py``) cancel jobs of a real worker.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from celery import states
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.test import Client

from django_jobtastic import JobtasticTask, cancel_marks
from django_jobtastic.exceptions import JobCancelledError
from django_jobtastic.models import Grant
from django_jobtastic.task import herd, progress
from django_jobtastic.task.registration import registered_instance
from django_jobtastic.web import cancel
from django_jobtastic.web.cancel import (
    ALREADY_ENDED_MESSAGE,
    CSRF_MESSAGE,
    METHOD_MESSAGE,
    NOT_CANCELLABLE_MESSAGE,
    NOT_RECORDED_MESSAGE,
)
from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE, UNAVAILABLE_MESSAGE
from tests import jobs
from tests.celery_app import app
from tests.statuses import PROGRESS_META, expected_task, new_id, read, store

pytestmark = pytest.mark.django_db(transaction=True)

CANCELLABLE = "tests.jobs.CancellableJob"
NOT_FOUND = {"error": NOT_FOUND_MESSAGE}
CSRF_SECRET = "a" * 32  # a CSRF cookie value Django accepts, sent back as the header


@pytest.fixture(autouse=True)
def revokes(monkeypatch) -> list[str]:
    """The task ids the cancel view revoked (Celery's control API, not sent anywhere)."""
    sent: list[str] = []
    monkeypatch.setattr(app.control, "revoke", lambda task_id, **_: sent.append(task_id))
    return sent


def cancel_url_for(client: Client, task_id: str, name: str = CANCELLABLE) -> str:
    """The cancel URL of a job of task ``name`` granted to ``client`` (as a page would)."""
    response = client.get(f"/follow/{task_id}/{name}/")
    assert response.status_code == 200
    return response.content.decode() + "cancel/"


def post(client: Client, url: str) -> tuple[int, dict[str, Any]]:
    """``(status, JSON body)`` of a POST, after the headers every answer carries."""
    status, body = read(client, url, "post")
    return status, body


def marked(task_id: str, alias: str = "default") -> bool:
    return cancel_marks.is_marked(alias, task_id)


def cancelled_grants(task_id: str) -> list[bool]:
    rows = Grant.objects.filter(task_id=task_id).order_by("pk")
    return [row.cancelled_at is not None for row in rows]


# --- the view -------------------------------------------------------------------------------


def test_the_only_owner_cancels_a_queued_job(client, revokes):
    task_id = new_id()
    url = cancel_url_for(client, task_id)

    assert post(client, url) == (202, {"task": expected_task(task_id, "PENDING")})
    assert marked(task_id)
    assert revokes == [task_id]
    assert cancelled_grants(task_id) == [True]


def test_the_answer_is_the_running_jobs_task_object(client):
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = cancel_url_for(client, task_id)
    status_url = url.removesuffix("cancel/")
    task = read(client, status_url)[1]["task"]

    assert post(client, url) == (202, {"task": task})
    assert marked(task_id)


def test_without_a_csrf_token_the_answer_is_a_403_in_json():
    visitor = Client(enforce_csrf_checks=True)
    task_id = new_id()
    url = cancel_url_for(visitor, task_id)

    assert post(visitor, url) == (403, {"error": CSRF_MESSAGE})
    visitor.cookies["csrftoken"] = CSRF_SECRET
    response = visitor.post(url, HTTP_X_CSRFTOKEN="b" * 32)  # not the cookie's
    assert (response.status_code, json.loads(response.content)) == (403, {"error": CSRF_MESSAGE})
    assert not marked(task_id)
    assert cancelled_grants(task_id) == [False]


def test_with_a_csrf_token_the_owner_cancels():
    visitor = Client(enforce_csrf_checks=True)
    task_id = new_id()
    url = cancel_url_for(visitor, task_id)
    visitor.cookies["csrftoken"] = CSRF_SECRET

    response = visitor.post(url, HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 202
    assert marked(task_id)


def test_a_huge_form_body_without_a_csrf_token_is_a_403_not_an_error():
    visitor = Client(enforce_csrf_checks=True)
    url = cancel_url_for(visitor, new_id())
    body = "x=" + "y" * 3_000_000  # over DATA_UPLOAD_MAX_MEMORY_SIZE: unreadable as a form

    response = visitor.post(url, body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, json.loads(response.content)) == (403, {"error": CSRF_MESSAGE})


def test_a_huge_json_body_is_ignored(client):
    task_id = new_id()
    url = cancel_url_for(client, task_id)
    response = client.post(url, "[" * 3_000_000, content_type="application/json")
    assert response.status_code == 202


@pytest.mark.parametrize("method", ["get", "head", "put", "patch", "delete", "options"])
def test_other_methods_get_405_in_json(method):
    visitor = Client(enforce_csrf_checks=True)
    url = cancel_url_for(visitor, new_id())
    response = getattr(visitor, method)(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Cache-Control"] == "private, no-store"
    if method != "head":
        assert json.loads(response.content) == {"error": METHOD_MESSAGE}


def test_a_foreign_token_gets_the_status_views_404(client):
    task_id = new_id()
    url = cancel_url_for(client, task_id)
    stranger = Client()
    stranger.get(f"/follow/{new_id()}/")  # a session of their own

    assert post(stranger, url) == (404, NOT_FOUND)
    assert post(Client(), url) == (404, NOT_FOUND)
    assert not marked(task_id)


@pytest.mark.parametrize(
    "path",
    [
        "/jobtastic/status/not-a-token/cancel/",
        "/jobtastic/status/a/b/cancel/",
        "/jobtastic/status/%00%0A\u00e9/cancel/",
        "/jobtastic/status/" + "x" * 10_000 + "/cancel/",
    ],
)
def test_bad_tokens_get_the_same_404(client, path):
    assert post(client, path) == (404, NOT_FOUND)


def test_an_expired_token_gets_the_same_404(client, settings, monkeypatch):
    task_id = new_id()
    url = cancel_url_for(client, task_id)
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60
    later = time.time() + 61
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    assert post(client, url) == (404, NOT_FOUND)
    assert not marked(task_id)


@pytest.mark.parametrize("name", ["tests.jobs.CountingJob", "tests.jobs.ping", "no.such.Task"])
def test_a_job_that_is_not_cancellable_gets_a_409(client, name):
    task_id = new_id()
    url = cancel_url_for(client, task_id, name)
    assert post(client, url) == (409, {"error": NOT_CANCELLABLE_MESSAGE})
    assert not marked(task_id)
    assert cancelled_grants(task_id) == [False]


def test_a_job_granted_by_bare_id_cannot_be_cancelled(client):
    task_id = new_id()
    url = client.get(f"/follow/{task_id}/").content.decode() + "cancel/"
    assert post(client, url) == (409, {"error": NOT_CANCELLABLE_MESSAGE})


def test_an_owner_whose_grant_is_gone_cannot_cancel(client):
    task_id = new_id()
    url = cancel_url_for(client, task_id)
    Grant.objects.filter(task_id=task_id).delete()
    assert post(client, url) == (409, {"error": NOT_CANCELLABLE_MESSAGE})


@pytest.mark.parametrize("state", [states.SUCCESS, states.FAILURE, states.REVOKED])
def test_a_job_that_has_ended_gets_a_409(client, state):
    task_id = new_id()
    store(task_id, ValueError("x") if state != states.SUCCESS else 42, state)
    url = cancel_url_for(client, task_id)
    assert post(client, url) == (409, {"error": ALREADY_ENDED_MESSAGE})
    assert not marked(task_id)
    assert cancelled_grants(task_id) == [False]


def test_a_job_of_two_owners_is_cancelled_by_the_second_cancel(client, revokes):
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    other = Client()
    mine, theirs = cancel_url_for(client, task_id), cancel_url_for(other, task_id)
    running = read(client, mine.removesuffix("cancel/"))[1]["task"]

    assert post(client, mine) == (202, {"task": running})
    assert not marked(task_id)  # the other owner still follows it
    assert revokes == []
    assert cancelled_grants(task_id) == [True, False]
    assert post(client, mine) == (202, {"task": running})  # again: the same
    assert not marked(task_id)

    assert post(other, theirs) == (202, {"task": running})
    assert marked(task_id)
    assert revokes == [task_id]
    assert cancelled_grants(task_id) == [True, True]


def test_an_owner_who_cancelled_no_longer_lists_the_job(client):
    task_id = new_id()
    url = cancel_url_for(client, task_id)
    listed = json.loads(client.get("/jobtastic/jobs/").content)["jobs"]
    assert [job["id"] for job in listed] == [task_id]
    post(client, url)
    assert json.loads(client.get("/jobtastic/jobs/").content)["jobs"] == []


def test_asking_for_the_job_again_follows_it_again(client):
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = cancel_url_for(client, task_id)
    cancel_url_for(Client(), task_id)
    post(client, url)
    assert cancelled_grants(task_id) == [True, False]

    cancel_url_for(client, task_id)  # granted again: it asked for the job again
    assert cancelled_grants(task_id) == [False, False]


@pytest.fixture
def cache_down(monkeypatch) -> None:
    """CancellableJob's cache is one nothing listens to (on the registered instance only, so
    the system checks' tests see no extra job naming that alias)."""
    monkeypatch.setattr(registered_instance(jobs.CancellableJob), "cache_alias", "unreachable")


def test_a_cache_that_is_down_is_a_503_and_records_nothing(client, revokes, cache_down):
    task_id = new_id()
    url = cancel_url_for(client, task_id)

    response = client.post(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert json.loads(response.content) == {"error": NOT_RECORDED_MESSAGE}
    assert cancelled_grants(task_id) == [False]  # so a retry can record it
    assert revokes == []


def test_a_database_that_is_down_is_a_503(client, monkeypatch):
    task_id = new_id()
    url = cancel_url_for(client, task_id)

    def database_down(*args: object) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(cancel, "names_granted", database_down)
    response = client.post(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert json.loads(response.content) == {"error": UNAVAILABLE_MESSAGE}


def test_a_result_backend_that_is_down_is_a_503(client, monkeypatch):
    from celery.backends.base import DisabledBackend

    from django_jobtastic.web import result_reading

    url = cancel_url_for(client, new_id())
    monkeypatch.setattr(
        result_reading, "current_app", SimpleNamespace(backend=DisabledBackend(app))
    )
    response = client.post(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")


def test_a_broker_that_does_not_answer_costs_the_revoke_not_the_cancel(
    client, monkeypatch, settings
):
    settings.JOBTASTIC_PUBLISH_TIMEOUT = 0.05
    stuck: list[str] = []
    answered = threading.Event()

    def silent_broker(task_id: str, **_: object) -> None:
        stuck.append(task_id)
        answered.wait(60)

    monkeypatch.setattr(app.control, "revoke", silent_broker)
    task_id = new_id()
    try:
        assert client.post(cancel_url_for(client, task_id)).status_code == 202
    finally:
        answered.set()
    assert marked(task_id)
    assert stuck == [task_id]


# --- the mark -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires", "lifetime"),
    [
        (timedelta(days=1), 86400),
        (3600, 3600),
        (1.2, 2),
        (None, None),
        (0, None),
        (float("inf"), None),
        (True, None),
    ],
)
def test_a_mark_lives_as_long_as_results(expires, lifetime):
    assert cancel_marks.lifetime_of(expires) == lifetime


def test_mark_keys_fit_memcached_whatever_the_id():
    assert len(cancel_marks.mark_key("x" * 1000)) < 250


# --- the task side --------------------------------------------------------------------------


class SelfCancellingJob(JobtasticTask):
    """Marks itself cancelled before step ``cancel_at``, as the last owner's cancel would."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 60
    cancellable = True
    progress_interval = 0
    steps_done: list[int] = []

    def calculate_result(self, marker: str, cancel_at: int, swallow: bool = False) -> str:
        for step in range(1, 5):
            if step == cancel_at:
                cancel_marks.set_mark("default", str(self.request.id), None)
            try:
                self.update_progress(step, 4)
            except JobCancelledError:
                if not swallow:
                    raise
            type(self).steps_done.append(step)
        return "finished"


class RarelyWritingJob(jobs.CancellableJob):
    progress_interval = 3600  # only the call reaching the total writes


@pytest.fixture
def steps_done() -> list[int]:
    SelfCancellingJob.steps_done = []
    return SelfCancellingJob.steps_done


def test_a_running_job_stops_at_its_next_progress_write(eager, marker, steps_done):
    # Marked before step 4, whose call always writes (the first to reach the total).
    result = SelfCancellingJob.delay(marker=marker, cancel_at=4)

    assert steps_done == [1, 2, 3]
    assert app.backend.get_task_meta(result.id)["status"] == states.REVOKED
    assert read_status(result.id)["status"] == "REVOKED"
    again = SelfCancellingJob.delay(marker=marker, cancel_at=0)  # herd entry freed
    assert again.id != result.id
    assert again.get() == "finished"


def test_a_job_that_swallows_the_cancel_still_ends_revoked(eager, marker, steps_done):
    result = SelfCancellingJob.delay(marker=marker, cancel_at=2, swallow=True)

    assert steps_done == [1, 2, 3, 4]  # it went on, but every write raised
    assert app.backend.get_task_meta(result.id)["status"] == states.REVOKED


def test_a_queued_job_marked_cancelled_never_runs(eager, marker, steps_done):
    task_id = new_id()
    cancel_marks.set_mark("default", task_id, None)
    result = SelfCancellingJob.apply_async(
        kwargs={"marker": marker, "cancel_at": 0}, task_id=task_id
    )

    assert result.id == task_id
    assert steps_done == []
    assert app.backend.get_task_meta(task_id)["status"] == states.REVOKED
    entries = registered_instance(SelfCancellingJob)._entries(
        registered_instance(SelfCancellingJob)._digest((), {"marker": marker})
    )
    assert entries.cache.get(entries.herd_key) is None


def test_jobs_that_are_not_cancellable_never_read_a_mark(eager, marker, monkeypatch):
    reads: list[str] = []
    monkeypatch.setattr(cancel_marks, "is_marked", lambda alias, task_id: reads.append(task_id))
    assert jobs.CountingJob.delay(marker=marker).get() == {"marker": marker, "steps": 4}
    assert reads == []


def test_a_cancellable_job_reads_its_mark_once_before_it_starts_and_per_write(
    eager, marker, monkeypatch
):
    reads: list[str] = []

    def is_marked(alias: str, task_id: str) -> bool:
        reads.append(task_id)
        return False

    monkeypatch.setattr(cancel_marks, "is_marked", is_marked)
    result = RarelyWritingJob.delay(marker=marker, steps=4)
    assert result.get() == {"marker": marker, "steps": 4}
    # Before it starts, then before its one write: the last call (the others are held back).
    assert reads == [result.id] * 2


def test_a_cache_that_is_down_lets_the_job_run_with_a_warning(eager, marker, caplog, cache_down):
    result = jobs.CancellableJob.delay(marker=marker, steps=3)
    assert result.get() == {"marker": marker, "steps": 3}
    cancel_warnings = [r for r in caplog.records if "cancel mark" in r.getMessage()]
    assert len(cancel_warnings) == 2  # before it starts, and once for all its writes


def test_an_identical_call_does_not_latch_onto_a_cancelled_job(marker):
    task = registered_instance(jobs.CancellableJob)
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    assert task._liveness(task_id) is herd.Liveness.RUNNING
    cancel_marks.set_mark("default", task_id, None)
    assert task._liveness(task_id) is herd.Liveness.DEAD


def test_cancellable_must_be_a_bool():
    def calculate_result(self: JobtasticTask) -> None:
        return None

    attributes = {"significant_kwargs": [], "herd_avoidance_timeout": 1, "cancellable": "yes"}
    with pytest.raises(ImproperlyConfigured, match="Broken.cancellable must be True or False"):
        type("Broken", (JobtasticTask,), {**attributes, "calculate_result": calculate_result})


# --- the tracker ----------------------------------------------------------------------------


class Reads:
    """A cancel reader that counts its reads and answers True from the ``cancel_from``-th."""

    def __init__(self, cancel_from: int = 0) -> None:
        self.count = 0
        self.cancel_from = cancel_from

    def __call__(self) -> bool:
        self.count += 1
        return bool(self.cancel_from) and self.count >= self.cancel_from


def recording_tracker(reads: Reads) -> tuple[progress.ProgressTracker, list[dict]]:
    """A tracker writing only calls that reach their total (an hour between other writes)."""
    stored: list[dict] = []
    tracker = progress.ProgressTracker(
        3600, lambda meta: stored.append(meta) or True, cancel_requested=reads
    )
    return tracker, stored


def test_the_tracker_reads_the_mark_per_write_not_per_call():
    reads = Reads()
    tracker, stored = recording_tracker(reads)
    for done in range(1, 101):
        tracker.report(done, 100)  # 99 held back, then the last one written
    tracker.report(100, 100)  # "done" again, held back too
    tracker.close()
    assert [meta["completed"] for meta in stored] == [100]
    assert reads.count == 1


def test_the_tracker_raises_once_cancelled_and_reads_no_more():
    reads = Reads(cancel_from=2)
    tracker, stored = recording_tracker(reads)
    tracker.report(5, 5)  # written: not cancelled yet
    with pytest.raises(JobCancelledError):
        tracker.report(6, 6)
    with pytest.raises(JobCancelledError):
        tracker.report(7, 7)
    tracker.close()
    assert [meta["completed"] for meta in stored] == [5]
    assert (reads.count, tracker.cancelled) == (2, True)


def test_a_tracker_without_a_reader_is_never_cancelled():
    tracker = progress.ProgressTracker(0, lambda meta: True)
    tracker.report(1, 1)
    tracker.close()
    assert tracker.cancelled is False


def read_status(task_id: str) -> dict[str, Any]:
    visitor = Client()
    url = visitor.get(f"/follow/{task_id}/").content.decode()
    return json.loads(visitor.get(url).content)["task"]


def test_a_signed_in_owner_cancels_from_any_session():
    ada = User.objects.create_user("ada")
    first, second = Client(), Client()
    first.force_login(ada)
    second.force_login(ada)
    task_id = new_id()
    url = cancel_url_for(first, task_id)

    assert post(second, url)[0] == 202  # a user's token holds in all their sessions
    assert marked(task_id)
