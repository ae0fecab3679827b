"""``{% jobtastic_progress %}`` and ``{% jobtastic_status_url %}``: exact markup, escaping."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from celery.result import AsyncResult
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from django_jobtastic import grant
from django_jobtastic.web.tokens import read_token, session_owner
from django_jobtastic.web.widget import widget_messages

pytestmark = pytest.mark.django_db

TASK_ID = "5f1e2d3c-0000-4000-8000-000000000001"
ELEMENT_ID = re.compile(r'id="(jobtastic-[0-9a-f]{12})"')
URL_ATTRIBUTE = re.compile(r'data-jobtastic-url="/jobtastic/status/([^"/]+)/"')
MESSAGES_JSON = html.escape(json.dumps(widget_messages(), ensure_ascii=False))

EXPECTED = f"""<link rel="stylesheet" href="/static/django_jobtastic/jobtastic.css">
<script src="/static/django_jobtastic/jobtastic.js" defer></script>
<div class="jobtastic" id="ID" data-jobtastic-url="/jobtastic/status/TOKEN/" data-jobtastic-token="TOKEN" data-jobtastic-batch-url="/jobtastic/status/" data-jobtastic-poll-interval="1.0" data-jobtastic-language="en-us" data-jobtastic-messages="{MESSAGES_JSON}">
  <div class="jobtastic-bar" role="progressbar" aria-label="Job progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" aria-describedby="ID-status"><div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" id="ID-status" aria-live="polite">Waiting for your task to begin…</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
</div>
"""  # noqa: E501


def anonymous_request(*granted):
    """A visitor's request, holding grants for the jobs ``granted``."""
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    for task in granted:
        grant(request, task)
    return request


def render(source: str, **context) -> str:
    return Template("{% load jobtastic %}" + source).render(Context(context))


def tokens_in(markup: str) -> list[str]:
    return URL_ATTRIBUTE.findall(markup)


def test_progress_widget_markup_is_exact():
    request = anonymous_request(TASK_ID)
    markup = render("{% jobtastic_progress task_id %}", request=request, task_id=TASK_ID)
    (token,) = tokens_in(markup)
    (element_id,) = ELEMENT_ID.findall(markup)
    assert markup.replace(token, "TOKEN").replace(element_id, "ID") == EXPECTED
    owner = session_owner(request.session.session_key)
    assert read_token(token, 60) == (TASK_ID, owner)


def test_second_widget_on_a_page_brings_no_assets_and_a_new_id():
    markup = render(
        "{% jobtastic_progress first %}{% jobtastic_progress second %}",
        request=anonymous_request(TASK_ID, "another-task"),
        first=TASK_ID,
        second=AsyncResult("another-task"),
    )
    assert markup.count("<script") == 1
    assert markup.count("<link") == 1
    assert len(set(ELEMENT_ID.findall(markup))) == 2
    assert len(set(tokens_in(markup))) == 2


def test_async_result_is_accepted_like_its_id():
    request = anonymous_request(TASK_ID)
    markup = render("{% jobtastic_progress job %}", request=request, job=AsyncResult(TASK_ID))
    owner = session_owner(request.session.session_key)
    assert read_token(tokens_in(markup)[0], 60) == (TASK_ID, owner)


@pytest.mark.parametrize("empty", [None, ""])
def test_no_job_renders_nothing(empty):
    assert render("{% jobtastic_progress job %}", request=anonymous_request(), job=empty) == ""


def test_missing_variable_renders_nothing():
    assert render("{% jobtastic_progress job %}", request=anonymous_request()) == ""


def test_without_request_in_context_names_the_context_processor():
    with pytest.raises(ImproperlyConfigured, match="django.template.context_processors.request"):
        render("{% jobtastic_progress task_id %}", task_id=TASK_ID)


def test_granting_without_session_middleware_says_so():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with pytest.raises(ImproperlyConfigured, match="SessionMiddleware"):
        grant(request, TASK_ID)


def test_a_value_that_is_no_task_is_a_type_error():
    with pytest.raises(TypeError, match="expected a task id or an AsyncResult, got int"):
        render("{% jobtastic_progress 5 %}", request=anonymous_request())


HOSTILE = """"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;"""


