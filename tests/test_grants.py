"""Grants: ``grant()`` records, ``status_url()`` verifies, ``jobs_of()`` and ``jobs/`` list."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import login
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.utils import timezone

from django_jobtastic import grant, has_grant, jobs_of, status_url
from django_jobtastic.models import Grant
from django_jobtastic.web.grants import VISITOR_KEY
from django_jobtastic.web.tokens import read_token
from tests.helpers import free_port
from tests.jobs import DivisionJob

pytestmark = pytest.mark.django_db


def visitor(session_key: str | None = None):
    """An anonymous visitor's request; with ``session_key``, the browser holding that cookie."""
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore(session_key)
    return request


def signed_in(user, session_key: str | None = None):
    request = visitor(session_key)
    request.user = user
    return request


def saved(request) -> str:
    """Saves the request's session, as SessionMiddleware does at the end of a response."""
    request.session.save()
    return request.session.session_key


def ids(request) -> list[str]:
    return [job.task_id for job in jobs_of(request)]


def test_grant_returns_a_status_url_bound_to_the_requester():
    request = visitor()
    url = grant(request, "job-1")
    token = url.removeprefix("/jobtastic/status/").removesuffix("/")
    assert read_token(token, 60).task_id == "job-1"
    assert status_url(request, "job-1").startswith("/jobtastic/status/")


def test_status_url_refuses_a_job_not_granted_naming_grant():
    request = visitor()
    grant(request, "mine")
    with pytest.raises(PermissionDenied, match=r"django_jobtastic.grant\(request, result\)"):
        status_url(request, "someone-elses")
    assert has_grant(request, "mine")
    assert not has_grant(request, "someone-elses")


def test_verifying_creates_no_session():
    request = visitor()
    with pytest.raises(PermissionDenied):
        status_url(request, "job-1")
    assert jobs_of(request) == []
    assert request.session.session_key is None


def test_grants_survive_a_reload_and_another_tab_and_a_restart():
    """The session store, not process memory, holds them: a new request with the same
    cookie (a reload, a tab, another web process after a restart) reads the same grants."""
    first = visitor()
    grant(first, "job-1")
    key = saved(first)
    again = visitor(key)
    assert has_grant(again, "job-1")
    assert ids(again) == ["job-1"]
    assert ids(visitor()) == []  # another browser


def test_jobs_are_listed_most_recent_first_and_a_regrant_moves_a_job_up():
    request = visitor()
    for task_id in ["a", "b", "c"]:
        grant(request, task_id)
    assert ids(request) == ["c", "b", "a"]
    grant(request, "a")
    assert ids(request) == ["a", "c", "b"]


def test_each_owner_keeps_the_most_recent_grants_only(settings, django_user_model):
    settings.JOBTASTIC_GRANTS_PER_OWNER = 3
    anonymous = visitor()
    user = signed_in(django_user_model.objects.create_user("ada"))
    for request in (anonymous, user):
        for n in range(5):
            grant(request, f"job-{n}")
        assert ids(request) == ["job-4", "job-3", "job-2"]
        assert not has_grant(request, "job-1")
    assert Grant.objects.filter(user__isnull=True).count() == 3
    assert Grant.objects.filter(user__isnull=False).count() == 3


def test_a_grant_lasts_token_max_age(settings, django_user_model):
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60
    anonymous = visitor()
    user = signed_in(django_user_model.objects.create_user("ada"))
    for request in (anonymous, user):
        grant(request, "old")
        grant(request, "new")
    Grant.objects.filter(task_id="old").update(granted_at=timezone.now() - timedelta(seconds=61))
    for request in (anonymous, user):
        assert ids(request) == ["new"]
        assert not has_grant(request, "old")
        with pytest.raises(PermissionDenied):
            status_url(request, "old")


def test_a_users_grants_hold_in_all_of_their_sessions(django_user_model):
    ada = django_user_model.objects.create_user("ada")
    laptop, phone = signed_in(ada), signed_in(ada)
    grant(laptop, "report")
    assert has_grant(phone, "report")
    assert ids(phone) == ["report"]
    other = signed_in(django_user_model.objects.create_user("bob"))
    assert not has_grant(other, "report")
    assert ids(other) == []


def test_grants_made_before_login_carry_over_to_the_user(django_user_model):
    ada = django_user_model.objects.create_user("ada")
    browser = visitor()
    grant(browser, "before-login")
    saved(browser)
    login(browser, ada)  # cycles the session key, keeps its data, sends user_logged_in
    assert VISITOR_KEY not in browser.session
    assert not Grant.objects.filter(user__isnull=True).exists()
    assert Grant.objects.filter(user=ada, task_id="before-login").exists()
    assert has_grant(signed_in(ada), "before-login")  # in every session of the user now
    assert ids(browser) == ["before-login"]


def test_a_user_never_inherits_a_session_grant_of_another_browser(django_user_model):
    ada = django_user_model.objects.create_user("ada")
    elsewhere = visitor()
    grant(elsewhere, "not-yours")
    saved(elsewhere)
    browser = visitor()
    saved(browser)
    login(browser, ada)
    assert ids(browser) == []
    assert not Grant.objects.filter(user=ada).exists()
    assert ids(elsewhere) == ["not-yours"]


