"""Telling a running job from a lost one, for both halves: the worker and the status view.

A running job writes its progress meta with ``alive_at`` (every write, and a heartbeat at
least every ``JOBTASTIC_HEARTBEAT_INTERVAL`` while it reports nothing). A job whose last
proof of life is older than ``JOBTASTIC_LOST_AFTER`` was killed outright (SIGKILL, the
out-of-memory killer, a machine gone), where Celery itself records nothing: whoever notices
first stores the verdict, a ``JobLostError`` FAILURE, so every reader agrees, and an
identical call no longer latches onto it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from celery import states

from django_jobtastic.exceptions import JobLostError

#: States of a job that is not running, so cannot be lost (every other state, custom ones
#: included, may be a running job's).
_NOT_RUNNING = frozenset(states.READY_STATES | {states.PENDING, states.RECEIVED, states.RETRY})


def epoch_of(iso: Any) -> float | None:
    """Epoch seconds of an ISO-8601 time with a zone (``Z`` too, on Python 3.10), or None."""
    if not isinstance(iso, str):
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00", 1))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def last_sign_of_life(meta: Any) -> float | None:
    """When the job last proved it was alive (epoch seconds), if its meta says."""
    if not isinstance(meta, Mapping):
        return None
    return epoch_of(meta.get("alive_at")) or epoch_of(meta.get("updated_at"))


def may_be_running(state: str) -> bool:
    """Whether a job in ``state`` may be running (and so may be lost)."""
    return state not in _NOT_RUNNING


def is_lost(state: str, meta: Any, now: float, lost_after: float) -> bool:
    """Whether a job in ``state`` with ``meta`` has been silent for over ``lost_after`` s.

    Only a running job of ours can be lost: a meta without a time of writing (another
    task's custom state, a version before heartbeats) never is.
    """
    if not may_be_running(state):
        return False
    alive = last_sign_of_life(meta)
    return alive is not None and now - alive > lost_after


def record_lost(backend: Any, task_id: str) -> JobLostError:
    """Store the verdict for ``task_id`` and return it."""
    verdict = JobLostError(JobLostError.user_message)
    backend.store_result(task_id, verdict, states.FAILURE)
    return verdict


def is_lost_verdict(state: Any, info: Any) -> bool:
    """Whether a stored state is the lost verdict (a redelivered message then stays put)."""
    return state == states.FAILURE and isinstance(info, JobLostError)
