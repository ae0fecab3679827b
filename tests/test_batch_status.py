"""The batch status view (``status/?t=…&t=…``) over HTTP, states written to the real backend.

Each token's answer is compared with what the single status view answers for it: the batch
is many single answers in one request, read from the backend in one round trip.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from celery import states
from celery.backends.base import DisabledBackend
from celery.backends.cache import CacheBackend
from celery.backends.redis import RedisBackend
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from kombu.exceptions import ContentDisallowed

from django_jobtastic import UserFacingError
from django_jobtastic.web import result_reading as reading
from django_jobtastic.web.batch_status import MAX_TOKENS
from django_jobtastic.web.payloads import GENERIC_FAILURE
from django_jobtastic.web.result_reading import READ_TIMEOUT
from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE, UNAVAILABLE_MESSAGE
from django_jobtastic.web.tokens import SALT, make_token, session_owner, user_owner
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
from tests.test_views import write_raw_meta

pytestmark = pytest.mark.django_db(transaction=True)

NOT_FOUND = {"error": NOT_FOUND_MESSAGE}
NO_TOKENS = {"error": "Name the jobs to read: status/?t=<token>&t=<token>."}
TOO_MANY = {"error": "At most 50 jobs can be read in one request."}


def token_for(client: Client, task_id: str) -> str:
    """The token of the status URL a page hands this client for ``task_id``."""
    return status_url_for(client, task_id).split("/")[-2]


def batch_url(*tokens: str) -> str:
    return reverse("jobtastic:statuses") + "?" + urlencode([("t", token) for token in tokens])


def read_batch(client: Client, *tokens: str) -> dict:
    status, body = read(client, batch_url(*tokens))
    assert status == 200
    assert body["poll_interval"] == 1.0
    return body["tasks"]


def single_answer(client: Client, token: str) -> dict:
    """What the single status view answers for ``token``: the task object, or its 404 body."""
    status, body = read(client, reverse("jobtastic:status", kwargs={"token": token}))
    return body["task"] if status == 200 else body


def stored_jobs(client: Client) -> dict[str, str]:
    """Tokens of this client for a job in each kind of state: ``{name: token}``."""
    ids = {name: new_id() for name in ("progress", "success", "failure", "custom", "pending")}
    store(ids["progress"], PROGRESS_META, "PROGRESS")
    store(ids["success"], {"url": "/media/export.csv"}, states.SUCCESS)
    store(ids["failure"], UserFacingError("The file has no header row."), states.FAILURE, "Tb")
    store(ids["custom"], {"stage": "uploading"}, "UPLOADING")
    return {name: token_for(client, task_id) for name, task_id in ids.items()}


# --- the answer ---------------------------------------------------------------------------------


def test_each_task_is_answered_as_the_single_view_answers_it(client):
    tokens = stored_jobs(client)
    tasks = read_batch(client, *tokens.values())
    assert tasks == {token: single_answer(client, token) for token in tokens.values()}
    assert tasks[tokens["success"]]["progress"] == DONE_PROGRESS
    assert tasks[tokens["failure"]]["error"] == {
        "type": "UserFacingError",
        "message": "The file has no header row.",
    }
    assert tasks[tokens["pending"]]["status"] == "PENDING"


def test_the_answer_is_exact(client):
    task_id = new_id()
    store(task_id, [1, 2], states.SUCCESS)
    token = token_for(client, task_id)
    assert read(client, batch_url(token)) == (
        200,
        {
            "tasks": {
                token: expected_task(
                    task_id,
                    "SUCCESS",
                    ready=True,
                    successful=True,
                    result=[1, 2],
                    progress=DONE_PROGRESS,
                )
            },
            "poll_interval": 1.0,
        },
    )


def test_the_poll_interval_follows_the_setting(client, settings):
    settings.JOBTASTIC_POLL_INTERVAL = 2.5
    status, body = read(client, batch_url(token_for(client, new_id())))
    assert (status, body["poll_interval"]) == (200, 2.5)


def test_head_is_answered(client):
    assert client.head(batch_url(token_for(client, new_id()))).status_code == 200


def test_the_single_route_still_answers(client):
    task_id = new_id()
    assert read(client, status_url_for(client, task_id)) == (
        200,
        {"task": expected_task(task_id, "PENDING"), "poll_interval": 1.0},
    )


# --- tokens that are not the requester's ---------------------------------------------------------


def test_bad_foreign_and_expired_tokens_get_the_error_alone(client, settings, monkeypatch):
    mine = stored_jobs(client)
    stranger = Client()
    foreign = token_for(stranger, new_id())
    tampered = mine["success"][:-2] + ("AA" if not mine["success"].endswith("AA") else "BB")
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60
    old = time.time() - 61  # signed a minute and a second ago
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: old))
    expired = token_for(client, new_id())
    monkeypatch.undo()
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60

    tasks = read_batch(client, foreign, *mine.values(), tampered, "not-a-token", expired)

    refused = {foreign, tampered, "not-a-token", expired}
    assert {token: tasks[token] for token in refused} == dict.fromkeys(refused, NOT_FOUND)
    assert {token: tasks[token] for token in mine.values()} == {
        token: single_answer(client, token) for token in mine.values()
    }
    assert single_answer(client, expired) == NOT_FOUND  # as the single view says


def test_another_users_token_is_refused():
    task_id = new_id()
    store(task_id, "secret result", states.SUCCESS)
    ada, bob = Client(), Client()
    ada.force_login(User.objects.create_user("ada"))
    bob.force_login(User.objects.create_user("bob"))
    token = token_for(ada, task_id)
    assert read_batch(bob, token) == {token: NOT_FOUND}
    assert read_batch(ada, token)[token]["result"] == "secret result"


@pytest.mark.parametrize(
    "token",
    ["a" * 100_000, "", "\x00", "é:é:é", "a:b:c", ".eJyrVkrOz0nPLwIAHfsEdA:1:x", "%ff"],
)
def test_any_bad_token_is_just_a_bad_token(client, token):
    mine = token_for(client, new_id())
    tasks = read_batch(client, token, mine)
    assert tasks[token] == NOT_FOUND
    assert tasks[mine]["status"] == "PENDING"


@hypothesis_settings(max_examples=200, deadline=None)
@given(tokens=st.lists(st.text(max_size=200), min_size=1, max_size=MAX_TOKENS))
def test_any_tokens_get_a_json_answer(tokens):
    response = Client().get(batch_url(*tokens))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert set(json.loads(response.content)["tasks"]) == set(tokens)


def test_each_distinct_token_is_answered_once_and_its_task_read_once(client, backend_batches):
    first, second = new_id(), new_id()
    store(first, PROGRESS_META, "PROGRESS")
    one, two = token_for(client, first), token_for(client, second)
    tasks = read_batch(client, one, two, one, one, two)
    assert list(tasks) == [one, two]
    assert backend_batches == [[first, second]]


def test_tokens_naming_the_same_task_share_one_read(client, backend_batches):
    task_id = new_id()
    store(task_id, PROGRESS_META, "PROGRESS")
    client.get("/follow/x/")  # a session
    owner = session_owner(client.session.session_key)
    first = make_token(task_id, owner)
    second = signing.dumps({"owner": owner, "task": task_id}, salt=SALT)  # other key order
    assert first != second
    tasks = read_batch(client, first, second)
    assert tasks[first] == tasks[second] == single_answer(client, first)
    assert backend_batches == [[task_id]]


# --- requests that are not a batch ---------------------------------------------------------------


def test_no_token_is_a_400(client):
    assert read(client, reverse("jobtastic:statuses")) == (400, NO_TOKENS)
    assert read(client, reverse("jobtastic:statuses") + "?x=1") == (400, NO_TOKENS)


def test_more_than_the_limit_is_a_400_and_the_limit_is_answered(client):
    tokens = [token_for(client, new_id()) for _ in range(MAX_TOKENS + 1)]
    assert MAX_TOKENS == 50
    assert read(client, batch_url(*tokens)) == (400, TOO_MANY)
    assert len(read_batch(client, *tokens[:MAX_TOKENS])) == MAX_TOKENS
    assert len(read_batch(client, *tokens[:MAX_TOKENS], tokens[0])) == MAX_TOKENS  # a repeat


def test_more_fields_than_django_parses_is_the_same_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    assert read(client, batch_url(*(str(n) for n in range(11)))) == (400, TOO_MANY)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_get_405_even_without_a_csrf_token(method):
    client = Client(enforce_csrf_checks=True)
    assert_method_not_allowed(getattr(client, method)(batch_url(token_for(client, new_id()))))


# --- outages and unreadable states ---------------------------------------------------------------


def assert_unavailable(client: Client, url: str) -> None:
    response = client.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    assert json.loads(response.content) == {"error": UNAVAILABLE_MESSAGE}


def test_no_result_backend_configured_is_a_503(client, monkeypatch):
    url = batch_url(token_for(client, new_id()), token_for(client, new_id()))
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=DisabledBackend(app)))
    assert_unavailable(client, url)


def test_a_result_backend_refusing_connections_is_a_503(client, monkeypatch):
    url = batch_url(token_for(client, new_id()), token_for(client, new_id()))
    refusing = RedisBackend(app=app, url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=refusing))
    assert_unavailable(client, url)


def test_a_result_backend_that_never_answers_is_a_503(client, monkeypatch, silent_port):
    url = batch_url(token_for(client, new_id()), token_for(client, new_id()))
    silent = RedisBackend(app=app, url=f"redis://127.0.0.1:{silent_port}/0")
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=silent))
    assert_unavailable(client, url)


def test_only_bad_tokens_need_no_backend(client, monkeypatch):
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=DisabledBackend(app)))
    assert read_batch(client, "bad") == {"bad": NOT_FOUND}


def test_database_down_while_loading_the_user_is_a_503(monkeypatch):
    ada = Client()
    ada.force_login(User.objects.create_user("ada"))
    url = batch_url(token_for(ada, new_id()))
    fail_loading_users(monkeypatch)
    assert_unavailable(ada, url)


def test_a_session_store_that_never_answers_is_a_503(silent_session_visitor):
    """Tokens that are not the visitor's, whose session is in a cache that never answers."""
    ada = User.objects.create_user("ada")
    tokens = [make_token(new_id(), user_owner(ada.pk)) for _ in range(3)]
    assert_unavailable(silent_session_visitor, batch_url(*tokens))


