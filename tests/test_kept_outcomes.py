"""An outcome the result backend could not store is kept by ``grant`` and answered by the
status URL, which then stores it in the backend (the real chain, with Redis down and back,
is in tests/integration/test_dead_services.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_jobtastic.models import KeptOutcome
from django_jobtastic.web import kept_outcomes
from django_jobtastic.web.answer_reuse import answers
from tests.celery_app import app
from tests.statuses import DONE_PROGRESS, expected_task, new_id, read, status_url_for, store

pytestmark = pytest.mark.django_db(transaction=True)

NOT_QUEUED = {
    "type": "OperationalError",
    "message": "The job could not be queued. Please try again.",
}


def granted_unstored(client: Client, task_id: str, state: str) -> str:
    """The status URL a page hands out after a submission whose outcome only it knows."""
    response = client.get(f"/follow-unstored/{task_id}/{state}/")
    assert response.status_code == 200
    return response.content.decode()


def stored_state(task_id: str) -> tuple[str, object]:
    meta = app.backend.get_task_meta(task_id)
    return meta["status"], meta["result"]


def test_a_failure_only_the_submitter_knew_is_answered_and_then_stored():
    client, task_id = Client(), new_id()
    url = granted_unstored(client, task_id, "FAILURE")
    assert stored_state(task_id) == ("PENDING", None)

    code, body = read(client, url)

    assert code == 200
    assert body["task"] == expected_task(
        task_id,
        "FAILURE",
        ready=True,
        successful=False,
        result=NOT_QUEUED["message"],
        error=NOT_QUEUED,
    )
    state, failure = stored_state(task_id)
    assert (state, type(failure).__name__) == ("FAILURE", "OperationalError")
    assert not KeptOutcome.objects.filter(task_id=task_id).exists()  # the backend has it now


def test_a_value_only_the_submitter_knew_is_answered_as_json():
    client, task_id = Client(), new_id()
    url = granted_unstored(client, task_id, "SUCCESS")

    code, body = read(client, url)

    value = {"rows": 3, "when": "2026-11-30"}
    assert code == 200
    assert body["task"] == expected_task(
        task_id, "SUCCESS", ready=True, successful=True, result=value, progress=DONE_PROGRESS
    )
    assert stored_state(task_id) == ("SUCCESS", value)


def test_a_backend_that_cannot_store_it_yet_gets_it_at_a_later_poll(monkeypatch, caplog):
    client, task_id = Client(), new_id()
    url = granted_unstored(client, task_id, "FAILURE")

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionError("result backend down")

    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING):
        patched.setattr(app.backend, "store_result", refuse)
        assert read(client, url)[1]["task"]["error"] == NOT_QUEUED
    assert "kept outcome of " + task_id + " not stored yet" in caplog.text
    assert KeptOutcome.objects.filter(task_id=task_id).exists()

    answers.clear()
    assert read(client, url)[1]["task"]["error"] == NOT_QUEUED
    assert stored_state(task_id)[0] == "FAILURE"
    assert not KeptOutcome.objects.filter(task_id=task_id).exists()


def test_a_database_that_cannot_be_read_leaves_the_job_pending(monkeypatch, caplog):
    client, task_id = Client(), new_id()
    url = granted_unstored(client, task_id, "FAILURE")

    def broken(*args: object, **kwargs: object) -> None:
        raise DatabaseError("no such table: django_jobtastic_keptoutcome")

    monkeypatch.setattr(KeptOutcome.objects, "filter", broken)
    with caplog.at_level(logging.WARNING):
        code, body = read(client, url)
    assert (code, body["task"]["status"]) == (200, "PENDING")
    assert "kept outcomes cannot be read" in caplog.text


@pytest.mark.parametrize("state", ["PROGRESS", "PENDING", "SUCCESS"])
def test_a_job_the_backend_knows_costs_no_kept_outcome_query(state):
    """Only PENDING without any record asks the database; a queued job has ``queued_at``."""
    client, task_id = Client(), new_id()
    store(task_id, {"queued_at": "2026-11-30T07:00:00Z"} if state == "PENDING" else {}, state)
    url = status_url_for(client, task_id)
    with CaptureQueriesContext(connection) as queries:
        assert read(client, url)[0] == 200
    assert not [query for query in queries if "keptoutcome" in query["sql"]]


def test_an_unknown_job_asks_once_per_process_and_stays_pending():
    client, task_id = Client(), new_id()
    url = status_url_for(client, task_id)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            answers.clear()  # each poll reads the backend
            code, body = read(client, url)
            assert (code, body["task"]) == (200, expected_task(task_id, "PENDING"))
    assert len([query for query in queries if "keptoutcome" in query["sql"]]) == 1


def test_the_ids_remembered_without_an_outcome_are_bounded(monkeypatch):
    monkeypatch.setattr(kept_outcomes, "REMEMBERED_WITHOUT", 2)
    monkeypatch.setattr(kept_outcomes, "_without", type(kept_outcomes._without)())
    client = Client()
    ids = [new_id() for _ in range(3)]
    for task_id in ids:
        read(client, status_url_for(client, task_id))
    assert list(kept_outcomes._without) == ids[1:]


def test_keeping_an_outcome_drops_those_older_than_a_status_url(settings):
    settings.JOBTASTIC_TOKEN_MAX_AGE = 3600
    old = datetime.now(timezone.utc) - timedelta(seconds=3601)
    KeptOutcome.objects.create(task_id="expired", state="FAILURE", result="null", kept_at=old)
    granted_unstored(Client(), new_id(), "FAILURE")
    assert not KeptOutcome.objects.filter(task_id="expired").exists()
    assert KeptOutcome.objects.count() == 1
