"""django-jobtastic: user-facing Celery jobs with progress, caching and herd avoidance.

The public names are imported on first use (PEP 562): a project's settings module may
import ``django_jobtastic.filesystem_transport`` before Django is configured, and
importing the package must then touch no setting (a module-level translation or a Celery
import would configure Django from the half-imported settings).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from django_jobtastic.exceptions import JobNotQueuedError, UserFacingError

if TYPE_CHECKING:
    from django_jobtastic.task.base import JobtasticTask
    from django_jobtastic.web.grants import grant, has_grant, jobs_of
    from django_jobtastic.web.status_urls import status_url
    from django_jobtastic.web.task_refs import GrantedJob

#: Public name -> the module it lives in, imported when the name is first read.
_LAZY = {
    "JobtasticTask": "django_jobtastic.task.base",
    "GrantedJob": "django_jobtastic.web.task_refs",
    "grant": "django_jobtastic.web.grants",
    "has_grant": "django_jobtastic.web.grants",
    "jobs_of": "django_jobtastic.web.grants",
    "status_url": "django_jobtastic.web.status_urls",
}

__all__ = [
    "GrantedJob",
    "JobNotQueuedError",
    "JobtasticTask",
    "UserFacingError",
    "grant",
    "has_grant",
    "jobs_of",
    "status_url",
]
__version__ = "0.1.0.dev0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next read is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
