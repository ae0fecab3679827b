"""Times as the database keeps them, whatever ``USE_TZ`` says, and how long rows stay valid."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone

from django_jobtastic.conf import conf


def now() -> datetime:
    """The current time, aware (UTC)."""
    return datetime.now(dt_timezone.utc)


def oldest_valid() -> datetime:
    """The oldest moment a row may be from and still count: a status URL's lifetime ago."""
    return now() - timedelta(seconds=conf.TOKEN_MAX_AGE)


def db_time(value: datetime) -> datetime:
    """An aware datetime as the database takes it: naive local time with ``USE_TZ = False``."""
    return value if settings.USE_TZ else timezone.make_naive(value)


def aware(value: datetime) -> datetime:
    """A datetime read from the database, aware whatever ``USE_TZ`` says."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value