class Attributes(HTMLParser):
    """Every start tag and its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def test_hostile_label_is_escaped():
    markup = render(
        "{% jobtastic_progress t label=l %}",
        request=anonymous_request(TASK_ID),
        t=TASK_ID,
        l=HOSTILE,
    )
    parser = Attributes()
    parser.feed(markup)
    assert [tag for tag, _ in parser.elements] == [
        "link",
        "script",
        "div",
        "div",
        "div",
        "p",
        "p",
        "p",
    ]
    bar = parser.elements[3][1]
    assert bar["aria-label"] == HOSTILE


def test_hostile_translations_survive_as_data_not_markup(monkeypatch):
    monkeypatch.setattr(
        "django_jobtastic.widget_texts._",
        lambda text: HOSTILE if text.startswith("Waiting") else text,
    )
    markup = render("{% jobtastic_progress t %}", request=anonymous_request(TASK_ID), t=TASK_ID)
    parser = Attributes()
    parser.feed(markup)
    assert [tag for tag, _ in parser.elements].count("script") == 1
    widget = parser.elements[2][1]
    assert json.loads(widget["data-jobtastic-messages"] or "")["pending"] == HOSTILE
    assert html.escape(HOSTILE) in markup


def test_hostile_task_id_stays_inside_the_signed_token():
    request = anonymous_request(HOSTILE)
    markup = render("{% jobtastic_progress t %}", request=request, t=HOSTILE)
    assert "<script>" not in markup.split("</script>", 1)[1]
    owner = session_owner(request.session.session_key)
    assert read_token(tokens_in(markup)[0], 60) == (HOSTILE, owner)


def test_poll_interval_is_never_localized(settings):
    settings.JOBTASTIC_POLL_INTERVAL = 1.5
    with translation.override("de"):
        markup = render("{% jobtastic_progress t %}", request=anonymous_request(TASK_ID), t=TASK_ID)
    assert 'data-jobtastic-poll-interval="1.5"' in markup
    assert 'data-jobtastic-language="de"' in markup


def test_status_url_tag_prints_the_url_alone():
    request = anonymous_request(TASK_ID)
    url = render("{% jobtastic_status_url t %}", request=request, t=TASK_ID)
    (token,) = re.fullmatch(r"/jobtastic/status/([^/]+)/", url).groups()
    assert read_token(token, 60) == (TASK_ID, session_owner(request.session.session_key))


def test_status_url_tag_without_request_names_the_context_processor():
    with pytest.raises(ImproperlyConfigured, match="context_processors.request"):
        render("{% jobtastic_status_url t %}", t=TASK_ID)


def test_granting_sets_the_session_cookie_and_the_widget_page_follows(client):
    """Through the whole stack: the submitting view's grant hands out the session cookie,
    and a later page's widget follows the job with it."""
    granted = client.get(f"/follow/{TASK_ID}/")
    assert granted.cookies["sessionid"].value
    response = client.get(f"/widget/{TASK_ID}/")
    assert response.status_code == 200
    (token,) = tokens_in(response.content.decode())
    assert client.get(f"/jobtastic/status/{token}/").status_code == 200


def test_widget_is_escaped_inside_autoescape_off():
    markup = render(
        "{% autoescape off %}{% jobtastic_progress t label=l %}{% endautoescape %}",
        request=anonymous_request(),
        t=TASK_ID,
        l=HOSTILE,
    )
    parser = Attributes()
    parser.feed(markup)
    assert parser.elements[3][1]["aria-label"] == HOSTILE
    assert json.loads(parser.elements[2][1]["data-jobtastic-messages"] or "")["pending"]


DENIED = f"""<link rel="stylesheet" href="/static/django_jobtastic/jobtastic.css">
<script src="/static/django_jobtastic/jobtastic.js" defer></script>
<div class="jobtastic" id="ID" data-jobtastic-state="ERROR" data-jobtastic-poll-interval="1.0" data-jobtastic-language="en-us" data-jobtastic-messages="{MESSAGES_JSON}">
  <div class="jobtastic-bar" role="progressbar" aria-label="Job progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" aria-describedby="ID-status"><div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" id="ID-status" aria-live="polite">The progress of this job cannot be shown.</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
</div>
"""  # noqa: E501


def test_a_job_not_granted_renders_cannot_be_shown_with_no_url(caplog):
    """A page rendering an id a stranger chose (``?id=...``) hands out no way to read it."""
    request = anonymous_request("some-other-job")
    markup = render("{% jobtastic_progress t %}", request=request, t=TASK_ID)
    (element_id,) = ELEMENT_ID.findall(markup)
    assert markup.replace(element_id, "ID") == DENIED
    assert "/jobtastic/status/" not in markup
    assert "grant(request, result)" in caplog.text
    assert TASK_ID in caplog.text


