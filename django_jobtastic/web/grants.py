"""Grants: who may follow a job, recorded where the job is submitted.

A status URL is handed out only to a requester holding a grant for the job, so a page that
renders a widget for a task id taken from a URL shows a stranger nothing. Grants are checked
where a URL is issued, never on a poll: the signed token then carries the owner, and a poll
stays a signature check plus one backend read.

Where grants live:

- an anonymous visitor's in their session (``SESSION_KEY``), so they last as long as the
  session, in every tab, across restarts of every web process;
- a signed-in user's in the ``Grant`` table, so they hold in all of the user's sessions.
  At login the anonymous session's grants move to the user (``carry_over_at_login``).

Each owner keeps at most ``JOBTASTIC_GRANTS_PER_OWNER`` most recent grants, each for
``JOBTASTIC_TOKEN_MAX_AGE`` seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import TYPE_CHECKING, Any

from celery.result import EagerResult
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from django_jobtastic.conf import conf
from django_jobtastic.web.task_refs import TaskOrId, task_id_of
from django_jobtastic.web.tokens import owner_of, token_url

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

logger = logging.getLogger(__name__)

#: Session key of an anonymous visitor's grants: ``[[task_id, task_name, epoch], ...]``,
#: most recent first. Compact, because some session backends live in a cookie.
SESSION_KEY = "_jobtastic_grants"
#: The longest task id and task name kept (the Grant table's column sizes).
MAX_TASK_ID_LENGTH = 255
MAX_TASK_NAME_LENGTH = 255


@dataclass(frozen=True)
class GrantedJob:
    """A job the requester may follow, as ``jobs_of`` lists it."""

    task_id: str
    task_name: str | None
    granted_at: datetime
    status_url: str


@dataclass(frozen=True)
class _Entry:
    task_id: str
    task_name: str | None
    granted_at: datetime


def grant(request: HttpRequest, task_or_id: TaskOrId) -> str:
    """Record the requester as an owner of the job and return its status URL.

    Call it in the view that submits, with what ``delay()`` (or any of its siblings)
    returned: a new job, a running identical job the call latched onto, or one answered
    from the cache alike, since the requester asked for that job. The owner is the
    signed-in user, else the session (created when there is none).
    """
    task_id = task_id_of(task_or_id)
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise ValueError(
            f"a task id of {len(task_id)} characters cannot be granted: at most "
            f"{MAX_TASK_ID_LENGTH} (Celery's are 36)"
        )
    entry = _Entry(task_id, _task_name_of(task_or_id), _now())
    user = _signed_in_user(request)
    if user is not None:
        _store_for_user(user, [entry])
    else:
        owner_of(request)  # creates the session when there is none
        _store_in_session(request.session, [entry])
    return token_url(request, task_id)


def has_grant(request: HttpRequest, task_or_id: TaskOrId) -> bool:
    """Whether the requester holds a fresh grant for the job (one query for a user)."""
    task_id = task_id_of(task_or_id)
    if any(entry.task_id == task_id for entry in _session_entries(request)):
        return True
    user = _signed_in_user(request)
    if user is None:
        return False
    from django_jobtastic.models import Grant

    fresh = Grant.objects.filter(user=user, task_id=task_id, granted_at__gte=_db_time(_oldest()))
    return fresh.exists()


def jobs_of(request: HttpRequest) -> list[GrantedJob]:
    """The requester's granted jobs, most recent first, each with its status URL."""
    entries = _session_entries(request)
    user = _signed_in_user(request)
    if user is not None:
        entries = _merge(_user_entries(user), entries)
    return [
        GrantedJob(
            entry.task_id, entry.task_name, entry.granted_at, token_url(request, entry.task_id)
        )
        for entry in entries
    ]


def carry_over_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the anonymous session's grants become the user's.

    Django keeps the session's data when it cycles the key at login, so the grants are still
    there. A database that is down keeps them in the session (still honoured) for the next
    login, and never fails the login.
    """
    session = getattr(request, "session", None)
    entries = _entries_in(session)
    if session is None or not entries:
        return
    try:
        _store_for_user(user, entries)
    except DatabaseError as error:
        logger.warning("Jobtastic: grants not carried over to the user at login: %s", error)
        return
    session.pop(SESSION_KEY, None)


def _task_name_of(task_or_id: TaskOrId) -> str | None:
    """The registered task name a submission's result carries, without any I/O."""
    name = getattr(task_or_id, "task_name", None)  # set on the results jobtastic returns
    if name is None and isinstance(task_or_id, EagerResult):
        name = task_or_id.name
    return name[:MAX_TASK_NAME_LENGTH] if isinstance(name, str) and name else None


