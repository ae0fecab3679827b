"""What happens after a run: cached successes, uncached failures, revokes, retries, leaks."""

from __future__ import annotations

import os
import signal

import pytest
from billiard.exceptions import WorkerLostError
from celery.exceptions import TaskRevokedError

from django_jobtastic import UserFacingError
from tests import jobs, probe
from tests.helpers import wait_until
from tests.integration.harness import entries_of, herd_entry, wait_until_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_cache_hit_publishes_nothing(worker, publishes, marker):
    first = jobs.CachedJob.delay(marker=marker)
    first.get(timeout=30)

    again = jobs.CachedJob.delay_or_fail(marker=marker)

    assert again.id == first.id
    assert again.state == "SUCCESS"
    assert publishes == [first.id]
    assert probe.runs(marker) == 1


def test_cache_invalidate_runs_again(worker, marker):
    first = jobs.CachedJob.delay(marker=marker)
    first.get(timeout=30)
    wait_until(lambda: herd_entry(jobs.CachedJob, marker=marker) is None, what="entry cleared")

    jobs.CachedJob.invalidate(marker=marker)
    second = jobs.CachedJob.delay(marker=marker)

    assert second.id != first.id
    assert second.get(timeout=30)["marker"] == marker
    assert probe.runs(marker) == 2


def test_cache_forgotten_result_is_a_miss(worker, marker):
    first = jobs.CachedJob.delay(marker=marker)
    first.get(timeout=30)
    wait_until(lambda: herd_entry(jobs.CachedJob, marker=marker) is None, what="entry cleared")
    first.forget()

    second = jobs.CachedJob.delay(marker=marker)

    assert second.id != first.id
    second.get(timeout=30)
    assert probe.runs(marker) == 2


def test_failure_is_not_cached_and_clears_the_herd_entry(worker, marker):
    first = jobs.FailingJob.delay(marker=marker)
    with pytest.raises(UserFacingError, match=f"cannot do {marker}"):
        first.get(timeout=30)

    # The entry is released after FAILURE is stored, so wait for it rather than race it.
    wait_until(lambda: herd_entry(jobs.FailingJob, marker=marker) is None, what="entry cleared")
    second = jobs.FailingJob.delay(marker=marker)
    with pytest.raises(UserFacingError):
        second.get(timeout=30)
    assert second.id != first.id
    assert probe.runs(marker) == 2


def test_revoke_clears_the_herd_entry(worker, marker):
    first = jobs.CountingJob.delay(marker=marker, hold=True)
    wait_until_held(first)

    first.revoke(terminate=True)
    with pytest.raises(TaskRevokedError):
        first.get(timeout=30)
    wait_until(lambda: herd_entry(jobs.CountingJob, marker=marker) is None, what="entry cleared")
    probe.release(marker)
    second = jobs.CountingJob.delay(marker=marker)

    assert second.id != first.id
    assert second.get(timeout=30)["marker"] == marker


def test_revoked_entry_is_a_miss_even_if_not_cleared(worker, marker):
    first = jobs.CountingJob.delay(marker=marker, hold=True)
    wait_until_held(first)
    entries = entries_of(jobs.CountingJob, marker=marker)
    first.revoke(terminate=True)
    with pytest.raises(TaskRevokedError):
        first.get(timeout=30)
    # The worker's revoke hook clears the entry after REVOKED is stored: once it did, put
    # the entry back, as if the hook never ran (set earlier, the hook could still clear it).
    wait_until(lambda: herd_entry(jobs.CountingJob, marker=marker) is None, what="entry cleared")
    entries.cache.set(entries.herd_key, first.id, 60)

    probe.release(marker)
    second = jobs.CountingJob.delay(marker=marker)

    assert second.id != first.id
    assert second.get(timeout=30)["marker"] == marker


def test_retry_inside_a_calculation_ends_in_success(worker, marker):
    result = jobs.RetryingJob.delay(marker=marker)

    assert result.get(timeout=30) == "done after 1 retries"
    assert probe.runs(marker) == 2


def test_memleak_hook_fires_for_a_job_keeping_60_mb(worker, marker):
    result = jobs.LeakyJob.delay(marker=marker)

    assert result.get(timeout=30) == "leaked"
    growths = probe.notes(marker)
    assert len(growths) == 1
    assert int(growths[0]) >= 50_000_000
    log = worker.log.read_text()
    assert f"Jobtastic:memleak memleak_detected task=tests.jobs.LeakyJob id={result.id}" in log


def test_worker_process_lost_releases_the_herd_entry(worker, marker):
    first = jobs.CountingJob.delay(marker=marker, hold=True)
    wait_until_held(first)
    [pid] = [int(note[4:]) for note in probe.notes(marker) if note.startswith("pid:")]

    os.kill(pid, signal.SIGKILL)  # the pool child dies: Celery never calls on_failure

    with pytest.raises(WorkerLostError):
        first.get(timeout=30)
    wait_until(lambda: herd_entry(jobs.CountingJob, marker=marker) is None, what="entry cleared")
