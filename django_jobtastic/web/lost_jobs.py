"""The status view's part in the lost verdict: a running job silent for too long is lost.

Checked on every read of a running job's state (a comparison of two times, no I/O); the
verdict is stored the first time, so every later reader, and an identical call, agrees.
"""

from __future__ import annotations

import logging
from time import time

from celery import current_app, states

from django_jobtastic.conf import conf
from django_jobtastic.exceptions import JobLostError
from django_jobtastic.liveness import is_lost, may_be_running, record_lost
from django_jobtastic.web.result_reading import BACKEND_DOWN, TaskState

logger = logging.getLogger(__name__)


def found_lost(
    stored: TaskState, now: float | None = None, lost_after: float | None = None
) -> bool:
    """Whether ``settle_lost`` would record the lost verdict for ``stored`` (at ``now``)."""
    if not may_be_running(stored.state):  # most polls: no clock, no setting read
        return False
    if lost_after is None:
        lost_after = conf.LOST_AFTER
    return is_lost(stored.state, stored.info, time() if now is None else now, lost_after)


def settle_lost(
    task_id: str, stored: TaskState, now: float | None = None, lost_after: float | None = None
) -> TaskState:
    """``stored``, or the lost verdict (stored now) when the job stopped proving it is alive.

    ``lost_after`` is ``JOBTASTIC_LOST_AFTER`` when the caller read it (once for many tasks).
    """
    if not found_lost(stored, now, lost_after):
        return stored
    try:
        verdict = record_lost(current_app.backend, task_id)
    except BACKEND_DOWN as error:  # answered all the same: the job is lost either way
        logger.warning("Jobtastic: lost verdict of %s not stored: %s", task_id, error)
        verdict = JobLostError(JobLostError.user_message)
    else:
        logger.warning("Jobtastic: job %s stopped proving it is alive: reported lost", task_id)
    return TaskState(state=states.FAILURE, info=verdict, traceback=None)
