"""Property-based fuzzing of both status routes: whatever arrives, JSON comes back, never 500.

The test client re-raises any exception a view lets through, so a crash fails the test even
before its status code is looked at.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.core import signing
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_jobtastic.web.tokens import SALT, session_owner

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Text that may hold anything a URL can carry once percent-decoded (slashes, NUL, emoji...).
segments = st.text(min_size=1, max_size=400).filter(lambda text: text.strip("/.") != "")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def assert_json_answer(response, allowed: set[int]) -> dict:
    assert response.status_code in allowed, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    return json.loads(response.content)


def fetch(client: Client, path: str, method: str = "get"):
    return getattr(client, method)(path)


@FUZZ
@given(token=segments, method=st.sampled_from(["get", "post", "head", "delete"]))
def test_any_token_gets_a_json_answer(token, method):
    response = fetch(Client(), f"/jobtastic/status/{quote(token, safe='')}/", method)
    if method == "head":
        assert response.status_code == 404
        return
    body = assert_json_answer(response, {404} if method == "get" else {405})
    assert set(body) == {"error"}


@FUZZ
@given(task_id=segments)
@override_settings(JOBTASTIC_STATUS_ALLOW_RAW_IDS=True)
def test_any_raw_id_gets_a_json_answer(task_id):
    response = fetch(Client(), f"/jobtastic/{quote(task_id, safe='')}/status/")
    body = assert_json_answer(response, {200, 404})
    if response.status_code == 200:
        assert body["task"]["id"] == task_id
        assert body["task"]["status"] == "PENDING"


@settings(max_examples=300, deadline=None)
@given(task_id=segments)
def test_raw_ids_are_always_refused_when_disabled(task_id):
    response = fetch(Client(), f"/jobtastic/{quote(task_id, safe='')}/status/")
    assert assert_json_answer(response, {404}) == {
        "error": "This job does not exist, has expired, or belongs to someone else."
    }


@FUZZ
@given(payload=json_values)
def test_genuinely_signed_payloads_of_any_shape_get_a_json_answer(payload):
    """A token we signed, around contents we never produce: still only 200 or 404."""
    client = Client()
    client.get("/follow/x/")  # a session, so the owner can match
    owner = session_owner(client.session.session_key)
    shaped = payload if not isinstance(payload, dict) else {"owner": owner, **payload}
    token = signing.dumps(shaped, salt=SALT)
    assert_json_answer(client.get(f"/jobtastic/status/{token}/"), {200, 404})


@settings(max_examples=300, deadline=None)
@given(task_id=st.text(min_size=1, max_size=300))
def test_any_task_id_of_ones_own_reads_as_json(task_id):
    """Whatever id a page follows, its owner gets the state (PENDING) as JSON."""
    client = Client()
    url = client.get(f"/follow/{quote(task_id, safe='') or 'x'}/")
    if url.status_code != 200:  # the test page's own route did not match (a '/' in the id)
        return
    body = assert_json_answer(client.get(url.content.decode()), {200})
    assert body["task"]["status"] == "PENDING"
