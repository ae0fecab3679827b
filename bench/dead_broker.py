"""Seconds to fall back when the broker refuses or never answers, ours against plain Celery.

Run: ``.venv/bin/python bench/dead_broker.py [--backend redis|embedded|rabbitmq]``. Each call
runs in a child process pointed at a dead redis:// or amqp:// broker (results: the real
backend). Prints broker, failure mode, method, seconds, outcome, and the ratio plain/ours.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

CAP = 30.0  # seconds a plain apply_async gets before we report that it hangs
OURS = ("delay_or_fail", "delay_or_eager")
PLAIN = "apply_async"
TASKS = {"apply_async": "bench.jobs.plain_count"}  # ours: tests.jobs.CountingJob


def silent_listener() -> socket.socket:
    """A socket whose connections the kernel completes and nobody ever accepts or answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def broker_url(scheme: str, port: int) -> str:
    if scheme == "amqp":
        return f"amqp://guest:guest@127.0.0.1:{port}//"
    return f"redis://127.0.0.1:{port}/0"


def start(method: str, url: str) -> subprocess.Popen[str]:
    """A child submitting once; returns after it printed ``calling`` (setup excluded)."""
    task = TASKS.get(method, "tests.jobs.CountingJob")
    kwargs = json.dumps({"marker": uuid.uuid4().hex})
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.integration.submit", task, method, kwargs),
            *("--include", "bench.jobs", "--announce", "--cap", str(CAP)),
        ],
        env=_harness.child_env(JOBTASTIC_TEST_BROKER_URL=url),
        cwd=_harness.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    while (line := child.stdout.readline()) and line.strip() != "calling":
        pass
    return child


def finish(child: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        stdout, _ = child.communicate(timeout=CAP + 30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return {"seconds": None, "state": "killed (no report)", "id": None}
    lines = stdout.strip().splitlines()
    if child.returncode or not lines:
        return {"seconds": None, "state": f"child exited {child.returncode}", "id": None}
    [outcome] = json.loads(lines[-1])["outcomes"]
    return dict(outcome)


def stored_state(task_id: str | None) -> str:
    """What another process (a status view) reads in the result backend, and the cause."""
    if task_id is None:
        return "-"
    from tests.celery_app import app

    result = app.AsyncResult(task_id)
    if result.state == "FAILURE":
        return f"FAILURE ({type(result.result).__name__})"
    return str(result.state)


def seconds(outcome: dict[str, Any]) -> str:
    value = outcome["seconds"]
    return f"> {CAP:g} (gave up)" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    _harness.add_backend_argument(parser)
    options = parser.parse_args()
    _harness.setup(options.backend)
    from django.conf import settings

    listener = silent_listener()
    ports = {"refused": _harness.free_port(), "hung": int(listener.getsockname()[1])}
    cases = [(scheme, mode) for scheme in ("redis", "amqp") for mode in ("refused", "hung")]
    timeout = settings.JOBTASTIC_PUBLISH_TIMEOUT
    print(
        f"backend={options.backend} (results {settings.CELERY_RESULT_BACKEND})  "
        f"JOBTASTIC_PUBLISH_TIMEOUT={timeout:g} s  cap {CAP:g} s"
    )
    try:
        # The plain calls may hang for the whole cap: run them side by side, ours one by one.
        plain = {case: start(PLAIN, broker_url(case[0], ports[case[1]])) for case in cases}
        ours = {
            (*case, method): finish(start(method, broker_url(case[0], ports[case[1]])))
            for case in cases
            for method in OURS
        }
        plain_outcomes = {case: finish(child) for case, child in plain.items()}
    finally:
        listener.close()

    print(
        f"{'broker':<7} {'failure':<8} {'method':<17} {'seconds':>16}  {'returned':<23}  "
        f"{'stored state (cause)':<30} {'plain/ours':>10}"
    )
    for case in cases:
        rows = [(method, ours[(*case, method)]) for method in OURS]
        rows.append((f"plain {PLAIN}", plain_outcomes[case]))
        base = plain_outcomes[case]["seconds"]
        for method, outcome in rows:
            mine = outcome["seconds"]
            if method.startswith("plain") or mine is None:
                ratio = "-"
            elif base is None:
                ratio = f"> {CAP / mine:.1f}x"
            else:
                ratio = f"{base / mine:.2f}x"
            stored = stored_state(outcome["id"])
            print(
                f"{case[0]:<7} {case[1]:<8} {method:<17} {seconds(outcome):>16}  "
                f"{outcome['state']:<23}  {stored:<30} {ratio:>10}"
            )


if __name__ == "__main__":
    main()