def test_refusals_ask_the_session_store_once(client, monkeypatch):
    """Is the store down, or is this a stranger? Asked once per request, not per token."""
    stranger = Client()
    foreign = [token_for(stranger, new_id()) for _ in range(5)]
    mine = token_for(client, new_id())
    store_class = type(client.session)
    lookups: list[str] = []
    real = store_class.exists

    def exists(self, key):
        lookups.append(key)
        return real(self, key)

    monkeypatch.setattr(store_class, "exists", exists)
    tasks = read_batch(client, *foreign, mine)
    assert [tasks[token] for token in foreign] == [NOT_FOUND] * 5
    assert len(lookups) == 1


def test_an_unreadable_state_fails_that_task_alone(client):
    forged_id, fine_id = new_id(), new_id()
    store(fine_id, PROGRESS_META, "PROGRESS")
    app.backend.store_result(forged_id, None, states.FAILURE)
    forged = {"exc_type": "system", "exc_module": "os", "exc_message": ["echo pwned"]}
    write_raw_meta(forged_id, app.backend._get_result_meta(forged, states.FAILURE, None, None))
    forged_token, fine_token = token_for(client, forged_id), token_for(client, fine_id)
    tasks = read_batch(client, forged_token, fine_token)
    assert tasks[forged_token] == failed(forged_id, "ResultNotReadableError", GENERIC_FAILURE)
    assert tasks[fine_token]["status"] == "PROGRESS"


