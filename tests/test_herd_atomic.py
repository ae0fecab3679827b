"""The ``JobCache`` operations herd avoidance needs, on every implementation: Django's Redis
cache, Django's database cache, and plain Redis (the cache of Celery apps without Django)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import caches

from django_jobtastic.job_cache.django_cache import DjangoJobCache
from django_jobtastic.job_cache.redis_cache import RedisJobCache, redis_cache

pytestmark = pytest.mark.django_db

#: The plain-Redis cache's database (keys are unique per test: nothing is flushed).
PLAIN_REDIS = f"{settings.REDIS_HOST}/15"


@pytest.fixture(params=["redis", "database", "plain-redis"])
def cache(request):
    if request.param == "plain-redis":
        return redis_cache(PLAIN_REDIS)
    return DjangoJobCache(caches[request.param])


@pytest.fixture
def key() -> str:
    return f"atomic-test:{uuid.uuid4().hex}"


def test_add_sets_an_absent_entry_only(cache, key):
    assert cache.add(key, "first", 60) is True
    assert cache.add(key, "second", 60) is False
    assert cache.get(key) == "first"


def test_delete_if_equal_deletes_a_matching_entry(cache, key):
    cache.set(key, "mine", 60)
    assert cache.delete_if_equal(key, "mine") is True
    assert cache.get(key) is None


def test_delete_if_equal_keeps_someone_elses_entry(cache, key):
    cache.set(key, "theirs", 60)
    assert cache.delete_if_equal(key, "mine") is False
    assert cache.get(key) == "theirs"


def test_replace_if_equal_swaps_a_matching_entry_readably(cache, key):
    cache.set(key, "old", 60)
    assert cache.replace_if_equal(key, "old", "new", 60) is True
    assert cache.get(key) == "new"


def test_replace_if_equal_leaves_a_changed_entry(cache, key):
    cache.set(key, "other", 60)
    assert cache.replace_if_equal(key, "old", "new", 60) is False
    assert cache.get(key) == "other"


def test_replace_if_equal_missing_entry_is_not_created(cache, key):
    assert cache.replace_if_equal(key, "old", "new", 60) is False
    assert cache.get(key) is None


def test_set_without_timeout_keeps_the_entry(cache, key):
    cache.set(key, True, None)
    assert cache.get(key) is True
    cache.delete(key)
    assert cache.get(key) is None


def test_replace_if_equal_on_django_redis_sets_the_expiry(key):
    django_cache = caches["redis"]
    django_cache.set(key, "old", None)
    DjangoJobCache(django_cache).replace_if_equal(key, "old", "new", 30)
    client = django_cache._cache.get_client(write=False)
    assert 29_000 < client.pttl(django_cache.make_and_validate_key(key)) <= 30_000


def test_plain_redis_sets_expiries_in_milliseconds(key):
    cache = redis_cache(PLAIN_REDIS)
    cache.add(key, "old", 30)
    assert 29_000 < cache.client.pttl(key) <= 30_000
    cache.replace_if_equal(key, "old", "new", 20)
    assert 19_000 < cache.client.pttl(key) <= 20_000
    cache.replace_if_equal(key, "new", "newer", None)
    assert cache.client.pttl(key) == -1  # no expiry
    cache.delete(key)


def test_plain_redis_reads_a_foreign_value_as_absent(key):
    cache = redis_cache(PLAIN_REDIS)
    cache.client.set(key, b"\x80not json", px=60_000)
    assert cache.get(key) is None


def test_plain_redis_is_one_client_per_url():
    assert redis_cache(PLAIN_REDIS) is redis_cache(PLAIN_REDIS)
    assert isinstance(redis_cache(PLAIN_REDIS), RedisJobCache)
