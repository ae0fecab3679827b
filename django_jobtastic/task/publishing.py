"""Publishing with a deadline: the broker gets ``timeout`` seconds, then we stop waiting.

Celery's producer can wait a long time on a refused broker (connection retries) and for
ever on one that accepts connections and never answers (kombu's Redis transport has no
socket timeout by default). The attempt runs in a daemon thread and the caller waits at most
the deadline. The thread connects first, where hangs happen; it sends only if the caller is
still waiting, and once it sends, the caller no longer falls back (the message may be on its
way): it waits one more deadline and then assumes the job is queued. So a job is never both
queued and failed, or both queued and run in the caller.

The attempts take their connections from a pool of their own, whose sockets time out
(``socket_timeout_for``): an attempt the caller gave up on ends soon after, instead of when
the broker's socket does (kombu's Redis transport: never). The app's own pool, which plain
``delay`` uses, keeps the project's settings.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.pools import ProducerPool

from django_jobtastic.django_connections import close_thread_connections
from django_jobtastic.exceptions import PublishTimeoutError
from django_jobtastic.task.threads import start_without_signals

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts still hung after their deadline; past this many, we fail fast instead of piling
#: up threads (each holds a pooled connection) against a broker that does not answer.
MAX_HUNG_ATTEMPTS = 4

_lock = threading.Lock()  # guards every attempt's phase and the hung count
_hung_attempts = 0

#: An attempt's sockets wait at most its deadline plus this share of it, and at least one
#: second more than the deadline: the caller always gives up first (with the deadline's
#: error), and the attempt ends soon after (4 s after it started for the default 2 s).
SOCKET_TIMEOUT_MARGIN = 1.0
#: The transport options bounding every socket operation, per kombu transport driver.
SOCKET_TIMEOUT_OPTIONS = {
    "redis": ("socket_timeout", "socket_connect_timeout"),  # kombu's Redis transport
    "py-amqp": ("read_timeout", "write_timeout"),  # the handshake: connect_timeout
}

CONNECTING, SENDING, DONE, ABANDONED = "connecting", "sending", "done", "abandoned"
UNCONFIRMED = "unconfirmed"  # the caller stopped waiting while the message was being sent


class BrokerUnavailableError(Exception):
    """The broker refused, was unreachable, or did not answer within the deadline."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class PublishUnconfirmedError(Exception):
    """The message was being sent when the deadline passed: treat the job as queued."""


def socket_timeout_for(deadline: float) -> float:
    """How long each socket operation of an attempt with this deadline may wait."""
    return deadline + max(deadline, SOCKET_TIMEOUT_MARGIN)


_pools_lock = threading.Lock()
#: Per app, the attempts' producers: (process id, socket timeout), then the pool. A forked
#: child (a prefork worker's, a web server's) builds its own: sockets are never shared.
_pools: weakref.WeakKeyDictionary[Celery, tuple[tuple[int, float], ProducerPool]] = (
    weakref.WeakKeyDictionary()
)


def _at_most(configured: object, seconds: float) -> float:
    """A timeout of ``seconds``, or the project's own if that one is shorter."""
    if isinstance(configured, (int, float)) and 0 < configured < seconds:
        return float(configured)
    return seconds


def _bounded_connection(app: Celery, seconds: float) -> Connection:
    """The app's broker connection, each of its socket operations bounded by ``seconds``."""
    options = dict(app.conf.broker_transport_options or {})
    driver = app.connection_for_write().transport.driver_name  # no I/O: names the transport
    for name in SOCKET_TIMEOUT_OPTIONS.get(driver, ()):
        options[name] = _at_most(options.get(name), seconds)
    connect_timeout = _at_most(app.conf.broker_connection_timeout, seconds)
    return app.connection_for_write(connect_timeout=connect_timeout, transport_options=options)


def _producers(app: Celery, deadline: float) -> ProducerPool:
    """The pool the attempts of ``app`` with this deadline take their producers from."""
    key = (os.getpid(), socket_timeout_for(deadline))
    with _pools_lock:
        held = _pools.get(app)
        if held is None or held[0] != key:
            limit = app.conf.broker_pool_limit
            connections = _bounded_connection(app, key[1]).Pool(limit=limit)
            held = key, ProducerPool(connections, limit=limit, Producer=app.amqp.Producer)
            _pools[app] = held
        return held[1]


