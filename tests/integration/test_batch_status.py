"""The batch status view reading states a real worker wrote, through the backend under test.

One request follows several jobs (one held running, one finished, one failed, one still
queued) and a token that is someone else's; each answer is what the single status view
answers for that token, and all of them come from one read of the result backend.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE
from tests import jobs, probe
from tests.helpers import wait_until
from tests.integration.harness import wait_until_held
from tests.statuses import failed, status_url_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def token_for(client: Client, task_id: str) -> str:
    return status_url_for(client, task_id).split("/")[-2]


def read(client: Client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    return json.loads(response.content)


def read_batch(client: Client, tokens: list[str]) -> dict:
    body = read(client, reverse("jobtastic:statuses") + "?" + urlencode({"t": tokens}, True))
    assert body["poll_interval"] == 1.0
    return body["tasks"]


def read_single(client: Client, token: str) -> dict:
    return read(client, reverse("jobtastic:status", kwargs={"token": token}))["task"]


def test_one_request_follows_jobs_in_every_state(worker, private_queue, marker, backend_batches):
    visitor, stranger = Client(), Client()
    finished = jobs.CountingJob.delay(marker=f"{marker}-done", steps=2)
    failing = jobs.FailingJob.delay(marker=f"{marker}-failed")
    held = jobs.CountingJob.delay(marker=marker, hold=True)
    queued = jobs.CountingJob.apply_async(kwargs={"marker": f"{marker}-q"}, queue=private_queue)
    try:
        finished.get(timeout=30)
        wait_until(failing.ready, what="the failure")
        wait_until_held(held)
        mine = {
            name: token_for(visitor, result.id)
            for name, result in [
                ("held", held),
                ("finished", finished),
                ("failed", failing),
                ("queued", queued),
            ]
        }
        foreign = token_for(stranger, held.id)  # the same job, granted to someone else
        order = [mine["held"], foreign, mine["finished"], mine["failed"], mine["queued"]]

        tasks = read_batch(visitor, order)

        assert list(tasks) == order
        assert tasks[foreign] == {"error": NOT_FOUND_MESSAGE}
        assert tasks[mine["held"]]["status"] == "PROGRESS"
        assert tasks[mine["held"]]["progress"]["completed"] == 1
        assert tasks[mine["queued"]]["status"] == "PENDING"
        assert tasks[mine["queued"]]["queued_at"] is not None
        assert (tasks[mine["finished"]]["status"], tasks[mine["finished"]]["result"]) == (
            "SUCCESS",
            {"marker": f"{marker}-done", "steps": 2},
        )
        assert tasks[mine["failed"]] == failed(
            failing.id, "UserFacingError", f"cannot do {marker}-failed"
        )
        # One read of the backend for the four jobs (the foreign token's job is not read).
        assert backend_batches == [[held.id, finished.id, failing.id, queued.id]]
        # Each answer is the single view's, bar the held job's estimate, aged as it is read.
        for name in ("finished", "failed", "queued"):
            assert tasks[mine[name]] == read_single(visitor, mine[name])
        assert unaged(tasks[mine["held"]]) == unaged(read_single(visitor, mine["held"]))
        assert read_single(stranger, foreign)["status"] == "PROGRESS"  # theirs to read
    finally:
        probe.release(marker)

    assert held.get(timeout=30) == {"marker": marker, "steps": 4}
    after = read_batch(visitor, [mine["held"], mine["finished"]])
    assert [task["status"] for task in after.values()] == ["SUCCESS", "SUCCESS"]


def unaged(task: dict) -> dict:
    """A task object without what ages from one read to the next."""
    aging = ("time_remaining", "overdue")
    return {**task, "progress": {k: v for k, v in task["progress"].items() if k not in aging}}
