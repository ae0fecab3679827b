"""The Flask status routes through Flask's test client, with jobs run by a real worker:
owners, grants, the widget, and JSON for every error (404, 405, 400, 503)."""

from __future__ import annotations

import re
import time
import uuid
from html.parser import HTMLParser

import pytest
from celery import Celery
from django.core import signing
from flask import Flask

from django_jobtastic.conf import forget
from django_jobtastic.flask import Jobtastic
from django_jobtastic.flask.tokens import owner_of_mark
from django_jobtastic.web.tokens import SALT
from tests.flask import pace
from tests.flask.celery_app import REDIS_URL
from tests.flask.celery_app import app as celery_app
from tests.flask.site import app as site
from tests.helpers import free_port, wait_until

RESULT_TIMEOUT = 60  # seconds
NOT_FOUND = {"error": "This job does not exist, has expired, or belongs to someone else."}
PRIVATE = ("private, no-store", "Cookie")


@pytest.fixture
def client():
    celery_app.set_current()
    return site.test_client()


@pytest.fixture
def stranger():
    return site.test_client()


@pytest.fixture
def marker() -> str:
    return f"flask-{uuid.uuid4().hex}"


def submitted(client, marker: str) -> dict[str, str]:
    pace.release(marker)
    return client.post(f"/held/{marker}").get_json()


def headers(response) -> tuple[str, str]:
    return response.headers["Cache-Control"], response.headers["Vary"]


def final_answer(client, url: str) -> dict:
    return wait_until(
        lambda: (body := client.get(url).get_json())["task"]["ready"] and body,
        timeout=RESULT_TIMEOUT,
        what="the job to finish",
    )


class Widgets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.widgets: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if dict(attrs).get("class") == "jobtastic":
            self.widgets.append(dict(attrs))


def parsed(markup: str) -> Widgets:
    parser = Widgets()
    parser.feed(markup)
    return parser


def test_a_granted_job_is_followed_to_its_result(worker, client, marker):
    answer = submitted(client, marker)

    body = final_answer(client, answer["status_url"])

    assert body == {
        "task": {
            "id": answer["task_id"],
            "status": "SUCCESS",
            "ready": True,
            "successful": True,
            "result": marker,
            "progress": {
                "percent": 100,
                "time_remaining": 0,
                "completed": None,
                "total": None,
                "message": None,
                "started_at": None,
                "updated_at": None,
                "overdue": False,
            },
            "error": None,
        },
        "poll_interval": 1.0,
    }


def test_the_answer_is_private_json(worker, client, marker):
    response = client.get(submitted(client, marker)["status_url"])

    assert (response.status_code, response.mimetype, headers(response)) == (
        200,
        "application/json",
        PRIVATE,
    )


def test_another_session_gets_the_one_404(worker, client, stranger, marker):
    url = submitted(client, marker)["status_url"]

    response = stranger.get(url)

    assert (response.status_code, response.get_json(), headers(response)) == (
        404,
        NOT_FOUND,
        PRIVATE,
    )


@pytest.mark.parametrize("token", ["nonsense", "a:b:c", "x" * 300])
def test_a_bad_token_gets_the_one_404(client, token):
    response = client.get(f"/jobtastic/status/{token}/")

    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_an_expired_token_gets_the_one_404(client):
    url = client.get("/grant/some-task").get_json()["status_url"]
    with client.session_transaction() as session:
        owner = owner_of_mark(session["_jobtastic_owner"], site.secret_key)

    class Yesterday(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 86_401)

    old = Yesterday(key=site.secret_key, salt=SALT, fallback_keys=[])
    token = old.sign_object({"task": "some-task", "owner": owner})

    assert client.get(url).status_code == 200  # the fresh token of the same job and owner
    assert client.get(f"/jobtastic/status/{token}/").get_json() == NOT_FOUND


def test_a_token_signed_under_a_fallback_key_still_answers(client):
    url = client.get("/grant/rotated-task").get_json()["status_url"]
    site.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["flask-tests-secret"])
    try:
        with client.session_transaction():  # the session cookie is re-signed under the new key
            pass
        answer = client.get(url)
    finally:
        site.config.update(SECRET_KEY="flask-tests-secret", SECRET_KEY_FALLBACKS=[])

    assert answer.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_a_json_405(client, method):
    url = client.get("/grant/any-task").get_json()["status_url"]

    response = client.open(url, method=method)

    assert (response.status_code, response.headers["Allow"], response.get_json()) == (
        405,
        "GET, HEAD",
        {"error": "Only GET is allowed here."},
    )


def test_an_unknown_path_under_the_prefix_is_a_json_404(client):
    response = client.get("/jobtastic/no/such/route")

    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_a_result_backend_that_is_down_gets_a_503_with_retry_after(client):
    down = Celery("backend-down", set_as_current=False)
    down.conf.update(
        broker_url=REDIS_URL,
        result_backend=f"redis://127.0.0.1:{free_port()}/0",
        jobtastic_cache=REDIS_URL,
    )
    other = Flask("backend-down")
    other.config["SECRET_KEY"] = "another-secret"
    Jobtastic(other, celery=down)
    other.add_url_rule("/grant/<task_id>", "grant", lambda task_id: {"url": grant(task_id)})

    def grant(task_id: str) -> str:
        return other.extensions["jobtastic"].grant(task_id)

    browser = other.test_client()
    try:
        url = browser.get("/grant/unreadable").get_json()["url"]
        response = browser.get(url)
    finally:
        celery_app.set_current()
        forget()

    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.get_json() == {
        "error": "The job's status cannot be read right now. Please try again shortly."
    }


