"""The live-update stream (``events/?t=…``) in-process, through Django's ASGI handler.

On both kinds of result backend, whatever the set-up's: Redis, whose own publish of each
stored state the stream follows, and django-db, read by one follower per process. Events
are waited for as they come (no sleeps): each test stores a state, then reads the stream
until the event about it arrives, within a generous bound that only a hang reaches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from celery import states
from celery.app.task import Context
from celery.backends.redis import RedisBackend
from django.conf import settings as django_settings
from django.db import connections
from django.test import AsyncClient, Client

from django_jobtastic.web import events as events_module
from django_jobtastic.web import live_updates
from django_jobtastic.web.result_reading import TaskState
from tests.celery_app import app
from tests.statuses import PROGRESS_META, new_id, status_url_for

pytestmark = pytest.mark.django_db(transaction=True)

#: Seconds a test waits for an event that must come: only a hang reaches it.
EVENT_WAIT = 20.0


@pytest.fixture(params=["redis", "django-db"])
def result_backend(request, monkeypatch, settings) -> Any:
    """Every thread's result backend for this test: Redis (its results database), whose
    publish the stream follows, or django-db, which its follower reads."""
    from django_celery_results.backends.database import DatabaseBackend

    backend = (
        RedisBackend(app=app, url=django_settings.REDIS_RESULTS)
        if request.param == "redis"
        else DatabaseBackend(app=app, url="django-db")
    )
    monkeypatch.setattr(type(app), "backend", property(lambda self: backend))
    settings.JOBTASTIC_POLL_INTERVAL = 0.05  # the django-db follower's reads
    return backend


def store(backend: Any, task_id: str, result: Any, state: str) -> None:
    request = Context(id=task_id, task="tests.jobs.Job", args=[], kwargs={})
    backend.store_result(task_id, result, state, request=request)


def store_elsewhere(backend: Any, task_id: str, result: Any, state: str) -> None:
    """``store`` from another thread (``asyncio.to_thread``), its database connection closed
    (else it stays open until the thread goes)."""
    try:
        store(backend, task_id, result, state)
    finally:
        connections.close_all()


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class Events:
    """An open stream, read event by event."""

    def __init__(self, chunks: AsyncIterator[Any]) -> None:
        self.chunks = chunks
        self.buffer = ""
        self.comments: list[str] = []

    async def next(self) -> dict[str, Any] | None:
        """The next ``status`` event's data; None when the stream has ended."""
        while True:
            if "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                lines = block.split("\n")
                if lines[0].startswith(":"):
                    self.comments.append(lines[0])
                    continue
                if lines[0].startswith("retry:"):
                    continue
                assert lines[0] == "event: status", block
                data: dict[str, Any] = json.loads(lines[1].removeprefix("data: "))
                return data
            try:
                chunk = await asyncio.wait_for(self.chunks.__anext__(), EVENT_WAIT)
            except StopAsyncIteration:
                assert self.buffer == ""
                return None
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk


async def open_stream(client: AsyncClient, *tokens: str) -> tuple[Any, Events]:
    query = "&".join(f"t={token}" for token in tokens)
    response = await client.get(f"/jobtastic/events/?{query}")
    return response, Events(response.streaming_content)


def session_client(sync_client: Client) -> AsyncClient:
    """An async client with the sync client's session cookie: the same owner."""
    client = AsyncClient()
    name = django_settings.SESSION_COOKIE_NAME
    client.cookies[name] = sync_client.cookies[name].value
    return client


def test_a_stream_sends_each_state_and_ends_when_the_job_is_ready(result_backend):
    owner, task_id = Client(), new_id()
    store(result_backend, task_id, {**PROGRESS_META, "progress_percent": 10.0}, "PROGRESS")
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> list[dict[str, Any]]:
        response, stream = await open_stream(session_client(owner), token, "not-a-token")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["X-Accel-Buffering"] == "no"
        assert response["Cache-Control"] == "private, no-store"
        seen = [await stream.next(), await stream.next()]
        await asyncio.to_thread(
            store_elsewhere,
            result_backend,
            task_id,
            {**PROGRESS_META, "progress_percent": 60.0},
            "PROGRESS",
        )
        seen.append(await stream.next())
        await asyncio.to_thread(
            store_elsewhere, result_backend, task_id, {"rows": 3}, states.SUCCESS
        )
        seen.append(await stream.next())
        seen.append(await stream.next())  # the end
        return seen

    refused, first, later, done, end = async_to_sync(follow)()
    assert refused == {
        "token": "not-a-token",
        "error": "This job does not exist, has expired, or belongs to someone else.",
    }
    assert first["token"] == token
    assert first["task"]["progress"]["percent"] == 10.0
    assert later["task"]["progress"]["percent"] == 60.0
    assert done["task"]["status"] == "SUCCESS"
    assert done["task"]["result"] == {"rows": 3}
    assert end is None


