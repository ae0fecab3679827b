"""Compare-and-delete / compare-and-swap on a real Redis cache and a real database cache."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches

from django_jobtastic.task.herd import delete_if_equal, replace_if_equal

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["redis", "database"])
def cache(request):
    return caches[request.param]


@pytest.fixture
def key() -> str:
    return f"atomic-test:{uuid.uuid4().hex}"


def test_delete_if_equal_deletes_a_matching_entry(cache, key):
    cache.set(key, "mine", 60)
    assert delete_if_equal(cache, key, "mine") is True
    assert cache.get(key) is None


def test_delete_if_equal_keeps_someone_elses_entry(cache, key):
    cache.set(key, "theirs", 60)
    assert delete_if_equal(cache, key, "mine") is False
    assert cache.get(key) == "theirs"


def test_replace_if_equal_swaps_a_matching_entry_readably(cache, key):
    cache.set(key, "old", 60)
    assert replace_if_equal(cache, key, "old", "new", 60) is True
    assert cache.get(key) == "new"


def test_replace_if_equal_leaves_a_changed_entry(cache, key):
    cache.set(key, "other", 60)
    assert replace_if_equal(cache, key, "old", "new", 60) is False
    assert cache.get(key) == "other"


def test_replace_if_equal_missing_entry_is_not_created(cache, key):
    assert replace_if_equal(cache, key, "old", "new", 60) is False
    assert cache.get(key) is None


def test_replace_if_equal_on_redis_sets_the_expiry(key):
    cache = caches["redis"]
    cache.set(key, "old", None)
    replace_if_equal(cache, key, "old", "new", 30)
    client = cache._cache.get_client(write=False)
    assert 29_000 < client.pttl(cache.make_and_validate_key(key)) <= 30_000
