"""Identical calls latch onto one job: one message, one execution, one id."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from tests import jobs, probe
from tests.helpers import wait_until
from tests.integration.harness import collect, herd_entry, run_submitter, wait_until_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SUBMISSIONS = 20


def test_herd_concurrent_threads_share_one_execution(worker, publishes, marker):
    barrier = threading.Barrier(SUBMISSIONS)
    ids: list[str] = []

    def submit() -> None:
        barrier.wait()
        ids.append(jobs.CountingJob.delay(marker=marker, hold=True).id)
        connections.close_all()  # this thread's (database cache) connection

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    probe.release(marker)
    result = jobs.CountingJob.AsyncResult(ids[0])

    assert result.get(timeout=30) == {"marker": marker, "steps": 4}
    assert len(ids) == SUBMISSIONS
    assert set(ids) == {ids[0]}
    assert publishes == [ids[0]]
    assert probe.runs(marker) == 1


def test_herd_concurrent_processes_share_one_execution(worker, marker, go_key):
    kwargs = {"marker": marker, "hold": True}
    processes = [
        run_submitter("tests.jobs.CountingJob", "delay", kwargs, threads=5, go=go_key)
        for _ in range(4)
    ]
    wait_until(lambda: int(probe.client().get(f"{go_key}:ready") or 0) == 4, what="submitters")
    probe.client().rpush(f"{go_key}:go", *["go"] * 4)
    reports = [collect(process) for process in processes]
    probe.release(marker)
    outcomes = [outcome for report in reports for outcome in report["outcomes"]]
    ids = {outcome["id"] for outcome in outcomes}

    assert len(outcomes) == SUBMISSIONS
    assert len(ids) == 1
    assert [published for report in reports for published in report["published"]] == list(ids)
    assert jobs.CountingJob.AsyncResult(ids.pop()).get(timeout=30)["marker"] == marker
    assert probe.runs(marker) == 1


def test_herd_positional_and_keyword_calls_are_identical(worker, publishes, marker):
    # Held until both calls are in: a job that already finished (no result caching) would
    # rightly be run again by the second call.
    first = jobs.decorated_job.delay(marker, 2, True)
    try:
        second = jobs.decorated_job.apply_async(kwargs={"marker": marker})
    finally:
        probe.release(marker)

    assert second.id == first.id
    assert first.get(timeout=30) == len(marker) * 2
    assert publishes == [first.id]
    assert probe.runs(marker) == 1


def test_herd_entry_cleared_after_success(worker, marker):
    first = jobs.CountingJob.delay(marker=marker)
    first.get(timeout=30)

    wait_until(lambda: herd_entry(jobs.CountingJob, marker=marker) is None, what="entry cleared")
    second = jobs.CountingJob.delay(marker=marker)
    second.get(timeout=30)

    assert second.id != first.id
    assert probe.runs(marker) == 2


def test_herd_killed_worker_frees_the_job_after_the_timeout(
    worker, start_worker, private_queue, marker
):
    call = {"kwargs": {"marker": marker, "hold": True}, "queue": private_queue}
    doomed = start_worker("doomed", private_queue)
    first = jobs.ShortHerdJob.apply_async(**call)
    # At once: the herd entry lives ShortHerdJob.herd_avoidance_timeout (3 s) from the first
    # call, however long the worker then takes to start the job.
    latched = jobs.ShortHerdJob.apply_async(**call)
    wait_until_held(first)
    doomed.kill()

    # Nothing will ever tell that the job died (no FAILURE, no REVOKED): only the entry's
    # expiry frees the next identical call.
    assert first.state == "PROGRESS"
    wait_until(
        lambda: herd_entry(jobs.ShortHerdJob, marker=marker) is None,
        what="the herd entry to expire",
    )
    assert first.state == "PROGRESS"
    fresh = jobs.ShortHerdJob.apply_async(**call)
    probe.release(marker)
    start_worker("rescuer", private_queue)

    assert latched.id == first.id
    assert fresh.id != first.id
    assert fresh.get(timeout=30) == {"marker": marker, "steps": 4}
    # The broker may also redeliver the killed worker's message if its acknowledgement was
    # not through yet (at-least-once delivery): RabbitMQ often does.
    assert probe.runs(marker) in {2, 3}
