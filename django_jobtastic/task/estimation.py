"""Remaining-time estimation for progress bars (pure stdlib, no Django/Celery)."""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import pairwise

from django_jobtastic.task.history import Expectation

_MAX_SAMPLES = 128  # history length that triggers decimation (samples)
_MIN_SAMPLES = 8  # below this only the linear estimate is trusted (samples)
_SCORE_DECAY = 0.05  # weight of the newest back-test error in each running (EMA) score
_SWITCH_RATIO = 0.6  # a challenger's score must be below this fraction of linear's...
_SWITCH_MARGIN = 0.03  # ...and below linear's by this much (log error, ~3 %)
_MAX_HORIZON = 0.5  # longest back-test span, as a fraction of the work completed so far
_COST_FLOOR, _COST_CEIL = 0.5, 2.0  # trend cost clamp, in multiples of the window mean

# (kind, window): "mean" = average cost per item, "trend" = linear fit of cost vs progress;
# window = trailing fraction of completed work the candidate looks at. First is linear.
_CANDIDATES: tuple[tuple[str, float], ...] = (
    ("mean", 1.0),
    ("mean", 0.3),
    ("mean", 0.1),
    ("trend", 1.0),
    ("trend", 0.5),
)
#: With a history: its shape, scaled by this run's pace (the trusted one unless beaten).
_SHAPE = ("shape", 1.0)


