"""Submit jobs from a separate process, as a second web server would (tests and bench/).

    python -m tests.integration.submit TASK METHOD KWARGS_JSON [--threads N] [--go KEY]
        [--warm-up] [--include MODULE ...] [--announce] [--cap SECONDS] [--grant]

``METHOD`` is a submission method of the task (``delay``, ``delay_or_fail``, ...), called as
``task.METHOD(**kwargs)``; ``apply_async`` is called as ``task.apply_async(kwargs=kwargs)``,
so plain Celery tasks can be compared. ``--threads`` threads call at once (one barrier).

Prints one JSON object, on the last line:

- ``outcomes``: per call, its ``id``, ``state`` (or ``raised <Exception>``) and ``seconds``;
- ``published``: the ids of the messages the calls published (Celery's own signal);
- ``warnings``: what django-jobtastic logged at WARNING or above (a fallback's cause).

``--go KEY``: announce readiness in the probe Redis and wait for the test's go, so processes
started at different times submit at the same moment. ``--warm-up``: each thread first makes
the same call with another marker, not counted (a web server's threads are long-lived, with
their connections open). ``--announce``: print ``calling`` just before the calls.
``--cap``: after that many seconds, report the calls still running as ``gave up`` and exit
(a call to a broker that never answers may hang for ever). ``--grant``: each call's result is
granted to a new anonymous session, as the submitting view would; its outcome then also has
``status_url`` and ``session`` (the session key to read it with).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import threading
import time
import uuid
from typing import Any

GAVE_UP = "gave up"


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def call(task: Any, method: str, kwargs: dict[str, Any]) -> Any:
    if method == "apply_async":
        return task.apply_async(kwargs=kwargs)
    return getattr(task, method)(**kwargs)


def granted(result: Any) -> tuple[str, str]:
    """``grant`` the result to a new anonymous session: its status URL and session key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from django_jobtastic import grant

    request = RequestFactory().post("/submit/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = AnonymousUser()
    url = grant(request, result)
    request.session.save()
    return url, str(request.session.session_key)


def submit_concurrently(
    task_name: str,
    method: str,
    kwargs: dict[str, Any],
    threads: int = 1,
    *,
    warm_up: bool = False,
    announce: bool = False,
    grant: bool = False,
) -> dict[str, list[Any]]:
    """Call ``task.method(**kwargs)`` from ``threads`` threads released by one barrier."""
    from celery.signals import before_task_publish

    from tests.celery_app import app

    task = app.tasks[task_name]
    published: list[str] = []
    outcomes: list[dict[str, Any]] = []
    warnings = _Warnings()

    def record(headers: dict[str, Any] | None = None, **_: Any) -> None:
        published.append(str((headers or {}).get("id")))

    def start_counting() -> None:  # once every thread is warm, before any counted call
        before_task_publish.connect(record, weak=False)
        logging.getLogger("django_jobtastic").addHandler(warnings)
        if announce:
            print("calling", flush=True)

    barrier = threading.Barrier(threads, action=start_counting)
    warm_up_kwargs = {**kwargs, "marker": f"warm-up-{uuid.uuid4().hex}", "hold": False}

    def submit() -> None:
        if warm_up:  # opens the connections: broker, cache, the result backend losers read
            call(task, method, warm_up_kwargs)
        barrier.wait()
        started = time.perf_counter()
        try:
            result = call(task, method, kwargs)
            outcome = {"id": result.id, "state": result.state}
            if grant:
                outcome["status_url"], outcome["session"] = granted(result)
        except Exception as error:
            outcome = {"id": None, "state": f"raised {type(error).__name__}"}
        outcomes.append({**outcome, "seconds": time.perf_counter() - started})

    workers = [threading.Thread(target=submit) for _ in range(threads)]
    try:
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    finally:
        before_task_publish.disconnect(record)
        logging.getLogger("django_jobtastic").removeHandler(warnings)
    return {"outcomes": outcomes, "published": published, "warnings": warnings.messages}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("method")
    parser.add_argument("kwargs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--go")
    parser.add_argument("--warm-up", action="store_true")
    parser.add_argument("--include", action="append", default=[])
    parser.add_argument("--announce", action="store_true")
    parser.add_argument("--cap", type=float)
    parser.add_argument("--grant", action="store_true")
    options = parser.parse_args()

    import django

    django.setup()
    from tests import probe

    for module in ["tests.jobs", *options.include]:  # registers the jobs, as views would
        importlib.import_module(module)
    if options.go:
        probe.client().incr(f"{options.go}:ready")
        probe.client().brpoplpush(f"{options.go}:go", f"{options.go}:gone", timeout=60)
    watchdog = None
    if options.cap:

        def give_up() -> None:
            outcomes = [{"id": None, "state": GAVE_UP, "seconds": None}] * options.threads
            print(json.dumps({"outcomes": outcomes, "published": [], "warnings": []}), flush=True)
            os._exit(0)  # the calling threads are stuck in a socket read

        watchdog = threading.Timer(options.cap, give_up)
        watchdog.daemon = True
        watchdog.start()
    outcome = submit_concurrently(
        options.task,
        options.method,
        json.loads(options.kwargs),
        options.threads,
        warm_up=options.warm_up,
        announce=options.announce,
        grant=options.grant,
    )
    if watchdog is not None:
        watchdog.cancel()
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