def test_the_task_name_comes_with_a_submissions_result(eager):
    request = visitor()
    submitted = DivisionJob.delay([1, 2], [2, 4])
    grant(request, submitted)
    grant(request, DivisionJob.apply(([3], [3])))
    grant(request, "bare-id")
    jobs = jobs_of(request)
    assert [job.task_name for job in jobs] == [None, DivisionJob.name, DivisionJob.name]
    assert jobs[2].task_id == submitted.id
    assert all(job.granted_at.tzinfo is not None for job in jobs)


def test_granted_at_is_aware_without_use_tz(settings, django_user_model):
    settings.USE_TZ = False
    request = signed_in(django_user_model.objects.create_user("ada"))
    grant(request, "job-1")
    (job,) = jobs_of(request)
    assert job.granted_at.tzinfo is not None
    assert abs(job.granted_at - timezone.now().astimezone()) < timedelta(minutes=1)


def test_a_visitor_mark_that_is_no_string_is_ignored():
    request = visitor()
    request.session[VISITOR_KEY] = ["not", "a", "mark"]
    assert ids(request) == []
    grant(request, "new")
    assert ids(request) == ["new"]


def test_two_tabs_granting_at_the_same_moment_keep_both_grants():
    """Both requests load the session before either saves it: grants in the session's data
    would keep only the last save's; rows keep both."""
    first = visitor()
    grant(first, "earlier")
    key = saved(first)
    tab_one, tab_two = visitor(key), visitor(key)
    tab_one.session.load(), tab_two.session.load()
    grant(tab_one, "from-tab-one")
    grant(tab_two, "from-tab-two")
    tab_one.session.save()
    tab_two.session.save()
    assert sorted(ids(visitor(key))) == ["earlier", "from-tab-one", "from-tab-two"]


def test_two_first_grants_of_a_new_session_share_one_mark():
    first = visitor()
    first.session.save()
    key = first.session.session_key
    tab_one, tab_two = visitor(key), visitor(key)
    grant(tab_one, "one")
    grant(tab_two, "two")
    tab_two.session.save()  # the last save wins: its mark must own both
    assert sorted(ids(visitor(key))) == ["one", "two"]


def test_expired_grants_are_deleted_as_new_ones_are_made(settings):
    settings.JOBTASTIC_TOKEN_MAX_AGE = 60
    somebody = visitor()
    grant(somebody, "abandoned")
    Grant.objects.update(granted_at=timezone.now() - timedelta(seconds=61))
    grant(visitor(), "fresh")
    assert list(Grant.objects.values_list("task_id", flat=True)) == ["fresh"]


# -- GET jobs/ --------------------------------------------------------------------------------


def test_jobs_view_lists_the_requesters_jobs_with_the_status_views_headers(client):
    client.get("/follow/first/")
    client.get("/follow/second/")
    response = client.get("/jobtastic/jobs/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "Cookie" in response["Vary"]
    jobs = json.loads(response.content)["jobs"]
    assert [job["id"] for job in jobs] == ["second", "first"]
    assert set(jobs[0]) == {"id", "name", "granted_at", "status_url"}
    assert client.get(jobs[0]["status_url"]).status_code == 200


def test_jobs_view_shows_another_browser_nothing(client, django_user_model):
    client.get("/follow/mine/")
    stranger = type(client)()
    assert json.loads(stranger.get("/jobtastic/jobs/").content) == {"jobs": []}
    assert "sessionid" not in stranger.cookies  # no session made for listing nothing


def test_jobs_view_is_read_only(client):
    response = client.post("/jobtastic/jobs/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_jobs_view_answers_503_when_the_grants_cannot_be_read(client):
    client.get("/follow/mine/")

    def database_down(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(database_down):  # every query fails, as on a dead server
        response = client.get("/jobtastic/jobs/")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "error" in json.loads(response.content)


def test_jobs_view_answers_503_when_the_session_cache_is_down(settings):
    """A cache-backed session whose cache is down reads as no session: that must not list
    the visitor's jobs as none (their page would say "You have no jobs yet."), nor drop
    their cookie."""
    settings.CACHES = {
        **settings.CACHES,
        "gone": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: refused
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "gone"
    visitor_browser = Client()
    visitor_browser.cookies[settings.SESSION_COOKIE_NAME] = "k" * 32
    response = visitor_browser.get("/jobtastic/jobs/")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert "error" in json.loads(response.content)
    assert visitor_browser.cookies[settings.SESSION_COOKIE_NAME].value == "k" * 32


def test_a_task_id_too_long_to_keep_is_refused_clearly(django_user_model):
    for request in (visitor(), signed_in(django_user_model.objects.create_user("ada"))):
        with pytest.raises(ValueError, match="a task id of 256 characters cannot be granted"):
            grant(request, "x" * 256)
        grant(request, "x" * 255)
        assert ids(request) == ["x" * 255]
