"""Concurrent identical submissions, in this process or in a child (a second web server).

    python -m bench._submit TASK METHOD KWARGS_JSON --threads N [--go KEY]

The child prints one JSON line: ids, seconds per call and the ids of the messages it published.
With ``--go`` it announces itself in the probe Redis and waits for the parent's go.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from typing import Any


def submit_concurrently(
    task_name: str, method: str, kwargs: dict[str, Any], threads: int
) -> dict[str, list[Any]]:
    """Call ``task.method(**kwargs)`` from ``threads`` threads released by one barrier.

    Each thread first makes the same call with another marker (not counted), to warm up.
    """
    from celery.signals import before_task_publish

    from tests.celery_app import app

    task = app.tasks[task_name]
    published: list[str] = []
    marker = repr(kwargs["marker"])

    def record(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if marker in str((headers or {}).get("kwargsrepr")):  # not the warm-up calls
            published.append(str((headers or {}).get("id")))

    barrier = threading.Barrier(threads)
    ids: list[str] = []
    seconds: list[float] = []
    warm_up = {**kwargs, "marker": f"warm-up-{uuid.uuid4().hex}", "hold": False}

    def submit() -> None:
        # A web server's threads are long-lived: a first identical round opens the connections
        # (broker, cache, and the result backend that herd losers read).
        getattr(task, method)(**warm_up)
        barrier.wait()
        started = time.perf_counter()
        result = getattr(task, method)(**kwargs)
        elapsed = time.perf_counter() - started
        ids.append(result.id)
        seconds.append(elapsed)

    before_task_publish.connect(record, weak=False)
    try:
        workers = [threading.Thread(target=submit) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    finally:
        before_task_publish.disconnect(record)
    return {"ids": ids, "seconds": seconds, "published": published}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("method")
    parser.add_argument("kwargs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--go")
    options = parser.parse_args()

    import django

    django.setup()
    import bench.jobs  # noqa: F401 - registers the tasks, as a project's views would
    import tests.jobs  # noqa: F401
    from tests import probe

    if options.go:
        probe.client().incr(f"{options.go}:ready")
        probe.client().brpoplpush(f"{options.go}:go", f"{options.go}:gone", timeout=60)
    outcome = submit_concurrently(
        options.task, options.method, json.loads(options.kwargs), options.threads
    )
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
