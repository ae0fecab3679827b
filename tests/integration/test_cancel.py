"""Cancelling jobs of a real worker: a queued job never starts, a running one stops at its
next progress write, and a job several owners share is cancelled by the last of them.

``CancellableJob`` notes each step it reaches (``step:N``) and ``finished`` in the probe, so
the tests know how far the calculation really went. The pace is set by holding the job at
step 1 until the test releases it, never by a clock.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from celery import states
from django.test import Client

from django_jobtastic import cancel_marks
from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import wait_until
from tests.integration.harness import herd_entry, wait_until_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

JOB_TIMEOUT = 60  # seconds: generous, a loaded machine only ever makes a job slower
CANCELLED = {"type": "TaskRevokedError", "message": "The job was cancelled."}


def follow(visitor: Client, task_id: str) -> str:
    """The status URL a page hands ``visitor`` after submitting the job ``task_id``."""
    response = visitor.get(f"/follow/{task_id}/{jobs.CancellableJob.name}/")
    assert response.status_code == 200
    return response.content.decode()


def cancel(visitor: Client, status_url: str) -> dict[str, Any]:
    """POST the cancel as ``visitor``; the answer must be 202: its task object."""
    response = visitor.post(status_url + "cancel/")
    assert response.status_code == 202, response.content
    task: dict[str, Any] = json.loads(response.content)["task"]
    return task


def read_once_ended(visitor: Client, status_url: str) -> dict[str, Any]:
    """Poll as the widget does until the job is ready; its task object."""

    def ended() -> dict[str, Any] | None:
        task: dict[str, Any] = json.loads(visitor.get(status_url).content)["task"]
        return task if task["ready"] else None

    return wait_until(ended, timeout=JOB_TIMEOUT, what="the job to end")  # type: ignore[return-value]


def test_a_queued_job_that_is_cancelled_never_starts(start_worker, private_queue, marker):
    # Queued where no worker consumes yet: the worker started later never got the revoke.
    result = jobs.CancellableJob.apply_async(kwargs={"marker": marker}, queue=private_queue)
    owner = Client()
    url = follow(owner, result.id)
    assert cancel(owner, url)["status"] == "PENDING"
    assert cancel_marks.is_marked("default", result.id)

    start_worker("after-cancel", private_queue)  # ready once it answered a ping queued later

    task = read_once_ended(owner, url)
    assert (task["status"], task["error"]) == ("REVOKED", CANCELLED)
    assert app.backend.get_task_meta(result.id)["status"] == states.REVOKED
    assert probe.runs(marker) == 0
    assert probe.notes(marker) == []
    assert herd_entry(jobs.CancellableJob, marker=marker) is None  # an identical call is new
    again = jobs.CancellableJob.apply_async(kwargs={"marker": marker}, queue=private_queue)
    assert again.id != result.id
    assert again.get(timeout=JOB_TIMEOUT) == {"marker": marker, "steps": 4}


def test_a_running_job_that_is_cancelled_stops_at_its_next_progress_write(
    start_worker, private_queue, marker
):
    start_worker("running", private_queue)
    # Two steps: after the release the next call is the last, which is always written.
    result = jobs.CancellableJob.apply_async(
        kwargs={"marker": marker, "steps": 2, "hold": True}, queue=private_queue
    )
    wait_until_held(result)
    owner = Client()
    url = follow(owner, result.id)
    try:
        answered = cancel(owner, url)
    finally:
        probe.release(marker)

    assert (answered["status"], answered["progress"]["completed"]) == ("PROGRESS", 1)
    task = read_once_ended(owner, url)
    assert (task["status"], task["error"]) == ("REVOKED", CANCELLED)
    assert probe.notes(marker) == ["step:1"]  # step 2's update_progress ended the run
    assert probe.runs(marker) == 1
    assert herd_entry(jobs.CancellableJob, marker=marker) is None


def test_a_job_two_owners_share_is_cancelled_by_the_second(worker, publishes, marker):
    first, second = Client(), Client()
    submitted = [
        json.loads(visitor.post(f"/submit/cancellable/{marker}/", {"hold": "1"}).content)
        for visitor in (first, second)
    ]
    [job_id] = {answer["id"] for answer in submitted}  # the second latched onto the first
    assert publishes == [job_id]
    result = jobs.CancellableJob.AsyncResult(job_id)
    try:
        wait_until_held(result)
        answered = cancel(first, submitted[0]["status_url"])
        assert (answered["status"], answered["progress"]["completed"]) == ("PROGRESS", 1)
        assert not cancel_marks.is_marked("default", job_id)  # the second owner follows it

        cancel(second, submitted[1]["status_url"])
        assert cancel_marks.is_marked("default", job_id)
    finally:
        probe.release(marker)

    for visitor, answer in zip((first, second), submitted, strict=True):
        task = read_once_ended(visitor, answer["status_url"])
        assert (task["status"], task["error"]) == ("REVOKED", CANCELLED)
    assert "finished" not in probe.notes(marker)
    assert probe.runs(marker) == 1

    fresh = json.loads(first.post(f"/submit/cancellable/{marker}/", {"hold": "0"}).content)
    assert fresh["id"] != job_id
    assert jobs.CancellableJob.AsyncResult(fresh["id"]).get(timeout=JOB_TIMEOUT)["steps"] == 4
    assert probe.runs(marker) == 2


def test_one_owner_of_two_cancelling_leaves_the_job_running(worker, marker):
    first, second = Client(), Client()
    submitted = [
        json.loads(visitor.post(f"/submit/cancellable/{marker}/", {"hold": "1"}).content)
        for visitor in (first, second)
    ]
    result = jobs.CancellableJob.AsyncResult(submitted[0]["id"])
    try:
        wait_until_held(result)
        cancel(first, submitted[0]["status_url"])
    finally:
        probe.release(marker)

    assert result.get(timeout=JOB_TIMEOUT) == {"marker": marker, "steps": 4}
    task = read_once_ended(second, submitted[1]["status_url"])
    assert task["status"] == "SUCCESS"
    assert probe.notes(marker)[-1] == "finished"
