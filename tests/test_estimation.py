"""Unit tests for the remaining-time estimator: pure Python, no Django settings or database."""

from __future__ import annotations

import itertools
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from django_jobtastic.task.estimation import RemainingTimeEstimator

FEED = 0.5  # seconds of simulated time between observations, like the progress throttle


def _simulate(costs: list[float]) -> list[tuple[float, float, float, float]]:
    """Feed a job with these per-item costs (seconds) every FEED seconds.

    Returns (progress, ours, linear, truth) at each feed point; all estimates in seconds.
    """
    done_at = list(itertools.accumulate(costs))
    n, end = len(costs), done_at[-1]
    est = RemainingTimeEstimator(started_at=0.0)
    rows = []
    completed, now = 0, FEED
    while now < end:
        while completed < n and done_at[completed] <= now:
            completed += 1
        ours = est.observe(now, completed, n)
        if completed:
            linear = now * (n - completed) / completed
            rows.append((completed / n, ours, linear, end - now))
        now += FEED
    return rows


def _jittered(base: list[float], seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [c * rng.uniform(0.8, 1.2) for c in base]


def test_observe_before_any_progress_returns_minus_one() -> None:
    est = RemainingTimeEstimator(started_at=10.0)
    assert est.observe(15.0, 0, 100) == -1.0


def test_observe_before_clock_advances_returns_minus_one() -> None:
    est = RemainingTimeEstimator(started_at=10.0)
    assert est.observe(10.0, 5, 100) == -1.0


def test_observe_without_total_returns_minus_one() -> None:
    est = RemainingTimeEstimator(started_at=10.0)
    assert est.observe(15.0, 5, 0) == -1.0


def test_observe_when_done_returns_zero() -> None:
    est = RemainingTimeEstimator(started_at=10.0)
    est.observe(12.0, 40, 100)
    assert est.observe(20.0, 100, 100) == 0.0


def test_observe_uniform_work_is_exact() -> None:
    est = RemainingTimeEstimator(started_at=1000.0)
    result = -1.0
    for step in range(1, 11):  # 10 items/s, observed every 0.5 s: 50 of 100 after 5 s
        result = est.observe(1000.0 + 0.5 * step, 5 * step, 100)
    assert math.isclose(result, 5.0, abs_tol=1e-6)


def test_observe_slowing_work_beats_linear() -> None:
    n = 4000
    costs = _jittered([0.01 * (1 + 3 * i / (n - 1)) for i in range(n)])  # 1x -> 4x
    rows = [r for r in _simulate(costs) if 0.1 <= r[0] <= 0.9]
    ours = sum(abs(o - t) / t for _, o, _, t in rows)
    linear = sum(abs(lin - t) / t for _, _, lin, t in rows)
    assert ours < 0.5 * linear


def test_observe_slow_start_recovers_after_warm_up() -> None:
    n = 4000
    costs = _jittered([0.1 if i < n // 10 else 0.01 for i in range(n)])  # first 10 % cost 10x
    rows = [r for r in _simulate(costs) if 0.4 <= r[0] <= 0.95]
    assert rows
    assert all(abs(o - t) <= 0.1 * t for _, o, _, t in rows)


def test_observe_hands_over_soon_after_a_slow_start() -> None:
    # A challenger that expects an earlier end is trusted on a smaller lead (_sooner): the
    # usual rule alone waits until about 21 % progress, twice the warm-up, to hand over.
    n = 4000
    costs = _jittered([0.1 if i < n // 10 else 0.01 for i in range(n)])  # first 10 % cost 10x
    rows = [r for r in _simulate(costs) if 0.17 <= r[0] <= 0.95]
    assert rows
    assert all(abs(o - t) <= 0.1 * t for _, o, _, t in rows)


def test_observe_memory_stays_bounded_over_a_million_calls() -> None:
    est = RemainingTimeEstimator(started_at=0.0)
    total = 10_000_000
    largest = 0
    for call in range(1, 1_000_001):
        est.observe(call * FEED, call * 5, total)
        if call % 1000 == 0:
            largest = max(largest, len(est._ts))  # internal sample history
    assert largest <= 129


@settings(max_examples=300, deadline=None, database=None)
@given(
    started_at=st.floats(min_value=-1e6, max_value=1e6),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=-10.0, max_value=1e4),  # clock step, seconds (may go back)
            st.integers(min_value=-5, max_value=10**7),  # completed
            st.integers(min_value=-5, max_value=10**7),  # total
        ),
        max_size=60,
    ),
)
def test_observe_random_sequences_never_negative_or_nan(
    started_at: float, steps: list[tuple[float, int, int]]
) -> None:
    est = RemainingTimeEstimator(started_at=started_at)
    now = started_at
    for dt, completed, total in steps:
        now += dt
        result = est.observe(now, completed, total)
        assert result == -1.0 or (math.isfinite(result) and result >= 0.0)


def test_observe_completed_going_backwards_keeps_estimating() -> None:
    est = RemainingTimeEstimator(started_at=0.0)
    for step in range(1, 21):
        est.observe(step * 1.0, step * 3, 100)  # 3 items/s up to 60 done
    result = est.observe(21.0, 40, 100)
    assert math.isfinite(result)
    assert result > 0.0
