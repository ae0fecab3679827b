"""What earlier runs of a job class say about the next one: pure, no Django or Celery.

Each successful run leaves a ``Run``: how long it waited in the queue, how long it ran, how
many items it reported, and its *shape* (the share of its run time at which it reached each
twentieth of its progress). A class keeps the last ``MAX_RUNS``; ``expect`` sums them up.

Outliers: every figure is a median over the kept runs (the lower median for an even count),
and the shape a median point by point, so one run 100x slower (or faster) than the others
moves nothing once two ordinary runs are kept; a job that really became slower takes over
once its slow runs are half of the history. Durations that grow with the work are compared
per item: a run of 10,000 items expects ten times the time of the usual run of 1,000.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median_low
from typing import Any

#: Runs kept per job class (the cache entry stays a few KB).
MAX_RUNS = 20
#: Points of a run's shape: progress 0 %, 5 %, ... 100 %.
SHAPE_POINTS = 21
#: Digits kept of the shares of run time a shape holds (0.001: 0.1 % of the run).
SHAPE_DIGITS = 3


@dataclass(frozen=True)
class Run:
    """One successful run, as its history keeps it."""

    wait: float | None  # seconds queued; None when unknown (run in the caller, not queued)
    run: float  # seconds from its start to the end of its calculation
    total: int | None  # items of its last progress write; None: it reported no progress
    shape: tuple[float, ...] = ()  # share of ``run`` at each progress point; () if none

    def encode(self) -> list[Any]:
        """A plain list (any cache serializer takes it)."""
        return [self.wait, self.run, self.total, list(self.shape)]


def decode(value: Any) -> list[Run]:
    """The runs a cache entry holds; whatever does not read as a run is left out."""
    runs = []
    for item in value if isinstance(value, list) else ():
        if not (isinstance(item, list) and len(item) == 4):
            continue
        wait, run, total, shape = item
        if not _seconds(run) or (wait is not None and not _seconds(wait)):
            continue
        if total is not None and (type(total) is not int or total <= 0):
            continue
        if not (isinstance(shape, list) and len(shape) in (0, SHAPE_POINTS)):
            continue
        if not all(_seconds(share) and share <= 1.0 for share in shape):
            continue
        runs.append(Run(wait, float(run), total, tuple(float(s) for s in shape)))
    return runs[-MAX_RUNS:]


def _seconds(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def add(runs: Sequence[Run], run: Run) -> list[Run]:
    """``runs`` with ``run`` added, the oldest dropped beyond ``MAX_RUNS``."""
    return [*runs, run][-MAX_RUNS:]


def shape_of(samples: Sequence[tuple[float, float]], run: float) -> tuple[float, ...]:
    """The shape of a run from its ``(seconds since start, share done)`` progress samples.

    Point i is the share of ``run`` at which the run first reached ``i / 20`` of its work,
    interpolated between samples; after the last sample, the rest of the work is taken to
    have gone evenly until the run's end. Empty when the run reported no progress.
    """
    if run <= 0 or not samples:
        return ()
    times, done = [0.0], [0.0]
    for t, share in samples:
        if t > times[-1] and share > done[-1]:
            times.append(min(t, run))
            done.append(min(share, 1.0))
    if done[-1] < 1.0:
        times.append(run)
        done.append(1.0)
    shape = []
    for i in range(SHAPE_POINTS):
        target = i / (SHAPE_POINTS - 1)
        j = max(1, bisect_left(done, target))
        share = (target - done[j - 1]) / (done[j] - done[j - 1])
        t = times[j - 1] + share * (times[j] - times[j - 1])
        shape.append(round(min(1.0, t / run), SHAPE_DIGITS))
    return tuple(shape)


@dataclass(frozen=True)
class Expectation:
    """What a class's history expects of its next run."""

    wait: float | None  # seconds in the queue; None when no run knew its wait
    run: float  # seconds, the median run
    per_item: float | None  # seconds per item, the median over runs that reported items
    shape: tuple[float, ...] | None  # median shape; None when no run reported progress
    timed: bool  # most runs reported no progress: show a bar that moves with time

    def run_for(self, total: int | None) -> float:
        """Seconds a run of ``total`` items is expected to take (the median run if unknown)."""
        if total and total > 0 and self.per_item is not None:
            return self.per_item * total
        return self.run

    def time_share(self, done: float) -> float:
        """The share of the run expected to have passed when ``done`` of its work is done."""
        shape = self.shape
        if shape is None:
            return min(1.0, max(0.0, done))
        position = min(1.0, max(0.0, done)) * (SHAPE_POINTS - 1)
        i = min(int(position), SHAPE_POINTS - 2)
        return shape[i] + (position - i) * (shape[i + 1] - shape[i])


def expect(runs: Sequence[Run]) -> Expectation | None:
    """What ``runs`` say of the next run; None without any run."""
    if not runs:
        return None
    waits = [r.wait for r in runs if r.wait is not None]
    counted = [r for r in runs if r.total]
    shapes = [r.shape for r in runs if len(r.shape) == SHAPE_POINTS]
    shape = None
    if shapes:
        # Median point by point, made non-decreasing (medians of different runs may cross).
        points = [median_low(s[i] for s in shapes) for i in range(SHAPE_POINTS)]
        shape = tuple(max(points[: i + 1]) for i in range(SHAPE_POINTS))
    return Expectation(
        wait=median_low(waits) if waits else None,
        run=median_low(r.run for r in runs),
        per_item=median_low(r.run / r.total for r in counted if r.total) if counted else None,
        shape=shape,
        timed=2 * len(counted) < len(runs),
    )
