"""The publish deadline against real sockets: a refused port and one that never answers."""

from __future__ import annotations

import threading
import time

import pytest
from celery import Celery
from kombu.exceptions import EncodeError, OperationalError

from django_jobtastic.exceptions import JobNotQueuedError, PublishTimeoutError
from django_jobtastic.queueing_errors import failure_class, not_queued
from django_jobtastic.task import publishing
from tests.helpers import free_port, wait_until

TIMEOUT = 0.5  # seconds


def dead_app(port: int, scheme: str = "redis") -> Celery:
    url = (
        f"amqp://guest:guest@127.0.0.1:{port}//"
        if scheme == "amqp"
        else f"redis://127.0.0.1:{port}/0"
    )
    return Celery("dead", broker=url, set_as_current=False)


def test_publish_within_hung_broker_gives_up_at_the_deadline(silent_port):
    started = time.monotonic()
    with pytest.raises(publishing.BrokerUnavailableError) as raised:
        publishing.publish_within(dead_app(silent_port), TIMEOUT, lambda producer: "sent")
    assert isinstance(raised.value.cause, PublishTimeoutError)
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 0.5


def test_publish_within_refused_broker_fails_at_once_with_its_error():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(publishing.BrokerUnavailableError, match="Connection refused") as raised:
        publishing.publish_within(dead_app(port), 5, lambda producer: "sent")
    assert isinstance(raised.value.cause, OperationalError)
    assert time.monotonic() - started < 1.0  # refused is down now, not after the deadline


def test_publish_within_fails_fast_while_attempts_hang(silent_port, monkeypatch):
    monkeypatch.setattr(publishing, "SOCKET_TIMEOUT_MARGIN", 60)  # hung until the port closes
    with pytest.raises(publishing.BrokerUnavailableError):
        publishing.publish_within(dead_app(silent_port), TIMEOUT, lambda producer: "sent")
    # That attempt stays stuck on the silent socket (open until the test ends): one is enough.
    monkeypatch.setattr(publishing, "MAX_HUNG_ATTEMPTS", 1)
    started = time.monotonic()
    with pytest.raises(publishing.BrokerUnavailableError, match="still hung"):
        publishing.publish_within(dead_app(silent_port), TIMEOUT, lambda producer: "sent")
    assert time.monotonic() - started < 0.1


def test_publish_within_live_broker_returns_what_send_returns():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    assert publishing.publish_within(app, 5, lambda producer: producer.connection.hostname) == (
        "127.0.0.1"
    )


def test_publish_within_propagates_errors_that_are_not_the_brokers():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)

    def send(producer: object) -> None:
        raise EncodeError("cannot serialize")

    with pytest.raises(EncodeError):
        publishing.publish_within(app, 5, send)


def test_not_queued_keeps_the_broker_error_name_and_user_message():
    failure = not_queued(ConnectionRefusedError("refused"))
    assert type(failure).__name__ == "ConnectionRefusedError"
    assert str(failure) == "The job could not be queued. Please try again."


def test_not_queued_survives_the_result_backend_round_trip():
    backend = Celery("rt", set_as_current=False).backend
    stored = backend.prepare_exception(not_queued(TimeoutError()), "json")
    rebuilt = backend.exception_to_python(stored)
    assert type(rebuilt) is failure_class("TimeoutError")
    assert str(rebuilt) == "The job could not be queued. Please try again."


def test_queueing_errors_module_refuses_private_names():
    from django_jobtastic import queueing_errors

    with pytest.raises(AttributeError):
        queueing_errors.__getattr__("_private")


