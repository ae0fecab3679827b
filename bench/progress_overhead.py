"""Cost of ``update_progress`` on every item, measured inside a job run by a real worker.

Run: ``.venv/bin/python bench/progress_overhead.py [--backend redis|embedded|rabbitmq]``.
Prints ns/item for an empty loop, ``update_progress`` per item and ``update_state`` per item
(what celery-progress does), the amortized cost of one call and whether the targets are met.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

ITEMS = 200_000
STATE_WRITES = 5_000
TARGET_CALL_NS = 1_000  # amortized cost of one update_progress call
TARGET_RATIO = 100  # at least this many times cheaper than one write per item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    _harness.add_backend_argument(parser)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--state-writes", type=int, default=STATE_WRITES)
    options = parser.parse_args()
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


if __name__ == "__main__":
    main()
