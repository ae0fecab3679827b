"""The status view reading states that a real worker wrote, through the backend under test.

Each state is produced by a real ``celery worker`` process and read over HTTP (Django's test
client, the whole middleware stack) by its owner; bodies are compared by exact equality.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from celery.backends.redis import RedisBackend
from django.conf import settings
from django.db import connections
from django.test import Client

from django_jobtastic.web.payloads import GENERIC_FAILURE
from django_jobtastic.web.status_answers import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE
from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import free_port, wait_until
from tests.integration.harness import (
    read_elsewhere,
    start_redis,
    stop,
    submit_elsewhere,
    wait_until_held,
)
from tests.statuses import expected_task, failed, status_url_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

NO_PROGRESS = {
    **dict.fromkeys(
        ["percent", "time_remaining", "completed", "total", "message", "started_at", "updated_at"]
    ),
    "overdue": False,
}


@pytest.fixture
def follow() -> Client:
    """A visitor's browser: it gets status URLs from a page and reads them."""
    return Client()


def read(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    body = json.loads(response.content)
    assert body["poll_interval"] == 1.0
    return body["task"]


def test_queued_job_is_pending_since_it_was_queued(follow, private_queue, marker):
    before = datetime.now(timezone.utc)
    result = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=private_queue)
    shown = read(follow, status_url_for(follow, result.id))
    queued_at = datetime.fromisoformat(shown.pop("queued_at").replace("Z", "+00:00"))
    assert before <= queued_at <= datetime.now(timezone.utc)
    assert {**shown, "queued_at": None} == expected_task(result.id, "PENDING")


def test_started_plain_task(worker, follow, marker):
    result = jobs.held_plain_task.delay(marker)
    try:
        wait_until(lambda: probe.notes(marker) == ["held"], what="the task to start")
        assert read(follow, status_url_for(follow, result.id)) == expected_task(
            result.id, "STARTED"
        )
    finally:
        probe.release(marker)
    assert result.get(timeout=30) == "released"


def test_custom_state_carries_its_meta(worker, follow, marker):
    result = jobs.held_plain_task.delay(marker, state="UPLOADING")
    try:
        wait_until(lambda: probe.notes(marker) == ["held"], what="the custom state")
        assert read(follow, status_url_for(follow, result.id)) == expected_task(
            result.id,
            "UPLOADING",
            result={"stage": "uploading", "marker": marker},
            progress=NO_PROGRESS,
        )
    finally:
        probe.release(marker)


def test_progress_of_a_running_job(worker, follow, marker):
    result = jobs.CountingJob.delay(marker=marker, hold=True)
    try:
        wait_until_held(result)
        meta = result.info  # what the worker wrote, read by Celery itself
        seen = read(follow, status_url_for(follow, result.id))
    finally:
        probe.release(marker)
    aged = seen["progress"]["time_remaining"]
    if meta["time_remaining"] < 0:
        assert (aged, seen["progress"]["overdue"]) == (-1, False)
    else:  # aged by the time since it was written: never more, never below 0
        assert 0 <= aged <= meta["time_remaining"]
        assert aged == 0 or not seen["progress"]["overdue"]
    assert meta["completed"] == 1
    assert meta["total"] == 4
    assert meta["progress_percent"] == 25.0
    assert meta["message"] == "step 1"
    assert seen == expected_task(
        result.id,
        "PROGRESS",
        result=meta,
        progress={
            "percent": 25.0,
            "time_remaining": aged,
            "completed": 1,
            "total": 4,
            "message": "step 1",
            "started_at": meta["started_at"],
            "updated_at": meta["updated_at"],
            "overdue": seen["progress"]["overdue"],
        },
    )


