"""The task side in a Celery app with no Django settings, through a real worker on Redis:
submission, herd avoidance, result caching, progress, a dead broker, leak detection."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid

import pytest

from django_jobtastic import UserFacingError
from django_jobtastic.conf import forget
from django_jobtastic.job_cache import open_cache
from django_jobtastic.task import keys, run_history
from django_jobtastic.task.registration import registered_instance
from tests.flask import pace
from tests.flask.celery_app import QUEUE, REDIS_URL, app
from tests.flask.conftest import ROOT
from tests.flask.jobs import HeldJob, LeakyJob, LotsOfDivisionTask
from tests.helpers import free_port, wait_until

pytestmark = pytest.mark.worker
RESULT_TIMEOUT = 60  # seconds a job gets to finish once the test lets it
SUBMITTER_TIMEOUT = 60  # seconds the submitting process gets


@pytest.fixture
def marker() -> str:
    return f"flask-{uuid.uuid4().hex}"


def herd_entry(marker: str) -> object:
    """The herd entry of ``HeldJob(marker=marker)`` in the cache."""
    task = registered_instance(HeldJob)
    entries = task._entries(task._digest((), {"marker": marker}))
    return entries.cache.get(entries.herd_key)


def held_at_half_way(result) -> bool:
    return result.state == "PROGRESS" and result.info.get("completed") == 1


def test_the_division_job_runs_in_a_worker_without_django(worker):
    denominators = [1, 11, 21, 31]
    numerators = [0, 20, 40, uuid.uuid4().int % 1000]  # a job no earlier run cached

    result = LotsOfDivisionTask.delay_or_fail(numerators=numerators, denominators=denominators)

    expected = [n / d for n, d in zip(numerators, denominators, strict=True)]
    assert result.get(timeout=RESULT_TIMEOUT) == expected


def test_progress_is_written_while_the_job_runs(worker, marker):
    result = HeldJob.delay_or_fail(marker=marker)
    wait_until(lambda: held_at_half_way(result), what="the job to hold at step 1")

    info = result.info
    pace.release(marker)

    assert (info["progress_percent"], info["completed"], info["total"], info["message"]) == (
        50.0,
        1,
        2,
        "half way",
    )
    assert info["started_at"].endswith(("Z", "+00:00"))
    assert result.get(timeout=RESULT_TIMEOUT) == marker


def test_identical_calls_latch_onto_the_running_job(worker, marker):
    first = HeldJob.delay_or_fail(marker=marker)
    wait_until(lambda: held_at_half_way(first), what="the job to hold at step 1")

    others = [HeldJob.delay(marker=marker), HeldJob.apply_async(kwargs={"marker": marker})]
    pace.release(marker)

    assert [other.id for other in others] == [first.id, first.id]
    assert first.get(timeout=RESULT_TIMEOUT) == marker
    assert pace.runs(marker) == 1


def test_a_repeated_call_is_answered_from_the_cache(worker, marker):
    pace.release(marker)  # runs straight through
    first = HeldJob.delay_or_fail(marker=marker)
    first.get(timeout=RESULT_TIMEOUT)

    again = HeldJob.delay_or_fail(marker=marker)

    assert (again.id, again.get(timeout=RESULT_TIMEOUT), pace.runs(marker)) == (
        first.id,
        marker,
        1,
    )


def test_invalidate_drops_the_cached_result(worker, marker):
    pace.release(marker)
    first = HeldJob.delay_or_fail(marker=marker)
    first.get(timeout=RESULT_TIMEOUT)
    # SUCCESS is stored before the worker caches the id and then releases its herd entry.
    wait_until(lambda: herd_entry(marker) is None, what="the herd entry to be released")

    HeldJob.invalidate(marker=marker)
    again = HeldJob.delay_or_fail(marker=marker)

    assert again.id != first.id
    assert again.get(timeout=RESULT_TIMEOUT) == marker
    assert pace.runs(marker) == 2


def test_delay_or_fail_with_a_dead_broker_stores_a_failure_without_running(worker, marker):
    env = {**os.environ, "JOBTASTIC_FLASK_TEST_BROKER": f"redis://127.0.0.1:{free_port()}/15"}
    submitted = subprocess.run(
        [sys.executable, "-m", "tests.flask.submit", marker],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SUBMITTER_TIMEOUT,
        check=True,
    )
    answer = json.loads(submitted.stdout)

    stored = app.AsyncResult(answer["id"])  # read back from the result backend, as others would
    assert answer["state"] == stored.state == "FAILURE"
    assert isinstance(stored.result, UserFacingError)
    assert (type(stored.result).__name__, str(stored.result)) == (
        "OperationalError",
        "The job could not be queued. Please try again.",
    )
    assert pace.runs(marker) == 0


def test_a_cache_that_is_down_costs_the_caching_not_the_job(worker, marker, caplog):
    pace.release(marker)
    app.conf.jobtastic_cache = f"redis://127.0.0.1:{free_port()}/0"
    forget()
    try:
        with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
            result = HeldJob.delay_or_fail(marker=marker)
    finally:
        app.conf.jobtastic_cache = REDIS_URL
        forget()

    assert result.get(timeout=RESULT_TIMEOUT) == marker
    assert any("cache unavailable" in record.getMessage() for record in caplog.records)


def test_a_leaky_run_is_reported_in_the_worker_log(worker, marker):
    result = LeakyJob.delay(marker=marker)
    result.get(timeout=RESULT_TIMEOUT)

    wait_until(
        lambda: f"memleak_detected task={LeakyJob.name} id={result.id}" in worker.log_text(),
        what="the memleak warning",
    )


def test_the_worker_consumes_this_runs_queue_only(worker):
    assert app.conf.task_default_queue == QUEUE


def test_a_successful_run_joins_its_class_history_in_the_redis_cache(worker, marker):
    pace.release(marker)
    cache, key = open_cache(REDIS_URL), keys.history_key(HeldJob.name)
    before = cache.get(key)

    HeldJob.delay_or_fail(marker=marker).get(timeout=RESULT_TIMEOUT)

    wait_until(lambda: cache.get(key) != before, what="the run in its class's history")
    assert run_history.runs_of(REDIS_URL, HeldJob.name)
