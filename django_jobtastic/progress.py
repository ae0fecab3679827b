"""Progress bookkeeping of one run: throttling and the meta written with state PROGRESS.

Pure apart from the clock: the task decides *whether* to write with ``due`` (a few
nanoseconds on the hot path) and only then builds the meta, estimate included.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from time import monotonic
from typing import Any

from django_jobtastic.estimation import RemainingTimeEstimator

PROGRESS = "PROGRESS"


def clamp_percent(completed: float, total: float) -> float:
    """``completed`` of ``total`` as a percentage in 0..100 (an empty job counts as done)."""
    if completed <= 0:
        return 0.0
    if total <= 0:
        return 100.0
    return round(min(100.0, 100.0 * completed / total), 2)


class ProgressTracker:
    """Remembers when a run started and when its next progress write is due."""

    __slots__ = ("_estimator", "interval", "next_write_at", "started_at")

    def __init__(self, interval: float, now: float | None = None) -> None:
        self.interval = interval  # seconds between two writes
        started = monotonic() if now is None else now
        self._estimator = RemainingTimeEstimator(started)
        self.next_write_at = started + interval  # monotonic seconds
        self.started_at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    def initial_meta(self) -> dict[str, Any]:
        """The meta written before the calculation starts: 0 % and no estimate."""
        return {
            "progress_percent": 0,
            "time_remaining": -1,
            "completed": 0,
            "total": None,
            "message": None,
            "started_at": self.started_at,
        }

    def meta(
        self, completed: int, total: int, message: str | None, now: float | None = None
    ) -> dict[str, Any]:
        """Build the PROGRESS meta for this point and schedule the next write."""
        now = monotonic() if now is None else now
        self.next_write_at = now + self.interval
        if completed <= 0:
            remaining = -1.0
        else:
            remaining = self._estimator.observe(now, completed, total)
            remaining = round(remaining, 1) if remaining >= 0 else -1
        return {
            "progress_percent": clamp_percent(completed, total),
            "time_remaining": remaining,
            "completed": completed,
            "total": total,
            "message": None if message is None else str(message),
            "started_at": self.started_at,
        }


class _ActiveRun(threading.local):
    tracker: ProgressTracker | None = None


#: The tracker of the run executing in this thread (a worker thread runs one at a time).
active = _ActiveRun()