def test_pollers_of_one_running_job_share_backend_reads(worker, settings, backend_reads, marker):
    """Eight browsers following one herd-shared job, 20 polls each: a few reads, one answer."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    result = jobs.CountingJob.delay(marker=marker, hold=True)
    try:
        wait_until_held(result)
        visitors = [Client() for _ in range(8)]
        urls = [status_url_for(visitor, result.id) for visitor in visitors]

        def poll(visitor: Client, url: str) -> list[dict]:
            try:
                return [read(visitor, url) for _ in range(20)]
            finally:
                connections.close_all()  # this thread's own database connection

        with ThreadPoolExecutor(max_workers=8) as pool:
            seen = [task for polls in pool.map(poll, visitors, urls) for task in polls]
    finally:
        probe.release(marker)
    assert len(seen) == 160
    # One answer, bar its age: each backend read ages the estimate to its own moment.
    assert all(unaged(task) == unaged(seen[0]) for task in seen)
    assert seen[0]["progress"]["completed"] == 1
    assert 1 <= len(backend_reads) <= 8  # at most one per thread that missed at the same time
    result.get(timeout=30)


def test_success(worker, follow, marker):
    result = jobs.CountingJob.delay(marker=marker, steps=2)
    result.get(timeout=30)
    assert read(follow, status_url_for(follow, result.id)) == expected_task(
        result.id,
        "SUCCESS",
        ready=True,
        successful=True,
        result={"marker": marker, "steps": 2},
        progress={**NO_PROGRESS, "percent": 100, "time_remaining": 0},
    )


def test_user_facing_failure(worker, follow, marker):
    result = jobs.FailingJob.delay(marker=marker)
    wait_until(result.ready, what="the failure")
    assert read(follow, status_url_for(follow, result.id)) == failed(
        result.id, "UserFacingError", f"cannot do {marker}"
    )


def test_internal_failure_is_generic_unless_debug(worker, follow, settings, marker):
    result = jobs.InternalErrorJob.delay(marker=marker)
    wait_until(result.ready, what="the failure")
    url = status_url_for(follow, result.id)
    response = follow.get(url)
    assert marker.encode() not in response.content
    assert json.loads(response.content)["task"] == failed(result.id, "ValueError", GENERIC_FAILURE)

    settings.DEBUG = True
    shown = read(follow, url)
    assert shown.pop("traceback").splitlines()[-1] == f"ValueError: internal detail of {marker}"
    assert shown == failed(result.id, "ValueError", f"internal detail of {marker}")


def test_retrying_job(worker, follow, marker):
    result = jobs.SlowRetryJob.delay(marker=marker)
    wait_until(lambda: result.state == "RETRY", what="the retry")
    assert read(follow, status_url_for(follow, result.id)) == expected_task(result.id, "RETRY")
    result.revoke()


def test_revoked_job(worker, follow, marker):
    result = jobs.CountingJob.delay(marker=marker, hold=True)
    try:
        wait_until_held(result)
        result.revoke(terminate=True)
        wait_until(lambda: result.state == "REVOKED", what="the revoke")
    finally:
        probe.release(marker)  # only now: released earlier, the job could finish first
    assert read(follow, status_url_for(follow, result.id)) == failed(
        result.id, "TaskRevokedError", "The job was cancelled.", status="REVOKED"
    )


def test_job_the_broker_refused(worker, follow, marker):
    """``delay_or_fail`` in another web process, broker refused; the user reads why."""
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    if settings.BACKEND == "rabbitmq":
        dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    report = submit_elsewhere(
        "tests.jobs.CountingJob", "delay_or_fail", {"marker": marker}, broker_url=dead_broker
    )
    [outcome] = report["outcomes"]
    task_id = str(outcome["id"])
    assert read(follow, status_url_for(follow, task_id)) == failed(
        task_id, "OperationalError", "The job could not be queued. Please try again."
    )


def test_another_visitor_cannot_read_a_real_job(worker, follow, marker):
    result = jobs.CountingJob.delay(marker=marker, steps=1)
    result.get(timeout=30)
    url = status_url_for(follow, result.id)
    stranger = Client()
    stranger.get("/follow/something-else/")
    assert stranger.get(url).status_code == 404
    assert read(follow, url)["status"] == "SUCCESS"


# --- the result backend is down ------------------------------------------------------------


UNAVAILABLE = {
    "status": 503,
    "retry_after": str(RETRY_AFTER_SECONDS),
    "cache_control": "private, no-store",
    "body": {"error": UNAVAILABLE_MESSAGE},
}


def test_result_backend_down_answers_503(follow, tmp_path, task_id):
    """Stopped or never there, the backend's outage is a 503 with Retry-After, never a 500."""
    path = status_url_for(follow, task_id)
    session = follow.cookies[settings.SESSION_COOKIE_NAME].value
    if settings.CELERY_RESULT_BACKEND == "django-db":
        assert read_elsewhere(path, session)["status"] == 200
        unopenable = str(tmp_path / "missing-directory" / "db.sqlite3")
        assert read_elsewhere(path, session, JOBTASTIC_TEST_DATABASE=unopenable) == UNAVAILABLE
        return

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port)
    try:
        RedisBackend(app=app, url=url).store_result(task_id, {"progress_percent": 10.0}, "PROGRESS")
        before = read_elsewhere(path, session, JOBTASTIC_TEST_RESULT_BACKEND=url)
        assert (before["status"], before["body"]["task"]["status"]) == (200, "PROGRESS")
        stop(server)

        assert read_elsewhere(path, session, JOBTASTIC_TEST_RESULT_BACKEND=url) == UNAVAILABLE
        server = start_redis(port)  # back, empty (no persistence): the job reads as PENDING
        after = read_elsewhere(path, session, JOBTASTIC_TEST_RESULT_BACKEND=url)
        assert (after["status"], after["body"]["task"]["status"]) == (200, "PENDING")
    finally:
        stop(server)


def unaged(task: dict) -> dict:
    """A task object without what ages from one read to the next."""
    aging = ("time_remaining", "overdue")
    return {**task, "progress": {k: v for k, v in task["progress"].items() if k not in aging}}


def test_a_job_running_past_its_estimate_is_overdue_not_frozen(worker, follow, settings, marker):
    """Held after step 1 (estimated from a few milliseconds of work), the job outlives its
    estimate: the answer says so, with 0 left, however long it is held."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0  # every read is the backend's state now
    result = jobs.CountingJob.delay(marker=marker, hold=True)
    try:
        wait_until_held(result)
        written = result.info
        assert written["time_remaining"] >= 0
        assert written["updated_at"].endswith("Z")
        url = status_url_for(follow, result.id)
        seen = wait_until(
            lambda: (task := read(follow, url))["progress"]["overdue"] and task,
            what="the estimate to run out while the job is held",
        )
        assert seen["status"] == "PROGRESS"
        assert seen["progress"]["time_remaining"] == 0
        assert seen["result"]["time_remaining"] == written["time_remaining"]  # as written
    finally:
        probe.release(marker)
    assert result.get(timeout=30) == {"marker": marker, "steps": 4}
    assert read(follow, url)["progress"]["overdue"] is False