def test_the_raw_id_route_is_a_404_unless_allowed(client):
    response = client.get("/jobtastic/some-task/status/")

    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_the_raw_id_route_answers_when_allowed(client):
    celery_app.conf.jobtastic_status_allow_raw_ids = True
    forget()
    try:
        unknown = client.get(f"/jobtastic/{uuid.uuid4()}/status/").get_json()
        bad = client.get("/jobtastic/bad%20id/status/")
    finally:
        celery_app.conf.jobtastic_status_allow_raw_ids = False
        forget()

    assert unknown["task"]["status"] == "PENDING"
    assert (bad.status_code, bad.get_json()) == (404, NOT_FOUND)


def test_many_bars_one_request_each_token_answered(worker, client, stranger, marker):
    mine = submitted(client, marker)
    final_answer(client, mine["status_url"])
    theirs = stranger.get("/grant/their-task").get_json()["status_url"]
    token = mine["status_url"].split("/")[-2]
    foreign = theirs.split("/")[-2]

    response = client.get("/jobtastic/status/", query_string={"t": [token, foreign, "junk"]})

    body = response.get_json()
    assert (response.status_code, headers(response)) == (200, PRIVATE)
    assert body["tasks"][token]["status"] == "SUCCESS"
    assert (body["tasks"][foreign], body["tasks"]["junk"]) == (NOT_FOUND, NOT_FOUND)


def test_the_batch_route_wants_tokens(client):
    response = client.get("/jobtastic/status/")

    assert response.status_code == 400
    assert response.get_json() == {"error": "Name the jobs to read: status/?t=<token>&t=<token>."}


def test_jobs_lists_the_requesters_grants_newest_first(client, stranger):
    client.get("/grant/first-task")
    client.get("/grant/second-task")
    stranger.get("/grant/their-task")

    listed = client.get("/jobtastic/jobs/").get_json()["jobs"]

    assert [job["id"] for job in listed] == ["second-task", "first-task"]
    assert all(client.get(job["status_url"]).status_code == 200 for job in listed)
    assert stranger.get("/mine").get_json() == {"jobs": ["their-task"]}


def test_the_original_flask_view_renders_a_widget_that_follows_its_job(worker, client):
    page = client.get("/", query_string={"iterations": 20}).get_data(as_text=True)

    widgets = parsed(page).widgets
    assert len(widgets) == 1
    url = widgets[0]["data-jobtastic-url"]
    assert str(url).startswith("/jobtastic/status/")
    body = final_answer(client, url)
    assert body["task"]["result"][:3] == [0.0, 20 / 11, 40 / 21]


def test_a_widget_for_an_id_from_the_url_shows_a_stranger_nothing(client, caplog):
    page = client.get("/widget", query_string={"id": "someone-elses"}).get_data(as_text=True)

    widgets = parsed(page).widgets
    assert [w.get("data-jobtastic-state") for w in widgets] == ["ERROR", "ERROR"]
    assert "data-jobtastic-url" not in page
    assert "The progress of this job cannot be shown." in page
    assert "call jobtastic.grant(result)" in caplog.text


def test_a_granted_job_renders_with_its_url_and_the_assets_once(client):
    client.get("/grant/granted-task")

    page = client.get("/widget", query_string={"id": "granted-task"}).get_data(as_text=True)

    parser = parsed(page)
    assert [w["data-jobtastic-batch-url"] for w in parser.widgets] == ["/jobtastic/status/"] * 2
    assert (parser.tags.count("script"), parser.tags.count("link")) == (1, 1)
    assert re.search(r'<script src="/jobtastic/static/jobtastic.js" defer>', page)


def test_status_url_refuses_a_job_without_grant(client):
    assert client.get("/url", query_string={"id": "not-mine"}).status_code == 403


def test_the_status_url_global_prints_a_granted_jobs_url_only(client, caplog):
    client.get("/grant/mine-to-link")

    mine = client.get("/url-in-page", query_string={"id": "mine-to-link"}).get_data(as_text=True)
    not_mine = client.get("/url-in-page", query_string={"id": "not-mine"}).get_data(as_text=True)

    assert mine.startswith("<a href='/jobtastic/status/")
    assert not_mine == "<a href=''>"
    assert "jobtastic_status_url() for job 'not-mine'" in caplog.text


def test_the_widget_files_are_served(client):
    with client.get("/jobtastic/static/jobtastic.js") as script:
        assert (script.status_code, script.mimetype) == (200, "text/javascript")
        assert b"Jobtastic" in script.data
    with client.get("/jobtastic/static/jobtastic.css") as style:
        assert (style.status_code, style.mimetype) == (200, "text/css")
