"""Every JOBTASTIC_* setting: its default, its rule, and typed access read lazily.

Read at first use and remembered until a setting changes (Django's ``setting_changed``, which
``override_settings`` and pytest-django's ``settings`` send), so ``override_settings`` takes
effect at once and a status poll does not look four settings up. A wrong value is
reported naming the setting: by the system check ``django_jobtastic.E004`` at start-up
(``manage.py check``, ``runserver``, ``migrate``...), and, where no checks run (gunicorn, a
Celery worker ignores their outcome), as ``ImproperlyConfigured`` with the same text when it
is read, never as a ``ValueError`` from deep inside a request or a job.

Where Django settings are not configured (a Flask site, a plain Celery worker), the same
settings come from the current Celery app's configuration under lower-case names
(``jobtastic_progress_interval``...), and ``jobtastic_cache`` is a cache URL
(``redis://...``) instead of an alias: this module is the one seam between the two.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import ENVIRONMENT_VARIABLE, settings
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


#: Where the cache setting names a URL instead of a Django alias (no Django settings).
CACHE_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def _is_cache_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(CACHE_URL_SCHEMES)


#: The cache rule without Django settings: a URL, or unset (herd avoidance and result
#: caching then need one, and say so when a task uses them).
_CELERY_CACHE = Setting(
    None, "a cache URL such as 'redis://127.0.0.1:6379/0'", lambda v: v is None or _is_cache_url(v)
)


def django_configured() -> bool:
    """Whether this process reads Django settings (else the Celery app's configuration):
    configured already, or named by ``DJANGO_SETTINGS_MODULE`` and loaded at first use."""
    return bool(settings.configured or os.environ.get(ENVIRONMENT_VARIABLE))


def celery_name(name: str) -> str:
    """The Celery configuration key of a setting: ``CACHE`` -> ``jobtastic_cache``."""
    return (PREFIX + name).lower()


def _rule(name: str) -> Setting:
    if name == "CACHE" and not django_configured():
        return _CELERY_CACHE
    return SETTINGS[name]


def _full_name(name: str) -> str:
    return PREFIX + name if django_configured() else celery_name(name)


def _raw(name: str) -> Any:
    if django_configured():
        return getattr(settings, PREFIX + name, SETTINGS[name].default)
    return current_app.conf.get(celery_name(name), _rule(name).default)


#: Valid values as read (name without the prefix -> value), until a setting changes, and
#: the source they were read from (Django's settings, or one Celery app). A wrong value is
#: never remembered: it raises on every read.
_read: dict[str, Any] = {}
_read_from: list[Any] = [None]


def _source() -> Any:
    return settings if django_configured() else current_app._get_current_object()  # type: ignore[attr-defined]


def _value(name: str) -> Any:
    source = _source()
    if _read_from[0] is not source:
        _read.clear()
        _read_from[0] = source
    try:
        return _read[name]
    except KeyError:
        pass
    value = _raw(name)
    rule = _rule(name)
    if not rule.valid(value):
        raise ImproperlyConfigured(problem(_full_name(name), value, rule.expected))
    _read[name] = value
    return value


def forget() -> None:
    """Read every setting again at its next use (a Celery app's configuration changed)."""
    _read.clear()


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
        """The cache holding herd entries and cached result ids: a Django cache alias, or,
        without Django settings, a cache URL ("" when ``jobtastic_cache`` is not set)."""
        return str(_value("CACHE") or "")

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