def test_a_finished_job_is_sent_once_and_the_stream_ends(result_backend):
    owner, task_id = Client(), new_id()
    store(result_backend, task_id, [1, 2], states.SUCCESS)
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> list[Any]:
        _, stream = await open_stream(session_client(owner), token)
        return [await stream.next(), await stream.next()]

    answer, end = async_to_sync(follow)()
    assert answer["task"]["status"] == "SUCCESS"
    assert end is None


def test_a_foreign_token_gets_an_error_and_no_data(result_backend):
    owner, task_id = Client(), new_id()
    store(result_backend, task_id, {**PROGRESS_META}, "PROGRESS")
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> list[Any]:
        _, stream = await open_stream(AsyncClient(), token)  # a stranger
        return [await stream.next(), await stream.next()]

    answer, end = async_to_sync(follow)()
    assert answer == {
        "token": token,
        "error": "This job does not exist, has expired, or belongs to someone else.",
    }
    assert end is None


def test_a_job_found_silent_at_the_start_is_answered_lost(result_backend):
    owner, task_id = Client(), new_id()
    long_ago = "2020-01-01T00:00:00Z"
    meta = {**PROGRESS_META, "alive_at": long_ago, "updated_at": long_ago}
    store(result_backend, task_id, meta, "PROGRESS")
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> list[Any]:
        _, stream = await open_stream(session_client(owner), token)
        return [await stream.next(), await stream.next()]

    lost, end = async_to_sync(follow)()
    assert (lost["task"]["status"], lost["task"]["error"]["type"]) == ("FAILURE", "JobLostError")
    assert end is None


def test_a_job_that_falls_silent_while_followed_is_found_lost_at_a_beat(
    result_backend, monkeypatch, settings
):
    """No state is published for a job whose worker was killed: the stream's beats look."""
    monkeypatch.setattr(events_module, "KEEP_ALIVE_SECONDS", 0.1)
    settings.JOBTASTIC_HEARTBEAT_INTERVAL = 0.2
    settings.JOBTASTIC_LOST_AFTER = 0.5
    owner, task_id = Client(), new_id()
    now = datetime.now(timezone.utc).isoformat()
    store(
        result_backend, task_id, {**PROGRESS_META, "alive_at": now, "updated_at": now}, "PROGRESS"
    )
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> tuple[list[Any], list[str]]:
        _, stream = await open_stream(session_client(owner), token)
        seen = [await stream.next()]
        while seen[-1] is not None:  # the running job, its estimate aged at each beat
            seen.append(await stream.next())
        return seen, stream.comments

    seen, comments = async_to_sync(follow)()
    *running, lost, end = seen
    assert {answer["task"]["status"] for answer in running} == {"PROGRESS"}
    assert (lost["task"]["status"], lost["task"]["error"]["type"]) == ("FAILURE", "JobLostError")
    assert end is None
    assert comments
    assert set(comments) == {": keep-alive"}


def test_keep_alives_are_sent_while_nothing_changes(result_backend, monkeypatch):
    monkeypatch.setattr(events_module, "KEEP_ALIVE_SECONDS", 0.1)
    owner, task_id = Client(), new_id()
    store(result_backend, task_id, {**PROGRESS_META}, "PROGRESS")
    token = token_of(status_url_for(owner, task_id))

    async def follow() -> list[str]:
        _, stream = await open_stream(session_client(owner), token)
        await stream.next()
        while len(stream.comments) < 2:
            stream.buffer += (
                await asyncio.wait_for(stream.chunks.__anext__(), EVENT_WAIT)
            ).decode()
            while "\n\n" in stream.buffer and stream.buffer.startswith(":"):
                comment, stream.buffer = stream.buffer.split("\n\n", 1)
                stream.comments.append(comment)
        await stream.chunks.aclose()
        return stream.comments

    assert async_to_sync(follow)()[:2] == [": keep-alive", ": keep-alive"]


def test_under_wsgi_the_stream_is_refused_with_a_clear_error():
    response = Client().get("/jobtastic/events/?t=x")
    assert response.status_code == 501
    assert "ASGI" in response.json()["error"]


@pytest.mark.parametrize(("method", "query", "status"), [("post", "?t=x", 405), ("get", "", 400)])
def test_bad_requests_are_json_errors(method, query, status):
    async def ask() -> Any:
        return await getattr(AsyncClient(), method)(f"/jobtastic/events/{query}")

    response = async_to_sync(ask)()
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


