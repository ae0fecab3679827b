"""Outcomes the result backend could not store, kept in the database for the status URL.

With the broker and the result backend both down (one Redis for both), ``delay_or_fail``
records its FAILURE, and ``delay_or_eager`` its value, in the submitting process only (an
``UnstoredResult``). ``grant`` keeps that outcome here; a poll that finds the job unknown to
the backend (PENDING, no ``queued_at``) answers it, and stores it in the backend, so every
later reader agrees. Rows live as long as status URLs do (``JOBTASTIC_TOKEN_MAX_AGE``).

An outcome is kept before its status URL exists (``grant`` returns the URL), so a job found
without one never gets one: each process asks once per job, and remembers the answer.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any

from celery import current_app, states
from django.db import DatabaseError, IntegrityError, transaction

from django_jobtastic.conf import django_configured
from django_jobtastic.unstored_results import UnstoredResult
from django_jobtastic.web.moments import db_time, now, oldest_valid
from django_jobtastic.web.payloads import jsonable
from django_jobtastic.web.result_reading import BACKEND_DOWN, TaskState

logger = logging.getLogger(__name__)

#: How many task ids found without a kept outcome a process remembers (the newest).
REMEMBERED_WITHOUT = 10_000
_without: OrderedDict[str, None] = OrderedDict()
_without_lock = threading.Lock()


def keep(result: UnstoredResult) -> None:
    """Keep ``result``'s outcome for its status URL (and drop the expired ones)."""
    from django_jobtastic.models import KeptOutcome

    state, value = result.state, result.result
    if state == states.FAILURE and isinstance(value, Exception):
        kept = current_app.backend.prepare_exception(value, "json")
    else:
        kept = jsonable(value)
    fields = {"state": state, "result": json.dumps(kept), "kept_at": db_time(now())}
    try:
        with transaction.atomic():
            KeptOutcome.objects.update_or_create(task_id=result.id, defaults=fields)
    except IntegrityError:  # a concurrent grant of the same result kept it first
        pass
    KeptOutcome.objects.filter(kept_at__lt=db_time(oldest_valid())).delete()


def may_look_up(task_id: str, stored: TaskState) -> bool:
    """Whether ``settle_unstored`` would query the database for ``stored``."""
    if stored.state != states.PENDING or stored.info is not None or task_id in _without:
        return False
    return django_configured()  # else no database to keep outcomes in (a Flask site)


def settle_unstored(task_id: str, stored: TaskState) -> TaskState:
    """``stored``, or the kept outcome of a job the result backend knows nothing of.

    One indexed query, for PENDING without a record only (jobtastic's queued jobs have one),
    once per job and process. A database that cannot be read leaves the answer PENDING:
    asking again will tell.
    """
    if not may_look_up(task_id, stored):
        return stored
    from django_jobtastic.models import KeptOutcome

    try:
        row = KeptOutcome.objects.filter(task_id=task_id).values_list("state", "result").first()
    except DatabaseError as error:
        logger.warning("Jobtastic: kept outcomes cannot be read (%s): %s", task_id, error)
        return stored
    if row is None:
        _remember_without(task_id)
        return stored
    state, text = row
    kept = json.loads(text)
    backend = current_app.backend
    value: Any = backend.exception_to_python(kept) if state == states.FAILURE else kept
    try:
        backend.store_result(task_id, value, state)
    except BACKEND_DOWN as error:  # answered all the same; stored by a later poll
        logger.warning("Jobtastic: kept outcome of %s not stored yet: %s", task_id, error)
    else:
        KeptOutcome.objects.filter(task_id=task_id).delete()
    return TaskState(state=state, info=value, traceback=None)


def _remember_without(task_id: str) -> None:
    with _without_lock:
        _without[task_id] = None
        if len(_without) > REMEMBERED_WITHOUT:
            _without.popitem(last=False)
