"""Polls of one task within JOBTASTIC_STATUS_REUSE_SECONDS share one backend read.

States are stored through the real result backend; a spy counts the real reads.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from celery import states
from celery.backends.base import DisabledBackend
from django.db import connections
from django.test import Client

from django_jobtastic.web import result_reading as reading
from django_jobtastic.web.answer_reuse import RecentAnswers, answers
from django_jobtastic.web.payloads import GENERIC_FAILURE
from tests.celery_app import app
from tests.statuses import PROGRESS_META, new_id, read, status_url_for, store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The held answers' clock, moved by hand: ``clock[0] += 1`` is one second later."""
    now = [1000.0]
    monkeypatch.setattr(answers, "clock", lambda: now[0])
    return now


def running_job(client: Client) -> tuple[str, str]:
    """A task in PROGRESS and the status URL its owner ``client`` was given: ``(id, url)``."""
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    return task_id, status_url_for(client, task_id)


def status_of(client: Client, url: str) -> str:
    code, body = read(client, url)
    assert code == 200
    return body["task"]["status"]


def test_polls_in_the_window_share_one_read(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id, url = running_job(client)
    bodies = [read(client, url) for _ in range(20)]
    assert backend_reads == [task_id]
    assert all(body == bodies[0] for body in bodies)


def test_concurrent_pollers_of_one_job_read_it_a_few_times_at_most(settings, backend_reads):
    """Eight browsers following one herd-shared job: the backend is read a handful of times."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    visitors = [Client() for _ in range(8)]
    urls = [status_url_for(visitor, task_id) for visitor in visitors]

    def follow(visitor: Client, url: str) -> set[str]:
        try:
            return {status_of(visitor, url) for _ in range(25)}
        finally:
            connections.close_all()  # this thread's own database connection

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(follow, visitors, urls)) == [{"PROGRESS"}] * 8
    assert 1 <= len(backend_reads) <= 8  # at most one per thread that missed at the same time


def test_a_change_shows_once_the_window_has_passed(client, settings, clock):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0.2
    task_id, url = running_job(client)
    assert status_of(client, url) == "PROGRESS"
    store(task_id, {"done": True}, states.SUCCESS)
    clock[0] += 0.19
    assert status_of(client, url) == "PROGRESS"  # read 0.19 s ago: still answered
    clock[0] += 0.01
    assert status_of(client, url) == "SUCCESS"


def test_zero_turns_reuse_off(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0
    task_id, url = running_job(client)
    assert status_of(client, url) == "PROGRESS"
    store(task_id, {"done": True}, states.SUCCESS)
    assert status_of(client, url) == "SUCCESS"
    assert backend_reads == [task_id, task_id]


def test_a_held_answer_is_never_shown_to_another_visitor(client, settings):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    _, url = running_job(client)
    assert status_of(client, url) == "PROGRESS"
    stranger = Client()
    status_url_for(stranger, new_id())  # a session of their own
    assert stranger.get(url).status_code == 404


def test_an_unreachable_backend_is_asked_again_on_the_next_poll(client, settings, monkeypatch):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    _, url = running_job(client)
    with monkeypatch.context() as down:
        down.setattr(reading, "current_app", SimpleNamespace(backend=DisabledBackend(app)))
        assert client.get(url).status_code == 503
    assert status_of(client, url) == "PROGRESS"


def test_debug_answers_are_kept_apart(client, settings):
    """An answer held under DEBUG (with the traceback) is never served once DEBUG is off,
    and one held without DEBUG never hides what DEBUG shows."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, ValueError("internal detail"), states.FAILURE, traceback="Traceback ...")
    url = status_url_for(client, task_id)
    settings.DEBUG = True
    task = read(client, url)[1]["task"]
    assert (task["error"]["message"], task["traceback"]) == ("internal detail", "Traceback ...")
    settings.DEBUG = False
    task = read(client, url)[1]["task"]
    assert (task["error"]["message"], "traceback" in task) == (GENERIC_FAILURE, False)
    settings.DEBUG = True
    assert read(client, url)[1]["task"]["traceback"] == "Traceback ..."


def test_large_answers_are_read_afresh(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, "x" * 20_000, states.SUCCESS)
    url = status_url_for(client, task_id)
    read(client, url)
    read(client, url)
    assert backend_reads == [task_id, task_id]


def test_answers_expire_counted_from_when_their_read_began():
    now = [50.0]
    recent = RecentAnswers(clock=lambda: now[0])
    recent.put("a", b"{}", 1.0, read_at=49.5)  # the read took half a second
    assert recent.get("a") == b"{}"
    now[0] = 50.49
    assert recent.get("a") == b"{}"
    now[0] = 50.5
    assert recent.get("a") is None


def test_a_slow_read_never_replaces_a_later_one():
    now = [10.0]
    recent = RecentAnswers(clock=lambda: now[0])
    recent.put("job", b"SUCCESS", 1.0, read_at=10.0)
    recent.put("job", b"PROGRESS", 1.0, read_at=9.5)  # began earlier, finished later
    assert recent.get("job") == b"SUCCESS"
    recent.put("job", b"newer", 1.0, read_at=10.2)
    assert recent.get("job") == b"newer"


def test_a_full_map_drops_expired_answers_and_refuses_when_all_are_live():
    now = [0.0]
    recent = RecentAnswers(max_answers=2, clock=lambda: now[0])
    recent.put("old", b"1", 1, read_at=0)
    recent.put("live", b"2", 60, read_at=0)
    now[0] = 2
    recent.put("new", b"3", 60, read_at=2)  # full: "old" has expired and makes room
    assert (recent.get("old"), recent.get("live"), recent.get("new")) == (None, b"2", b"3")
    recent.put("more", b"4", 60, read_at=2)  # full of live answers: not kept
    assert recent.get("more") is None
    recent.put("live", b"5", 60, read_at=3)  # a held key is refreshed even when full
    assert recent.get("live") == b"5"


@pytest.mark.parametrize("seconds", [0, -1, math.inf, math.nan])
def test_windows_that_are_not_positive_and_finite_keep_nothing(seconds):
    recent = RecentAnswers()
    recent.put("job", b"1", seconds, read_at=recent.clock())
    assert recent.get("job") is None


def test_big_bodies_are_not_kept():
    recent = RecentAnswers(max_bytes=4)
    recent.put("big", b"12345", 60, read_at=recent.clock())
    assert recent.get("big") is None
