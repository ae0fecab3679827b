"""django-jobtastic: user-facing Celery jobs with progress, caching and herd avoidance."""

from __future__ import annotations

from django_jobtastic.exceptions import JobNotQueuedError, UserFacingError
from django_jobtastic.links import status_url
from django_jobtastic.task import JobtasticTask

__all__ = ["JobNotQueuedError", "JobtasticTask", "UserFacingError", "status_url"]
__version__ = "0.1.0.dev0"
