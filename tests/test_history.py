"""Unit tests of the history model: pure Python, no Django settings or database."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from django_jobtastic.task.estimation import RemainingTimeEstimator
from django_jobtastic.task.history import (
    MAX_RUNS,
    SHAPE_POINTS,
    Expectation,
    Run,
    add,
    decode,
    expect,
    shape_of,
)

EVEN = tuple(i / (SHAPE_POINTS - 1) for i in range(SHAPE_POINTS))  # progress even in time


def _run(run: float, total: int | None = 100, wait: float | None = 2.0) -> Run:
    return Run(wait, run, total, EVEN if total else ())


def test_history_keeps_only_the_latest_runs():
    runs: list[Run] = []
    for seconds in range(1, MAX_RUNS + 6):
        runs = add(runs, _run(float(seconds)))
    assert len(runs) == MAX_RUNS
    assert [r.run for r in runs] == [float(s) for s in range(6, MAX_RUNS + 6)]


def test_history_round_trips_through_its_encoding():
    runs = [_run(10.0), Run(None, 3.5, None, ())]
    assert decode([r.encode() for r in runs]) == runs


def test_history_decoding_drops_what_is_not_a_run():
    good = _run(10.0).encode()
    garbage = [
        "x",
        [1, 2, 3],
        [None, -1.0, 10, []],
        [None, float("nan"), 10, []],
        [None, 5.0, 0, []],
        [None, 5.0, True, []],
        [None, 5.0, 10, [0.5]],
        [None, 5.0, 10, [2.0] * SHAPE_POINTS],
        ["soon", 5.0, 10, []],
    ]
    assert decode([*garbage, good]) == [_run(10.0)]
    assert decode("not a list") == []
    assert decode(None) == []


def test_expectation_is_none_without_runs():
    assert expect([]) is None


def test_expectation_takes_medians():
    expected = expect([_run(10.0, wait=1.0), _run(12.0, wait=3.0), _run(11.0, wait=2.0)])
    assert expected is not None
    assert (expected.run, expected.wait, expected.timed) == (11.0, 2.0, False)
    assert expected.run_for(100) == 11.0


def test_one_run_a_hundred_times_slower_moves_nothing():
    usual = [_run(10.0), _run(10.5), _run(9.5)]
    before = expect(usual)
    after = expect([*usual, _run(1000.0, wait=500.0)])
    assert before is not None
    assert after is not None
    assert after.run_for(100) == before.run_for(100) == 10.0
    assert after.wait == before.wait == 2.0


def test_one_run_a_hundred_times_faster_moves_nothing():
    after = expect([_run(10.0), _run(10.5), _run(0.1)])
    assert after is not None
    assert after.run_for(100) == 10.0


def test_two_runs_expect_the_shorter():
    # The lower median: with two runs, an outlier cannot be told from the usual one, and
    # the shorter estimate is the one an overrun ("taking longer") corrects honestly.
    expected = expect([_run(10.0), _run(1000.0)])
    assert expected is not None
    assert expected.run == 10.0


def test_a_job_that_became_slower_takes_over_once_half_its_runs_are_slow():
    runs = [_run(10.0)] * 5
    for _ in range(5):
        runs = add(runs, _run(100.0))
    expected = expect(runs)
    assert expected is not None
    assert expected.run == 10.0  # five of ten: the lower median still
    expected = expect(add(runs, _run(100.0)))
    assert expected is not None
    assert expected.run == 100.0


def test_durations_are_scaled_by_the_items_of_the_run():
    expected = expect([_run(10.0, total=1000), _run(40.0, total=4000), _run(5.0, total=500)])
    assert expected is not None
    assert expected.per_item == 0.01
    assert expected.run_for(10_000) == 100.0
    assert expected.run_for(None) == 10.0  # before the job says how many: the median run


def test_runs_without_progress_expect_their_median_and_a_timed_bar():
    expected = expect([_run(30.0, total=None), _run(20.0, total=None), _run(25.0, total=None)])
    assert expected is not None
    assert (expected.run, expected.per_item, expected.shape, expected.timed) == (
        25.0,
        None,
        None,
        True,
    )
    assert expected.run_for(50) == 25.0


def test_a_run_without_a_known_wait_leaves_the_wait_to_the_others():
    expected = expect([_run(10.0, wait=None), _run(10.0, wait=4.0)])
    assert expected is not None
    assert expected.wait == 4.0
    none_known = expect([_run(10.0, wait=None)])
    assert none_known is not None
    assert none_known.wait is None


def test_shape_of_an_even_run_is_the_diagonal():
    samples = [(t, t / 10) for t in range(1, 10)]
    assert shape_of(samples, 10.0) == EVEN


def test_shape_of_a_slow_start_puts_most_time_at_the_beginning():
    # 10 % of the work takes half the time, the rest the other half.
    samples = [(5.0, 0.1), (7.5, 0.55), (10.0, 1.0)]
    shape = shape_of(samples, 10.0)
    assert shape[2] == 0.5  # 10 % done at half the run
    assert shape[-1] == 1.0
    assert shape == tuple(sorted(shape))


def test_shape_of_a_run_ends_at_its_last_report_when_work_followed_it():
    # Done at 8 s, then 2 s of saving: 100 % is reached at 80 % of the run.
    shape = shape_of([(4.0, 0.5), (8.0, 1.0)], 10.0)
    assert shape[-1] == 0.8
    assert shape[10] == 0.4


def test_shape_of_a_run_without_progress_is_empty():
    assert shape_of([], 10.0) == ()
    assert shape_of([(1.0, 0.5)], 0.0) == ()


def test_shape_median_resists_one_odd_run():
    odd = Run(None, 10.0, 100, tuple([0.0] * (SHAPE_POINTS - 1) + [1.0]))
    expected = expect([_run(10.0), _run(10.0), odd])
    assert expected is not None
    assert expected.shape == EVEN


def test_time_share_interpolates_the_shape():
    expected = Expectation(None, 10.0, None, EVEN, timed=False)
    assert expected.time_share(0.0) == 0.0
    assert abs(expected.time_share(0.525) - 0.525) < 1e-9
    assert expected.time_share(1.5) == 1.0


# -- the estimator with a history --------------------------------------------------------

FEED = 0.5  # seconds between progress writes, as the throttle


def _errors(costs: list[float], history: Expectation | None) -> list[float]:
    """Relative error of the estimate at each write between 5 and 95 % progress."""
    done_at = list(itertools.accumulate(costs))
    n, end = len(costs), done_at[-1]
    estimator = RemainingTimeEstimator(0.0, history)
    errors, completed, now = [], 0, FEED
    while now < end:
        while done_at[completed] <= now:
            completed += 1
        estimate = estimator.observe(now, completed, n)
        if 0.05 <= completed / n <= 0.95:
            errors.append(abs(estimate - (end - now)) / (end - now) if estimate >= 0 else 1.0)
        now += FEED
    return errors


def _slow_start(seed: int, n: int = 2000) -> list[float]:
    rng = random.Random(seed)
    return [(0.1 if i < n // 10 else 0.01) * rng.uniform(0.8, 1.2) for i in range(n)]


def _history_of(*runs: list[float]) -> Expectation:
    kept = []
    for costs in runs:
        done_at = list(itertools.accumulate(costs))
        samples = [(t, sum(d <= t for d in done_at) / len(costs)) for t in _feeds(done_at[-1])]
        kept.append(Run(None, done_at[-1], len(costs), shape_of(samples, done_at[-1])))
    expected = expect(kept)
    assert expected is not None
    return expected


def _feeds(end: float) -> list[float]:
    return [FEED * k for k in range(1, int(end / FEED) + 1)]


def test_history_estimates_a_slow_start_right_from_its_start():
    without = _errors(_slow_start(1), None)
    with_history = _errors(_slow_start(1), _history_of(_slow_start(2), _slow_start(3)))
    assert sum(without) / len(without) > 1.0  # no live estimator can know it speeds up
    assert max(with_history) < 0.1


def test_history_gives_an_estimate_before_any_progress():
    history = Expectation(5.0, 60.0, 0.5, EVEN, timed=False)
    estimator = RemainingTimeEstimator(100.0, history)
    assert estimator.before_progress(100.0) == 60.0
    assert estimator.before_progress(110.0) == 50.0
    assert estimator.observe(110.0, 0, 200) == 90.0  # 200 items at 0.5 s, less 10 s
    assert estimator.before_progress(500.0) == 0.0
    assert RemainingTimeEstimator(100.0).before_progress(110.0) == -1.0


def test_a_run_unlike_its_history_is_estimated_from_itself():
    # The history says it speeds up after a slow start; this run is uniform.
    uniform = [0.02 * random.Random(4).uniform(0.8, 1.2) for _ in range(3000)]
    misled = _errors(uniform, _history_of(_slow_start(2, 3000), _slow_start(3, 3000)))
    late = misled[len(misled) // 2 :]
    assert sum(late) / len(late) < 0.1


# -- properties ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
shapes = st.lists(
    st.floats(0, 1, allow_nan=False), min_size=SHAPE_POINTS, max_size=SHAPE_POINTS
).map(lambda points: tuple(sorted(points)))
runs = st.builds(
    Run,
    st.none() | st.floats(0, 1e6),
    st.floats(0, 1e6),
    st.none() | st.integers(1, 10**9),
    st.just(()) | shapes,
)


@given(json_values)
@settings(max_examples=200)
def test_decoding_anything_never_raises(value):
    assert all(isinstance(run, Run) for run in decode(value))


@given(st.lists(runs, min_size=1, max_size=MAX_RUNS))
@settings(max_examples=200)
def test_what_runs_expect_lies_within_them(kept):
    expected = expect(kept)
    assert expected is not None
    assert min(r.run for r in kept) <= expected.run <= max(r.run for r in kept)
    assert decode([r.encode() for r in kept]) == kept
    if expected.shape is not None:
        assert list(expected.shape) == sorted(expected.shape)
    for done in (0.0, 0.33, 1.0):
        assert 0.0 <= expected.time_share(done) <= 1.0
