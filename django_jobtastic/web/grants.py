"""Grants: who may follow a job, recorded where the job is submitted.

A status URL is handed out only to a requester holding a grant for the job, so a page that
renders a widget for a task id taken from a URL shows a stranger nothing. Grants are checked
where a URL is issued, never on a poll: the signed token then carries the owner, and a poll
stays a signature check plus one backend read.

Grants are rows of the ``Grant`` table, owned by a signed-in user, so they hold in all of
the user's sessions, or by an anonymous visitor: a mark derived from the session key at the
first grant and kept in the session's data. Django keeps that data when it changes the key
at login, so the visitor's grants are found again and move to the user there
(``carry_over_at_login``). Two tabs granting at once each insert a row; nothing is lost to
two writes of one session. Each owner keeps at most ``JOBTASTIC_GRANTS_PER_OWNER`` most
recent grants, each for ``JOBTASTIC_TOKEN_MAX_AGE`` seconds; older rows are deleted as new
grants are made.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery.result import EagerResult
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from django_jobtastic.conf import conf
from django_jobtastic.unstored_results import UnstoredResult
from django_jobtastic.web.kept_outcomes import keep
from django_jobtastic.web.moments import aware, db_time, now, oldest_valid
from django_jobtastic.web.task_refs import GrantedJob, TaskOrId, task_id_of
from django_jobtastic.web.tokens import check_session_store, owner_of, token_url

if TYPE_CHECKING:
    from django_jobtastic.models import Grant

logger = logging.getLogger(__name__)

#: Session key of an anonymous visitor's mark: the owner of their grants.
VISITOR_KEY = "_jobtastic_visitor"
#: The longest task id and task name kept (the Grant table's column sizes).
MAX_TASK_ID_LENGTH = 255
MAX_TASK_NAME_LENGTH = 255


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
    user = _signed_in_user(request)
    owner = {"user": user} if user is not None else {"visitor": _visitor_mark(request)}
    _store(owner, task_id, _task_name_of(task_or_id), now())
    if isinstance(task_or_id, UnstoredResult):  # its status URL must not say PENDING for ever
        keep(task_or_id)
    return token_url(request, task_id)


def has_grant(request: HttpRequest, task_or_id: TaskOrId) -> bool:
    """Whether the requester holds a fresh grant for the job (one query, none without owner)."""
    task_id = task_id_of(task_or_id)
    owners = _owners(request)
    return owners is not None and _fresh().filter(owners, task_id=task_id).exists()


def jobs_of(request: HttpRequest) -> list[GrantedJob]:
    """The requester's granted jobs, most recent first, each with its status URL."""
    owners = _owners(request)
    if owners is None:
        # No user, no session mark: nothing granted (and no session made), unless the
        # session read as empty because its store is down: that raises, never "no jobs".
        check_session_store(request)
        return []
    rows = (
        _fresh()
        .filter(owners, cancelled_at__isnull=True)  # a job cancelled here is not followed
        .order_by("-granted_at", "-pk")
        .values_list("task_id", "task_name", "granted_at")
    )
    jobs: dict[str, GrantedJob] = {}
    for task_id, name, granted_at in rows[: 2 * conf.GRANTS_PER_OWNER]:  # user's + session's
        if task_id not in jobs:
            url = token_url(request, task_id)
            jobs[task_id] = GrantedJob(task_id, name or None, aware(granted_at), url)
    return list(jobs.values())[: conf.GRANTS_PER_OWNER]


def names_granted(request: HttpRequest, task_id: str) -> list[str]:
    """The task names of the requester's fresh grants of ``task_id`` ("" for a bare id);
    empty when it holds none."""
    owners = _owners(request)
    if owners is None:
        return []
    rows = _fresh().filter(owners, task_id=task_id).values_list("task_name", flat=True)
    return list(rows)


def withdraw(request: HttpRequest, task_id: str) -> tuple[list[int], bool]:
    """Mark the requester's fresh grants of ``task_id`` cancelled.

    Returns the grants newly marked (for ``undo_withdraw``), and whether every fresh grant
    of the job is now cancelled: then, and only then, the job itself is to be cancelled.
    Asked after marking, so two owners cancelling at once cannot both leave it running.
    """
    owners = _owners(request)
    if owners is None:
        return [], False
    mine = _fresh().filter(owners, task_id=task_id, cancelled_at__isnull=True)
    newly = list(mine.values_list("pk", flat=True))
    _fresh().filter(pk__in=newly).update(cancelled_at=db_time(now()))
    followed = _fresh().filter(task_id=task_id, cancelled_at__isnull=True).exists()
    return newly, not followed


