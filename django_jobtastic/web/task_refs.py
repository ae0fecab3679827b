"""What the web half accepts as "a job" (a task id, or a result object carrying one), and
what it lists as one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias


class HasTaskId(Protocol):
    """An ``AsyncResult``, ``EagerResult`` or anything else with the task's ``id``."""

    @property
    def id(self) -> str: ...


TaskOrId: TypeAlias = "str | HasTaskId"


def task_id_of(task_or_id: TaskOrId) -> str:
    """The task id of a result object or of an id string; TypeError for anything else."""
    task_id = task_or_id if isinstance(task_or_id, str) else getattr(task_or_id, "id", None)
    if not isinstance(task_id, str) or not task_id:
        raise TypeError(
            f"expected a task id or an AsyncResult, got {type(task_or_id).__name__}: "
            f"{task_or_id!r:.80}"
        )
    return task_id


@dataclass(frozen=True)
class GrantedJob:
    """A job the requester may follow, as "my jobs" lists it (Django's ``jobs_of`` and
    Flask's ``Jobtastic.jobs()`` alike)."""

    task_id: str
    task_name: str | None
    granted_at: datetime
    status_url: str
