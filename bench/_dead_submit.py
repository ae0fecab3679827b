"""One submission from a process whose broker is dead (env JOBTASTIC_TEST_BROKER_URL).

    python -m bench._dead_submit METHOD CAP_SECONDS

METHOD is ``delay_or_fail`` or ``delay_or_eager`` (a JobtasticTask) or ``apply_async`` (a plain
Celery task). Prints ``calling`` just before the call, then one JSON line: seconds, state (or
the exception raised) and the task id; after CAP_SECONDS it reports ``gave up`` and exits.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from typing import Any


def report(outcome: dict[str, Any]) -> None:
    print(json.dumps(outcome), flush=True)


def main() -> None:
    method, cap = sys.argv[1], float(sys.argv[2])
    import django

    django.setup()
    import tests.celery_app  # noqa: F401
    from bench.jobs import plain_count
    from tests.jobs import CountingJob

    marker = uuid.uuid4().hex

    def give_up() -> None:
        report({"seconds": None, "state": "gave up", "id": None})
        os._exit(0)  # the main thread is stuck in a socket read

    watchdog = threading.Timer(cap, give_up)
    watchdog.daemon = True
    print("calling", flush=True)
    watchdog.start()
    started = time.perf_counter()
    try:
        if method == "apply_async":
            result = plain_count.apply_async(kwargs={"marker": marker})
        else:
            result = getattr(CountingJob, method)(marker=marker)
    except Exception as error:
        elapsed = time.perf_counter() - started
        watchdog.cancel()
        report({"seconds": elapsed, "state": f"raised {type(error).__name__}", "id": None})
        return
    elapsed = time.perf_counter() - started
    watchdog.cancel()
    report({"seconds": elapsed, "state": result.state, "id": result.id})


if __name__ == "__main__":
    main()
