"""Grants through a real worker (SPEC §8): whoever submits a job may follow it, latecomers
answered by herd avoidance or the result cache included; nobody else may.

Each visitor is a Django test ``Client`` (its own cookies, so its own session) that submits
through ``/submit/<job>/<marker>/``, a page calling ``delay()`` then ``grant()``. The pace is
set by holding the job (``hold=1``) until the test releases it, never by a clock.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.test import Client

from django_jobtastic.models import Grant
from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE
from tests import jobs, probe
from tests.helpers import wait_until
from tests.integration.harness import wait_until_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

JOB_TIMEOUT = 60  # seconds: generous, a loaded machine only ever makes a job slower
NOT_FOUND = {"error": NOT_FOUND_MESSAGE}  # one body for a bad, expired or foreign token


def submit(visitor: Client, job: str, marker: str, *, hold: bool = False) -> dict[str, str]:
    """What the submitting page answers ``visitor``: the job's ``id`` and its ``status_url``."""
    response = visitor.post(f"/submit/{job}/{marker}/", {"hold": "1" if hold else "0"})
    assert response.status_code == 200, response.content
    answer: dict[str, str] = json.loads(response.content)
    assert answer["status_url"].startswith("/jobtastic/status/")
    return answer


def answer(visitor: Client, url: str) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, JSON body)`` of one GET, after the headers every answer carries."""
    response = visitor.get(url)
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    return response.status_code, json.loads(response.content)


def task_read_by(visitor: Client, url: str) -> dict[str, Any]:
    """The ``task`` object ``visitor`` reads at ``url``, which must answer 200."""
    status, body = answer(visitor, url)
    assert status == 200, body
    task: dict[str, Any] = body["task"]
    return task


def listed_jobs(visitor: Client) -> list[dict[str, str]]:
    """``GET /jobtastic/jobs/`` as ``visitor``: its granted jobs."""
    status, body = answer(visitor, "/jobtastic/jobs/")
    assert status == 200, body
    listed: list[dict[str, str]] = body["jobs"]
    return listed


def read_once_done(visitor: Client, url: str) -> dict[str, Any]:
    """Poll ``url`` as the widget does until the job is ready (an answer a status view
    re-uses for a moment may still say PROGRESS right after the job finished)."""
    done = wait_until(
        lambda: (task := task_read_by(visitor, url))["ready"] and task,
        timeout=JOB_TIMEOUT,
        what="the status URL to read the finished job",
    )
    return cast(dict[str, Any], done)


def test_latecomers_of_a_running_job_are_granted_it_and_strangers_are_not(
    worker, publishes, marker
):
    visitor_a, visitor_b, user_c = Client(), Client(), Client()
    user_c.force_login(User.objects.create_user("c", password="unused"))
    stranger, stranger_with_session = Client(), Client()
    assert stranger_with_session.session.session_key  # a session of their own, no grant

    first = submit(visitor_a, "counting", marker, hold=True)
    job = jobs.CountingJob.AsyncResult(first["id"])
    try:
        wait_until_held(job)
        later = submit(visitor_b, "counting", marker, hold=True)
        signed_in = submit(user_c, "counting", marker, hold=True)

        # The latecomers latched onto the running job and were granted it.
        assert later["id"] == signed_in["id"] == job.id
        assert publishes == [job.id]
        urls = {"A": first["status_url"], "B": later["status_url"], "C": signed_in["status_url"]}
        assert len(set(urls.values())) == 3  # each token bound to its own owner
        for name, visitor in (("A", visitor_a), ("B", visitor_b), ("C", user_c)):
            task = task_read_by(visitor, urls[name])
            assert (task["id"], task["status"], task["ready"]) == (job.id, "PROGRESS", False)
            assert task["progress"]["completed"] == 1  # held at step 1
            [listed] = listed_jobs(visitor)
            assert (listed["id"], listed["name"]) == (job.id, "tests.jobs.CountingJob")
            assert task_read_by(visitor, listed["status_url"])["id"] == job.id
        assert Grant.objects.filter(user__username="c", task_id=job.id).count() == 1

        # One visitor's URL is not another's, and a stranger reads nothing at all.
        assert answer(visitor_b, urls["A"]) == (404, NOT_FOUND)
        assert answer(visitor_a, urls["B"]) == (404, NOT_FOUND)
        for outsider in (stranger, stranger_with_session):
            assert listed_jobs(outsider) == []
            for url in urls.values():
                assert answer(outsider, url) == (404, NOT_FOUND)
            page = outsider.get(f"/widget/{job.id}/").content.decode()
            assert "The progress of this job cannot be shown." in page
            assert "/jobtastic/status/" not in page
    finally:
        probe.release(marker)

    assert job.get(timeout=JOB_TIMEOUT) == {"marker": marker, "steps": 4}
    done = read_once_done(visitor_a, urls["A"])
    assert done["status"] == "SUCCESS"
    assert done["result"] == {"marker": marker, "steps": 4}
    for name, visitor in (("B", visitor_b), ("C", user_c)):
        assert task_read_by(visitor, urls[name]) == done
    assert answer(stranger_with_session, urls["A"]) == (404, NOT_FOUND)
    assert publishes == [job.id]
    assert probe.runs(marker) == 1


def test_a_caller_answered_from_the_cache_is_granted_the_cached_job(worker, publishes, marker):
    visitor, latecomer = Client(), Client()
    first = submit(visitor, "cached", marker)
    job = jobs.CachedJob.AsyncResult(first["id"])
    assert job.get(timeout=JOB_TIMEOUT) == {"marker": marker, "steps": 4}

    cached = submit(latecomer, "cached", marker)

    assert cached["id"] == job.id
    assert publishes == [job.id]  # answered from the cache: nothing published
    task = task_read_by(latecomer, cached["status_url"])
    assert (task["id"], task["status"], task["successful"]) == (job.id, "SUCCESS", True)
    assert task["result"] == {"marker": marker, "steps": 4}
    [listed] = listed_jobs(latecomer)
    assert (listed["id"], listed["name"]) == (job.id, "tests.jobs.CachedJob")
    assert task_read_by(latecomer, listed["status_url"]) == task
    assert answer(Client(), cached["status_url"]) == (404, NOT_FOUND)
    assert probe.runs(marker) == 1
