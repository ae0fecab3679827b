"""The gate's file protocol, shared by the test (``Gate``) and the worker (``after_progress``).

In ``<site var>/pace/``, for a gate whose token is ``pace-<hex>``:

- ``<token>.json``: ``{"hold_at": [c1, c2, ...]}``, written by the test before the job starts.
  Hold number *i* is the first progress write with ``completed >= c_i`` after hold *i - 1*
  was released.
- ``<token>.held.<i>``: the meta of the write the job waits after, written by the worker.
- ``<token>.release.<i>``: written by the test; the job goes on.

Pure standard library: the test process imports it without the worker's Django set-up.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"pace-[0-9a-f]{12}")
#: A job nobody releases goes on after this long (seconds): a failed test must not wedge the
#: site's worker for the tests after it.
WORKER_WAIT = 120.0
POLL = 0.02  # seconds between two looks at the folder


def _write_atomically(path: Path, data: object) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(data))
    partial.replace(path)


class Gate:
    """The test's side: open a gate, wait until the job is held at a hold, release it."""

    def __init__(self, folder: Path, hold_at: Sequence[int]) -> None:
        if list(hold_at) != sorted(hold_at) or not hold_at:
            raise ValueError(f"hold_at must be increasing step counts: {hold_at!r}")
        self.folder = folder
        self.hold_at = list(hold_at)
        self.token = f"pace-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(folder / f"{self.token}.json", {"hold_at": self.hold_at})

    def held(self, index: int, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the job waits at hold ``index``; the progress meta it wrote there."""
        path = self.folder / f"{self.token}.held.{index}"
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"the job never reached hold {index} of {self.token}")
            time.sleep(POLL)
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    def release(self, index: int) -> None:
        (self.folder / f"{self.token}.release.{index}").touch()

    def release_all(self) -> None:
        for index in range(len(self.hold_at)):
            self.release(index)


def tokens_in(values: Iterable[object]) -> list[str]:
    return [token for value in values if isinstance(value, str) for token in TOKEN.findall(value)]


def after_progress(folder: Path, kwargs: Mapping[str, Any] | None, meta: Mapping[str, Any]) -> None:
    """The worker's side, right after a PROGRESS write: wait here if a gate says so."""
    completed = meta.get("completed")
    if not kwargs or not isinstance(completed, int):
        return
    for token in tokens_in(kwargs.values()):
        spec = folder / f"{token}.json"
        if not spec.exists():
            continue
        hold_at = json.loads(spec.read_text())["hold_at"]
        index = next(
            (i for i in range(len(hold_at)) if not (folder / f"{token}.release.{i}").exists()),
            None,
        )
        if index is None or completed < hold_at[index]:
            continue
        _write_atomically(folder / f"{token}.held.{index}", dict(meta))
        release = folder / f"{token}.release.{index}"
        deadline = time.monotonic() + WORKER_WAIT
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(POLL)