def test_a_signed_in_user_is_denied_a_job_granted_to_someone_else(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    stranger = django_user_model.objects.create_user("stranger")
    owners_request = RequestFactory().get("/")
    owners_request.user = owner
    owners_request.session = SessionStore()
    grant(owners_request, TASK_ID)
    strangers_request = RequestFactory().get("/")
    strangers_request.user = stranger
    strangers_request.session = SessionStore()
    markup = render("{% jobtastic_progress t %}", request=strangers_request, t=TASK_ID)
    assert 'data-jobtastic-state="ERROR"' in markup
    assert tokens_in(markup) == []
    assert tokens_in(render("{% jobtastic_progress t %}", request=owners_request, t=TASK_ID))


def test_status_url_tag_renders_nothing_for_a_job_not_granted(caplog):
    request = anonymous_request()
    assert render("{% jobtastic_status_url t %}", request=request, t=TASK_ID) == ""
    assert "holds no grant" in caplog.text
    assert request.session.session_key is None  # verifying creates no session


def test_jobs_tag_lists_the_requesters_jobs_most_recent_first_each_with_its_widget():
    request = anonymous_request("first-job", "second-job")
    markup = render("{% jobtastic_jobs %}", request=request)
    listed = re.findall(r'data-jobtastic-task-id="([^"]+)"', markup)
    assert listed == ["second-job", "first-job"]
    tokens = tokens_in(markup)
    assert [read_token(token, 60).task_id for token in tokens] == listed
    assert markup.count("<script") == 1


def test_jobs_tag_says_so_when_there_are_none():
    markup = render("{% jobtastic_jobs %}", request=anonymous_request())
    assert 'class="jobtastic-jobs-empty"' in markup
    assert "You have no jobs yet." in markup


def test_jobs_tag_says_the_jobs_cannot_be_listed_when_the_grants_cannot_be_read(caplog):
    from django.db import OperationalError, connection

    request = anonymous_request("mine")

    def database_down(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(database_down):
        markup = render("{% jobtastic_jobs %}", request=request)
    assert 'class="jobtastic-jobs-unavailable"' in markup
    assert "You have no jobs yet." not in markup
    assert "cannot list the jobs" in caplog.text


def test_jobs_tag_without_request_names_the_context_processor():
    with pytest.raises(ImproperlyConfigured, match="context_processors.request"):
        render("{% jobtastic_jobs %}")


CANCEL_URL = re.compile(r'data-jobtastic-cancel-url="/jobtastic/status/([^"/]+)/cancel/"')
CANCEL_BUTTON = '<button type="button" class="jobtastic-cancel" hidden>Cancel</button>'


def granted_result(name: str, task_id: str = TASK_ID) -> SimpleNamespace:
    """What ``delay()`` returns, as far as ``grant`` reads it: the id and the task's name."""
    return SimpleNamespace(id=task_id, task_name=name)


def test_a_cancellable_jobs_widget_has_a_cancel_button_its_url_and_a_csrf_token():
    request = anonymous_request(granted_result("tests.jobs.CancellableJob"))
    markup = render("{% jobtastic_progress task_id %}", request=request, task_id=TASK_ID)
    (token,) = tokens_in(markup)
    assert CANCEL_URL.findall(markup) == [token]
    assert re.search(r'data-jobtastic-csrf-token="[A-Za-z0-9]{32,}"', markup)
    assert CANCEL_BUTTON in markup


@pytest.mark.parametrize("name", ["tests.jobs.CountingJob", "", "no.such.Task"])
def test_a_job_that_cannot_be_cancelled_has_no_button(name):
    request = anonymous_request(granted_result(name) if name else TASK_ID)
    markup = render("{% jobtastic_progress task_id %}", request=request, task_id=TASK_ID)
    assert tokens_in(markup)
    assert "data-jobtastic-cancel-url" not in markup
    assert "data-jobtastic-csrf-token" not in markup
    assert "jobtastic-cancel" not in markup


def test_the_jobs_list_offers_cancel_for_cancellable_jobs_only():
    cancellable_id, counting_id = "c-" + TASK_ID, "n-" + TASK_ID
    request = anonymous_request(
        granted_result("tests.jobs.CancellableJob", cancellable_id),
        granted_result("tests.jobs.CountingJob", counting_id),
    )
    markup = render("{% jobtastic_jobs %}", request=request)
    assert len(tokens_in(markup)) == 2
    (token,) = CANCEL_URL.findall(markup)
    assert read_token(token, 60).task_id == cancellable_id
    assert markup.count(CANCEL_BUTTON) == 1
