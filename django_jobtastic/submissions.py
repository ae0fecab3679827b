"""Who wants to hear of a submission: a hook between the task half and a web integration.

Every submission path (``delay``, ``apply_async``, the ``*_or_eager`` and ``*_or_fail``
helpers, herd and cache hits alike) announces the job the caller was given. The Flask
integration listens, so the request that submitted a job may follow it without an explicit
``grant()`` (the original's Flask view then works as written). Listeners must be cheap and
never raise: they run inside the caller's submission.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Called with ``(task_id, task_name)`` after each submission.
Listener = Callable[[str, str], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call ``listener`` after every submission in this process (once, however often asked)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(task_id: str, task_name: str) -> None:
    """Tell every listener that a caller was given ``task_id``."""
    for listener in _listeners:
        try:
            listener(task_id, task_name)
        except Exception:  # a listener's failure must not fail the submission
            logger.warning("Jobtastic: a submission listener failed", exc_info=True)