def test_on_redis_many_streams_of_one_job_share_one_subscription():
    """Two streams following one job: Redis counts one subscriber on its channel."""
    backend = RedisBackend(app=app, url=django_settings.REDIS_RESULTS)
    task_id = new_id()
    channel = backend.get_key_for_task(task_id).decode()

    async def follow_twice() -> int:
        follower = live_updates.RedisFollower(backend, channel[: -len(task_id)], backend.url)
        inboxes = [asyncio.Queue(), asyncio.Queue()]
        for inbox in inboxes:
            await follower.follow([task_id], inbox)
        numsub = await asyncio.to_thread(
            lambda: dict(redis.Redis.from_url(backend.url).pubsub_numsub(channel))
        )
        await asyncio.to_thread(store_elsewhere, backend, task_id, {**PROGRESS_META}, "PROGRESS")
        handed = [await asyncio.wait_for(inbox.get(), EVENT_WAIT) for inbox in inboxes]
        for inbox in inboxes:
            await follower.unfollow([task_id], inbox)
        assert all(change.state.state == "PROGRESS" for _, change in handed)
        assert handed[0][1] is handed[1][1]  # one change for both: its answer is shared
        return int(numsub[channel.encode()])

    assert async_to_sync(follow_twice)() == 1


def test_streams_handed_one_change_work_out_its_answer_once(monkeypatch):
    """1,000 viewers of a job cost one answer per change and language, not 1,000."""
    worked_out: list[str] = []
    encoded = events_module._encoded

    def counting(task_id: str, state: Any, language: str, *rest: Any) -> tuple[bool, bytes]:
        worked_out.append(language)
        return encoded(task_id, state, language, *rest)

    monkeypatch.setattr(events_module, "_encoded", counting)
    task_id = new_id()
    now = datetime.now(timezone.utc).isoformat()
    meta = {**PROGRESS_META, "alive_at": now, "updated_at": now}
    change = live_updates.Change(TaskState("PROGRESS", meta, None))

    async def viewers() -> list[tuple[bool, bytes]]:
        languages = ["en", "en", "en", "de", "de"]
        return await asyncio.gather(
            *(events_module._shared_answer(task_id, change, code, False) for code in languages)
        )

    answers = async_to_sync(viewers)()
    assert sorted(worked_out) == ["de", "en"]
    assert len(set(answers[:3])) == 1
    ready, body = answers[0]
    assert not ready
    assert json.loads(body)["status"] == "PROGRESS"


def test_the_widget_offers_the_stream_under_asgi_only():
    owner, task_id = Client(), new_id()
    status_url_for(owner, task_id)  # granted
    under_wsgi = owner.get(f"/widget/{task_id}/").content.decode()

    async def ask() -> Any:
        return await session_client(owner).get(f"/widget/{task_id}/")

    under_asgi = async_to_sync(ask)().content.decode()
    assert "data-jobtastic-batch-url" in under_wsgi
    assert "data-jobtastic-events-url" not in under_wsgi
    assert 'data-jobtastic-events-url="/jobtastic/events/"' in under_asgi


def test_a_stream_answers_in_its_loop_unless_the_answer_reads_a_store(monkeypatch, result_backend):
    """A fresh PROGRESS needs no store: no hop to a thread (a third of a stream's CPU). A
    silent job's answer records the lost verdict in the backend: that goes to a thread."""
    hops: list[str] = []
    in_thread = events_module.in_thread

    def counting(function: Any) -> Any:
        hops.append(function.__name__)
        return in_thread(function)

    monkeypatch.setattr(events_module, "in_thread", counting)
    now = datetime.now(timezone.utc)
    fresh = {**PROGRESS_META, "alive_at": now.isoformat(), "updated_at": now.isoformat()}
    long_ago = (now - timedelta(hours=1)).isoformat()
    silent = {**PROGRESS_META, "alive_at": long_ago, "updated_at": long_ago}
    running, lost = new_id(), new_id()
    store(result_backend, lost, silent, "PROGRESS")

    async def answer(task_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        change = live_updates.Change(TaskState("PROGRESS", meta, None))
        _ready, body = await events_module._shared_answer(task_id, change, "en", False)
        return json.loads(body)

    assert async_to_sync(answer)(running, fresh)["status"] == "PROGRESS"
    assert hops == []
    assert async_to_sync(answer)(lost, silent)["status"] == "FAILURE"
    assert hops == ["_encoded"]
    assert result_backend.get_task_meta(lost)["status"] == "FAILURE"  # the verdict, stored