def undo_withdraw(pks: list[int]) -> None:
    """The cancel could not be recorded: those grants follow the job again."""
    from django_jobtastic.models import Grant

    Grant.objects.filter(pk__in=pks).update(cancelled_at=None)


def carry_over_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the visitor's grants in this browser become the user's.

    A database that is down leaves them with the visitor's mark, still honoured in this
    session, and never fails the login.
    """
    session = getattr(request, "session", None)
    mark = session.get(VISITOR_KEY) if session is not None else None
    if session is None or not isinstance(mark, str):
        return
    from django_jobtastic.models import Grant

    try:
        rows = Grant.objects.filter(visitor=mark, user__isnull=True)
        fields = ("task_id", "task_name", "granted_at", "cancelled_at")
        for task_id, name, granted_at, cancelled_at in rows.values_list(*fields):
            cancelled = aware(cancelled_at) if cancelled_at is not None else None
            _store({"user": user}, task_id, name or None, aware(granted_at), cancelled)
        rows.delete()
    except DatabaseError as error:
        logger.warning("Jobtastic: grants not carried over to the user at login: %s", error)
        return
    session.pop(VISITOR_KEY, None)


def _owners(request: HttpRequest) -> Q | None:
    """Who the requester is among owners: their user, and their session's visitor mark."""
    owners = Q()
    user = _signed_in_user(request)
    if user is not None:
        owners |= Q(user=user)
    session = getattr(request, "session", None)
    mark = session.get(VISITOR_KEY) if session is not None else None
    if isinstance(mark, str) and mark:
        owners |= Q(visitor=mark, user__isnull=True)
    return owners if owners else None


def _visitor_mark(request: HttpRequest) -> str:
    """The session's visitor mark, made at its first grant (the session too, if none).

    Derived from the session key, so two requests of one new session make the same mark.
    """
    owner_of(request)  # creates the session when there is none; raises without sessions
    session = request.session
    mark = session.get(VISITOR_KEY)
    if not isinstance(mark, str) or not mark:
        key = f"django_jobtastic.visitor:{session.session_key}".encode()
        mark = hashlib.sha256(key).hexdigest()[:32]
        session[VISITOR_KEY] = mark
    return mark


def _store(
    owner: dict[str, Any],
    task_id: str,
    name: str | None,
    at: datetime,
    cancelled_at: datetime | None = None,
) -> None:
    """Insert or refresh one grant; then drop the owner's surplus and everyone's expired.

    A grant made again (the owner asked for the job again) is no longer cancelled.
    """
    from django_jobtastic.models import Grant

    cancelled = db_time(cancelled_at) if cancelled_at is not None else None
    defaults: dict[str, Any] = {"granted_at": db_time(at), "cancelled_at": cancelled}
    if name:
        defaults["task_name"] = name
    # An UPDATE, then an INSERT if there was nothing to update: never a read and then a
    # write in one transaction, which SQLite (before Django 5.1's IMMEDIATE transactions)
    # refuses at once with "database is locked" while another connection writes.
    mine = Grant.objects.filter(**owner, task_id=task_id)
    if not mine.update(**defaults):
        try:
            with transaction.atomic():
                Grant.objects.create(**owner, task_id=task_id, **defaults)
        except IntegrityError:  # a concurrent grant of the same job inserted it first
            mine.update(**defaults)
    kept = (
        _fresh()
        .filter(**owner)
        .order_by("-granted_at", "-pk")
        .values_list("pk", flat=True)[: conf.GRANTS_PER_OWNER]
    )
    Grant.objects.filter(**owner).exclude(pk__in=list(kept)).delete()
    Grant.objects.filter(granted_at__lt=db_time(oldest_valid())).delete()


def _fresh() -> QuerySet[Grant]:
    """Grants younger than ``JOBTASTIC_TOKEN_MAX_AGE``."""
    from django_jobtastic.models import Grant

    return Grant.objects.filter(granted_at__gte=db_time(oldest_valid()))


def _task_name_of(task_or_id: TaskOrId) -> str | None:
    """The registered task name a submission's result carries, without any I/O."""
    name = getattr(task_or_id, "task_name", None)  # set on the results jobtastic returns
    if name is None and isinstance(task_or_id, EagerResult):
        name = task_or_id.name
    return name[:MAX_TASK_NAME_LENGTH] if isinstance(name, str) and name else None


def _signed_in_user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
