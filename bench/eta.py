"""Benchmark RemainingTimeEstimator against jobtastic's linear estimate on simulated workloads.

Run: ``.venv/bin/python bench/eta.py``. Prints, per workload, the MAPE of the remaining-time
estimate (5-95 % progress) for ours and for linear, their ratio and whether the target is met,
then the mean cost of one ``observe()`` call in microseconds.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_jobtastic.task.estimation import RemainingTimeEstimator

FEED_INTERVAL = 0.5  # seconds of simulated time between progress writes (the real throttle)
JITTER = 0.20  # per-item cost jitter, +/- fraction (uniform)
SEED = 20240601
UNIFORM_SLACK = 0.02  # MAPE points ours may exceed linear by on uniform work
TARGET_RATIO = 0.5  # ours/linear MAPE ratio required on uneven work

CostFn = Callable[[int, int], float]  # (item index, item count) -> base cost in seconds


def _uniform(i: int, n: int) -> float:
    return 0.020


def _slowing(i: int, n: int) -> float:
    # linear ramp from 1x to 4x (e.g. each insert scans a growing table)
    return 0.015 * (1.0 + 3.0 * i / (n - 1))


def _speeding(i: int, n: int) -> float:
    # geometric decay from 4x to 1x (e.g. a cache warming up); a different shape on purpose
    return 0.0125 * math.pow(4.0, 1.0 - i / (n - 1))


def _bursty(i: int, n: int) -> float:
    # alternating blocks of 300 cheap (10 ms) and 300 expensive (50 ms) items
    return 0.050 if (i // 300) % 2 else 0.010


def _slow_start(i: int, n: int) -> float:
    # first 10 % of items cost 10x (cold caches, connection setup)
    return 0.100 if i < n // 10 else 0.010


WORKLOADS: list[tuple[str, int, CostFn]] = [
    ("uniform", 6000, _uniform),
    ("slowing", 4000, _slowing),
    ("speeding", 4000, _speeding),
    ("bursty", 4800, _bursty),
    ("slow-start", 5000, _slow_start),
]


def finish_times(n: int, cost: CostFn, rng: random.Random) -> list[float]:
    """Simulated completion time of each item (seconds after start), with seeded jitter."""
    t = 0.0
    out = []
    for i in range(n):
        t += cost(i, n) * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
        out.append(t)
    return out


def run_workload(n: int, cost: CostFn, rng: random.Random) -> list[tuple[float, float, float]]:
    """Feed both estimators every FEED_INTERVAL; return (progress, ours, linear) abs % errors."""
    done_at = finish_times(n, cost, rng)
    end = done_at[-1]
    est = RemainingTimeEstimator(started_at=0.0)
    points = []
    completed = 0
    now = FEED_INTERVAL
    while now < end:
        while completed < n and done_at[completed] <= now:
            completed += 1
        ours = est.observe(now, completed, n)
        truth = end - now
        if 0.05 <= completed / n <= 0.95:
            linear = now * (n - completed) / completed
            # "no estimate" (-1) counts as a 100 % miss
            ours_err = abs(ours - truth) / truth if ours >= 0 else 1.0
            points.append((completed / n, 100 * ours_err, 100 * abs(linear - truth) / truth))
        now += FEED_INTERVAL
    return points


def mape(points: list[tuple[float, float, float]], lo: float, hi: float) -> tuple[float, float]:
    """(ours, linear) MAPE % over feed points with lo <= progress < hi."""
    sel = [p for p in points if lo <= p[0] < hi] or [(0.0, 0.0, 0.0)]
    return sum(p[1] for p in sel) / len(sel), sum(p[2] for p in sel) / len(sel)


def observe_cost_us(calls: int = 200_000) -> float:
    """Mean wall-clock cost of observe() over a long run (1M items, ~28 h simulated)."""
    total = 1_000_000
    est = RemainingTimeEstimator(started_at=0.0)
    feeds = [((k + 1) * FEED_INTERVAL, (k + 1) * (total - 1) // calls) for k in range(calls)]
    start = time.perf_counter()
    for now, done in feeds:
        est.observe(now, done, total)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    rng = random.Random(SEED)
    header = f"{'workload':<11} {'ours MAPE %':>11} {'linear MAPE %':>13} {'ratio':>6}  target"
    print(header)
    print("-" * len(header))
    missed = []
    for name, n, cost in WORKLOADS:
        points = run_workload(n, cost, rng)
        ours, linear = mape(points, 0.0, 1.0)
        ratio = ours / linear if linear > 0 else float("inf")
        if name == "uniform":
            goal, ok = "<= 1.0", ratio <= 1.0 or ours - linear <= UNIFORM_SLACK
        else:
            goal, ok = f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO
        if not ok:
            missed.append((name, points))
        verdict = "met" if ok else "MISSED"
        print(f"{name:<11} {ours:>11.2f} {linear:>13.2f} {ratio:>6.2f}  {goal} {verdict}")
    print()
    print(f"targets missed: {', '.join(m[0] for m in missed) if missed else 'none'}")
    for name, points in missed:
        bands = [(0.05, 0.15), (0.15, 0.5), (0.5, 0.8), (0.8, 0.95)]
        cells = []
        for lo, hi in bands:
            ours, linear = mape(points, lo, hi)
            count = sum(lo <= p[0] < hi for p in points)
            cells.append(f"{lo:.0%}-{hi:.0%} (n={count}): {ours:.1f} vs {linear:.1f}")
        print(f"  {name} MAPE % by progress band, ours vs linear: " + "; ".join(cells))
    print(f"observe() mean cost: {observe_cost_us():.1f} us per call")


if __name__ == "__main__":
    main()
