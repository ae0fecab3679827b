"""A broker that refuses or never answers, and a cache server that stops."""

from __future__ import annotations

import pytest
from django.conf import settings

from django_jobtastic import UserFacingError
from tests import jobs, probe
from tests.helpers import free_port
from tests.integration.harness import submit_elsewhere

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def broker_url(port: int) -> str:
    if settings.BACKEND == "rabbitmq":
        return f"amqp://guest:guest@127.0.0.1:{port}//"
    return f"redis://127.0.0.1:{port}/0"


#: The exception class each failure mode is recorded under.
CAUSES = {"refused": "OperationalError", "hung": "PublishTimeoutError"}


def assert_fell_back_in_time(report: dict, mode: str) -> None:
    """The caller stopped waiting for the broker at its refusal, or at the publish deadline.

    What the submitter logged, not a stopwatch: a refused broker ends the wait with its own
    error, before the deadline (else the deadline's error would be the cause); a silent one
    with the deadline's, after JOBTASTIC_PUBLISH_TIMEOUT and no later. Nothing was published.
    """
    [warning] = [text for text in report["warnings"] if "broker unavailable" in text]
    assert f"broker unavailable ({CAUSES[mode]}: " in warning, warning
    timeout = settings.JOBTASTIC_PUBLISH_TIMEOUT
    if mode == "hung":
        assert f"did not answer within {timeout:g} s" in warning, warning
    assert report["published"] == []
    # No hang after the fallback either: a bound no busy machine comes near (the deadline
    # is 2 s), so it fails only when something waits for a socket's or a test's timeout.
    assert all(outcome["seconds"] < timeout + 30 for outcome in report["outcomes"]), report


@pytest.fixture(params=sorted(CAUSES))
def dead_broker(request, silent_port) -> tuple[str, str]:
    """``(failure mode, broker URL)``."""
    port = free_port() if request.param == "refused" else silent_port
    return request.param, broker_url(port)


def test_delay_or_fail_dead_broker_records_a_readable_failure(worker, dead_broker, marker):
    mode, url = dead_broker
    report = submit_elsewhere(
        "tests.jobs.CountingJob", "delay_or_fail", {"marker": marker}, broker_url=url
    )
    [outcome] = report["outcomes"]
    result = jobs.CountingJob.AsyncResult(outcome["id"])

    assert outcome["state"] == "FAILURE"
    assert_fell_back_in_time(report, mode)
    assert result.state == "FAILURE"
    assert str(result.result) == "The job could not be queued. Please try again."
    assert type(result.result).__name__ == CAUSES[mode]
    assert isinstance(result.result, UserFacingError)
    assert probe.runs(marker) == 0


def test_delay_or_eager_dead_broker_runs_here(worker, dead_broker, marker):
    mode, url = dead_broker
    report = submit_elsewhere(
        "tests.jobs.CountingJob", "delay_or_eager", {"marker": marker}, broker_url=url
    )
    [outcome] = report["outcomes"]
    result = jobs.CountingJob.AsyncResult(outcome["id"])

    assert outcome["state"] == "SUCCESS"
    assert_fell_back_in_time(report, mode)
    assert result.state == "SUCCESS"
    assert result.result == {"marker": marker, "steps": 4}
    assert probe.runs(marker) == 1


@pytest.mark.parametrize(
    ("method", "state", "runs"),
    [("delay_or_eager", "SUCCESS", 1), ("delay_or_fail", "FAILURE", 0)],
)
def test_broker_and_result_backend_down_caller_still_gets_the_outcome(
    worker, method, state, runs, marker
):
    """One Redis for both, and it is down: the outcome is known to the calling process only."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    report = submit_elsewhere(
        "tests.jobs.CountingJob", method, {"marker": marker}, broker_url=dead, result_backend=dead
    )
    [outcome] = report["outcomes"]
    assert outcome["state"] == state
    assert probe.runs(marker) == runs


def test_cache_server_stopped_submissions_still_run(worker, volatile_cache, caplog, marker):
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
