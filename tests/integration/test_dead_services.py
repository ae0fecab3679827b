"""A broker that refuses or never answers, and a cache server that stops."""

from __future__ import annotations

import pytest
from celery import states
from celery.backends.redis import RedisBackend
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from django_jobtastic import UserFacingError
from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import free_port
from tests.integration.harness import read_elsewhere, start_redis, stop, submit_elsewhere
from tests.statuses import new_id, status_url_for, store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def broker_url(port: int) -> str:
    if settings.BACKEND == "rabbitmq":
        return f"amqp://guest:guest@127.0.0.1:{port}//"
    return f"redis://127.0.0.1:{port}/0"


NOT_QUEUED = "The job could not be queued. Please try again."
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
    assert str(result.result) == NOT_QUEUED
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
def test_broker_and_result_backend_down_the_status_url_answers_once_back(
    worker, method, state, runs, marker
):
    """One Redis for both, and it is down: the outcome is known to the submitting process
    only. Its grant keeps it, so the status URL answers it once Redis is back (503 until
    then), and stores it there for every other reader."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    report = submit_elsewhere(
        "tests.jobs.CountingJob",
        method,
        {"marker": marker},
        broker_url=url,
        result_backend=url,
        grant=True,
    )
    [outcome] = report["outcomes"]
    assert outcome["state"] == state
    assert probe.runs(marker) == runs
    path, session = outcome["status_url"], outcome["session"]
    assert read_elsewhere(path, session, JOBTASTIC_TEST_RESULT_BACKEND=url)["status"] == 503

    server = start_redis(port)  # back, and empty: it never heard of the job
    try:
        answer = read_elsewhere(path, session, JOBTASTIC_TEST_RESULT_BACKEND=url)
        stored = RedisBackend(app=app, url=url).get_task_meta(outcome["id"])
    finally:
        stop(server)
    task = answer["body"]["task"]
    assert (answer["status"], task["status"], stored["status"]) == (200, state, state)
    if state == "SUCCESS":
        assert task["result"] == stored["result"] == {"marker": marker, "steps": 4}
    else:
        assert task["error"] == {"type": "OperationalError", "message": NOT_QUEUED}
        assert type(stored["result"]).__name__ == "OperationalError"


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


@pytest.fixture
def cache_sessions(settings, volatile_cache, request):
    """Sessions kept in the 'volatile' cache (a Redis of the test's own, which it may stop)."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    settings.SESSION_CACHE_ALIAS = "volatile"
    return volatile_cache


def signed_in_client(name: str) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(name))
    return client


@pytest.mark.parametrize("cache_sessions", ["cache", "cached_db"], indirect=True)
def test_session_cache_down_is_a_503_and_the_cookie_is_kept(cache_sessions, marker):
    """Django's cache sessions read a store that is down as no session at all (an anonymous
    request, so a 404 the widget gives up on, and a deleted cookie): it is a 503."""
    ada = signed_in_client(f"ada-{marker}")
    task_id = new_id()
    store(task_id, "done", states.SUCCESS)
    url = status_url_for(ada, task_id)
    assert ada.get(url).status_code == 200

    stop(cache_sessions)
    response = ada.get(url)

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # not deleted, nor replaced


@pytest.mark.parametrize("cache_sessions", ["cache"], indirect=True)
def test_session_cache_up_foreign_and_expired_tokens_stay_404(cache_sessions, marker):
    ada, bob = signed_in_client(f"ada-{marker}"), signed_in_client(f"bob-{marker}")
    task_id = new_id()
    store(task_id, "done", states.SUCCESS)
    url = status_url_for(ada, task_id)
    assert bob.get(url).status_code == 404  # foreign: the store answers, the session is bob's

    stop(cache_sessions)
    restarted = start_redis(settings.VOLATILE_CACHE_PORT)  # empty: every session is gone
    try:
        assert ada.get(url).status_code == 404  # expired, as far as anyone can tell
    finally:
        stop(restarted)
