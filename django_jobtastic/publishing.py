"""Publishing with a deadline: the broker gets ``timeout`` seconds, then we stop waiting.

Celery's producer can wait a long time on a refused broker (connection retries) and for
ever on one that accepts connections and never answers (kombu's Redis transport has no
socket timeout by default). The attempt runs in a daemon thread; the caller waits at most
the deadline. The thread first establishes the connection (where hangs happen) and only
publishes if the caller is still waiting, so a late connection never queues a message for
a job that has already been failed or run eagerly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery
from kombu.exceptions import OperationalError

from django_jobtastic.exceptions import PublishTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts still hung after their deadline; past this many, we fail fast instead of piling
#: up threads (each holds a pooled connection) against a broker that does not answer.
MAX_HUNG_ATTEMPTS = 4

_hung_lock = threading.Lock()
_hung_attempts = 0


class BrokerUnavailable(Exception):
    """The broker refused, was unreachable, or did not answer within the deadline."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


def hung_attempts() -> int:
    """How many publish attempts are still stuck after their deadline (for monitoring)."""
    return _hung_attempts


def _count_hung() -> None:
    global _hung_attempts
    _hung_attempts += 1


def _forget_hung() -> None:
    global _hung_attempts
    _hung_attempts -= 1


class _Attempt:
    """One publish in a helper thread; the caller may abandon it at the deadline."""

    def __init__(self, app: Celery, send: Callable[[Any], T]) -> None:
        self.app = app
        self.send = send
        self.done = threading.Event()
        self.abandoned = False
        self.hung = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.producer_or_acquire() as producer:
                broker_errors = self._broker_errors(producer.connection)
                try:
                    # Connect now, without kombu's retry loop (a refused broker is down, not
                    # late); a silent broker hangs here, which is what the deadline is for.
                    producer.connection.ensure_connection(max_retries=1, interval_start=0)
                    producer.connection.default_channel  # noqa: B018 - opens the channel
                    if self.abandoned:
                        return
                    self.result = self.send(producer)
                    if self.abandoned:
                        logger.warning(
                            "Jobtastic: a message was published after its deadline; "
                            "the job may also have run in the caller's fallback"
                        )
                except broker_errors as error:
                    self.error = BrokerUnavailable(error)
        except BaseException as error:  # handed to the caller, who re-raises it
            self.error = error
        finally:
            with _hung_lock:  # atomic with the caller's decision to abandon
                self.done.set()
                if self.hung:
                    _forget_hung()

    @staticmethod
    def _broker_errors(connection: Any) -> tuple[type[BaseException], ...]:
        return (
            OperationalError,
            OSError,
            *connection.connection_errors,
            *connection.channel_errors,
        )


def publish_within(app: Celery, timeout: float, send: Callable[[Any], T]) -> T:
    """Call ``send(producer)`` with a connected producer, or raise ``BrokerUnavailable``.

    Errors that are not the broker's (an argument the serializer cannot encode, ...)
    propagate unchanged: falling back would hide a bug.
    """
    if _hung_attempts >= MAX_HUNG_ATTEMPTS:
        raise BrokerUnavailable(
            PublishTimeoutError(f"{_hung_attempts} earlier publishes are still hung")
        )
    attempt = _Attempt(app, send)
    thread = threading.Thread(target=attempt.run, name="jobtastic-publish", daemon=True)
    thread.start()
    if not attempt.done.wait(timeout):
        with _hung_lock:
            if not attempt.done.is_set():
                attempt.abandoned = attempt.hung = True
                _count_hung()
        if attempt.abandoned:
            raise BrokerUnavailable(
                PublishTimeoutError(f"the broker did not answer within {timeout:g} s")
            )
    if attempt.error is not None:
        raise attempt.error
    return attempt.result  # type: ignore[no-any-return]
