"""Cost of ``update_progress`` on every item, measured inside a job run by a real worker.

Run: ``.venv/bin/python bench/progress_overhead.py [--backend redis|embedded|rabbitmq]``.
Prints ns/item for an empty loop, ``update_progress`` per item and ``update_state`` per item
(what celery-progress does), the amortized cost of one call and whether the targets are met.

``--compare-flask`` (Redis) also runs the job in a Flask-configured worker, one with no
Django settings (``bench/progress_flask.py``), alternating with the Django one for
``--rounds`` rounds, and compares the best amortized call and write of each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

ITEMS = 200_000
STATE_WRITES = 5_000
TARGET_CALL_NS = 1_000  # amortized cost of one update_progress call
TARGET_RATIO = 100  # at least this many times cheaper than one write per item
TARGET_FLASK_DIFFERENCE = 0.10  # a Flask-configured worker at most 10 % slower than Django's
ROUNDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    _harness.add_backend_argument(parser)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--state-writes", type=int, default=STATE_WRITES)
    parser.add_argument("--compare-flask", action="store_true")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    if options.compare_flask:
        compare_flask(options)
        return
    _harness.setup(options.backend)
    from bench.jobs import ProgressBenchJob

    n, m = options.items, options.state_writes
    print(
        f"backend={options.backend}  items={n:,}  update_state items={m:,}  "
        f"progress_interval={ProgressBenchJob.progress_interval} s"
    )
    with _harness.running_worker():
        result = ProgressBenchJob.delay(n=n, state_writes=m).get(timeout=80)

    empty = min(result["empty_ns"])
    calls = min(result["update_progress_ns"])
    writes = result["update_progress_writes"]
    per_call = (calls - empty) / n
    per_write = result["update_state_ns"] / m
    ratio = per_write / per_call if per_call > 0 else float("inf")
    print("(best of 3 for a and b; c once)")
    print(f"(a) empty loop                 {empty / n:10.1f} ns/item   total {empty / 1e6:8.1f} ms")
    print(
        f"(b) update_progress(i, n)      {calls / n:10.1f} ns/item   total {calls / 1e6:8.1f} ms"
        f"   writes per loop {writes}"
    )
    print(
        f"(c) update_state per item      {per_write:10.1f} ns/item   total "
        f"{result['update_state_ns'] / 1e6:8.1f} ms for {m:,}"
    )
    print(f"amortized update_progress call (b-a)/n  {per_call:8.1f} ns")
    print(f"ratio write-per-item / update_progress  (c)/((b-a)/n) = {ratio:,.0f}x")
    met = per_call < TARGET_CALL_NS
    print(f"target < {TARGET_CALL_NS} ns per call: {'MET' if met else 'MISSED'}")
    print(
        f"target >= {TARGET_RATIO}x cheaper than a write per item: "
        f"{'MET' if ratio >= TARGET_RATIO else 'MISSED'}"
    )
    interval = ProgressBenchJob.progress_interval
    print(
        f"throttled writes in a long job: one {per_write / 1e6:.2f} ms write per {interval:g} s"
        f" = {100 * per_write / 1e9 / interval:.2f} % of its wall time"
    )
    print(
        f"a {n:,}-item job: +{(calls - empty) / 1e9:.3f} s with update_progress, "
        f"+{per_write * n / 1e9:.1f} s with a write per item"
    )


def costs(result: dict[str, Any], n: int, m: int) -> tuple[float, float]:
    """The amortized ``update_progress`` call and one ``update_state`` write, in ns."""
    return (min(result["update_progress_ns"]) - min(result["empty_ns"])) / n, (
        result["update_state_ns"] / m
    )


def compare_flask(options: argparse.Namespace) -> None:
    """The job in the Django-configured worker and in a Flask-configured one, alternately."""
    if options.backend != "redis":
        raise SystemExit("--compare-flask runs on Redis only (the Flask cache is Redis)")
    _harness.setup(options.backend)
    from bench.jobs import ProgressBenchJob

    n, m = options.items, options.state_writes
    django_runs: list[tuple[float, float]] = []
    flask_runs: list[tuple[float, float]] = []
    flask_command = [sys.executable, str(Path(__file__).parent / "progress_flask.py")]
    flask_command += ["--items", str(n), "--state-writes", str(m)]
    print(f"items={n:,}  update_state items={m:,}  rounds={options.rounds} (Redis)")
    with _harness.running_worker():
        for _ in range(options.rounds):
            result = ProgressBenchJob.delay(n=n, state_writes=m).get(timeout=80)
            django_runs.append(costs(result, n, m))
            answer = subprocess.run(
                flask_command, capture_output=True, text=True, check=True, timeout=300
            )
            flask_runs.append(costs(json.loads(answer.stdout), n, m))
    (django_call, django_write), (flask_call, flask_write) = (
        (min(call for call, _ in runs), min(write for _, write in runs))
        for runs in (django_runs, flask_runs)
    )
    print("best of the rounds (each round: best of 3 loops)")
    print(f"{'worker':<24}{'update_progress call':>22}{'update_state write':>22}")
    print(f"{'Django-configured':<24}{django_call:>19.1f} ns{django_write / 1e3:>19.1f} us")
    print(f"{'Flask-configured':<24}{flask_call:>19.1f} ns{flask_write / 1e3:>19.1f} us")
    call_ratio, write_ratio = flask_call / django_call, flask_write / django_write
    print(f"Flask / Django: call {call_ratio:.2f}x, write {write_ratio:.2f}x")
    # The progress overhead is the amortized call (its throttled writes included); a write
    # per item is the peer's way, one Redis round trip in both, so it follows the server's load.
    within = call_ratio <= 1 + TARGET_FLASK_DIFFERENCE
    print(
        f"target: update_progress at most {TARGET_FLASK_DIFFERENCE:.0%} slower in the "
        f"Flask-configured worker: {'MET' if within else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
