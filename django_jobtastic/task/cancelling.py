"""A cancellable job's side of cancelling: reading its cancel mark, and ending the run.

The web side marks a job cancelled (``django_jobtastic.cancel_marks``) once all its owners
have cancelled it. A queued job reads the mark before it starts, a running one before each
progress write it makes; either way the run itself stores REVOKED, frees its herd entry and
ends with Celery's ``Ignore``, so no other writer races its progress writes, and nothing is
recorded as a failure. Jobs that are not cancellable never read a mark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from celery.exceptions import Ignore

from django_jobtastic import cancel_marks
from django_jobtastic.conf import conf

if TYPE_CHECKING:  # coordination asks ``cancel_marked`` too
    from django_jobtastic.task.coordination import CoordinatedTask
    from django_jobtastic.task.progress import CancelReader

logger = logging.getLogger(__name__)

#: Set on a run's request when its task id was cancelled while it was queued.
CANCEL_FLAG = "jobtastic_cancelled"
#: The reason stored with REVOKED (the status JSON says "The job was cancelled." anyway).
REASON = "cancelled by its owners"


def cancel_marked(task: CoordinatedTask, task_id: str) -> bool:
    """Whether ``task_id`` is marked cancelled; False, with a WARNING, if the cache is down."""
    try:
        return cancel_marks.is_marked(task.cache_alias or conf.CACHE, task_id)
    except Exception as error:  # any cache's failure: the job runs on, as if not cancelled
        logger.warning(
            "Jobtastic: cannot read the cancel mark of %s[%s]: %s", task.name, task_id, error
        )
        return False


def cancel_reader(task: CoordinatedTask, task_id: str) -> CancelReader:
    """``cancel_marked`` for one run's progress writes, warning once if the cache is down."""
    alias = task.cache_alias or conf.CACHE
    warned = False

    def cancel_requested() -> bool:
        nonlocal warned
        try:
            return cancel_marks.is_marked(alias, task_id)
        except Exception as error:
            if not warned:
                warned = True
                logger.warning(
                    "Jobtastic: cannot read the cancel mark of %s[%s]: %s",
                    task.name,
                    task_id,
                    error,
                )
            return False

    return cancel_requested


def end_cancelled(
    task: CoordinatedTask, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> NoReturn:
    """Store REVOKED for the current run, free its herd entry and end it with ``Ignore``."""
    request = task.request
    task_id = str(request.id)
    logger.info("Jobtastic: %s[%s] was cancelled by its owners", task.name, task_id)
    try:
        task.backend.mark_as_revoked(task_id, REASON, request=request)
    except Exception:
        logger.warning("Jobtastic: REVOKED of %s[%s] not stored", task.name, task_id, exc_info=True)
    task._release_for(args, kwargs, task_id)  # an identical call starts afresh
    raise Ignore()
