"""The status views over HTTP (Django's test client), states written to the real backend.

States are stored with the result backend's own ``store_result``, so reading goes through
the real backend under test; the integration tests produce the same states with a worker.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from celery import states
from celery.backends.base import DisabledBackend
from celery.backends.redis import RedisBackend
from celery.exceptions import Retry
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.urls import reverse
from kombu.exceptions import ContentDisallowed, DecodeError, SerializerNotInstalled

from django_jobtastic import UserFacingError
from django_jobtastic.queueing_errors import not_queued
from django_jobtastic.web import result_reading as reading
from django_jobtastic.web.payloads import GENERIC_FAILURE
from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE, UNAVAILABLE_MESSAGE
from django_jobtastic.web.tokens import make_token, user_owner
from tests.celery_app import app
from tests.statuses import (
    DONE_PROGRESS,
    PROGRESS_META,
    assert_method_not_allowed,
    expected_task,
    fail_loading_users,
    failed,
    new_id,
    read,
    status_url_for,
    store,
)

pytestmark = pytest.mark.django_db(transaction=True)

NOT_FOUND = {"error": NOT_FOUND_MESSAGE}


def test_owner_reads_progress(client):
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    assert read(client, status_url_for(client, task_id)) == (
        200,
        {
            "task": {
                "id": task_id,
                "status": "PROGRESS",
                "ready": False,
                "successful": None,
                "result": PROGRESS_META,
                "progress": {
                    "percent": 42.0,
                    "time_remaining": 12.5,
                    "completed": 42,
                    "total": 100,
                    "message": "halfway <b>there</b>",
                    "started_at": "2026-11-25T00:00:00+00:00",
                    "updated_at": None,  # written before updated_at existed: not aged
                    "overdue": False,
                },
                "error": None,
            },
            "poll_interval": 1.0,
        },
    )


def test_unknown_task_is_pending(client):
    task_id = new_id()
    assert read(client, status_url_for(client, task_id)) == (
        200,
        {"task": expected_task(task_id, "PENDING"), "poll_interval": 1.0},
    )


@pytest.mark.parametrize("state", [states.STARTED, states.RECEIVED])
def test_started_task_shows_nothing_yet(client, state):
    task_id = new_id()
    store(task_id, {"pid": 123, "hostname": "worker@host"}, state)
    assert read(client, status_url_for(client, task_id))[1]["task"] == expected_task(task_id, state)


def test_retrying_task_is_waiting(client):
    task_id = new_id()
    store(task_id, Retry("again", when=1), states.RETRY, traceback="Traceback...")
    assert read(client, status_url_for(client, task_id))[1]["task"] == expected_task(
        task_id, "RETRY"
    )


def test_success_result_and_full_progress(client):
    task_id = new_id()
    store(task_id, {"url": "/media/export.csv", "rows": 3}, states.SUCCESS)
    assert read(client, status_url_for(client, task_id))[1]["task"] == {
        "id": task_id,
        "status": "SUCCESS",
        "ready": True,
        "successful": True,
        "result": {"url": "/media/export.csv", "rows": 3},
        "progress": DONE_PROGRESS,
        "error": None,
    }


def test_user_facing_failure_shows_its_message(client):
    task_id = new_id()
    store(task_id, UserFacingError("The file has no header row."), states.FAILURE, "Trace")
    assert read(client, status_url_for(client, task_id))[1]["task"] == failed(
        task_id, "UserFacingError", "The file has no header row."
    )


def test_other_failure_is_generic_and_without_traceback(client):
    task_id = new_id()
    store(task_id, KeyError("SECRET_INTERNAL"), states.FAILURE, "Traceback: SECRET_INTERNAL")
    response = client.get(status_url_for(client, task_id))
    assert b"SECRET_INTERNAL" not in response.content
    assert json.loads(response.content)["task"] == failed(task_id, "KeyError", GENERIC_FAILURE)


def test_debug_shows_the_exception_and_traceback(client, settings):
    settings.DEBUG = True
    task_id = new_id()
    store(task_id, KeyError("internal"), states.FAILURE, "Traceback (most recent call last)")
    assert read(client, status_url_for(client, task_id))[1]["task"] == {
        **failed(task_id, "KeyError", "'internal'"),
        "traceback": "Traceback (most recent call last)",
    }


def test_not_queued_failure_names_the_broker_error(client):
    task_id = new_id()
    store(task_id, not_queued(ConnectionRefusedError(111, "refused")), states.FAILURE)
    assert read(client, status_url_for(client, task_id))[1]["task"] == failed(
        task_id, "ConnectionRefusedError", "The job could not be queued. Please try again."
    )


def test_revoked(client):
    task_id = new_id()
    app.backend.mark_as_revoked(task_id, "revoked")
    assert read(client, status_url_for(client, task_id))[1]["task"] == failed(
        task_id, "TaskRevokedError", "The job was cancelled.", status="REVOKED"
    )


def test_custom_state_carries_its_meta(client):
    task_id = new_id()
    store(task_id, {"stage": "uploading"}, "UPLOADING")
    assert read(client, status_url_for(client, task_id))[1]["task"] == {
        **expected_task(task_id, "UPLOADING"),
        "result": {"stage": "uploading"},
        "progress": {
            **dict.fromkeys(
                ["percent", "time_remaining", "completed", "total", "message", "started_at"]
            ),
            "updated_at": None,
            "overdue": False,
        },
    }


def test_forged_exception_type_reads_as_a_failure_not_an_error(client):
    """A stored "exception" naming ``os.system``: Celery refuses it; we answer, never 500."""
    task_id = new_id()
    forged = {"exc_type": "system", "exc_module": "os", "exc_message": ["echo pwned"]}
    app.backend.store_result(task_id, None, states.FAILURE)
    meta = app.backend._get_result_meta(forged, states.FAILURE, None, None)
    write_raw_meta(task_id, meta)
    assert read(client, status_url_for(client, task_id))[1]["task"] == failed(
        task_id, "ResultNotReadableError", GENERIC_FAILURE
    )


def write_raw_meta(task_id: str, meta: dict) -> None:
    """Store ``meta`` as is, bypassing the exception encoding (what a forger would do)."""
    backend = app.backend
    if hasattr(backend, "TaskModel"):  # django-db
        backend.TaskModel._default_manager.filter(task_id=task_id).update(
            result=json.dumps(meta["result"])
        )
    else:
        backend.set(backend.get_key_for_task(task_id), backend.encode(meta))


# --- who may read ---------------------------------------------------------------------------


def test_another_session_gets_the_same_404(client):
    task_id = new_id()
    store(task_id, "secret result", states.SUCCESS)
    url = status_url_for(client, task_id)
    assert read(Client(), url) == (404, NOT_FOUND)
    other = Client()
    status_url_for(other, new_id())  # has a session of its own
    assert read(other, url) == (404, NOT_FOUND)
    assert read(client, url)[0] == 200


def test_another_user_gets_the_same_404():
    task_id = new_id()
    store(task_id, "secret result", states.SUCCESS)
    ada, bob = Client(), Client()
    ada.force_login(User.objects.create_user("ada"))
    bob.force_login(User.objects.create_user("bob"))
    url = status_url_for(ada, task_id)
    assert read(bob, url) == (404, NOT_FOUND)
    assert read(ada, url)[1]["task"]["result"] == "secret result"


def test_a_signed_in_users_token_works_in_any_of_their_sessions():
    task_id = new_id()
    ada = User.objects.create_user("ada")
    first, second = Client(), Client()
    first.force_login(ada)
    second.force_login(ada)
    assert read(second, status_url_for(first, task_id))[0] == 200


def test_anonymous_visitor_gets_a_session_cookie_with_the_url(client):
    response = client.get(f"/follow/{new_id()}/")
    assert response.cookies["sessionid"].value


def flip_middle_character(url: str) -> str:
    middle = len(url) // 2
    return url[:middle] + ("a" if url[middle] != "a" else "b") + url[middle + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda url: url.replace("/status/", "/status/x"),
        lambda url: url[:-6] + "/",
        lambda url: url[:-2] + ("A/" if url[-2] != "A" else "B/"),
        lambda url: flip_middle_character(url),
        lambda url: "/jobtastic/status/not-a-token/",
        lambda url: "/jobtastic/status/a/b/c/",
    ],
)
def test_tampered_and_truncated_tokens_get_the_same_404(client, damage):
    url = status_url_for(client, new_id())
    assert read(client, damage(url)) == (404, NOT_FOUND)


def test_expired_token_gets_the_same_404(client, settings, monkeypatch):
    url = status_url_for(client, new_id())
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60
    later = time.time() + 61  # the signature's clock, a minute and a second on
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    assert read(client, url) == (404, NOT_FOUND)


# --- the raw-id route -------------------------------------------------------------------------


def test_raw_ids_are_refused_by_default(client):
    task_id = new_id()
    store(task_id, "secret result", states.SUCCESS)
    assert read(client, f"/jobtastic/{task_id}/status/") == (404, NOT_FOUND)
    assert read(client, f"/jobtastic/{task_id}/status/", "post") == (404, NOT_FOUND)


def test_raw_ids_when_enabled(client, settings):
    settings.JOBTASTIC_STATUS_ALLOW_RAW_IDS = True
    task_id = new_id()
    store(task_id, [1, 2], states.SUCCESS)
    status, body = read(client, f"/jobtastic/{task_id}/status/")
    assert (status, body["task"]["result"]) == (200, [1, 2])
    assert read(client, "/jobtastic/never-seen_1.0/status/") == (
        200,
        {"task": expected_task("never-seen_1.0", "PENDING"), "poll_interval": 1.0},
    )


@pytest.mark.parametrize("task_id", ["a" * 256, "semi;colon", "sp%20ace", "caf%C3%A9", "%00"])
def test_raw_ids_outside_the_allowed_set_are_404(client, settings, task_id):
    settings.JOBTASTIC_STATUS_ALLOW_RAW_IDS = True
    assert read(client, f"/jobtastic/{task_id}/status/") == (404, NOT_FOUND)


# --- methods and settings ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_get_405_even_without_a_csrf_token(method):
    client = Client(enforce_csrf_checks=True)
    url = status_url_for(client, new_id())
    assert_method_not_allowed(getattr(client, method)(url))


def test_head_is_answered(client):
    assert client.head(status_url_for(client, new_id())).status_code == 200


def test_poll_interval_follows_the_setting(client, settings):
    settings.JOBTASTIC_POLL_INTERVAL = 2.5
    assert read(client, status_url_for(client, new_id()))[1]["poll_interval"] == 2.5


def test_unencodable_results_become_strings(client, settings):
    task_id = new_id()
    store(task_id, {"ratio": float("nan"), "big": float("inf")}, states.SUCCESS)
    response = client.get(status_url_for(client, task_id))
    body = json.loads(response.content, parse_constant=lambda name: pytest.fail(name))
    assert body["task"]["result"] == {"ratio": "NaN", "big": "Infinity"}


def test_no_result_backend_configured_is_a_503(client, monkeypatch):
    url = status_url_for(client, new_id())
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=DisabledBackend(app)))
    response = client.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert json.loads(response.content) == {"error": UNAVAILABLE_MESSAGE}


def test_database_down_while_loading_the_user_is_a_503(monkeypatch):
    ada = Client()
    ada.force_login(User.objects.create_user("ada"))
    url = status_url_for(ada, new_id())
    fail_loading_users(monkeypatch)
    response = ada.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")


@pytest.mark.parametrize(
    "refusal",
    [
        ContentDisallowed("Refusing to deserialize untrusted content of type pickle"),
        SerializerNotInstalled("No decoder installed for msgpack"),
        DecodeError("Expecting value"),
    ],
)
def test_a_result_this_process_may_not_decode_is_a_failure_not_a_500(client, monkeypatch, refusal):
    url = status_url_for(client, new_id())

    class Refusing:
        def _get_task_meta_for(self, task_id):
            raise refusal

    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=Refusing()))
    task = read(client, url)[1]["task"]
    assert (task["status"], task["error"]) == (
        "FAILURE",
        {"type": "ResultNotReadableError", "message": GENERIC_FAILURE},
    )


def test_a_result_backend_that_never_answers_is_a_503_within_the_bound(
    client, monkeypatch, silent_port
):
    """A Redis that accepts connections and never answers: the poll gives up, it does not hang
    for Celery's socket timeout (120 s by default)."""
    url = status_url_for(client, new_id())
    silent = RedisBackend(app=app, url=f"redis://127.0.0.1:{silent_port}/0")
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=silent))
    started = time.monotonic()
    response = client.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert time.monotonic() - started < 10  # the bound is 2 s: generous for a busy machine


def test_a_session_cache_that_never_answers_is_a_503(silent_session_visitor):
    """A signed-in user's token, their session in a cache that accepts and never answers."""
    ada = User.objects.create_user("ada")
    url = reverse("jobtastic:status", kwargs={"token": make_token(new_id(), user_owner(ada.pk))})
    response = silent_session_visitor.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
