"""System checks for set-ups that would silently break caching, herd avoidance or status."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from django_jobtastic.conf import (
    PREFIX,
    SETTINGS,
    conf,
    invalid_settings,
    problem,
    unknown_settings,
)
from django_jobtastic.job_modules import import_task_modules

#: Backends whose entries one process cannot see from another.
PROCESS_LOCAL_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)
#: Shared, but ``add`` is not atomic: herd avoidance can let duplicates through.
NON_ATOMIC_ADD_CACHES = frozenset({"django.core.cache.backends.filebased.FileBasedCache"})
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"
SHARED_CACHES_HINT = "Use Redis or Memcached (or the database cache)."
#: Results only the calling process can read.
CALLER_ONLY_RESULT_BACKENDS = frozenset({"rpc", "amqp"})
PICKLE_CONTENT = frozenset({"pickle", "application/x-python-serialize"})


def database_cache_adds_atomically(database: Mapping[str, Any]) -> bool:
    """Whether the database cache's add() is atomic on ``database`` (a DATABASES entry):
    always, except on SQLite without IMMEDIATE transactions, where two callers may both
    read "missing" and both insert."""
    if "sqlite3" not in str(database.get("ENGINE", "")):
        return True
    options: Mapping[str, Any] = database.get("OPTIONS") or {}
    return str(options.get("transaction_mode", "")).upper() == "IMMEDIATE"


def _aliases_in_use() -> dict[str, list[str]]:
    """Cache alias -> names of the tasks that share results or running jobs through it."""
    import_task_modules()
    from django_jobtastic.task.base import JobtasticTask

    used: dict[str, list[str]] = {}
    for task in current_app.tasks.values():
        if isinstance(task, JobtasticTask) and task.coordinated:
            used.setdefault(task.cache_alias or conf.CACHE, []).append(task.name)
    return used


def check_cache(**kwargs: Any) -> list[CheckMessage]:
    if not SETTINGS["CACHE"].valid(getattr(settings, PREFIX + "CACHE", "default")):
        return []  # not an alias at all: E004 says so
    messages: list[CheckMessage] = []
    caches = getattr(settings, "CACHES", {})
    if conf.CACHE not in caches:
        messages.append(
            Error(
                f"JOBTASTIC_CACHE names the cache alias {conf.CACHE!r}, which is not in CACHES.",
                hint=f"Add it to CACHES or use one of: {', '.join(sorted(caches))}.",
                id="django_jobtastic.E001",
            )
        )
    for alias, task_names in sorted(_aliases_in_use().items()):
        names = ", ".join(sorted(task_names))
        backend = caches.get(alias, {}).get("BACKEND", "")
        kind = backend.rsplit(".", 1)[-1]
        if alias not in caches and alias != conf.CACHE:
            messages.append(
                Error(
                    f"{names} use the cache alias {alias!r}, which is not in CACHES.",
                    hint=f"Add it to CACHES or set cache_alias to one of: "
                    f"{', '.join(sorted(caches))}.",
                    id="django_jobtastic.E001",
                )
            )
        elif backend in PROCESS_LOCAL_CACHES:
            messages.append(
                Warning(
                    f"The cache {alias!r} ({kind}) is not shared between processes, so result "
                    f"caching and herd avoidance of {names} cannot work across web and "
                    "worker processes.",
                    hint=SHARED_CACHES_HINT,
                    id="django_jobtastic.W001",
                )
            )
        elif backend in NON_ATOMIC_ADD_CACHES or (
            backend == DATABASE_CACHE
            and not database_cache_adds_atomically(settings.DATABASES.get("default", {}))
        ):
            messages.append(
                Warning(
                    f"The cache {alias!r} ({kind}) implements add() as a read then a write "
                    "(for the database cache: on SQLite without "
                    "OPTIONS['transaction_mode'] = 'IMMEDIATE', Django 5.1+), so identical "
                    f"calls of {names} arriving together may each start a run.",
                    hint=SHARED_CACHES_HINT,
                    id="django_jobtastic.W003",
                )
            )
    return messages


def check_result_backend(**kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    app_conf = current_app.conf
    backend = app_conf.result_backend
    scheme = str(backend).split(":", 1)[0]
    if scheme in CALLER_ONLY_RESULT_BACKENDS:
        messages.append(
            Error(
                f"The Celery result backend {scheme!r} sends results to the calling process "
                "only: other processes (the status view, identical calls) never see a job's "
                "progress or outcome.",
                hint="Use 'django-db' (django-celery-results) or 'redis://...'.",
                id="django_jobtastic.E003",
            )
        )
    if not backend or scheme == "disabled":
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


def _raw_ids_allowed() -> bool:
    """Whether ``JOBTASTIC_STATUS_ALLOW_RAW_IDS`` is on (False while invalid: E004 says so)."""
    rule = SETTINGS["STATUS_ALLOW_RAW_IDS"]
    raw = getattr(settings, PREFIX + "STATUS_ALLOW_RAW_IDS", rule.default)
    return rule.valid(raw) and conf.STATUS_ALLOW_RAW_IDS


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Every JOBTASTIC_* setting has the right type and range (E004); no unknown name (W004);
    jobs are not readable by task id alone (W005)."""
    messages: list[CheckMessage] = [
        Error(
            problem(name, value, expected),
            hint=f"Remove it to use the default, {SETTINGS[name.removeprefix(PREFIX)].default!r}.",
            id="django_jobtastic.E004",
        )
        for name, value, expected in invalid_settings()
    ]
    for name in unknown_settings():
        close = difflib.get_close_matches(name, [PREFIX + known for known in SETTINGS], n=1)
        messages.append(
            Warning(
                f"{name} is not a django-jobtastic setting, so it has no effect.",
                hint=f"Did you mean {close[0]}?" if close else "See the settings reference.",
                id="django_jobtastic.W004",
            )
        )
    if _raw_ids_allowed():
        messages.append(
            Warning(
                "JOBTASTIC_STATUS_ALLOW_RAW_IDS is on: anyone who knows (or guesses) a task id "
                "reads its job through jobtastic:task_status.",
                hint="Turn it off and follow jobs with status tokens: status_url() after grant().",
                id="django_jobtastic.W005",
            )
        )
    return messages
