"""System checks for set-ups that would silently break caching, herd avoidance or status."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import autodiscover_modules

from django_jobtastic.conf import conf

#: Backends whose entries one process cannot see from another.
PROCESS_LOCAL_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)
PICKLE_CONTENT = frozenset({"pickle", "application/x-python-serialize"})


def _import_task_modules() -> None:
    """Import the modules a worker would (``imports``, ``include``, each app's ``tasks``),
    so the checks see every task class, not only those some view happened to import.

    (Celery's own ``import_default_modules`` would run the system checks again, recursively.)
    """
    for module in (*(current_app.conf.imports or ()), *(current_app.conf.include or ())):
        import_module(module)
    autodiscover_modules("tasks")


def _aliases_in_use() -> dict[str, list[str]]:
    """Cache alias -> names of the tasks that share results or running jobs through it."""
    _import_task_modules()
    from django_jobtastic.task import JobtasticTask

    used: dict[str, list[str]] = {}
    for task in current_app.tasks.values():
        if isinstance(task, JobtasticTask) and task.coordinated:
            used.setdefault(task.cache_alias or conf.CACHE, []).append(task.name)
    return used


def check_cache(**kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    caches = getattr(settings, "CACHES", {})
    if conf.CACHE not in caches:
        messages.append(
            Error(
                f"JOBTASTIC_CACHE names the cache alias {conf.CACHE!r}, which is not in CACHES.",
                hint="Add it to CACHES or set JOBTASTIC_CACHE to one of: "
                + ", ".join(sorted(caches)),
                id="django_jobtastic.E001",
            )
        )
    for alias, task_names in sorted(_aliases_in_use().items()):
        backend = caches.get(alias, {}).get("BACKEND", "")
        if backend in PROCESS_LOCAL_CACHES:
            messages.append(
                Warning(
                    f"The cache {alias!r} ({backend.rsplit('.', 1)[-1]}) is not shared between "
                    f"processes, so result caching and herd avoidance of "
                    f"{', '.join(sorted(task_names))} cannot work across web and worker "
                    "processes.",
                    hint="Use Redis, Memcached, the database or the file-based cache.",
                    id="django_jobtastic.W001",
                )
            )
    return messages


def check_result_backend(**kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    app_conf = current_app.conf
    backend = app_conf.result_backend
    if not backend or str(backend).split(":", 1)[0] == "disabled":
        messages.append(
            Error(
                "The Celery app has no result backend, so progress and results of jobs "
                "cannot be read.",
                hint="Set CELERY_RESULT_BACKEND, e.g. 'django-db' (django-celery-results) "
                "or 'redis://...'.",
                id="django_jobtastic.E002",
            )
        )
    accepted = set(app_conf.result_accept_content or app_conf.accept_content or ())
    if app_conf.result_serializer in PICKLE_CONTENT or accepted & PICKLE_CONTENT:
        messages.append(
            Warning(
                "The result backend accepts pickle: whoever can write to it can run code in "
                "every process that reads a job's status.",
                hint="Use the json result serializer and leave pickle out of "
                "CELERY_RESULT_ACCEPT_CONTENT / CELERY_ACCEPT_CONTENT.",
                id="django_jobtastic.W002",
            )
        )
    return messages
