"""Submit jobs from a separate process, as a second web server would.

    python -m tests.integration.submit TASK METHOD KWARGS_JSON [--threads N] [--go KEY]

Prints one JSON object: the ids, states and seconds each submission took. With ``--go`` it
first announces itself in the probe Redis and waits for the test to say go, so processes
started at different times submit at the same moment.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("method")
    parser.add_argument("kwargs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--go")
    options = parser.parse_args()

    django.setup()
    from tests import (
        jobs,  # noqa: F401 - registers the jobs, as a project's views would
        probe,
    )
    from tests.celery_app import app

    task = app.tasks[options.task]
    kwargs = json.loads(options.kwargs)
    if options.go:
        probe.client().incr(f"{options.go}:ready")
        probe.client().brpoplpush(f"{options.go}:go", f"{options.go}:gone", timeout=60)
    barrier = threading.Barrier(options.threads)
    outcomes: list[dict[str, object]] = []

    def submit() -> None:
        barrier.wait()
        started = time.monotonic()
        result = getattr(task, options.method)(**kwargs)
        outcomes.append(
            {"id": result.id, "state": result.state, "seconds": time.monotonic() - started}
        )

    threads = [threading.Thread(target=submit) for _ in range(options.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
