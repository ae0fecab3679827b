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


def settle_lost(task_id: str, stored: TaskState, now: float | None = None) -> TaskState:
    """``stored``, or the lost verdict (stored now) when the job stopped proving it is alive."""
    if not may_be_running(stored.state):  # most polls: no clock, no setting read
        return stored
    if not is_lost(stored.state, stored.info, time() if now is None else now, conf.LOST_AFTER):
        return stored
    try:
        verdict = record_lost(current_app.backend, task_id)
    except BACKEND_DOWN as error:  # answered all the same: the job is lost either way
        logger.warning("Jobtastic: lost verdict of %s not stored: %s", task_id, error)
        verdict = JobLostError(JobLostError.user_message)
    else:
        logger.warning("Jobtastic: job %s stopped proving it is alive: reported lost", task_id)
    return TaskState(state=states.FAILURE, info=verdict, traceback=None)
