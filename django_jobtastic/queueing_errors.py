"""Failure classes named after broker exceptions, rebuilt on demand in any process.

``delay_or_fail`` stores a FAILURE whose exception type is the broker's exception class name
(``OperationalError``, ``PublishTimeoutError``...). Celery rebuilds a stored exception by
looking its name up in its module, so this module answers any such name with a
``JobNotQueuedError`` subclass: readers get a ``UserFacingError`` with the original name.
Stored names are data, so the classes are kept in a bounded cache: a name seen again while
cached gives the same class; one evicted is rebuilt, with the same name, module and base.
"""

from __future__ import annotations

from functools import lru_cache

from django_jobtastic.exceptions import JobNotQueuedError

#: Classes kept at most: far more than the broker exception names one project ever meets.
MAX_CACHED_CLASSES = 256


@lru_cache(maxsize=MAX_CACHED_CLASSES)
def failure_class(name: str) -> type[JobNotQueuedError]:
    """The ``JobNotQueuedError`` subclass standing for the broker exception ``name``."""
    return type(name, (JobNotQueuedError,), {"__module__": __name__, "__qualname__": name})


def __getattr__(name: str) -> type[JobNotQueuedError]:
    if not name.isidentifier() or name.startswith("_"):
        raise AttributeError(name)
    return failure_class(name)


def not_queued(broker_error: BaseException) -> JobNotQueuedError:
    """The exception to store for a job that ``broker_error`` kept out of the queue."""
    return failure_class(type(broker_error).__name__)(JobNotQueuedError.user_message)
