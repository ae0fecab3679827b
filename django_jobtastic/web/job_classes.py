"""Which registered job a grant names, and whether its owners may cancel it.

The grant's task name, written where the job was submitted, says which task a token's job
is: never the request. The web half cannot import the task classes (they are the other
half's), so it asks the Celery registry and the class's ``cancellable`` attribute.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

from django_jobtastic.job_modules import import_task_modules

logger = logging.getLogger(__name__)

_modules_imported = False


def cancellable_task(names: list[str]) -> Any:
    """The registered task among the granted ``names`` that is a cancellable job, or None.

    A grant of a bare id (no name), an unknown name or any other task is not. A name this
    process has not registered makes it import the modules a worker would, once.
    """
    global _modules_imported
    named = [name for name in names if name]
    if not _modules_imported and any(name not in current_app.tasks for name in named):
        _modules_imported = True
        try:
            import_task_modules()
        except Exception:  # a module that fails to import: its jobs stay unknown here
            logger.warning("Jobtastic: cannot import the job modules", exc_info=True)
    for name in named:
        task = current_app.tasks.get(name)
        if task is not None and getattr(task, "cancellable", False) is True:
            return task
    return None
