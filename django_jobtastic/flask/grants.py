"""Grants of a Flask site, kept in the jobtastic cache (there is no database to keep them in).

One entry per owner (``jobtastic:grants:<owner>``) holds their most recent grants as a JSON
list of ``[task_id, task_name, granted_at]``, newest first, at most
``jobtastic_grants_per_owner`` of them, each valid ``jobtastic_token_max_age`` seconds. The
entry is rewritten with compare-and-swap, so two tabs granting at once both land. A cache
that forgets entries (evictions, a restart without persistence) forgets grants: the widget
then says the job cannot be shown, never shows a stranger anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django_jobtastic.conf import conf
from django_jobtastic.job_cache import open_cache

KEY_PREFIX = "jobtastic:grants:"
#: Rewrites tried before a grant gives up on an entry that keeps changing under it.
ATTEMPTS = 10
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


def record(owner: str, task_id: str, task_name: str | None) -> None:
    """Add (or renew) the owner's grant of ``task_id``; raises if the cache is down."""
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise ValueError(
            f"a task id of {len(task_id)} characters cannot be granted: at most "
            f"{MAX_TASK_ID_LENGTH} (Celery's are 36)"
        )
    cache, key = open_cache(), KEY_PREFIX + owner
    lifetime = conf.TOKEN_MAX_AGE
    for _ in range(ATTEMPTS):
        raw = cache.get(key)
        now = time.time()
        kept = [grant for grant in _fresh(_decode(raw), now) if grant.task_id != task_id]
        name = task_name or next(
            (grant.task_name for grant in _decode(raw) if grant.task_id == task_id), None
        )
        rows = [[task_id, name, now]] + [[g.task_id, g.task_name, g.granted_at] for g in kept]
        value = json.dumps(rows[: conf.GRANTS_PER_OWNER], separators=(",", ":"))
        if raw is None:
            if cache.add(key, value, lifetime):
                return
        elif isinstance(raw, str) and cache.replace_if_equal(key, raw, value, lifetime):
            return
        elif not isinstance(raw, str):  # not ours: start afresh
            cache.set(key, value, lifetime)
            return
    raise RuntimeError(f"the grants of {owner} kept changing: {task_id} not granted")
