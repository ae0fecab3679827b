"""Thundering herd: N identical concurrent submissions, a JobtasticTask against a plain task.

Run: ``.venv/bin/python bench/herd.py [--backend redis|embedded|rabbitmq] [--n 20 50]``.
Prints, per N and per submitter layout (threads of one process, several processes), the
distinct ids, executions, messages published and submission latency p50/p99/max in ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

TASKS = {"jobtastic": "tests.jobs.CountingJob", "plain": "bench.jobs.plain_count"}
PROCESSES = 5  # submitting processes in the multi-process layout
#: The submitter the integration tests use too; bench.jobs registers the plain task.
SUBMITTER = [sys.executable, "-m", "tests.integration.submit", "--include", "bench.jobs"]
RUN_TIMEOUT = 30.0  # seconds the released jobs get to finish


def from_threads(task: str, kwargs: dict[str, Any], n: int) -> dict[str, list[Any]]:
    from tests.integration.submit import submit_concurrently

    return submit_concurrently(task, "delay", kwargs, n, warm_up=True)


def from_processes(
    task: str, kwargs: dict[str, Any], n: int, processes: int
) -> dict[str, list[Any]]:
    from tests import probe

    go = f"go:{uuid.uuid4().hex}"
    share = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    children = [
        subprocess.Popen(
            [
                *(*SUBMITTER, task, "delay", json.dumps(kwargs)),
                *("--threads", str(threads), "--go", go, "--warm-up"),
            ],
            env=_harness.child_env(),
            cwd=_harness.ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for threads in share
        if threads
    ]
    _harness.wait_until(
        lambda: int(probe.client().get(f"{go}:ready") or 0) == len(children), 60, "submitters"
    )
    probe.client().rpush(f"{go}:go", *["go"] * len(children))
    merged: dict[str, list[Any]] = {"outcomes": [], "published": []}
    for child in children:
        stdout, _ = child.communicate(timeout=60)
        report = json.loads(stdout.strip().splitlines()[-1])
        for key, values in merged.items():
            values.extend(report[key])
    return merged


def measure(kind: str, layout: str, n: int, processes: int) -> dict[str, Any]:
    from tests import probe
    from tests.celery_app import app

    marker = uuid.uuid4().hex
    kwargs = {"marker": marker, "hold": True}
    task = TASKS[kind]
    if layout == "threads":
        outcome = from_threads(task, kwargs, n)
    else:
        outcome = from_processes(task, kwargs, n, processes)
    probe.release(marker)
    ids = [each["id"] for each in outcome["outcomes"]]
    results = [app.AsyncResult(task_id) for task_id in set(ids)]
    _harness.wait_until(lambda: all(r.ready() for r in results), RUN_TIMEOUT, f"{kind} runs")
    time.sleep(0.2)  # a duplicate run started late would show up here
    ms = [1000 * each["seconds"] for each in outcome["outcomes"]]
    return {
        "ids": len(set(ids)),
        "runs": probe.runs(marker),
        "published": len(outcome["published"]),
        "p50": _harness.percentile(ms, 50),
        "p99": _harness.percentile(ms, 99),
        "max": max(ms),
    }


def sequential_ms(task_name: str, calls: int = 20) -> float:
    from tests.celery_app import app

    task = app.tasks[task_name]
    task.delay(marker=f"warm-up-{uuid.uuid4().hex}")
    ms = []
    for _ in range(calls):
        started = time.perf_counter()
        task.delay(marker=f"seq-{uuid.uuid4().hex}")
        ms.append(1000 * (time.perf_counter() - started))
    return _harness.percentile(ms, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    _harness.add_backend_argument(parser)
    parser.add_argument("--n", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--processes", type=int, default=PROCESSES)
    options = parser.parse_args()
    _harness.setup(options.backend)

    print(f"backend={options.backend}  identical submissions of delay(marker=M, hold=True)")
    print("latency: from the barrier to delay() returning, in threads already warmed by a call")
    header = (
        f"{'N':>3}  {'submitters':<20} {'task':<10} {'ids':>4} {'runs':>5} "
        f"{'published':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    rows: list[tuple[int, str, dict[str, dict[str, Any]]]] = []
    with _harness.running_worker():
        print(
            "uncontended delay(), median of 20 sequential calls (distinct markers): "
            + ", ".join(f"{kind} {sequential_ms(task):.2f} ms" for kind, task in TASKS.items())
        )
        print(header)
        for n in options.n:
            for layout in ("threads", "processes"):
                procs = options.processes
                label = f"{n} threads, 1 proc"
                if layout == "processes":
                    label = f"{procs} procs x ~{n // procs} thr"
                row = {}
                for kind in TASKS:
                    row[kind] = figures = measure(kind, layout, n, options.processes)
                    print(
                        f"{n:>3}  {label:<20} {kind:<10} {figures['ids']:>4} "
                        f"{figures['runs']:>5} {figures['published']:>9} {figures['p50']:>8.1f} "
                        f"{figures['p99']:>8.1f} {figures['max']:>8.1f}",
                        flush=True,
                    )
                rows.append((n, label, row))
    print("\nratios plain/jobtastic (executions, messages, p50 latency):")
    for n, label, row in rows:
        ours, plain = row["jobtastic"], row["plain"]
        print(
            f"{n:>3}  {label:<20} runs {plain['runs']}/{ours['runs']}  "
            f"messages {plain['published']}/{ours['published']}  "
            f"p50 {plain['p50'] / ours['p50']:.2f}x"
        )


if __name__ == "__main__":
    main()
