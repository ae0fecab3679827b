"""Flask grants in the jobtastic cache (Redis): newest first, bounded, fresh, never lost to a
concurrent grant; and the submission hook that lets a request follow what it submitted."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest

from django_jobtastic import submissions
from django_jobtastic.conf import forget
from django_jobtastic.flask import grants
from tests.flask.celery_app import app as celery_app


@pytest.fixture
def owner() -> str:
    celery_app.set_current()
    return f"session:test-{uuid.uuid4().hex}"


@pytest.fixture
def per_owner():
    def limit(value: int) -> None:
        celery_app.conf.jobtastic_grants_per_owner = value
        forget()

    yield limit
    del celery_app.conf["jobtastic_grants_per_owner"]
    forget()


def test_grants_are_listed_newest_first_once_each(owner):
    for task_id in ("a", "b", "a"):
        grants.record(owner, task_id, None)

    assert [grant.task_id for grant in grants.granted(owner)] == ["a", "b"]


def test_a_renewed_grant_keeps_the_name_it_had(owner):
    grants.record(owner, "a", "jobs.Named")
    grants.record(owner, "a", None)

    assert [(g.task_id, g.task_name) for g in grants.granted(owner)] == [("a", "jobs.Named")]


def test_an_owner_keeps_the_most_recent_grants_only(owner, per_owner):
    per_owner(2)
    for task_id in ("a", "b", "c"):
        grants.record(owner, task_id, None)

    assert [grant.task_id for grant in grants.granted(owner)] == ["c", "b"]


def test_concurrent_grants_of_one_owner_all_land(owner):
    task_ids = [f"job-{n}" for n in range(20)]

    def grant(task_id: str) -> None:
        celery_app.set_current()  # Celery's current app is per thread
        grants.record(owner, task_id, None)

    threads = [threading.Thread(target=grant, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(grant.task_id for grant in grants.granted(owner)) == sorted(task_ids)


def test_a_task_id_too_long_to_keep_is_refused(owner):
    with pytest.raises(ValueError, match="at most 255"):
        grants.record(owner, "x" * 256, None)


def test_a_failing_submission_listener_never_fails_the_submission(caplog):
    heard: list[tuple[str, str]] = []

    def failing(task_id: str, name: str) -> None:
        raise RuntimeError("listener bug")

    saved = list(submissions._listeners)
    submissions.listen(failing)
    submissions.listen(lambda task_id, name: heard.append((task_id, name)))
    try:
        with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
            submissions.announce("an-id", "a.Job")
    finally:
        submissions._listeners[:] = saved

    assert heard == [("an-id", "a.Job")]
    assert "a submission listener failed" in caplog.text
