from __future__ import annotations

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
