"""The gate's file protocol, shared by the test (``Gate``) and the worker (``after_progress``).

In ``<site var>/pace/``, for a gate whose token is ``pace-<hex>``:

- ``<token>.json``: ``{"hold_at": [c1, c2, ...]}``, written by the test before the job starts.
  Hold number *i* is the first progress write with ``completed >= c_i`` after hold *i - 1*
  was released (the initial write, before any step, counts as ``completed`` 0).
- ``<token>.held.<i>``: the meta of the write the job is held at, written by the worker.
- ``<token>.release.<i>``: written by the test; the job goes on.

Pure standard library (Celery only when a job is held): the test process imports it without
the worker's Django set-up.
"""

from __future__ import annotations

import json
import os
import re
import threading
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


# -- the worker's side ------------------------------------------------------------------------
#
# A hold starts right after a PROGRESS write (``after_progress``), but the job does not wait
# inside that write: django-jobtastic times its progress writes and spaces the next ones out
# by ten times a slow write's duration, so a job held there for seconds would write nothing
# more for ten times as long. The job waits instead at its next ``time.sleep`` (every demo job
# sleeps a little per step to stand in for work), outside any write; meanwhile any other
# PROGRESS write of the job (the throttle's pending point, written by its flush timer) is
# dropped, so the held state is what every poll reads until the release.

_holds: dict[str, Path] = {}  # task id -> the release file its job waits for
_holds_lock = threading.Lock()
_real_sleep = time.sleep


def holding(task_id: str) -> bool:
    """Whether the job of ``task_id`` is held: its PROGRESS writes are dropped meanwhile."""
    return task_id in _holds


def after_progress(
    folder: Path, task_id: str, kwargs: Mapping[str, Any] | None, meta: Mapping[str, Any]
) -> None:
    """Right after a PROGRESS write: start a hold if a gate says so."""
    # The initial write (no ``completed`` yet) counts as 0 done: ``hold_at`` 0 holds there.
    completed, total = meta.get("completed", 0), meta.get("total")
    if not kwargs or not isinstance(completed, int) or not isinstance(total, (int, type(None))):
        return
    if total is not None and completed >= total:
        return  # the job's last step: it sleeps no more, so it could not be held
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
        with _holds_lock:
            _holds[task_id] = folder / f"{token}.release.{index}"
        time.sleep = _paced_sleep  # type: ignore[assignment]  # this worker process only
        _write_atomically(folder / f"{token}.held.{index}", dict(meta))
        return


def _paced_sleep(seconds: float) -> None:
    """``time.sleep`` in a worker that held a job: that job's thread waits for its release."""
    if _holds:
        from celery import current_task

        task_id = getattr(getattr(current_task, "request", None), "id", None)
        release = _holds.get(task_id) if isinstance(task_id, str) else None
        if release is not None:
            deadline = time.monotonic() + WORKER_WAIT
            while not release.exists() and time.monotonic() < deadline:
                _real_sleep(POLL)
            with _holds_lock:
                _holds.pop(task_id, None)  # type: ignore[arg-type]
    _real_sleep(seconds)