def test_a_backend_without_many_reads_is_read_task_by_task(client, monkeypatch):
    """Any other backend: one read per task, and what one cannot decode fails it alone."""
    refused, fine = new_id(), new_id()
    reads: list[str] = []

    class OneAtATime:
        def _get_task_meta_for(self, task_id):
            reads.append(task_id)
            if task_id == refused:
                raise ContentDisallowed("Refusing to deserialize untrusted content of type pickle")
            return {"status": "SUCCESS", "result": 7}

    tokens = token_for(client, refused), token_for(client, fine)
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=OneAtATime()))
    tasks = read_batch(client, *tokens)
    assert tasks[tokens[0]] == failed(refused, "ResultNotReadableError", GENERIC_FAILURE)
    assert (tasks[tokens[1]]["status"], tasks[tokens[1]]["result"]) == ("SUCCESS", 7)
    assert reads == [refused, fine]


def test_any_key_value_backend_with_mget_is_read_with_one(client, monkeypatch):
    """Celery's cache backend (in memory here), whose mget answers {key: value}."""
    cache_backend = CacheBackend(app=app, backend="memory")
    done, waiting = new_id(), new_id()
    cache_backend.store_result(done, {"rows": 3}, states.SUCCESS)
    tokens = token_for(client, done), token_for(client, waiting)
    many_reads: list[int] = []
    real = cache_backend.mget

    def mget(keys):
        many_reads.append(len(keys))
        return real(keys)

    monkeypatch.setattr(cache_backend, "mget", mget)
    monkeypatch.setattr(reading, "current_app", SimpleNamespace(backend=cache_backend))
    tasks = read_batch(client, *tokens)
    assert tasks == {
        tokens[0]: expected_task(
            done, "SUCCESS", ready=True, successful=True, result={"rows": 3}, progress=DONE_PROGRESS
        ),
        tokens[1]: expected_task(waiting, "PENDING"),
    }
    assert many_reads == [2]


