"""Exceptions of the public API."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message the end user may read and act on.

    Raise it (or a subclass) from ``calculate_result`` when the user can fix the cause,
    e.g. "The file has no header row.". Other exceptions are shown as a generic sentence
    unless ``DEBUG`` is on, so internals never leak to a browser.
    """


class JobNotQueuedError(UserFacingError):
    """Recorded by ``delay_or_fail`` when the broker could not take the job.

    The stored failure is a subclass named after the broker's exception class (see
    ``django_jobtastic.queueing_errors``), so status readers can tell what went wrong.
    """

    user_message = "The job could not be queued. Please try again."


class PublishTimeoutError(ConnectionError):
    """The broker did not accept a message within ``JOBTASTIC_PUBLISH_TIMEOUT`` seconds."""


class JobLostError(UserFacingError):
    """Stored when a running job stopped proving it was alive: its worker was killed outright.

    A user-facing error, since the user can act on it: trying again starts a fresh run.
    """

    user_message = "The job stopped unexpectedly. Please try again."


class JobCancelledError(Exception):
    """Raised by ``update_progress`` in a cancellable job that its owners cancelled.

    User code need not catch it: the run ends, REVOKED is stored ("The job was cancelled."),
    and nothing is recorded as a failure. A job that catches it anyway is still ended as
    cancelled once ``calculate_result`` returns, and its result is dropped.
    """
