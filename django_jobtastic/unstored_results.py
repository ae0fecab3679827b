"""A result whose outcome the result backend could not store: only that object knows it.

``delay_or_eager`` and ``delay_or_fail`` return one when the result backend is down as well
as the broker (one Redis for both, say). ``grant`` keeps its outcome in the database, so the
job's status URL answers it once the backend can be read again, instead of PENDING for ever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery.result import EagerResult

if TYPE_CHECKING:
    from typing import TypeAlias

    _Eager: TypeAlias = EagerResult[Any]
else:
    _Eager = EagerResult


class UnstoredResult(_Eager):
    """An ``EagerResult`` (SUCCESS or FAILURE) that exists in this process only."""
