"""A broker that refuses or never answers, and a cache server that stops."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from django_jobtastic import UserFacingError
from tests import jobs, probe
from tests.helpers import free_port
from tests.integration.conftest import run_submitter, start_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

#: Seconds the fallback may take beyond JOBTASTIC_PUBLISH_TIMEOUT (process noise, the
#: eager run itself).
MARGIN = 1.5


def broker_url(port: int) -> str:
    if settings.BACKEND == "rabbitmq":
        return f"amqp://guest:guest@127.0.0.1:{port}//"
    return f"redis://127.0.0.1:{port}/0"


#: The exception class each failure mode is recorded under.
CAUSES = {"refused": "OperationalError", "hung": "PublishTimeoutError"}


@pytest.fixture(params=sorted(CAUSES))
def dead_broker(request, silent_port) -> tuple[str, str]:
    """``(failure mode, broker URL)``."""
    port = free_port() if request.param == "refused" else silent_port
    return request.param, broker_url(port)


def test_delay_or_fail_dead_broker_records_a_readable_failure(worker, dead_broker):
    mode, url = dead_broker
    marker = uuid.uuid4().hex
    [outcome] = run_submitter(
        "tests.jobs.CountingJob", "delay_or_fail", {"marker": marker}, broker_url=url
    )
    result = jobs.CountingJob.AsyncResult(outcome["id"])

    assert outcome["state"] == "FAILURE"
    assert outcome["seconds"] < settings.JOBTASTIC_PUBLISH_TIMEOUT + MARGIN
    assert result.state == "FAILURE"
    assert str(result.result) == "The job could not be queued. Please try again."
    assert type(result.result).__name__ == CAUSES[mode]
    assert isinstance(result.result, UserFacingError)
    assert probe.runs(marker) == 0


def test_delay_or_eager_dead_broker_runs_here(worker, dead_broker):
    _, url = dead_broker
    marker = uuid.uuid4().hex
    [outcome] = run_submitter(
        "tests.jobs.CountingJob", "delay_or_eager", {"marker": marker}, broker_url=url
    )
    result = jobs.CountingJob.AsyncResult(outcome["id"])

    assert outcome["state"] == "SUCCESS"
    assert outcome["seconds"] < settings.JOBTASTIC_PUBLISH_TIMEOUT + MARGIN
    assert result.state == "SUCCESS"
    assert result.result == {"marker": marker, "steps": 4}
    assert probe.runs(marker) == 1


@pytest.mark.parametrize(
    ("method", "state", "runs"),
    [("delay_or_eager", "SUCCESS", 1), ("delay_or_fail", "FAILURE", 0)],
)
def test_broker_and_result_backend_down_caller_still_gets_the_outcome(worker, method, state, runs):
    """One Redis for both, and it is down: the outcome is known to the calling process only."""
    marker = uuid.uuid4().hex
    dead = f"redis://127.0.0.1:{free_port()}/0"
    [outcome] = run_submitter(
        "tests.jobs.CountingJob", method, {"marker": marker}, broker_url=dead, result_backend=dead
    )
    assert outcome["state"] == state
    assert probe.runs(marker) == runs


@pytest.fixture
def volatile_cache() -> Iterator[subprocess.Popen[bytes]]:
    """A Redis server of our own for the 'volatile' cache alias, so stopping it is safe."""
    server = start_redis(settings.VOLATILE_CACHE_PORT)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cache_server_stopped_submissions_still_run(worker, volatile_cache, caplog):
    marker = uuid.uuid4().hex
    first = jobs.VolatileCacheJob.delay(marker=marker)
    first.get(timeout=30)
    assert jobs.VolatileCacheJob.delay(marker=marker).id == first.id  # served by the cache

    volatile_cache.terminate()
    volatile_cache.wait(timeout=10)
    second = jobs.VolatileCacheJob.delay_or_fail(marker=marker)

    assert second.id != first.id
    assert second.get(timeout=30) == {"marker": marker, "steps": 4}
    assert probe.runs(marker) == 2
    assert "cache unavailable" in caplog.text
