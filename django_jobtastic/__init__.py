"""django-jobtastic: user-facing Celery jobs with progress, caching and herd avoidance."""

from __future__ import annotations

from django_jobtastic.exceptions import JobNotQueuedError, UserFacingError
from django_jobtastic.task.base import JobtasticTask
from django_jobtastic.web.grants import GrantedJob, grant, has_grant, jobs_of
from django_jobtastic.web.status_urls import status_url

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
