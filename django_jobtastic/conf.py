"""Every JOBTASTIC_* setting: its default, its rule, and typed access read lazily.

Read at first use and remembered until a setting changes (Django's ``setting_changed``, which
``override_settings`` and pytest-django's ``settings`` send), so ``override_settings`` takes
effect at once and a status poll does not look four settings up. A wrong value is
reported naming the setting: by the system check ``django_jobtastic.E004`` at start-up
(``manage.py check``, ``runserver``, ``migrate``...), and, where no checks run (gunicorn, a
Celery worker ignores their outcome), as ``ImproperlyConfigured`` with the same text when it
is read, never as a ``ValueError`` from deep inside a request or a job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

PREFIX = "JOBTASTIC_"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too big for a float
        return False


@dataclass(frozen=True)
class Setting:
    """One setting: its default and what a valid value is (in words, for the error)."""

    default: Any
    expected: str
    valid: Callable[[Any], bool]


#: name (without the prefix) -> its rule. The documented defaults live here only.
SETTINGS: dict[str, Setting] = {
    "CACHE": Setting(
        "default", "the alias of a cache in CACHES", lambda v: isinstance(v, str) and v != ""
    ),
    "PROGRESS_INTERVAL": Setting(
        0.5, "a number of seconds, 0 or more", lambda v: _is_number(v) and v >= 0
    ),
    "POLL_INTERVAL": Setting(1.0, "a number of seconds above 0", lambda v: _is_number(v) and v > 0),
    "PUBLISH_TIMEOUT": Setting(
        2.0, "a number of seconds above 0", lambda v: _is_number(v) and v > 0
    ),
    "TOKEN_MAX_AGE": Setting(
        86400,
        "a whole number of seconds above 0",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    ),
    "STATUS_ALLOW_RAW_IDS": Setting(False, "True or False", lambda v: isinstance(v, bool)),
    "HEARTBEAT_INTERVAL": Setting(
        10, "a number of seconds above 0", lambda v: _is_number(v) and v > 0
    ),
    "LOST_AFTER": Setting(
        60,
        "a number of seconds above JOBTASTIC_HEARTBEAT_INTERVAL",
        lambda v: _is_number(v) and v > 0 and v > _heartbeat_or_default(),
    ),
    "GRANTS_PER_OWNER": Setting(
        50,
        "a whole number above 0",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    ),
    "ESTIMATE_FROM_HISTORY": Setting(True, "True or False", lambda v: isinstance(v, bool)),
    "STATUS_REUSE_SECONDS": Setting(
        0.2,
        "a number of seconds, 0 or more (0 turns re-use off)",
        lambda v: _is_number(v) and v >= 0,
    ),
}


def _heartbeat_or_default() -> float:
    """The heartbeat interval LOST_AFTER must exceed (its default while it is itself wrong)."""
    value = _raw("HEARTBEAT_INTERVAL")
    return float(value) if _is_number(value) and value > 0 else 10.0


def _raw(name: str) -> Any:
    return getattr(settings, PREFIX + name, SETTINGS[name].default)


#: Valid values as read (name without the prefix -> value), until a setting changes. A wrong
#: value is never remembered: it raises on every read.
_read: dict[str, Any] = {}


def _value(name: str) -> Any:
    try:
        return _read[name]
    except KeyError:
        pass
    value = _raw(name)
    if not SETTINGS[name].valid(value):
        raise ImproperlyConfigured(problem(PREFIX + name, value, SETTINGS[name].expected))
    _read[name] = value
    return value


def _forget(*, setting: str, **kwargs: Any) -> None:
    """Forget every value read when one of ours changes (one's rule may name another's)."""
    if setting.startswith(PREFIX):
        _read.clear()


setting_changed.connect(_forget, dispatch_uid="django_jobtastic.conf")


def problem(full_name: str, value: Any, expected: str) -> str:
    """The message naming a setting that breaks its rule (the check's and the exception's)."""
    return f"{full_name} must be {expected}; it is {value!r}."


def invalid_settings() -> list[tuple[str, Any, str]]:
    """``(full name, value, what it should be)`` for every setting that breaks its rule."""
    return [
        (PREFIX + name, value, rule.expected)
        for name, rule in SETTINGS.items()
        if not rule.valid(value := _raw(name))
    ]


def unknown_settings() -> list[str]:
    """Names in the project's settings that start with JOBTASTIC_ but are none of ours."""
    known = {PREFIX + name for name in SETTINGS}
    return sorted(name for name in dir(settings) if name.startswith(PREFIX) and name not in known)


class JobtasticSettings:
    """Typed access to the project's settings, with the documented defaults."""

    @property
    def CACHE(self) -> str:
        """Alias of the Django cache holding herd entries and cached result ids."""
        return str(_value("CACHE"))

    @property
    def PROGRESS_INTERVAL(self) -> float:
        """Minimum seconds between two progress writes of one run."""
        return float(_value("PROGRESS_INTERVAL"))

    @property
    def POLL_INTERVAL(self) -> float:
        """Seconds between two polls of the progress widget."""
        return float(_value("POLL_INTERVAL"))

    @property
    def STATUS_REUSE_SECONDS(self) -> float:
        """Seconds one process answers further polls of a task with the status it just read."""
        return float(_value("STATUS_REUSE_SECONDS"))

    @property
    def PUBLISH_TIMEOUT(self) -> float:
        """Seconds after which the *_or_eager / *_or_fail helpers give up on the broker."""
        return float(_value("PUBLISH_TIMEOUT"))

    @property
    def TOKEN_MAX_AGE(self) -> int:
        """Seconds a signed status token, and a grant to follow a job, stay valid."""
        return int(_value("TOKEN_MAX_AGE"))

    @property
    def STATUS_ALLOW_RAW_IDS(self) -> bool:
        """Serve the django-celery style ``<task_id>/status/`` route (anyone with an id reads)."""
        return bool(_value("STATUS_ALLOW_RAW_IDS"))

    @property
    def HEARTBEAT_INTERVAL(self) -> float:
        """Seconds between two signs of life of a running job that reports nothing."""
        return float(_value("HEARTBEAT_INTERVAL"))

    @property
    def LOST_AFTER(self) -> float:
        """Seconds without a sign of life after which a running job is reported lost."""
        return float(_value("LOST_AFTER"))

    @property
    def ESTIMATE_FROM_HISTORY(self) -> bool:
        """Whether job classes keep a history of their runs and estimate from it."""
        return bool(_value("ESTIMATE_FROM_HISTORY"))

    @property
    def GRANTS_PER_OWNER(self) -> int:
        """Most recent jobs kept per owner (user or anonymous session); older grants go."""
        return int(_value("GRANTS_PER_OWNER"))


conf = JobtasticSettings()
