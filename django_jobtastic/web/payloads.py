"""The status payload of one task, as the status view serves it: pure, no I/O.

The body keeps django-celery's ``task.id/status/result`` keys, so clients written for its
``task_status`` view keep working, and adds ``ready``, ``successful``, ``progress`` and
``error``. What an exception says reaches the user only when it is a ``UserFacingError``
(or under ``DEBUG``): internals never leak to a browser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from time import time
from typing import Any

from celery import states
from django.core.serializers.json import DjangoJSONEncoder

from django_jobtastic.exceptions import JobLostError, JobNotQueuedError, UserFacingError
from django_jobtastic.liveness import epoch_of
from django_jobtastic.texts import gettext, gettext_noop

#: Shown for failures whose message is not meant for users (outside DEBUG).
GENERIC_FAILURE = gettext_noop("Something went wrong while running this job.")
REVOKED_MESSAGE = gettext_noop("The job was cancelled.")
#: Meta keys mapped to the ``progress`` object's keys.
PROGRESS_KEYS = {
    "percent": "progress_percent",
    "time_remaining": "time_remaining",
    "completed": "completed",
    "total": "total",
    "message": "message",
    "started_at": "started_at",
    "updated_at": "updated_at",
}
#: Not ready and carrying no meta of ours: nothing to show yet.
WAITING_STATES = frozenset({states.PENDING, states.RECEIVED, states.STARTED, states.RETRY})


class _LenientEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, with anything it cannot encode written as its string."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


#: Nodes a value may have for the quick "already plain JSON" walk; bigger ones go through C.
_QUICK_WALK_NODES = 64


def jsonable(value: Any) -> Any:
    """``value`` as JSON types (dates, Decimals, UUIDs... by DjangoJSONEncoder; the rest str).

    NaN and infinities become the strings ``"NaN"``, ``"Infinity"``: browsers reject them as
    numbers. A value JSON cannot hold at all (non-string keys, cycles) becomes its string.
    Small values that are plain JSON already (the usual progress meta) are returned as they
    are: status polls are the hot path.
    """
    if _is_small_plain_json(value):
        return value
    try:
        text = json.dumps(value, cls=_LenientEncoder)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(str(value))
    return json.loads(text, parse_constant=str)


def _is_small_plain_json(value: Any) -> bool:
    pending, budget = [value], _QUICK_WALK_NODES
    while pending:
        budget -= 1
        if budget < 0:
            return False
        item = pending.pop()
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict:
            if not all(type(key) is str for key in item):
                return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind not in (str, int, bool, type(None)):
            return False
    return True


def progress_from_meta(meta: Any, now: float) -> dict[str, Any] | None:
    """The ``progress`` object for a PROGRESS (or custom) state's already-jsonable meta.

    ``time_remaining`` is aged to ``now`` (epoch seconds): the written estimate less the time
    since it was written, never below 0; ``overdue`` says it ran out while the job runs on.
    """
    if not isinstance(meta, Mapping):
        return None
    progress = {key: meta.get(meta_key) for key, meta_key in PROGRESS_KEYS.items()}
    remaining, overdue = aged_remaining(progress["time_remaining"], progress["updated_at"], now)
    progress.update(time_remaining=remaining, overdue=overdue)
    expected = meta.get("expected_duration")
    started = epoch_of(progress["started_at"])
    if progress["completed"] is None and _seconds(expected) and expected and started is not None:
        # A run of a class whose runs report no progress: the bar moves with time against
        # the duration its history expects, short of 100 % until the job says it is done.
        share = max(0.0, now - started) / expected
        progress.update(percent=round(min(TIMED_PERCENT_CAP, 100 * share), 1), from_history=True)
    elif meta.get("from_history") is True:
        progress["from_history"] = True
    return progress


#: A bar that moves with time stops here until the job ends (percent).
TIMED_PERCENT_CAP = 99


def _seconds(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def queued_estimate(info: Any, now: float) -> tuple[float, dict[str, Any]] | None:
    """``(starts_in, progress)`` for a queued job whose class's history expects something.

    Its PENDING record holds ``queued_at`` and what the history expected then: the wait
    (``expected_wait``) and the run (``expected_run``), counted from ``queued_at``. The
    ``progress`` object has 0 %, the time left in all as of ``now`` (``overdue`` once it
    has run out) and the other keys null; ``starts_in`` is the wait left, never below 0.
    """
    if not isinstance(info, Mapping):
        return None
    queued = epoch_of(info.get("queued_at"))
    wait: Any = info.get("expected_wait")
    run: Any = info.get("expected_run")
    wait = 0.0 if wait is None else wait
    if queued is None or not (_seconds(wait) and _seconds(run)):
        return None
    waited = max(0.0, now - queued)
    left = float(wait) + float(run) - waited
    progress = {
        **dict.fromkeys(PROGRESS_KEYS),
        "percent": 0,
        "time_remaining": round(max(0.0, left), 1),
        "overdue": left < 0,
    }
    return round(max(0.0, float(wait) - waited), 1), progress


def aged_remaining(remaining: Any, updated_at: Any, now: float) -> tuple[Any, bool]:
    """``(time_remaining as of now, overdue)`` for an estimate written at ``updated_at``.

    An estimate of -1 (none yet), or one without a readable time of writing (a custom
    state's meta), is passed on as it is. A clock ahead of ours ages nothing.
    """
    if type(remaining) not in (int, float) or remaining < 0:
        return remaining, False
    written = epoch_of(updated_at)
    if written is None:
        return remaining, False
    elapsed = max(0.0, now - written)
    if elapsed > remaining:
        return 0, True
    return round(remaining - elapsed, 1), False


def error_from_exception(exception: Any, *, debug: bool) -> dict[str, str]:
    """``{"type", "message"}`` for a failed task, the message fit for the user."""
    if isinstance(exception, (JobLostError, JobNotQueuedError)):  # ours: in the reader's language
        return {"type": type(exception).__name__, "message": gettext(exception.user_message)}
    if isinstance(exception, BaseException):
        kind = type(exception).__name__
        shown = isinstance(exception, UserFacingError) or debug
        return {"type": kind, "message": str(exception) if shown else gettext(GENERIC_FAILURE)}
    return {"type": "Exception", "message": str(exception) if debug else gettext(GENERIC_FAILURE)}


def task_payload(
    task_id: str,
    state: str,
    info: Any,
    traceback: str | None,
    *,
    debug: bool,
    now: float | None = None,
) -> dict[str, Any]:
    """The ``task`` object for one task in ``state`` with Celery's ``info`` (result or meta).

    ``now`` (epoch seconds, the moment of reading by default) is what estimates are aged to.
    """
    payload: dict[str, Any] = {
        "id": task_id,
        "status": state,
        "ready": state in states.READY_STATES,
        "successful": None,
        "result": None,
        "progress": None,
        "error": None,
    }
    if state == states.SUCCESS:
        payload.update(
            successful=True,
            result=jsonable(info),
            progress={
                **dict.fromkeys(PROGRESS_KEYS),
                "percent": 100,
                "time_remaining": 0,
                "overdue": False,
            },
        )
    elif state in (states.FAILURE, states.REVOKED):
        if state == states.REVOKED:
            error = {"type": "TaskRevokedError", "message": gettext(REVOKED_MESSAGE)}
        else:
            error = error_from_exception(info, debug=debug)
        payload.update(successful=False, result=error["message"], error=error)
    elif state == states.PENDING:  # jobtastic stores when it queued the job (else unknown)
        queued_at = info.get("queued_at") if isinstance(info, Mapping) else None
        payload["queued_at"] = queued_at if isinstance(queued_at, str) else None
        estimate = queued_estimate(info, time() if now is None else now)
        if estimate is not None:
            payload["starts_in"], payload["progress"] = estimate
    elif state not in WAITING_STATES:  # PROGRESS and custom states carry their meta
        meta = jsonable(info)
        progress = progress_from_meta(meta, time() if now is None else now)
        payload.update(result=meta, progress=progress)
    if debug:
        payload["traceback"] = traceback
    return payload


def status_body(task: Mapping[str, Any], poll_interval: float) -> dict[str, Any]:
    """The whole JSON body: the task and how soon to ask again."""
    return {"task": dict(task), "poll_interval": poll_interval}
