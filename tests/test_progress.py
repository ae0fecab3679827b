from __future__ import annotations

import threading
import time

import pytest

from django_jobtastic.progress import ProgressTracker, clamp_percent


@pytest.mark.parametrize(
    ("completed", "total", "percent"),
    [(0, 10, 0.0), (-5, 10, 0.0), (5, 10, 50.0), (15, 10, 100.0), (1, 3, 33.33), (3, 0, 100.0)],
)
def test_clamp_percent_stays_within_bounds(completed, total, percent):
    assert clamp_percent(completed, total) == percent


def test_tracker_initial_meta_has_no_estimate():
    tracker = ProgressTracker(0.5, now=100.0)
    meta = tracker.initial_meta()
    assert meta == {
        "progress_percent": 0,
        "time_remaining": -1,
        "message": None,
        "started_at": tracker.started_at,
    }
    assert tracker.started_at.endswith("Z")


def test_tracker_meta_estimates_and_schedules_next_write():
    tracker = ProgressTracker(0.5, now=100.0)
    meta = tracker.meta(50, 100, "half", now=105.0)
    assert meta == {
        "progress_percent": 50.0,
        "time_remaining": 5.0,
        "completed": 50,
        "total": 100,
        "message": "half",
        "started_at": tracker.started_at,
    }
    assert tracker.next_write_at == 105.5


def test_tracker_meta_zero_completed_is_no_estimate():
    tracker = ProgressTracker(0.5, now=100.0)
    meta = tracker.meta(0, 100, None, now=101.0)
    assert (meta["progress_percent"], meta["time_remaining"]) == (0.0, -1)


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


def test_tracker_pending_point_flushed_when_due():
    store = Collector()
    tracker = ProgressTracker(0.05, store)
    tracker.write_initial()
    tracker.pending = (3, 10, "three")
    tracker.schedule_flush()
    metas = store.wait_for(2)
    assert (metas[1]["completed"], metas[1]["message"]) == (3, "three")


def test_tracker_flush_after_a_newer_write_waits_for_its_interval():
    store = Collector()
    tracker = ProgressTracker(0.05, store)
    tracker.pending = (1, 10, None)
    tracker.schedule_flush()
    tracker.write(2, 10, None)  # the job writes before the timer fires
    tracker.pending = (3, 10, None)
    metas = store.wait_for(2)
    assert [meta["completed"] for meta in metas] == [2, 3]


def test_tracker_close_cancels_the_pending_flush():
    store = Collector()
    tracker = ProgressTracker(0.05, store)
    tracker.pending = (1, 10, None)
    tracker.schedule_flush()
    tracker.close()
    time.sleep(0.15)  # three intervals: a flush left scheduled would have run
    assert store.metas == []
    assert tracker.flush_timer is None
