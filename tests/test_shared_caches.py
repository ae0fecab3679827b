"""No shared cache ever serves one requester's status answer to another, or freezes a bar.

Django's per-site cache middleware is the shared cache every project can switch on. Django
4.2's skips only ``private`` responses, so with ``no-store`` alone it stored the owner's
answer and served it to a stranger holding the leaked URL, and to the owner ever after.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from django_jobtastic.web.status_answers import NOT_FOUND_MESSAGE
from tests.statuses import read, status_url_for, store

NOT_FOUND = {"error": NOT_FOUND_MESSAGE}
pytestmark = pytest.mark.django_db

PAGE_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"}


@pytest.fixture
def per_site_cache(settings):
    settings.CACHES = {**settings.CACHES, "pages": PAGE_CACHE}
    settings.CACHE_MIDDLEWARE_ALIAS = "pages"
    settings.CACHE_MIDDLEWARE_SECONDS = 600
    settings.CACHE_MIDDLEWARE_KEY_PREFIX = uuid.uuid4().hex
    settings.MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0  # every answer read afresh: only caches hold


def progress_of(answer: tuple[int, dict]) -> tuple[int, object]:
    status, body = answer
    return status, (body.get("task") or {}).get("progress", {}).get("percent")


def test_a_leaked_status_url_shows_a_stranger_nothing_through_the_per_site_cache(
    per_site_cache, task_id
):
    owner, stranger = Client(), Client()
    url = status_url_for(owner, task_id)
    store(task_id, {"progress_percent": 10, "time_remaining": 9}, "PROGRESS")
    assert progress_of(read(owner, url)) == (200, 10)

    assert read(stranger, url) == (404, NOT_FOUND)


def test_the_owners_bar_moves_behind_the_per_site_cache(per_site_cache, task_id):
    owner = Client()
    url = status_url_for(owner, task_id)
    store(task_id, {"progress_percent": 10, "time_remaining": 9}, "PROGRESS")
    assert progress_of(read(owner, url)) == (200, 10)

    store(task_id, {"progress_percent": 60, "time_remaining": 4}, "PROGRESS")
    assert progress_of(read(owner, url)) == (200, 60)