def test_no_tasks_are_no_read():
    assert reading.read_task_states([]) == {}


def test_an_id_the_round_trip_cannot_carry_reads_as_it_would_alone(client):
    """A token naming an empty task id (grant never makes one): the others are still read."""
    fine = new_id()
    store(fine, [1], states.SUCCESS)
    fine_token = token_for(client, fine)
    empty = make_token("", session_owner(client.session.session_key))
    tasks = read_batch(client, empty, fine_token)
    assert tasks[empty] == single_answer(client, empty)
    assert tasks[fine_token]["result"] == [1]


# --- the same steps as a single poll -------------------------------------------------------------


def test_debug_shows_the_exception_and_traceback(client, settings):
    settings.DEBUG = True
    failing, waiting = new_id(), new_id()
    store(failing, KeyError("internal"), states.FAILURE, "Traceback (most recent call last)")
    tokens = token_for(client, failing), token_for(client, waiting)
    tasks = read_batch(client, *tokens)
    assert tasks[tokens[0]] == {
        **failed(failing, "KeyError", "'internal'"),
        "traceback": "Traceback (most recent call last)",
    }
    assert tasks[tokens[1]] == {**expected_task(waiting, "PENDING"), "traceback": None}


def test_texts_follow_the_request_language(client):
    task_id = new_id()
    store(task_id, KeyError("internal"), states.FAILURE)
    token = token_for(client, task_id)
    with translation.override("de"):
        tasks = read_batch(client, token, "bad")
        too_many = read(client, batch_url(*(str(n) for n in range(MAX_TOKENS + 1))))
        nothing = read(client, reverse("jobtastic:statuses"))
    assert tasks[token]["error"]["message"] == (
        "Bei der Ausführung dieses Auftrags ist ein Fehler aufgetreten."
    )
    assert tasks["bad"]["error"].startswith("Diesen Auftrag gibt es nicht")
    assert too_many == (400, {"error": "Höchstens 50 Aufträge lassen sich in einer Anfrage lesen."})
    assert nothing == (400, {"error": "Nennen Sie die Aufträge: status/?t=<token>&t=<token>."})