def test_queueing_errors_keep_a_bounded_number_of_classes():
    from django_jobtastic import queueing_errors

    for n in range(10_000):  # names read from stored FAILUREs: anything a backend holds
        getattr(queueing_errors, f"BrokerError{n}")
    assert failure_class.cache_info().currsize <= 256  # not one class per name ever read
    assert failure_class("BrokerError9999") is failure_class("BrokerError9999")  # still cached
    rebuilt = failure_class("BrokerError0")  # evicted long ago: built again, the same kind
    assert issubclass(rebuilt, JobNotQueuedError)
    assert (rebuilt.__name__, rebuilt.__qualname__, rebuilt.__module__) == (
        "BrokerError0",
        "BrokerError0",
        "django_jobtastic.queueing_errors",
    )
    assert queueing_errors.BrokerError0 is rebuilt


def slow_send(seconds: float):
    def send(producer: object) -> str:
        time.sleep(seconds)  # connected, but the broker takes its time to take the message
        return "sent"

    return send


def test_publish_within_slow_send_past_deadline_is_waited_for():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    assert publishing.publish_within(app, 0.5, slow_send(0.6)) == "sent"


def test_publish_within_send_over_twice_the_deadline_is_unconfirmed():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    with pytest.raises(publishing.PublishUnconfirmedError, match="sending took over 0.2 s"):
        publishing.publish_within(app, 0.1, slow_send(0.5))


def test_publish_within_unresolvable_broker_gives_up_by_the_deadline():
    app = Celery("nowhere", broker="redis://no-such-host.invalid:6379/0", set_as_current=False)
    started = time.monotonic()
    with pytest.raises(publishing.BrokerUnavailableError):
        publishing.publish_within(app, TIMEOUT, lambda producer: "sent")
    assert time.monotonic() - started < TIMEOUT + 0.5


def test_publish_within_send_failing_after_the_caller_moved_on_is_reported():
    app = Celery("live", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    reported: list[BaseException] = []
    told = threading.Event()

    def send_then_lose_the_connection(producer: object) -> str:
        time.sleep(0.5)
        raise OperationalError("connection lost while sending")

    def on_late_error(error: BaseException) -> None:
        reported.append(error)
        told.set()

    with pytest.raises(publishing.PublishUnconfirmedError):
        publishing.publish_within(app, 0.1, send_then_lose_the_connection, on_late_error)
    assert told.wait(5)
    [error] = reported
    assert isinstance(error, publishing.BrokerUnavailableError)
    assert str(error.cause) == "connection lost while sending"


def test_hung_attempts_counts_attempts_stuck_after_their_deadline(silent_port, monkeypatch):
    # Earlier tests' stuck attempts end once their silent ports are closed.
    wait_until(lambda: publishing.hung_attempts() == 0, what="earlier stuck attempts to end")
    monkeypatch.setattr(publishing, "SOCKET_TIMEOUT_MARGIN", 60)  # hung until the port closes
    with pytest.raises(publishing.BrokerUnavailableError):
        publishing.publish_within(dead_app(silent_port), TIMEOUT, lambda producer: "sent")
    assert publishing.hung_attempts() == 1  # this one, stuck on the socket open till the end


#: How long after the caller gave up an attempt on a silent broker may go on: its sockets
#: time out TIMEOUT + 1 s after it started (publishing.socket_timeout_for), far below this.
HUNG_FOR_AT_MOST = 5.0


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_an_attempt_stuck_on_a_silent_broker_ends_soon_after_the_deadline(silent_port, scheme):
    """Kombu's Redis transport has no socket timeout by default (the attempt waited until the
    silent socket was closed) and py-amqp's handshake waited Celery's connection timeout,
    twice: the attempt's own sockets now time out soon after the deadline."""
    wait_until(lambda: publishing.hung_attempts() == 0, what="earlier stuck attempts to end")
    with pytest.raises(publishing.BrokerUnavailableError) as raised:
        publishing.publish_within(dead_app(silent_port, scheme), TIMEOUT, lambda producer: "sent")
    assert isinstance(raised.value.cause, PublishTimeoutError)  # the caller still gave up first
    wait_until(
        lambda: publishing.hung_attempts() == 0,
        timeout=HUNG_FOR_AT_MOST,
        what="the attempt stuck on the silent broker to end",
    )
