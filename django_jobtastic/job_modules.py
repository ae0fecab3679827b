"""Importing the modules a worker would, so a web process knows every job class.

A view sees only the task classes some import brought in; the system checks, and the cancel
view asking whether a granted job may be cancelled, need them all. Celery's own
``import_default_modules`` would run the system checks again, recursively.
"""

from __future__ import annotations

from importlib import import_module

from celery import current_app
from django.utils.module_loading import autodiscover_modules


def import_task_modules() -> None:
    """Import ``imports``, ``include`` and each installed app's ``tasks`` module."""
    for module in (*(current_app.conf.imports or ()), *(current_app.conf.include or ())):
        import_module(module)
    autodiscover_modules("tasks")