def test_a_silent_job_is_reported_lost(client, settings):
    settings.JOBTASTIC_LOST_AFTER = 60
    lost, alive = new_id(), new_id()
    long_ago = "2020-01-01T00:00:00Z"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store(
        lost, {"progress_percent": 10.0, "updated_at": long_ago, "alive_at": long_ago}, "PROGRESS"
    )
    store(alive, {"progress_percent": 10.0, "updated_at": now, "alive_at": now}, "PROGRESS")
    tokens = token_for(client, lost), token_for(client, alive)
    tasks = read_batch(client, *tokens)
    assert tasks[tokens[0]] == failed(
        lost, "JobLostError", "The job stopped unexpectedly. Please try again."
    )
    assert tasks[tokens[1]]["status"] == "PROGRESS"
    assert app.backend.get_task_meta(lost)["status"] == "FAILURE"  # the verdict is stored


def test_an_outcome_only_the_submitter_knew_is_answered(client):
    task_id = new_id()
    token = client.get(f"/follow-unstored/{task_id}/FAILURE/").content.decode().split("/")[-2]
    assert read_batch(client, token)[token] == failed(
        task_id, "OperationalError", "The job could not be queued. Please try again."
    )


def test_held_answers_are_not_used(client, settings):
    """A batch reads its tasks afresh: it never answers what a single poll left held."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60
    task_id = new_id()
    token = token_for(client, task_id)
    assert single_answer(client, token)["status"] == "PENDING"  # held for a minute
    store(task_id, [1], states.SUCCESS)
    assert read_batch(client, token)[token]["status"] == "SUCCESS"
    assert single_answer(client, token)["status"] == "PENDING"  # still held, untouched


# --- one round trip ----------------------------------------------------------------------------


@pytest.fixture
def result_backend(request, monkeypatch):
    """This thread's result backend, whatever the set-up's: Redis (its results database) or
    django-db, so each round-trip test runs on every set-up."""
    from django_celery_results.backends.database import DatabaseBackend

    backend = (
        RedisBackend(app=app, url=django_settings.REDIS_RESULTS)
        if request.param == "redis"
        else DatabaseBackend(app=app, url="django-db")
    )
    monkeypatch.setattr(app._local, "backend", backend, raising=False)
    return backend


@pytest.mark.parametrize("result_backend", ["redis"], indirect=True)
def test_redis_reads_every_task_with_one_mget(client, monkeypatch, result_backend):
    tokens = list(stored_jobs(client).values())
    tokens += [token_for(client, new_id()) for _ in range(MAX_TOKENS - len(tokens))]
    client_of_reads = reading.bounded(app.backend, READ_TIMEOUT).client
    commands: list[tuple[str, int]] = []
    real = client_of_reads.execute_command

    def execute_command(*args, **options):
        commands.append((args[0], len(args) - 1))
        return real(*args, **options)

    monkeypatch.setattr(client_of_reads, "execute_command", execute_command)
    tasks = read_batch(client, *tokens)
    assert commands == [("MGET", MAX_TOKENS)]
    assert tasks == {token: single_answer(client, token) for token in tokens}


@pytest.mark.parametrize("result_backend", ["django-db"], indirect=True)
def test_django_db_reads_every_task_with_one_query(client, result_backend):
    tokens = list(stored_jobs(client).values())
    read_batch(client, *tokens)  # the unknown job's kept outcome: asked once per process
    tokens += [token_for(client, new_id()) for _ in range(MAX_TOKENS - len(tokens))]
    read_batch(client, *tokens[5:])  # those too
    with CaptureQueriesContext(connection) as queries:
        tasks = read_batch(client, *tokens)
    reads = [
        query["sql"] for query in queries if "django_celery_results_taskresult" in query["sql"]
    ]
    assert len(reads) == 1
    assert tasks == {token: single_answer(client, token) for token in tokens}