class RemainingTimeEstimator:
    """Estimate seconds remaining from (time, completed) observations of one job.

    Linear extrapolation (elapsed * remaining / completed) is right for uniform work but badly
    wrong when items get slower, faster, or cheap after a slow start. This keeps a bounded,
    evenly spaced history of (time, completed) samples and several candidate predictors: the
    global average cost per item (linear), average cost over recent windows, and a least-squares
    trend of cost per item versus progress, integrated over the remaining work (extrapolated no
    further than the span it was fitted on, then held). Whenever a sample is kept, each
    candidate is back-tested: from a point in the recent past, using only data known then, how
    long did it predict reaching today's progress would take, versus how long it really took?
    Linear is the default; another candidate is used only while its running error is clearly
    lower, so uniform jobs keep the low-noise linear estimate (a candidate that expects an
    earlier end needs a smaller lead, since an overestimate can be off by far more than 100 %).
    Work that alternates between cheap and expensive phases stays close to linear: no live data
    can predict the next phase.

    With a ``history`` (earlier runs of the class), the trusted candidate is its shape instead
    of linear: the share of the run that the progress made so far took in earlier runs says
    how long the whole run takes (a job that always starts slowly is estimated right from
    its start), blended with the history's expected duration while little of the run has
    passed. It is back-tested like the others, so a run unlike its history hands over to the
    live candidates. Before any progress, the history's expected duration is the estimate.
    """

    def __init__(self, started_at: float, history: Expectation | None = None) -> None:
        self._t0 = started_at  # monotonic seconds
        self._history = history if history is not None and history.shape is not None else None
        self._expected = history  # the duration a run is expected to take, if any
        self._x_end = 1.0  # the total, in units of scale (its latest value)
        self._scale = 0.0  # items; progress is stored as completed / scale
        self._ts: list[float] = [started_at]  # sample times, strictly increasing (seconds)
        self._xs: list[float] = [0.0]  # completed / scale, non-decreasing
        self._spacing = 0.0  # minimum gap between kept samples, grows as we decimate (seconds)
        # Prefix sums over segments (sample i-1 -> i) of dx, dx*mid, dx*mid**2, dt, dt*mid:
        # the normal equations of a weighted least-squares fit of cost = a + b * x.
        self._sums: list[tuple[float, float, float, float, float]] = [(0.0,) * 5]
        self._candidates = _CANDIDATES if self._history is None else (_SHAPE, *_CANDIDATES)
        self._scores: list[float | None] = [None] * len(self._candidates)
        self._choice = 0  # index into _candidates of the predictor trusted: the first one

    def before_progress(self, now: float, total: int | None = None) -> float:
        """Seconds remaining before any item is done: from the history only (-1.0 without)."""
        if self._expected is None:
            return -1.0
        return max(0.0, self._expected.run_for(total) - max(0.0, now - self._t0))

    def observe(self, now: float, completed: int, total: int) -> float:
        """Record progress at `now`; return estimated seconds remaining, or -1.0 if unknown."""
        if total > 0 and completed <= 0 and math.isfinite(now):
            return self.before_progress(now, total)
        if not (math.isfinite(now) and now > self._t0) or completed <= 0 or total <= 0:
            return -1.0
        if completed >= total:
            return 0.0
        if self._scale == 0.0:
            self._scale = float(total)
        self._x_end = total / self._scale
        if self._record(now, completed / self._scale) and len(self._ts) >= _MIN_SAMPLES:
            self._choice = self._backtest(total / self._scale)
        k, x_now, x_end = len(self._ts) - 1, completed / self._scale, total / self._scale
        estimate = self._predict(self._candidates[self._choice], k, x_now, x_end)
        if not (math.isfinite(estimate) and estimate >= 0.0):
            estimate = self._predict(_CANDIDATES[0], k, x_now, x_end)  # linear, finite if sane
        return estimate if math.isfinite(estimate) and estimate >= 0.0 else -1.0

    def _record(self, t: float, x: float) -> bool:
        """Add a sample; True if it was kept as a new one (False: replaced or ignored)."""
        if t <= self._ts[-1]:
            return False  # repeated or non-monotonic clock: nothing new to learn
        x = max(x, self._xs[-1])  # completed going backwards: keep history monotonic
        replace = len(self._ts) >= 3 and t - self._ts[-2] < self._spacing
        if replace:
            # Too close to the last kept sample: the newest replaces the tentative last one.
            self._ts.pop()
            self._xs.pop()
            self._sums.pop()
        self._append(t, x)
        if len(self._ts) > _MAX_SAMPLES:
            keep = [*range(0, len(self._ts) - 1, 2), len(self._ts) - 1]
            ts, xs = [self._ts[i] for i in keep], [self._xs[i] for i in keep]
            self._ts, self._xs, self._sums = ts[:1], xs[:1], self._sums[:1]
            for t_i, x_i in zip(ts[1:], xs[1:], strict=True):
                self._append(t_i, x_i)
            # Keep future samples as far apart as the survivors: uniform spacing over the run.
            self._spacing = (ts[-1] - ts[0]) / (len(ts) - 1)
        return not replace

    def _append(self, t: float, x: float) -> None:
        dt, dx, mid = t - self._ts[-1], x - self._xs[-1], (x + self._xs[-1]) / 2
        s = self._sums[-1]
        self._sums.append(
            (s[0] + dx, s[1] + dx * mid, s[2] + dx * mid * mid, s[3] + dt, s[4] + dt * mid)
        )
        self._ts.append(t)
        self._xs.append(x)

    def _predict(self, cand: tuple[str, float], k: int, x_from: float, x_to: float) -> float:
        """Seconds to go from x_from to x_to, using only samples 0..k (inf if no data)."""
        kind, window = cand
        if kind == "shape":
            return self._shape_seconds(k, x_from, x_to)
        xs = self._xs
        j = max(0, min(k - 2, bisect_right(xs, xs[k] * (1.0 - window), 0, k) - 1))
        end, start = self._sums[k], self._sums[j]
        s0, s1, s2 = end[0] - start[0], end[1] - start[1], end[2] - start[2]
        t0, t1 = end[3] - start[3], end[4] - start[4]
        if s0 <= 0.0:
            return math.inf
        mean = t0 / s0  # seconds per unit of progress
        det = s0 * s2 - s1 * s1
        if kind == "mean" or det <= 1e-12 * s0 * s2:
            return mean * (x_to - x_from)
        a, b = (t0 * s2 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det
        lo, hi = mean * _COST_FLOOR, mean * _COST_CEIL
        # Extrapolate the trend no further than the span it was fitted on, then hold it.
        x_hold = min(x_to, max(x_from, xs[k] + (xs[k] - xs[j])))
        held = (x_to - x_hold) * min(hi, max(lo, a + b * x_hold))
        return _clamped_integral(a, b, lo, hi, x_from, x_hold) + held

    def _shape_seconds(self, k: int, x_from: float, x_to: float) -> float:
        """Seconds from x_from to x_to by the history's shape, at the pace of samples 0..k.

        The run's whole duration is what its elapsed time is of it by the shape (``t / share``),
        blended with the history's expected duration by the square root of that share: early
        on, a few seconds say little of this run's pace; by mid-run they say most.
        """
        history = self._history
        assert history is not None  # the shape candidate exists only with one
        end = self._x_end
        elapsed, share = self._ts[k] - self._t0, history.time_share(self._xs[k] / end)
        expected = history.run_for(round(end * self._scale) or None)
        if share <= 0.0:
            duration = expected
        else:
            weight = math.sqrt(min(1.0, share))
            duration = weight * elapsed / share + (1.0 - weight) * expected
        return duration * max(
            0.0, history.time_share(x_to / end) - history.time_share(x_from / end)
        )

    def _backtest(self, x_end: float) -> int:
        """Update each candidate's running error; return the index of the one to trust."""
        k_now, x_now, t_now = len(self._ts) - 1, self._xs[-1], self._ts[-1]
        horizon = min(x_end - x_now, _MAX_HORIZON * x_now)
        origins = {bisect_right(self._xs, x_now - h) - 1 for h in (horizon, horizon / 2)}
        origins = {k for k in origins if 2 <= k < k_now and self._xs[k] < x_now}
        latest = [math.inf] * len(self._candidates)  # this back-test's error of each
        for i, cand in enumerate(self._candidates):
            errors = []
            for k in origins:
                predicted = self._predict(cand, k, self._xs[k], x_now)
                actual = t_now - self._ts[k]
                ok = 0.0 < predicted < math.inf and 0.0 < actual < math.inf
                errors.append(abs(math.log(predicted / actual)) if ok else 1.0)
            if errors:
                err, old = sum(errors) / len(errors), self._scores[i]
                latest[i] = err
                self._scores[i] = err if old is None else old + _SCORE_DECAY * (err - old)
        base = self._scores[0]
        scored = [(s, i) for i, s in enumerate(self._scores) if s is not None]
        if base is None or not scored:
            return 0
        best_score, best = min(scored)
        if best_score < _SWITCH_RATIO * base and best_score < base - _SWITCH_MARGIN:
            return best
        return self._sooner(x_end, base, latest)

    def _sooner(self, x_end: float, base: float, latest: list[float]) -> int:
        """A challenger that expects an earlier end, trusted on a smaller lead (else 0).

        Estimates are judged by their percentage error, which is lopsided: trusting an estimate
        r times below the default's costs at most 1 - 1/r of the truth if the default was right,
        while keeping the default costs r - 1 if the challenger was. Taking the score ratio as
        the odds that the challenger is right (calibrated so that equal estimates give the usual
        rule), the choice of least expected percentage error is the challenger when its score,
        times its estimate over the default's, is below _SWITCH_RATIO times the default's score.
        So a job that speeds up (cheap items after a slow start) hands over sooner; the rule is
        only ever eased, never made stricter. It rests on evidence, not on the lower estimate
        alone: the challenger's running score must still be ahead by the noise margin, and
        clearly ahead (by _SWITCH_RATIO) in this back-test, so a lead that was not won on the
        latest data (work that alternates between cheap and expensive phases) does not count.
        """
        k, x_now = len(self._ts) - 1, self._xs[-1]
        default = self._predict(self._candidates[0], k, x_now, x_end)
        weighed = []
        for i, score in enumerate(self._scores[1:], start=1):
            if score is None or score >= base - _SWITCH_MARGIN:
                continue
            if not latest[i] < _SWITCH_RATIO * latest[0]:
                continue
            estimate = self._predict(self._candidates[i], k, x_now, x_end)
            if 0.0 < estimate < default < math.inf:
                weighed.append((score * estimate / default, i))
        best_score, best = min(weighed, default=(math.inf, 0))
        return best if best_score < _SWITCH_RATIO * base else 0


def _clamped_integral(a: float, b: float, lo: float, hi: float, u: float, v: float) -> float:
    """Integral of clamp(a + b*x, lo, hi) over [u, v]; piecewise, so exact."""
    cuts = sorted({u, v, *((c - a) / b for c in (lo, hi) if b != 0.0 and u < (c - a) / b < v)})
    return sum((q - p) * min(hi, max(lo, a + b * (p + q) / 2)) for p, q in pairwise(cuts))