def _signed_in_user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _now() -> datetime:
    return datetime.now(dt_timezone.utc)


def _oldest() -> datetime:
    return _now() - timedelta(seconds=conf.TOKEN_MAX_AGE)


def _merge(*lists: list[_Entry]) -> list[_Entry]:
    """Entries of several stores as one list: most recent first, each task once, bounded."""
    newest: dict[str, _Entry] = {}
    for entry in sorted((e for entries in lists for e in entries), key=_recency, reverse=True):
        newest.setdefault(entry.task_id, entry)
    return list(newest.values())[: conf.GRANTS_PER_OWNER]


def _recency(entry: _Entry) -> datetime:
    return entry.granted_at


# -- anonymous visitors: the session ---------------------------------------------------------


def _session_entries(request: HttpRequest) -> list[_Entry]:
    """The request's session's fresh grants; none (and no session made) without a session."""
    return _entries_in(getattr(request, "session", None))


def _entries_in(session: SessionBase | None) -> list[_Entry]:
    """A session's fresh grants, most recent first."""
    if session is None:
        return []
    oldest = _oldest()
    entries = []
    stored = session.get(SESSION_KEY)
    for item in stored if isinstance(stored, list) else ():
        entry = _entry_from_session(item)
        if entry is not None and entry.granted_at >= oldest:
            entries.append(entry)
    return entries


def _entry_from_session(item: Any) -> _Entry | None:
    try:
        task_id, task_name, epoch = item
        granted_at = datetime.fromtimestamp(float(epoch), tz=dt_timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None  # written by something else: ignored, not trusted
    if not isinstance(task_id, str) or not isinstance(task_name, (str, type(None))):
        return None
    return _Entry(task_id, task_name, granted_at)


def _store_in_session(session: SessionBase, new: list[_Entry]) -> None:
    entries = _merge(new, _entries_in(session))
    session[SESSION_KEY] = [[e.task_id, e.task_name, e.granted_at.timestamp()] for e in entries]


# -- signed-in users: the Grant table -------------------------------------------------------


def _user_entries(user: Any) -> list[_Entry]:
    from django_jobtastic.models import Grant

    rows = (
        Grant.objects.filter(user=user, granted_at__gte=_db_time(_oldest()))
        .order_by("-granted_at", "-pk")
        .values_list("task_id", "task_name", "granted_at")[: conf.GRANTS_PER_OWNER]
    )
    return [_Entry(task_id, name or None, _aware(at)) for task_id, name, at in rows]


def _store_for_user(user: Any, entries: list[_Entry]) -> None:
    """Insert or refresh each grant, then drop the user's grants beyond the bound or age."""
    from django_jobtastic.models import Grant

    for entry in entries:
        defaults: dict[str, Any] = {"granted_at": _db_time(entry.granted_at)}
        if entry.task_name:
            defaults["task_name"] = entry.task_name
        try:
            with transaction.atomic():
                Grant.objects.update_or_create(user=user, task_id=entry.task_id, defaults=defaults)
        except IntegrityError:  # a concurrent grant of the same job inserted it first
            Grant.objects.filter(user=user, task_id=entry.task_id).update(**defaults)
    kept = (
        Grant.objects.filter(user=user, granted_at__gte=_db_time(_oldest()))
        .order_by("-granted_at", "-pk")
        .values_list("pk", flat=True)[: conf.GRANTS_PER_OWNER]
    )
    Grant.objects.filter(user=user).exclude(pk__in=list(kept)).delete()


def _db_time(value: datetime) -> datetime:
    """An aware datetime as the database takes it: naive local time with ``USE_TZ = False``."""
    return value if settings.USE_TZ else timezone.make_naive(value)


def _aware(value: datetime) -> datetime:
    """A datetime read from the database, aware whatever ``USE_TZ`` says."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value