def hung_attempts() -> int:
    """How many publish attempts are still stuck after their deadline (for monitoring)."""
    return _hung_attempts


class _Attempt(Generic[T]):
    """One publish in a helper thread; the caller may abandon it while it connects."""

    def __init__(
        self,
        app: Celery,
        deadline: float,
        send: Callable[[Any], T],
        on_late_error: Callable[[BaseException], None] | None,
    ) -> None:
        self.app = app
        self.deadline = deadline
        self.send = send
        self.on_late_error = on_late_error
        self.phase = CONNECTING
        self.finished = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with _producers(self.app, self.deadline).acquire(block=True) as producer:
                connection: Any = producer.connection  # a pooled producer has one
                broker_errors = (
                    OperationalError,
                    OSError,
                    *connection.connection_errors,
                    *connection.channel_errors,
                )
                try:
                    # Connect without kombu's retry loop (a refused broker is down, not late);
                    # a silent broker hangs here, which is what the deadline is for, until
                    # the socket times out; not tried again once past the deadline (whole
                    # seconds, below the socket timeout: deadline + at least 1 s).
                    connection.ensure_connection(
                        max_retries=1, interval_start=0, timeout=math.ceil(self.deadline)
                    )
                    connection.default_channel  # noqa: B018 - opens the channel
                    if not self._enter(SENDING):
                        return
                    self.result = self.send(producer)
                except broker_errors as error:
                    self.error = BrokerUnavailableError(error)
        except BaseException as error:  # handed to the caller, who re-raises it
            self.error = error
        finally:
            self._finish()
            close_thread_connections()  # any this thread opened (database backend or cache)

    def _enter(self, phase: str) -> bool:
        with _lock:
            if self.phase == ABANDONED:
                return False
            self.phase = phase
            return True

    def _finish(self) -> None:
        global _hung_attempts
        with _lock:
            phase = self.phase
            if phase == ABANDONED:
                _hung_attempts -= 1
            else:
                self.phase = DONE
        self.finished.set()
        if phase == UNCONFIRMED and self.error is not None and self.on_late_error is not None:
            # The caller went on as if the job were queued; tell it that it was not.
            self.on_late_error(self.error)

    def stop_waiting(self) -> bool:
        """At twice the deadline, while sending: the caller goes on; False if just done."""
        with _lock:
            if self.phase != SENDING:
                return False
            self.phase = UNCONFIRMED
            return True

    def abandon_if_connecting(self) -> bool:
        """At the deadline: give up unless the message is already being sent."""
        global _hung_attempts
        with _lock:
            if self.phase != CONNECTING:
                return False
            self.phase = ABANDONED
            _hung_attempts += 1
            return True


def publish_within(
    app: Celery,
    timeout: float,
    send: Callable[[Any], T],
    on_late_error: Callable[[BaseException], None] | None = None,
) -> T:
    """Call ``send(producer)`` with a connected producer within ``timeout`` seconds.

    Raises ``BrokerUnavailableError`` when the broker is down (nothing was sent), and
    ``PublishUnconfirmedError`` when sending started but did not finish in time; if that send
    fails later, ``on_late_error`` gets its error (from the helper thread). Errors that are
    not the broker's (an argument the serializer cannot encode, ...) propagate unchanged:
    falling back would hide a bug.
    """
    if _hung_attempts >= MAX_HUNG_ATTEMPTS:
        raise BrokerUnavailableError(
            PublishTimeoutError(f"{_hung_attempts} earlier publishes are still hung")
        )
    attempt = _Attempt(app, timeout, send, on_late_error)
    start_without_signals(
        threading.Thread(target=attempt.run, name="jobtastic-publish", daemon=True)
    )
    if not attempt.finished.wait(timeout):
        if attempt.abandon_if_connecting():
            raise BrokerUnavailableError(
                PublishTimeoutError(f"the broker did not answer within {timeout:g} s")
            )
        if not attempt.finished.wait(timeout) and attempt.stop_waiting():
            raise PublishUnconfirmedError(f"sending took over {2 * timeout:g} s")
    if attempt.error is not None:
        raise attempt.error
    return attempt.result  # type: ignore[return-value]
