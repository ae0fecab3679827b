"""The Flask routes' answers when something is wrong: every one JSON with the right status
(400, 404, 405, 503), never a traceback; and tokens or grants that are not what they seem."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from django.core import signing
from flask import Flask

from django_jobtastic.conf import forget
from django_jobtastic.flask import Jobtastic
from django_jobtastic.flask.grants import KEY_PREFIX, granted
from django_jobtastic.job_cache import open_cache
from django_jobtastic.web.batch_status import MAX_TOKENS
from django_jobtastic.web.tokens import SALT
from tests.flask.celery_app import REDIS_URL
from tests.flask.celery_app import app as celery_app
from tests.flask.site import app as site
from tests.helpers import free_port

NOT_FOUND = {"error": "This job does not exist, has expired, or belongs to someone else."}
UNAVAILABLE = {"error": "The job's status cannot be read right now. Please try again shortly."}


@pytest.fixture
def client():
    celery_app.set_current()
    return site.test_client()


@pytest.fixture
def cache_down() -> Iterator[None]:
    """The jobtastic cache (grants) unreachable, for the requests of one test."""
    celery_app.conf.jobtastic_cache = f"redis://127.0.0.1:{free_port()}/0"
    forget()
    yield
    celery_app.conf.jobtastic_cache = REDIS_URL
    forget()


def token_of(client, task_id: str) -> str:
    return client.get(f"/grant/{task_id}").get_json()["status_url"].split("/")[-2]


def test_the_batch_route_refuses_other_methods(client):
    response = client.post("/jobtastic/status/", query_string={"t": "x"})

    assert (response.status_code, response.headers["Allow"]) == (405, "GET, HEAD")


def test_the_batch_route_refuses_too_many_tokens(client):
    tokens = [f"token-{n}" for n in range(MAX_TOKENS + 1)]

    response = client.get("/jobtastic/status/", query_string={"t": tokens})

    assert (response.status_code, response.get_json()) == (
        400,
        {"error": f"At most {MAX_TOKENS} jobs can be read in one request."},
    )


def test_the_batch_route_answers_503_when_the_result_backend_is_down(client):
    down = Celery("batch-backend-down", set_as_current=False)
    down.conf.update(
        broker_url=REDIS_URL,
        result_backend=f"redis://127.0.0.1:{free_port()}/0",
        jobtastic_cache=REDIS_URL,
    )
    other = Flask("batch-backend-down")
    other.config["SECRET_KEY"] = "another-secret"
    extension = Jobtastic(other, celery=down)
    other.add_url_rule("/grant/<task_id>", "grant", lambda task_id: extension.grant(task_id))
    browser = other.test_client()
    try:
        token = browser.get("/grant/unreadable").get_data(as_text=True).split("/")[-2]
        response = browser.get("/jobtastic/status/", query_string={"t": token})
    finally:
        celery_app.set_current()
        forget()

    assert (response.status_code, response.get_json()) == (503, UNAVAILABLE)
    assert response.headers["Retry-After"] == "5"


def test_jobs_refuses_other_methods(client):
    assert client.delete("/jobtastic/jobs/").status_code == 405


def test_jobs_without_a_session_lists_nothing(client):
    assert client.get("/jobtastic/jobs/").get_json() == {"jobs": []}


def test_jobs_answers_503_when_the_grants_cannot_be_read(client, cache_down):
    with client.session_transaction() as session:
        session["_jobtastic_owner"] = "a-visitor"

    response = client.get("/jobtastic/jobs/")

    assert (response.status_code, response.get_json()) == (503, UNAVAILABLE)


def test_a_widget_renders_its_cannot_be_shown_state_when_the_grants_cannot_be_read(
    client, cache_down, caplog
):
    with client.session_transaction() as session:
        session["_jobtastic_owner"] = "a-visitor"  # grants to look up

    page = client.get("/widget", query_string={"id": "some-task"}).get_data(as_text=True)

    assert 'data-jobtastic-state="ERROR"' in page
    assert "grants of job 'some-task' cannot be read" in caplog.text


def test_the_raw_id_route_refuses_other_methods_when_allowed(client):
    celery_app.conf.jobtastic_status_allow_raw_ids = True
    forget()
    try:
        response = client.post("/jobtastic/some-task/status/")
    finally:
        celery_app.conf.jobtastic_status_allow_raw_ids = False
        forget()

    assert (response.status_code, response.get_json()) == (
        405,
        {"error": "Only GET is allowed here."},
    )


@pytest.mark.parametrize("data", [["not", "a", "dict"], {"task": 1, "owner": "x"}])
def test_a_genuine_token_of_another_shape_is_the_one_404(client, data):
    signer = signing.TimestampSigner(key=site.secret_key, salt=SALT, fallback_keys=[])

    response = client.get(f"/jobtastic/status/{signer.sign_object(data)}/")

    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_a_token_of_another_site_is_the_one_404(client):
    signer = signing.TimestampSigner(key="another-site", salt=SALT, fallback_keys=[])
    token = signer.sign_object({"task": "t", "owner": "session:x"})

    assert client.get(f"/jobtastic/status/{token}/").get_json() == NOT_FOUND


def test_a_site_without_a_secret_key_is_told_so():
    bare = Flask("no-secret")
    extension = Jobtastic(bare, celery=celery_app)
    bare.add_url_rule("/grant", "grant", lambda: extension.grant("a-task"))
    bare.config["PROPAGATE_EXCEPTIONS"] = True

    with pytest.raises(RuntimeError, match="(?i)secret.?key"):  # Flask's session says it first
        bare.test_client().get("/grant")


@pytest.mark.parametrize("stored", ["not json", '{"a": 1}', '[["id", null]]', "[1, 2]"])
def test_a_grants_entry_that_is_not_ours_grants_nothing(stored):
    celery_app.set_current()
    owner = f"session:garbage-{stored!r}"
    open_cache().set(KEY_PREFIX + owner, stored, 60)

    assert granted(owner) == []
