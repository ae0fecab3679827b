"""Grants of a Flask site, kept in the jobtastic cache (there is no database to keep them in).

One entry per owner (``jobtastic:grants:<owner>``) holds their most recent grants as a JSON
list of ``[task_id, task_name, granted_at]``, newest first, at most
``jobtastic_grants_per_owner`` of them, each valid ``jobtastic_token_max_age`` seconds. The
entry is rewritten with compare-and-swap, so two tabs granting at once both land. Per job,
``jobtastic:followers:<task id>`` records which owners still follow it: a job several owners
share is cancelled only once all of them have cancelled it. A cache
that forgets entries (evictions, a restart without persistence) forgets grants: the widget
then says the job cannot be shown, never shows a stranger anything.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from django_jobtastic.conf import conf
from django_jobtastic.job_cache import open_cache

KEY_PREFIX = "jobtastic:grants:"
#: Per job: its owners, each still following it (true) or having cancelled (false).
FOLLOWERS_PREFIX = "jobtastic:followers:"
#: Rewrites tried before a grant gives up on an entry that keeps changing under it: each
#: round of contenders lets one through, so this covers dozens of simultaneous grants.
ATTEMPTS = 100
#: Longest pause (seconds) before trying again, drawn at random so contenders spread out.
BACKOFF = 0.002
MAX_TASK_ID_LENGTH = 255


@dataclass(frozen=True)
class Granted:
    """One grant as stored: the job, its registered name if known, when (epoch seconds)."""

    task_id: str
    task_name: str | None
    granted_at: float

    @property
    def granted_at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.granted_at, tz=timezone.utc)


def _decode(raw: object) -> list[Granted]:
    if not isinstance(raw, str):
        return []
    try:
        rows = json.loads(raw)
    except ValueError:
        return []
    found = []
    for row in rows if isinstance(rows, list) else ():
        if (
            isinstance(row, list)
            and len(row) == 3
            and isinstance(row[0], str)
            and (row[1] is None or isinstance(row[1], str))
            and isinstance(row[2], (int, float))
        ):
            found.append(Granted(row[0], row[1], float(row[2])))
    return found


def _fresh(grants: list[Granted], now: float) -> list[Granted]:
    max_age = conf.TOKEN_MAX_AGE
    return [grant for grant in grants if now - grant.granted_at <= max_age]


def granted(owner: str) -> list[Granted]:
    """The owner's fresh grants, newest first (raises if the cache is down)."""
    return _fresh(_decode(open_cache().get(KEY_PREFIX + owner)), time.time())


def _update(key: str, change: Callable[[str | None], str], lifetime: int) -> None:
    """Rewrite the JSON text at ``key`` as ``change(old)`` with compare-and-swap, so that a
    concurrent rewrite is never lost; raises if the cache is down."""
    cache = open_cache()
    for _ in range(ATTEMPTS):
        raw = cache.get(key)
        old = raw if isinstance(raw, str) else None
        new = change(old)
        if raw is None:
            if cache.add(key, new, lifetime):
                return
        elif old is None:  # not ours: start afresh
            cache.set(key, new, lifetime)
            return
        elif cache.replace_if_equal(key, old, new, lifetime):
            return
        time.sleep(random.uniform(0, BACKOFF))
    raise RuntimeError(f"{key} kept changing: not updated")


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def record(owner: str, task_id: str, task_name: str | None) -> None:
    """Add (or renew) the owner's grant of ``task_id``; raises if the cache is down."""
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise ValueError(
            f"a task id of {len(task_id)} characters cannot be granted: at most "
            f"{MAX_TASK_ID_LENGTH} (Celery's are 36)"
        )
    lifetime = conf.TOKEN_MAX_AGE

    def granting(raw: str | None) -> str:
        now, earlier = time.time(), _decode(raw)
        kept = [grant for grant in _fresh(earlier, now) if grant.task_id != task_id]
        name = task_name or next((g.task_name for g in earlier if g.task_id == task_id), None)
        rows = [[task_id, name, now]] + [[g.task_id, g.task_name, g.granted_at] for g in kept]
        return _dump(rows[: conf.GRANTS_PER_OWNER])

    _update(KEY_PREFIX + owner, granting, lifetime)
    _update(FOLLOWERS_PREFIX + task_id, _following(owner, True), lifetime)


def _following(owner: str, follows: bool) -> Callable[[str | None], str]:
    """The change of a job's followers that marks ``owner`` following it, or not."""

    def change(raw: str | None) -> str:
        followers = _followers(raw)
        followers[owner] = follows
        return _dump(followers)

    return change


def _followers(raw: object) -> dict[str, object]:
    try:
        followers = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    return followers if isinstance(followers, dict) else {}


def withdraw(owner: str, task_id: str) -> bool:
    """The owner stops following ``task_id`` (its grant goes); whether every owner of the
    job has now let it go, so the job itself is to be cancelled. Asked after the change, so
    two owners withdrawing at once cannot both leave it running."""
    lifetime = conf.TOKEN_MAX_AGE
    _update(FOLLOWERS_PREFIX + task_id, _following(owner, False), lifetime)
    followers = _followers(open_cache().get(FOLLOWERS_PREFIX + task_id))
    _update(
        KEY_PREFIX + owner,
        lambda old: _dump(
            [[g.task_id, g.task_name, g.granted_at] for g in _decode(old) if g.task_id != task_id]
        ),
        lifetime,
    )
    return not any(followers.values())


def undo_withdraw(owner: str, task_id: str, task_name: str | None) -> None:
    """The cancel could not be recorded: the owner follows the job again."""
    record(owner, task_id, task_name)
