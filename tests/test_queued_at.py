"""A job queued through jobtastic is PENDING with ``queued_at`` until a worker takes it.

Published for real (the configured broker) to a queue no worker consumes, so the job stays
queued for as long as the test looks at it.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone

import pytest
from django.test import Client

from tests import jobs
from tests.celery_app import app
from tests.statuses import expected_task, status_url_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def idle_queue() -> str:
    """A queue of this test's own, which no worker consumes."""
    return f"jobtastic-idle-{uuid.uuid4().hex}"


def stored(task_id: str) -> tuple[str, object]:
    meta = app.backend.get_task_meta(task_id)
    return meta["status"], meta["result"]


def test_a_queued_job_is_pending_with_the_time_it_was_queued(marker, idle_queue):
    before = datetime.now(timezone.utc)
    result = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=idle_queue)
    after = datetime.now(timezone.utc)
    state, meta = stored(result.id)
    assert state == "PENDING"
    assert isinstance(meta, dict)
    queued_at = datetime.fromisoformat(meta["queued_at"].replace("Z", "+00:00"))
    assert before <= queued_at <= after

    follower = Client()
    url = status_url_for(follower, result.id)
    answer = follower.get(url).json()["task"]
    assert answer == expected_task(result.id, "PENDING", queued_at=meta["queued_at"])


def test_every_way_to_submit_notes_it(marker, idle_queue):
    for submit in (jobs.CachedJob.async_or_eager, jobs.FailingJob.async_or_fail):
        result = submit(kwargs={"marker": marker}, queue=idle_queue)
        assert stored(result.id)[0] == "PENDING"
        assert "queued_at" in stored(result.id)[1]


def test_a_job_that_was_never_queued_leaves_no_queue_time(marker):
    from kombu.exceptions import EncodeError

    from tests.integration.harness import herd_entry

    task_id = str(uuid.uuid4())
    with pytest.raises(EncodeError):
        jobs.CountingJob.apply_async(kwargs={"marker": marker, "steps": object()}, task_id=task_id)
    assert stored(task_id) == ("PENDING", None)
    assert herd_entry(jobs.CountingJob, marker=marker) is None


def test_a_backend_that_cannot_store_it_costs_the_job_nothing(
    marker, idle_queue, monkeypatch, caplog, publishes
):
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionError("result backend down")

    # On the class: the queue time is written through a twin of the backend (bounded_backends),
    # which a status read may have made before this test, with the methods of that moment.
    monkeypatch.setattr(type(app.backend), "store_result", refuse)
    with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
        result = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=idle_queue)
    assert publishes == [result.id]
    assert "queue time of tests.jobs.CountingJob" in caplog.text


def test_an_eager_run_stores_no_queue_time(eager, marker, monkeypatch):
    notes: list[str] = []
    monkeypatch.setattr(app.backend, "store_result", lambda *a, **k: notes.append(a[2]))
    jobs.CountingJob.delay(marker=marker, steps=1)
    assert "PENDING" not in notes


def test_a_result_backend_that_never_answers_delays_a_submission_by_the_deadline_only(
    marker, idle_queue, monkeypatch, caplog, publishes, silent_port, settings
):
    """A Redis that accepts connections and never answers: the queue time is given up after
    ``JOBTASTIC_PUBLISH_TIMEOUT`` (Celery's socket timeout is 120 s by default)."""
    from celery.backends.redis import RedisBackend

    from django_jobtastic.task.registration import registered_instance

    settings.JOBTASTIC_PUBLISH_TIMEOUT = 1
    silent = RedisBackend(app=app, url=f"redis://127.0.0.1:{silent_port}/0")
    monkeypatch.setattr(registered_instance(jobs.CountingJob), "_backend", silent)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
        result = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=idle_queue)
    took = time.monotonic() - started
    assert publishes == [result.id]
    assert "queue time of tests.jobs.CountingJob" in caplog.text
    assert "Timeout" in caplog.text
    assert took < 30, took  # the bound is 1 s per socket operation: generous for a busy machine
