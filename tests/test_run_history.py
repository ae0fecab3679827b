"""A job class's history through real runs (eager, the real cache), and what readers make of it.

The suite turns history off by default (``tests/settings.py``); the jobs here turn it on.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.cache import caches

from django_jobtastic.conf import conf
from django_jobtastic.task import keys, run_history
from django_jobtastic.task.history import MAX_RUNS, SHAPE_POINTS, Expectation, Run
from django_jobtastic.task.progress import ProgressTracker
from django_jobtastic.task.registration import registered_instance
from django_jobtastic.web.payloads import task_payload
from tests import jobs, probe
from tests.celery_app import app

pytestmark = pytest.mark.django_db(transaction=True)

EVEN = tuple(i / (SHAPE_POINTS - 1) for i in range(SHAPE_POINTS))
NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def fresh_history() -> None:
    """The history jobs start with no runs kept (other tests run them too)."""
    for job in (jobs.HistoryJob, jobs.QuietHistoryJob, jobs.CountingJob):
        caches[conf.CACHE].delete(keys.history_key(job.name))


def runs_of(job: type) -> list[Run]:
    return run_history.runs_of(conf.CACHE, job.name)


def run_stepped(marker: str, steps: int = 4) -> Any:
    for name in ["start", *(str(step) for step in range(1, steps + 1))]:
        probe.release(f"{marker}:{name}")
    return jobs.HistoryJob.delay(marker=marker, steps=steps)


# -- keeping the history -------------------------------------------------------------------


def test_history_is_on_by_default(settings):
    # Set first: its restore at the end tells conf to forget (a deletion alone would not).
    settings.JOBTASTIC_ESTIMATE_FROM_HISTORY = False
    del settings.JOBTASTIC_ESTIMATE_FROM_HISTORY
    assert conf.ESTIMATE_FROM_HISTORY is True
    assert registered_instance(jobs.DivisionJob).uses_history is True


def test_the_class_attribute_wins_over_the_setting(settings):
    settings.JOBTASTIC_ESTIMATE_FROM_HISTORY = True

    class NoHistoryJob(jobs.CountingJob):
        estimate_from_history = False

    assert registered_instance(NoHistoryJob).uses_history is False
    assert registered_instance(jobs.CountingJob).uses_history is True


def test_a_wrong_class_attribute_is_named():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="BadHistoryJob.estimate_from_history"):

        class BadHistoryJob(jobs.CountingJob):
            estimate_from_history = "yes"  # type: ignore[assignment]


def test_a_successful_run_is_kept_with_its_items_and_shape(eager, fresh_history):
    run_stepped(uuid.uuid4().hex).get()
    [run] = runs_of(jobs.HistoryJob)
    assert run.wait is None  # run here, never queued
    assert run.total == 4
    assert run.run > 0
    assert len(run.shape) == SHAPE_POINTS
    assert run.shape[0] == 0.0


def test_a_run_without_progress_is_kept_without_items(eager, fresh_history):
    marker = uuid.uuid4().hex
    probe.release(marker)
    jobs.QuietHistoryJob.delay(marker=marker).get()
    [run] = runs_of(jobs.QuietHistoryJob)
    assert (run.total, run.shape) == (None, ())


def test_a_failed_run_is_not_kept(eager, fresh_history, marker):
    class FailingHistoryJob(jobs.FailingJob):
        estimate_from_history = True

    caches[conf.CACHE].delete(keys.history_key(FailingHistoryJob.name))
    FailingHistoryJob.delay(marker=marker)
    assert run_history.runs_of(conf.CACHE, FailingHistoryJob.name) == []


def test_a_class_without_history_keeps_none(eager, fresh_history, marker):
    jobs.CountingJob.delay(marker=marker, steps=2).get()
    assert runs_of(jobs.CountingJob) == []


def test_the_history_is_bounded(fresh_history):
    for seconds in range(MAX_RUNS + 3):
        run_history.remember(conf.CACHE, jobs.HistoryJob.name, Run(1.0, seconds + 1.0, 10, EVEN))
    runs = runs_of(jobs.HistoryJob)
    assert len(runs) == MAX_RUNS
    assert runs[0].run == 4.0


def test_the_third_run_starts_with_an_estimate(eager, fresh_history):
    for _ in range(2):
        run_stepped(uuid.uuid4().hex).get()
    expected = run_history.expectation(conf.CACHE, jobs.HistoryJob.name)
    assert expected is not None
    marker = uuid.uuid4().hex
    seen: dict[str, Any] = {}
    original = jobs.HistoryJob.update_progress

    def first_step(self: Any, completed: int, total: int, *args: Any, **kwargs: Any) -> None:
        if not seen:  # what the run wrote before this call: its initial write, at 0 %
            seen.update(app.backend.get_task_meta(self.request.id)["result"])
        original(self, completed, total, *args, **kwargs)

    jobs.HistoryJob.update_progress = first_step  # type: ignore[method-assign]
    try:
        run_stepped(marker).get()
    finally:
        jobs.HistoryJob.update_progress = original  # type: ignore[method-assign]
    assert seen["progress_percent"] == 0
    assert seen["from_history"] is True
    assert 0 <= seen["time_remaining"] <= round(expected.run, 1)
    assert "expected_duration" not in seen  # it reports progress: no bar moved by time


def test_a_cache_that_is_down_costs_the_history_never_the_job(eager, marker, caplog):
    class DownCacheHistoryJob(jobs.CountingJob):
        cache_alias = "unreachable"
        herd_avoidance_timeout = 0
        estimate_from_history = True

    with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
        result = DownCacheHistoryJob.delay(marker=marker, steps=2)
    assert result.get() == {"marker": marker, "steps": 2}
    assert "no run history for" in caplog.text
    assert "not added to its history" in caplog.text


def test_garbage_in_the_cache_is_no_history(eager, fresh_history):
    caches[conf.CACHE].set(keys.history_key(jobs.HistoryJob.name), {"not": "runs"})
    assert run_history.expectation(conf.CACHE, jobs.HistoryJob.name) is None
    run_stepped(uuid.uuid4().hex).get()
    assert len(runs_of(jobs.HistoryJob)) == 1


# -- queued: what the PENDING record holds -----------------------------------------------


def test_a_queued_job_with_history_notes_what_it_expects(fresh_history, marker):
    for wait in (4.0, 6.0, 5.0):
        run_history.remember(conf.CACHE, jobs.HistoryJob.name, Run(wait, 20.0, 4, EVEN))
    result = jobs.HistoryJob.apply_async(
        kwargs={"marker": marker}, queue=f"jobtastic-idle-{uuid.uuid4().hex}"
    )
    meta = app.backend.get_task_meta(result.id)["result"]
    assert {k: meta[k] for k in ("expected_wait", "expected_run")} == {
        "expected_wait": 5.0,
        "expected_run": 20.0,
    }


def test_a_queued_job_without_history_notes_only_when(fresh_history, marker):
    result = jobs.HistoryJob.apply_async(
        kwargs={"marker": marker}, queue=f"jobtastic-idle-{uuid.uuid4().hex}"
    )
    assert list(app.backend.get_task_meta(result.id)["result"]) == ["queued_at"]


def noted_wait(task_id: str, **request: Any) -> Any:
    """The queue wait the worker notes before running ``task_id`` with this request."""
    from django_jobtastic.task.base import QUEUE_WAIT_FLAG, _note_lost_verdict

    job = registered_instance(jobs.HistoryJob)
    job.push_request(id=task_id, **request)
    try:
        _note_lost_verdict(sender=job, task_id=task_id)
        return getattr(job.request, QUEUE_WAIT_FLAG)
    finally:
        job.pop_request()


def test_the_queue_wait_is_counted_from_the_pending_record(task_id):
    queued = datetime.now(timezone.utc) - timedelta(seconds=30)
    app.backend.store_result(task_id, {"queued_at": iso(queued)}, "PENDING")
    assert 30 <= noted_wait(task_id) < 300


def test_a_countdown_is_no_queue_wait(task_id):
    queued = datetime.now(timezone.utc) - timedelta(seconds=30)
    app.backend.store_result(task_id, {"queued_at": iso(queued)}, "PENDING")
    assert noted_wait(task_id, eta=iso(queued + timedelta(seconds=25))) is None


def test_a_job_not_queued_by_jobtastic_has_no_queue_wait(task_id):
    assert noted_wait(task_id) is None


# -- the tracker ---------------------------------------------------------------------------


def test_the_initial_write_carries_the_expected_run():
    history = Expectation(3.0, 42.0, None, EVEN, timed=False)
    tracker = ProgressTracker(0.5, lambda meta: True, now=100.0, history=history)
    meta = tracker.initial_meta(now=102.0)
    assert (meta["time_remaining"], meta["from_history"]) == (40.0, True)
    assert "expected_duration" not in meta


def test_a_class_without_progress_gets_a_bar_moved_by_time():
    history = Expectation(None, 42.0, None, None, timed=True)
    tracker = ProgressTracker(0.5, lambda meta: True, now=100.0, history=history)
    assert tracker.initial_meta(now=100.0)["expected_duration"] == 42.0


def test_a_live_estimate_without_a_shape_to_lean_on_is_not_from_history():
    history = Expectation(None, 42.0, None, None, timed=True)  # runs that reported nothing
    tracker = ProgressTracker(0, lambda meta: True, now=0.0, history=history)
    assert tracker.meta(0, 10, None, now=1.0)["from_history"] is True
    assert "from_history" not in tracker.meta(1, 10, None, now=2.0)


def test_a_live_estimate_leaning_on_a_shape_is_from_history():
    history = Expectation(None, 10.0, 0.1, EVEN, timed=False)
    tracker = ProgressTracker(0, lambda meta: True, now=0.0, history=history)
    meta = tracker.meta(10, 100, None, now=1.0)
    assert (meta["from_history"], meta["time_remaining"]) == (True, 9.0)


def test_a_run_records_its_shape_from_its_writes():
    tracker = ProgressTracker(0, lambda meta: True, now=0.0)
    for second in range(1, 10):
        tracker.meta(second * 10, 100, None, now=float(second))
    run = tracker.finished_run(now=10.0)
    assert (run.run, run.total, run.shape) == (10.0, 100, EVEN)


# -- the status payloads ---------------------------------------------------------------------


def payload(state: str, info: Any, at: datetime) -> dict[str, Any]:
    return task_payload("t-1", state, info, None, debug=False, now=at.timestamp())


def test_pending_with_history_has_an_estimate_from_the_first_answer():
    info = {"queued_at": iso(NOW), "expected_wait": 30.0, "expected_run": 90.0}
    answer = payload("PENDING", info, NOW + timedelta(seconds=10))
    assert answer["starts_in"] == 20.0
    assert answer["progress"] == {
        "percent": 0,
        "time_remaining": 110.0,
        "completed": None,
        "total": None,
        "message": None,
        "started_at": None,
        "updated_at": None,
        "overdue": False,
    }


def test_pending_past_its_estimate_is_overdue():
    info = {"queued_at": iso(NOW), "expected_wait": 30.0, "expected_run": 90.0}
    answer = payload("PENDING", info, NOW + timedelta(seconds=200))
    assert answer["starts_in"] == 0
    assert (answer["progress"]["time_remaining"], answer["progress"]["overdue"]) == (0, True)


def test_pending_without_a_known_wait_expects_the_run():
    info = {"queued_at": iso(NOW), "expected_wait": None, "expected_run": 90.0}
    answer = payload("PENDING", info, NOW)
    assert (answer["starts_in"], answer["progress"]["time_remaining"]) == (0, 90.0)


@pytest.mark.parametrize(
    "info",
    [
        {"queued_at": "2026-11-30T12:00:00Z"},
        {"queued_at": "2026-11-30T12:00:00Z", "expected_run": "soon"},
        {"queued_at": "2026-11-30T12:00:00Z", "expected_run": -1},
        {"queued_at": "2026-11-30T12:00:00Z", "expected_run": 5, "expected_wait": float("nan")},
        {"queued_at": "yesterday", "expected_run": 5},
        {"expected_run": 5},
    ],
)
def test_pending_without_a_readable_history_estimate_has_no_progress(info):
    answer = payload("PENDING", info, NOW)
    assert answer["progress"] is None
    assert "starts_in" not in answer


def timed_meta(expected: float) -> dict[str, Any]:
    return {
        "progress_percent": 0,
        "time_remaining": expected,
        "message": None,
        "started_at": iso(NOW),
        "updated_at": iso(NOW),
        "alive_at": iso(NOW),
        "from_history": True,
        "expected_duration": expected,
    }


def test_a_job_without_progress_calls_has_a_bar_moving_with_time():
    answer = payload("PROGRESS", timed_meta(100.0), NOW + timedelta(seconds=25))
    assert answer["progress"]["percent"] == 25.0
    assert answer["progress"]["time_remaining"] == 75.0
    assert (answer["progress"]["overdue"], answer["progress"]["from_history"]) == (False, True)


def test_a_job_without_progress_calls_past_its_expected_duration_is_overdue_short_of_100():
    answer = payload("PROGRESS", timed_meta(100.0), NOW + timedelta(seconds=250))
    assert answer["progress"]["percent"] == 99
    assert (answer["progress"]["time_remaining"], answer["progress"]["overdue"]) == (0, True)


def test_a_job_that_reports_progress_is_not_moved_by_time():
    meta = {**timed_meta(100.0), "completed": 1, "total": 10, "progress_percent": 10.0}
    answer = payload("PROGRESS", meta, NOW + timedelta(seconds=50))
    assert answer["progress"]["percent"] == 10.0
