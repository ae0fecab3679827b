"""Polls of one task within JOBTASTIC_STATUS_REUSE_SECONDS share one backend read.

States are stored through the real result backend; a spy counts the real reads.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from celery import states
from celery.backends.base import DisabledBackend
from django.test import Client

from django_jobtastic import reading
from django_jobtastic.recent import RecentAnswers
from django_jobtastic.status import GENERIC_FAILURE
from tests.celery_app import app
from tests.test_views import PROGRESS_META, new_id, read, status_url_for, store

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(client: Client, url: str) -> str:
    code, body = read(client, url)
    assert code == 200
    return body["task"]["status"]


def test_polls_in_the_window_share_one_read(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = status_url_for(client, task_id)
    bodies = [read(client, url) for _ in range(20)]
    assert backend_reads == [task_id]
    assert all(body == bodies[0] for body in bodies)


def test_concurrent_pollers_of_one_job_read_it_a_few_times_at_most(settings, backend_reads):
    """Many browsers following one herd-shared job: the backend is read a handful of times."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    visitors = [Client() for _ in range(8)]
    urls = [status_url_for(visitor, task_id) for visitor in visitors]

    def poll(index: int) -> str:
        return status_of(visitors[index % 8], urls[index % 8])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(poll, range(200))) == {"PROGRESS"}
    assert 1 <= len(backend_reads) <= 8  # at most one per thread that missed at the same time


def test_a_change_shows_once_the_window_has_passed(client, settings):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0.2
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = status_url_for(client, task_id)
    assert status_of(client, url) == "PROGRESS"
    store(task_id, {"done": True}, states.SUCCESS)
    assert status_of(client, url) == "PROGRESS"  # at most 0.2 s old
    time.sleep(0.25)
    assert status_of(client, url) == "SUCCESS"


def test_zero_turns_reuse_off(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = status_url_for(client, task_id)
    assert status_of(client, url) == "PROGRESS"
    store(task_id, {"done": True}, states.SUCCESS)
    assert status_of(client, url) == "SUCCESS"
    assert backend_reads == [task_id, task_id]


def test_a_held_answer_is_never_shown_to_another_visitor(client, settings):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = status_url_for(client, task_id)
    assert status_of(client, url) == "PROGRESS"
    stranger = Client()
    status_url_for(stranger, new_id())  # a session of their own
    assert stranger.get(url).status_code == 404


def test_an_unreachable_backend_is_asked_again_on_the_next_poll(client, settings, monkeypatch):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    url = status_url_for(client, task_id)
    with monkeypatch.context() as down:
        down.setattr(reading, "current_app", SimpleNamespace(backend=DisabledBackend(app)))
        assert client.get(url).status_code == 503
    assert status_of(client, url) == "PROGRESS"


def test_debug_answers_are_kept_apart(client, settings):
    """An answer held while DEBUG was off never hides the traceback DEBUG asks for."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, ValueError("internal detail"), states.FAILURE, traceback="Traceback ...")
    url = status_url_for(client, task_id)
    assert read(client, url)[1]["task"]["error"]["message"] == GENERIC_FAILURE
    settings.DEBUG = True
    task = read(client, url)[1]["task"]
    assert (task["error"]["message"], task["traceback"]) == ("internal detail", "Traceback ...")


def test_large_answers_are_read_afresh(client, settings, backend_reads):
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    store(task_id, "x" * 20_000, states.SUCCESS)
    url = status_url_for(client, task_id)
    read(client, url)
    read(client, url)
    assert backend_reads == [task_id, task_id]


def test_answers_expire():
    answers = RecentAnswers()
    answers.put("a", b"{}", 0.05)
    assert answers.get("a") == b"{}"
    time.sleep(0.06)
    assert answers.get("a") is None


def test_a_full_map_drops_expired_answers_and_refuses_when_all_are_live():
    answers = RecentAnswers(max_answers=2)
    answers.put("old", b"1", 0.01)
    answers.put("live", b"2", 60)
    time.sleep(0.02)
    answers.put("new", b"3", 60)  # full: "old" has expired and makes room
    assert (answers.get("old"), answers.get("live"), answers.get("new")) == (None, b"2", b"3")
    answers.put("more", b"4", 60)  # full of live answers: not kept
    assert answers.get("more") is None
    assert answers.get("live") == b"2"


def test_non_positive_windows_and_big_bodies_are_not_kept():
    answers = RecentAnswers(max_bytes=4)
    answers.put("zero", b"1", 0)
    answers.put("big", b"12345", 60)
    assert answers.get("zero") is None
    assert answers.get("big") is None
