"""Benchmark RemainingTimeEstimator, without and with history, against two named peers.

Run: ``.venv/bin/python bench/eta.py``. Prints, per workload, the MAPE of the remaining-time
estimate (5-95 % progress) of ours without history, ours after 3 earlier runs of the same
workload (``django_jobtastic.task.history``), the linear estimate of the original jobtastic
and tqdm's exponentially smoothed rate (``smoothing=0.3``, its default), then whether the
targets are met, then the mean cost of one ``observe()`` call in microseconds.
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
from django_jobtastic.task.history import Expectation, Run, expect, shape_of

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
    ("varying size", 6000, _uniform),  # earlier runs have 1,500-12,000 items
]
VARYING = "varying size"
#: The figures of ours before history was added (the "no worse than today" target).
TODAY = {"uniform": 0.18, "slowing": 6.35, "speeding": 28.77, "bursty": 13.40, "slow-start": 309.52}
EARLIER_RUNS = 3
HISTORY_TARGET = 10.0  # MAPE % ours with history must stay within, bursty aside
PEER_SLACK = 1.10  # ours may be at most this times the better peer's MAPE
EMA_SMOOTHING = 0.3  # tqdm's default ``smoothing``

Point = tuple[float, float, float, float, float]  # progress, then abs % error of each


def finish_times(n: int, cost: CostFn, rng: random.Random) -> list[float]:
    """Simulated completion time of each item (seconds after start), with seeded jitter."""
    t = 0.0
    out = []
    for i in range(n):
        t += cost(i, n) * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
        out.append(t)
    return out


def feeds(done_at: list[float]) -> list[tuple[float, int]]:
    """(time, completed) at each progress write: every FEED_INTERVAL until the end."""
    out, completed, now = [], 0, FEED_INTERVAL
    while now < done_at[-1]:
        while completed < len(done_at) and done_at[completed] <= now:
            completed += 1
        out.append((now, completed))
        now += FEED_INTERVAL
    return out


def earlier_run(n: int, cost: CostFn, rng: random.Random) -> Run:
    """One earlier run as its history keeps it (the shape from the same writes)."""
    done_at = finish_times(n, cost, rng)
    samples = [(t, completed / n) for t, completed in feeds(done_at)]
    return Run(None, done_at[-1], n, shape_of(samples, done_at[-1]))


class SmoothedRate:
    """tqdm's estimate: an exponential moving average of items and of seconds per update,
    debiased as tqdm's ``EMA`` does; remaining = items left / (items / seconds)."""

    def __init__(self, smoothing: float) -> None:
        self.beta, self.calls, self.dn, self.dt = 1.0 - smoothing, 0, 0.0, 0.0
        self.last_t, self.last_n = 0.0, 0

    def observe(self, now: float, completed: int, total: int) -> float:
        dn, dt = completed - self.last_n, now - self.last_t
        self.last_t, self.last_n = now, completed
        self.calls += 1
        self.dn = self.beta * self.dn + (1 - self.beta) * dn
        self.dt = self.beta * self.dt + (1 - self.beta) * dt
        if self.dn <= 0:
            return -1.0
        return (total - completed) * self.dt / self.dn  # the debiasing cancels in the ratio


def run_workload(n: int, cost: CostFn, rng: random.Random, history: Expectation) -> list[Point]:
    """Feed every estimator at each write; (progress, ours, ours with history, linear, EMA)
    absolute % errors between 5 and 95 % progress ("no estimate", -1, is a 100 % miss)."""
    done_at = finish_times(n, cost, rng)
    end = done_at[-1]
    ours = RemainingTimeEstimator(started_at=0.0)
    with_history = RemainingTimeEstimator(started_at=0.0, history=history)
    ema = SmoothedRate(EMA_SMOOTHING)
    points = []
    for now, completed in feeds(done_at):
        estimates = (
            ours.observe(now, completed, n),
            with_history.observe(now, completed, n),
            now * (n - completed) / completed if completed else -1.0,
            ema.observe(now, completed, n),
        )
        truth = end - now
        if 0.05 <= completed / n <= 0.95:
            errors = [100 * abs(e - truth) / truth if e >= 0 else 100.0 for e in estimates]
            points.append((completed / n, *errors))
    return points


def mape(points: list[Point], lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """MAPE % of each estimator over feed points with lo <= progress < hi."""
    sel = [p for p in points if lo <= p[0] < hi] or [(0.0,) * 5]
    return [sum(p[i] for p in sel) / len(sel) for i in range(1, 5)]


def observe_cost_us(calls: int = 200_000, history: Expectation | None = None) -> float:
    """Mean wall-clock cost of observe() over a long run (1M items, ~28 h simulated)."""
    total = 1_000_000
    est = RemainingTimeEstimator(started_at=0.0, history=history)
    points = [((k + 1) * FEED_INTERVAL, (k + 1) * (total - 1) // calls) for k in range(calls)]
    start = time.perf_counter()
    for now, done in points:
        est.observe(now, done, total)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    rng = random.Random(SEED)  # the live runs: the same draws as before history existed
    earlier = random.Random(SEED + 1)
    header = f"{'workload':<13} {'ours':>8} {'ours+hist':>9} {'linear':>8} {'EMA 0.3':>8}  targets"
    print("MAPE % of the remaining-time estimate, 5-95 % progress")
    print(header)
    print("-" * len(header))
    missed = []
    for name, n, cost in WORKLOADS:
        sizes = [earlier.randint(n // 4, 2 * n) if name == VARYING else n for _ in range(3)]
        history = expect([earlier_run(size, cost, earlier) for size in sizes])
        assert history is not None
        ours, hist, linear, ema = mape(run_workload(n, cost, rng, history))
        best_peer = min(linear, ema)
        goals = {
            "history <= 10": name == "bursty" or hist <= HISTORY_TARGET,
            "no worse than today": ours <= TODAY.get(name, math.inf) + 0.005,
            "peers with history": hist <= PEER_SLACK * best_peer + 0.01,
            "peers without history": ours <= PEER_SLACK * best_peer + 0.01,
        }
        failed = [goal for goal, ok in goals.items() if not ok]
        missed += [f"{name}: {goal}" for goal in failed]
        verdict = "met" if not failed else "MISSED " + ", ".join(failed)
        print(f"{name:<13} {ours:>8.2f} {hist:>9.2f} {linear:>8.2f} {ema:>8.2f}  {verdict}")
    print()
    print(f"targets missed: {'; '.join(missed) if missed else 'none'}")
    print(f"observe() mean cost: {observe_cost_us():.1f} us per call without history")
    flat = Expectation(None, 1.0, 1e-6, tuple(i / 20 for i in range(21)), timed=False)
    print(f"observe() mean cost: {observe_cost_us(history=flat):.1f} us per call with history")


if __name__ == "__main__":
    main()
