"""The task side: defining, submitting and running a job, in web processes and workers.

Nothing here imports the web side (``django_jobtastic.web``); both read ``conf`` and
``exceptions``.
"""

from __future__ import annotations

from django_jobtastic.task.base import JobtasticTask

__all__ = ["JobtasticTask"]
