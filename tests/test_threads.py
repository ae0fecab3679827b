"""Our helper threads leave control signals to the main thread (see task/threads.py).

The last test re-enacts what a billiard pool child does when Celery terminates its job: the
main thread blocks SIGTERM while it writes to the pipe the pool shares, and a second SIGTERM
arrives meanwhile. It must wait; before the fix, the heartbeat thread took it and the child
died holding the pipe's lock, which stalled every other child of the pool.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import Any

from celery import Celery

from django_jobtastic.task import publishing
from django_jobtastic.task.progress import ProgressTracker
from django_jobtastic.task.threads import CONTROL_SIGNALS, start_without_signals
from tests.helpers import wait_until


def blocked_here() -> set[int]:
    """The signals the calling thread blocks."""
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_a_started_thread_blocks_the_control_signals_and_its_creator_does_not():
    seen: list[set[int]] = []
    thread = start_without_signals(threading.Thread(target=lambda: seen.append(blocked_here())))
    thread.join(5)
    assert seen == [seen[0]]
    assert seen[0] >= CONTROL_SIGNALS
    assert not CONTROL_SIGNALS & blocked_here()


def test_the_heartbeat_and_the_flush_alarm_write_from_threads_that_block_them():
    writers: list[tuple[str, set[int]]] = []

    def store(meta: dict[str, Any]) -> None:
        writers.append((threading.current_thread().name, blocked_here()))

    tracker = ProgressTracker(interval=0.05, store=store, heartbeat=0.05)
    tracker.write_initial()
    try:
        for step in range(1, 100):
            written = len(writers)
            tracker.report(step, 100)
            if len(writers) == written:
                break  # held by the interval: the alarm writes it
        wait_until(lambda: {"jobtastic-heartbeat", "alarm"} <= names(writers), what="both")
    finally:
        tracker.close()
    theirs = [blocked for name, blocked in writers if name != threading.current_thread().name]
    assert all(blocked >= CONTROL_SIGNALS for blocked in theirs)


def names(writers: list[tuple[str, set[int]]]) -> set[str]:
    return {"alarm" if name.startswith("Thread-") else name for name, _ in writers}


def test_a_publish_attempt_runs_in_a_thread_that_blocks_them():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    assert publishing.publish_within(app, 5, lambda producer: blocked_here()) >= CONTROL_SIGNALS


CHILD = """
import os, signal, time
from django_jobtastic.task.progress import ProgressTracker
tracker = ProgressTracker(interval=1, store=lambda meta: None, heartbeat=0.01)
tracker.write_initial()
signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as billiard's handler leaves it
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # as billiard's _do_exit does
print("masked", flush=True)
time.sleep(1)  # "writing to the shared pipe"; SIGTERM arrives meanwhile
os._exit(7)
"""


def test_a_sigterm_the_main_thread_blocks_waits_while_the_heartbeat_runs():
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "masked\n"
        child.send_signal(signal.SIGTERM)  # the kernel picks a thread that does not block it
        assert child.wait(30) == 7  # it finished its "write" and left on its own terms
