"""Status tokens: genuine and own reads the task id; anything else reads None."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.core import signing
from django.test import RequestFactory

from django_jobtastic.web import tokens
from django_jobtastic.web.tokens import (
    SALT,
    is_owner,
    make_token,
    owner_of,
    read_token,
    session_owner,
    user_owner,
)

DAY = 86400  # seconds


def test_token_round_trip():
    assert read_token(make_token("t-1", "user:7"), DAY) == ("t-1", "user:7")


@pytest.mark.parametrize(
    "damage", [lambda t: t[:-1], lambda t: t[:10], lambda t: t + "x", str.upper]
)
def test_damaged_token_reads_none(damage):
    assert read_token(damage(make_token("t-1", "user:7")), DAY) is None


def test_expired_token_reads_none():
    assert read_token(make_token("t-1", "user:7"), -1) is None


def test_a_token_read_before_is_aged_on_every_read(monkeypatch):
    token = make_token("t-1", "user:7")
    assert read_token(token, 60) == ("t-1", "user:7")
    later = time.time() + 61  # the signature's clock, a minute and a second on
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    assert read_token(token, 60) is None


def test_a_process_remembers_a_bounded_number_of_tokens(monkeypatch):
    monkeypatch.setattr(tokens, "MAX_VERIFIED", 3)
    for number in range(7):
        assert read_token(make_token(f"t-{number}", "user:7"), DAY) is not None
        assert len(tokens._verified) <= 3


def test_token_signed_with_another_salt_reads_none():
    forged = signing.dumps({"task": "t-1", "owner": "user:7"}, salt="other")
    assert read_token(forged, DAY) is None


@pytest.mark.parametrize("data", [["t-1"], {"task": 1, "owner": "user:7"}, {"task": "t-1"}])
def test_token_with_an_unexpected_shape_reads_none(data):
    assert read_token(signing.dumps(data, salt=SALT), DAY) is None


@pytest.mark.django_db
def test_owner_of_a_signed_in_user_is_the_pk():
    request = RequestFactory().get("/")
    request.user = User.objects.create_user("ada")
    assert owner_of(request) == user_owner(request.user.pk)


@pytest.mark.django_db
def test_owner_of_an_anonymous_visitor_creates_the_session():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    owner = owner_of(request)
    assert request.session.session_key is not None
    assert owner == session_owner(request.session.session_key)


@pytest.mark.django_db
def test_is_owner_of_a_signed_in_user():
    request = RequestFactory().get("/")
    request.user = User.objects.create_user("ada")
    assert is_owner(request, user_owner(request.user.pk))
    assert not is_owner(request, user_owner(request.user.pk + 1))
    assert not is_owner(request, f"user:{request.user.pk}")  # the raw pk is never the owner
    assert not is_owner(request, session_owner("whatever"))


def test_is_owner_of_a_session_reads_only_the_cookie():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore(session_key="k" * 32)
    assert is_owner(request, session_owner("k" * 32))
    assert not is_owner(request, session_owner("j" * 32))
    assert not is_owner(request, "session:" + "k" * 32)  # the raw key is never the owner
    assert not is_owner(request, user_owner(None))
    assert not request.session.accessed  # nothing was loaded


@pytest.mark.parametrize("owner", ["", "session:", "nobody:1", "user:"])
def test_is_owner_refuses_odd_owners(owner):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    assert not is_owner(request, owner)


def test_a_token_does_not_carry_the_session_key():
    key = "s3cr3tsessionkey" * 2
    token = make_token("t-1", session_owner(key))
    assert key not in signing.b64_decode(token.split(":")[0].encode()).decode()
    assert key not in token


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_rotating_the_key_with_fallbacks_keeps_open_status_urls(settings, signed_in):
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key="k" * 32)
    request.user = User.objects.create_user("ada") if signed_in else AnonymousUser()
    token = make_token("t-1", owner_of(request))  # issued under the old key
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" * 5
    signed = read_token(token, DAY)
    assert signed is not None
    assert is_owner(request, signed.owner)
    assert owner_of(request) != signed.owner  # new URLs are issued under the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert read_token(token, DAY) is None  # the old key dropped: the URL is dead
    assert not is_owner(request, signed.owner)
