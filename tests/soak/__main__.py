"""``python -m tests.soak [--minutes N] [--legs redis,rabbitmq] [--json FILE]``: the fault
suite (see ``tests/soak/runner.py``); ``make soak`` runs it with the services set up.

Exits 1 when a job never got a terminal answer, or an answer was a 4xx (a job's owner told
it is not theirs) or a 5xx other than the designed 503 with Retry-After.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from tests.soak import runner
from tests.soak.services import services_lock

MUST_BE_ZERO = ("never terminal", "5xx other than 503", "4xx")


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"soak: stopped by signal {signum}")  # the cleanup still runs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument(
        "--minutes",
        type=float,
        default=6.0,
        help="minutes of faults, shared by the legs; 0: one round of faults per leg",
    )
    parser.add_argument("--legs", default="redis,rabbitmq", help="brokers, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--folder", type=Path, help="where the logs go (default var/soak/...)")
    options = parser.parse_args()
    legs = [leg for leg in options.legs.split(",") if leg]
    unknown = set(legs) - set(runner.FAULTS)
    if unknown or not legs:
        parser.error(f"--legs: choose among {', '.join(runner.FAULTS)}")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with services_lock() as how:
        print(f"soak: {', '.join(legs)}; services lock {how}", flush=True)
        result = runner.run(legs, options.minutes, options.folder)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    print(runner.table(result), flush=True)
    broken = [name for name in MUST_BE_ZERO if result["total"]["counts"][name]]
    if broken:
        print(f"soak: FAILED, not 0: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
