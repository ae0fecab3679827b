"""Pushed updates through a real ASGI server (uvicorn in a subprocess) and a real worker.

A held job (``hold=True``) is followed through ``events/``; once released it writes its
remaining steps and ends. On the Redis result backend (the redis and rabbitmq set-ups) the
test also listens on the job's channel itself: the stream must carry every state stored
there, in order; on django-db (embedded) the process's reader may fold quick writes into one.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client

from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import die_with_parent, free_port, wait_until
from tests.integration.harness import ROOT, child_env
from tests.statuses import status_url_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

READ_TIMEOUT = 60  # seconds a stream may stay silent before the test calls it hung


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[int]:
    """uvicorn serving the test project (its own process, the test run's database)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tests.asgi:application", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=child_env(),
        preexec_fn=die_with_parent,
    )

    def answers() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/jobtastic/events/")
            answer = connection.getresponse()
            return answer.status == 400 and "error" in json.loads(answer.read())  # no tokens
        except OSError:
            return False
        finally:
            connection.close()

    try:
        wait_until(answers, timeout=60, what="uvicorn to answer")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def stream(port: int, client: Client, *tokens: str) -> Iterator[dict[str, Any]]:
    """The ``status`` events of one stream, as the server sends them, until it ends."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    query = "&".join(f"t={token}" for token in tokens)
    connection.request("GET", f"/jobtastic/events/?{query}", headers={"Cookie": cookie})
    try:
        response = connection.getresponse()
        assert response.status == 200, response.read()
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        block: list[str] = []
        while True:
            line = response.readline()
            if not line:
                return  # the server ended the stream
            text = line.decode().rstrip("\n")
            if text:
                block.append(text)
                continue
            if block and block[0] == "event: status":
                yield json.loads(block[1].removeprefix("data: "))
            block = []
    finally:
        connection.close()


def published(task_id: str) -> tuple[list[dict[str, Any]], threading.Event, threading.Thread]:
    """Every state the Redis result backend publishes for ``task_id`` from now on."""
    channel = app.backend.get_key_for_task(task_id)
    subscriber = redis.Redis.from_url(app.backend.url).pubsub()
    subscriber.subscribe(channel)
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def listen() -> None:
        while not done.is_set():
            message = subscriber.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                seen.append(app.backend.decode_result(message["data"]))
        subscriber.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    return seen, done, listener


def test_a_stream_carries_each_state_and_ends_at_success(worker, asgi_server, marker):
    """The job waits after each write until the test has seen it on the stream."""
    on_redis = settings.CELERY_RESULT_BACKEND.startswith("redis")
    owner = Client()
    result = jobs.SteppedJob.delay(marker=marker)
    answers: list[dict[str, Any]] = []
    try:
        wait_until(  # its first step written (before it, the run's 0 % write)
            lambda: result.state == "PROGRESS" and result.info.get("completed") == 1,
            what="the job's first step",
        )
        token = token_of(status_url_for(owner, result.id))
        if on_redis:
            states, done, listener = published(result.id)
        events = stream(asgi_server, owner, token)
        for step in range(1, 5):
            while True:  # an estimate aged since may come again first
                answers.append(next(events))
                if answers[-1]["task"]["progress"]["completed"] == step:
                    break
            probe.release(f"{marker}:{step}")
        answers.extend(events)  # to the end of the stream: it ends by itself
    finally:
        for step in range(1, 5):
            probe.release(f"{marker}:{step}")

    assert all(answer["token"] == token for answer in answers)
    assert answers[-1]["task"]["status"] == "SUCCESS"
    assert answers[-1]["task"]["result"] == {"marker": marker, "steps": 4}
    running = [answer["task"] for answer in answers if answer["task"]["status"] == "PROGRESS"]
    steps = [task["progress"]["completed"] for task in running]
    assert sorted(set(steps)) == [1, 2, 3, 4]
    assert steps == sorted(steps)
    if on_redis:  # every state stored after the stream began came down it, in order
        wait_until(lambda: any(s["status"] == "SUCCESS" for s in states), what="SUCCESS published")
        done.set()
        listener.join(timeout=10)
        stored = [s["result"]["completed"] for s in states if s["status"] == "PROGRESS"]
        assert stored
        assert set(stored) <= set(steps)


def test_a_foreign_token_gets_an_error_and_no_data(worker, asgi_server, marker):
    result = jobs.CountingJob.delay(marker=marker)
    token = token_of(status_url_for(Client(), result.id))
    stranger = Client()
    status_url_for(stranger, "someone-elses-job")  # a session of its own
    assert list(stream(asgi_server, stranger, token)) == [
        {
            "token": token,
            "error": "This job does not exist, has expired, or belongs to someone else.",
        }
    ]
    result.get(timeout=60)
