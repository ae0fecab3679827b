from __future__ import annotations

import threading

import pytest

from django_jobtastic.task import progress
from django_jobtastic.task.progress import ProgressTracker, clamp_percent


class Collector:
    """A store that records metas and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.metas: list[dict] = []
        self.condition = threading.Condition()

    def __call__(self, meta: dict) -> None:
        with self.condition:
            self.metas.append(meta)
            self.condition.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self.condition:
            assert self.condition.wait_for(lambda: len(self.metas) >= count, timeout)
            return list(self.metas)


@pytest.mark.parametrize(
    ("completed", "total", "percent"),
    [(0, 10, 0.0), (-5, 10, 0.0), (5, 10, 50.0), (15, 10, 100.0), (1, 3, 33.33), (3, 0, 100.0)],
)
def test_clamp_percent_stays_within_bounds(completed, total, percent):
    assert clamp_percent(completed, total) == percent


def test_tracker_initial_meta_has_no_estimate():
    tracker = ProgressTracker(0.5, Collector(), now=100.0)
    meta = tracker.initial_meta()
    assert meta == {
        "progress_percent": 0,
        "time_remaining": -1,
        "message": None,
        "started_at": tracker.started_at,
        "updated_at": meta["updated_at"],
        "alive_at": meta["updated_at"],
    }
    assert tracker.started_at.endswith("Z")
    assert meta["updated_at"] >= tracker.started_at  # ISO-8601 UTC: ordered as text


def test_tracker_meta_estimates_and_schedules_next_write():
    tracker = ProgressTracker(0.5, Collector(), now=100.0)
    meta = tracker.meta(50, 100, "half", now=105.0)
    assert meta == {
        "progress_percent": 50.0,
        "time_remaining": 5.0,
        "completed": 50,
        "total": 100,
        "message": "half",
        "started_at": tracker.started_at,
        "updated_at": meta["updated_at"],
        "alive_at": meta["updated_at"],
    }
    assert meta["updated_at"].endswith("Z")


def test_tracker_meta_zero_completed_is_no_estimate():
    tracker = ProgressTracker(0.5, Collector(), now=100.0)
    meta = tracker.meta(0, 100, None, now=101.0)
    assert (meta["progress_percent"], meta["time_remaining"]) == (0.0, -1)


def test_tracker_report_within_the_interval_is_held():
    store = Collector()
    tracker = ProgressTracker(60, store)
    tracker.write_initial()
    tracker.report(3, 10, 1, "three")
    tracker.close()
    assert len(store.metas) == 1


def test_tracker_report_held_by_the_interval_is_flushed_when_due():
    store = Collector()
    tracker = ProgressTracker(0.2, store)
    tracker.write_initial()
    tracker.report(3, 10, 1, "three")  # held, then written by the flush timer
    metas = store.wait_for(2)
    assert (metas[1]["completed"], metas[1]["message"]) == (3, "three")


def test_tracker_report_skips_all_but_every_nth_call():
    store = Collector()
    tracker = ProgressTracker(0, store)
    for completed in range(1, 5):
        tracker.report(completed, 100, 4, None)
    tracker.close()  # a call kept as pending would be flushed by now: none is
    assert [meta["completed"] for meta in store.metas] == [4]


def test_tracker_report_writes_the_first_call_reaching_total_at_once():
    store = Collector()
    tracker = ProgressTracker(60, store)
    tracker.report(10, 10, 7, "done")  # not a multiple of 7, within the interval: written
    tracker.report(10, 10, 1, "done again")  # the same total again: held by the interval
    assert [(meta["completed"], meta["message"]) for meta in store.metas] == [(10, "done")]
    tracker.close()


def test_tracker_a_newer_write_supersedes_the_pending_point():
    store = Collector()
    tracker = ProgressTracker(0.05, store)
    tracker.report(1, 10, 1, None)  # held: the first interval has not passed
    tracker.write(2, 10, None)  # the job writes before the timer fires
    tracker.report(3, 10, 1, None)
    metas = store.wait_for(2)
    assert [meta["completed"] for meta in metas] == [2, 3]


def test_tracker_close_cancels_the_pending_flush():
    store = Collector()
    tracker = ProgressTracker(60, store)
    tracker.report(1, 10, 1, None)  # held, with the alarm armed for the interval's end
    alarm = tracker._flush_timer
    assert alarm is not None
    tracker.close()
    assert alarm.finished.is_set()  # cancelled
    tracker._alarm()  # an alarm ringing after all, as a late timer thread would
    assert store.metas == []


def test_tracker_a_busy_job_writes_its_due_points_itself(monkeypatch):
    """The alarm only marks a write due: a job that keeps reporting writes in its own
    thread (its own database connection), not from a new thread per write."""
    monkeypatch.setattr(progress, "QUIET_JOB_GRACE", 60)  # the alarm never writes here
    writers: list[threading.Thread] = []
    store = Collector()

    def record(meta: dict) -> None:
        writers.append(threading.current_thread())
        store(meta)

    tracker = ProgressTracker(0.02, record)
    completed = 0
    while len(store.metas) < 3:
        completed += 1
        tracker.report(completed, 10**9)
    tracker.close()
    assert writers == [threading.current_thread()] * 3
    assert store.metas[-1]["completed"] <= completed


def test_tracker_an_alarm_armed_before_a_write_keeps_that_writes_interval():
    """A write made while the alarm was armed (a "done" call) moves the due time: the alarm
    then rings for the new interval, and calls until then stay held."""
    store = Collector()
    tracker = ProgressTracker(60, store)
    tracker.report(1, 10)  # held: arms the alarm for the interval's end
    tracker.report(10, 10, message="done")  # written at once; the next write is 60 s away
    tracker._alarm()  # the alarm armed before that write rings
    tracker.report(11, 20)
    tracker.close()
    assert [meta["completed"] for meta in store.metas] == [10]
