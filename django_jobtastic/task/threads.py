"""Helper threads that leave process signals to the main thread.

A prefork pool child (billiard) blocks its terminate signal in its main thread while it
reports its exit on the pipe all children share, so that the signal cannot kill it while it
holds that pipe's lock; Celery's ``revoke(terminate=True)`` sends the signal twice. Blocking
in one thread only protects a process whose other threads block it too: a heartbeat thread
that accepted the second signal got the child killed holding the lock, and every other child
of the pool then waited for that lock for ever (the worker took jobs and never ran them).
So each thread this package starts is born with the control signals blocked.
"""

from __future__ import annotations

import signal
import threading

#: Signals meant for a process's main thread (its handlers, or billiard's mask): never ours.
CONTROL_SIGNALS = frozenset(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(signal, name)
)


def start_without_signals(thread: threading.Thread) -> threading.Thread:
    """Start ``thread`` with ``CONTROL_SIGNALS`` blocked in it from its first instruction.

    A new thread inherits its creator's signal mask, so the creator blocks them for the
    moment of the start; a signal arriving meanwhile waits and is delivered right after.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no per-thread masks to keep
        thread.start()
        return thread
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, CONTROL_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
