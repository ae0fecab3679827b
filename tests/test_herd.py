"""Herd and result entries against the real test cache (and a cache that is down)."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches

from django_jobtastic.job_cache.django_cache import DjangoJobCache
from django_jobtastic.task import keys
from django_jobtastic.task.herd import CacheUnavailableError, JobEntries, Liveness, open_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries() -> JobEntries:
    return open_entries("default", uuid.uuid4().hex)


def always(liveness: Liveness):
    return lambda task_id: liveness


def test_claim_first_caller_wins(entries):
    assert entries.claim("a", 60, always(Liveness.RUNNING)) == ("a", True)
    assert entries.cache.get(entries.herd_key) == "a"


def test_claim_running_entry_latches_later_callers(entries):
    entries.claim("a", 60, always(Liveness.RUNNING))
    assert entries.claim("b", 60, always(Liveness.RUNNING)) == ("a", False)


def test_claim_reusable_entry_latches_later_callers(entries):
    entries.claim("a", 60, always(Liveness.RUNNING))
    assert entries.claim("b", 60, always(Liveness.REUSABLE)) == ("a", False)


def test_claim_dead_entry_replaced_by_exactly_one_caller(entries):
    entries.claim("dead", 60, always(Liveness.RUNNING))

    def liveness(task_id: str) -> Liveness:
        return Liveness.DEAD if task_id == "dead" else Liveness.RUNNING

    first = entries.claim("b", 60, liveness)
    second = entries.claim("c", 60, liveness)

    assert first == ("b", True)
    assert second == ("b", False)


def test_claim_never_latches_onto_a_takeover_winner_that_lost_the_entry(entries):
    entries.claim("dead", 60, always(Liveness.RUNNING))
    # "ghost" won the takeover key but never swapped the entry in (it lost it to a release).
    entries.cache.add(keys.takeover_key(entries.digest, "dead"), "ghost", 60)

    def liveness(task_id: str) -> Liveness:
        return Liveness.DEAD if task_id == "dead" else Liveness.RUNNING

    winner, _ = entries.claim("c", 60, liveness)
    assert winner != "ghost"  # an id nobody will ever publish


def test_claim_dead_entries_replaced_in_turn(entries):
    entries.claim("dead", 60, always(Liveness.RUNNING))
    assert entries.claim("b", 60, always(Liveness.DEAD)) == ("b", True)
    assert entries.claim("c", 60, always(Liveness.DEAD)) == ("c", True)


def test_release_removes_only_its_own_entry(entries):
    entries.claim("a", 60, always(Liveness.RUNNING))
    entries.release("someone-else")
    assert entries.cache.get(entries.herd_key) == "a"
    entries.release("a")
    assert entries.cache.get(entries.herd_key) is None


def test_result_entry_round_trip(entries):
    assert entries.cached_task_id() is None
    entries.remember_result("a", 0)
    assert entries.cached_task_id() == "a"
    entries.forget_result("other")
    assert entries.cached_task_id() == "a"
    entries.forget_result()
    assert entries.cached_task_id() is None


def test_cache_down_raises_cache_unavailable():
    nobody_listens = DjangoJobCache(caches["volatile"])
    entries = JobEntries(nobody_listens, uuid.uuid4().hex)
    with pytest.raises(CacheUnavailableError, match="ConnectionError"):
        entries.claim("a", 60, always(Liveness.RUNNING))


def test_unknown_alias_raises_cache_unavailable():
    with pytest.raises(CacheUnavailableError, match="InvalidCacheBackendError"):
        open_entries("no-such-alias", "digest")
