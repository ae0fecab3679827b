"""Estimates from history through a real worker: the third run of a job is estimated while
it is queued and at 0 %, from what the worker kept of the first two.

The jobs wait for releases the test gives (``tests.jobs.HistoryJob``), and the third run is
queued where no worker listens until the test starts one, so every state is looked at while
it lasts, whatever the machine's speed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import caches
from django.test import Client

from django_jobtastic.conf import conf
from django_jobtastic.task import keys, run_history
from django_jobtastic.task.history import expect
from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import wait_until
from tests.integration.harness import Worker, wait_for_worker
from tests.statuses import status_url_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

STEPS = 3


@pytest.fixture
def late_worker(private_queue: str) -> Iterator[Callable[[], Worker]]:
    """Starts a worker on ``private_queue`` when the test says: two children, so its
    readiness ping is answered while the job queued before it holds the other."""
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker("history", private_queue, ["-P", "prefork", "-c", "2"])
        started.append(worker)
        wait_for_worker(worker, private_queue)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def fresh_history() -> None:
    caches[conf.CACHE].delete(keys.history_key(jobs.HistoryJob.name))


def release_all(marker: str) -> None:
    for name in ["start", *(str(step) for step in range(1, STEPS + 1))]:
        probe.release(f"{marker}:{name}")


def read(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    return json.loads(response.content)["task"]


def test_the_third_run_is_estimated_while_pending_and_at_zero(
    worker, late_worker, private_queue, fresh_history
):
    for _ in range(2):
        marker = uuid.uuid4().hex
        release_all(marker)
        jobs.HistoryJob.delay(marker=marker, steps=STEPS).get(timeout=60)
    runs = run_history.runs_of(conf.CACHE, jobs.HistoryJob.name)
    assert len(runs) == 2
    assert all(run.wait is not None and run.total == STEPS for run in runs), runs
    expected = expect(runs)
    assert expected is not None
    assert expected.wait is not None
    most = round(expected.wait, 1) + round(expected.run, 1)

    marker = uuid.uuid4().hex
    result = jobs.HistoryJob.apply_async(
        kwargs={"marker": marker, "steps": STEPS}, queue=private_queue
    )
    follower = Client()
    url = status_url_for(follower, result.id)
    pending = read(follower, url)
    assert pending["status"] == "PENDING"
    progress = pending["progress"]
    assert 0 <= progress["time_remaining"] <= most
    assert 0 <= pending["starts_in"] <= round(expected.wait, 1)
    assert {k: v for k, v in progress.items() if k not in ("time_remaining", "overdue")} == {
        "percent": 0,
        "completed": None,
        "total": None,
        "message": None,
        "started_at": None,
        "updated_at": None,
    }

    late_worker()
    try:
        wait_until(lambda: result.state == "PROGRESS", what="the third run to start")
        at_zero = read(follower, url)
        assert at_zero["status"] == "PROGRESS"
        assert at_zero["progress"]["percent"] == 0
        assert at_zero["progress"]["completed"] is None  # held before its first step
        assert at_zero["progress"]["from_history"] is True
        assert 0 <= at_zero["progress"]["time_remaining"] <= round(expected.run, 1)
        assert at_zero["result"]["time_remaining"] >= 0  # as written: no longer -1
    finally:
        release_all(marker)
    assert result.get(timeout=60) == {"marker": marker, "steps": STEPS}
    assert len(run_history.runs_of(conf.CACHE, jobs.HistoryJob.name)) == 3


def test_a_job_without_history_is_still_estimated_as_before(worker, fresh_history):
    marker = uuid.uuid4().hex
    release_all(marker)
    result = jobs.HistoryJob.delay(marker=marker, steps=STEPS)
    assert result.get(timeout=60) == {"marker": marker, "steps": STEPS}
    [run] = run_history.runs_of(conf.CACHE, jobs.HistoryJob.name)
    assert run.total == STEPS
    assert app.backend.get_task_meta(result.id)["status"] == "SUCCESS"
