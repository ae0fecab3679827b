"""Waiting and process helpers shared by the tests and bench/ (no Django imports, so the
benchmarks can load them before they set Django up)."""

from __future__ import annotations

import ctypes
import signal
import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def wait_until(condition: Callable[[], object], timeout: float = 30, what: str = "") -> object:
    """Poll ``condition`` until it is truthy; the tests wait on state, never on a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def die_with_parent() -> None:
    """In the child: get SIGTERM when the test run dies, so no worker outlives it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
