"""Lost jobs, for real: a worker's whole process group SIGKILLed mid-run (what the
out-of-memory killer, a container eviction or a lost machine does) leaves a job that Celery
never ends. Its followers are told it is lost within ``JOBTASTIC_LOST_AFTER``, the verdict is
stored, and an identical call runs afresh; a job merely quiet in a long step is never lost.

The workers of these tests beat every 0.5 s and count a job lost after 5 s of silence: ten
missed heartbeats, so a busy machine delays a beat without faking a loss.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from celery import states
from django.test import Client

from django_jobtastic.exceptions import JobLostError
from django_jobtastic.liveness import last_sign_of_life
from tests import jobs, probe
from tests.celery_app import app
from tests.helpers import wait_until
from tests.integration.harness import wait_until_held
from tests.statuses import status_url_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

HEARTBEAT = 0.5
LOST_AFTER = 5.0
SHORT = {"JOBTASTIC_TEST_HEARTBEAT": str(HEARTBEAT), "JOBTASTIC_TEST_LOST_AFTER": str(LOST_AFTER)}
#: A loss is told within LOST_AFTER of the last sign of life, plus this for the poll itself.
MARGIN = 10.0


@pytest.fixture
def short_intervals(settings):
    """This process (the web side, the submitter) judges with the workers' intervals."""
    settings.JOBTASTIC_HEARTBEAT_INTERVAL = HEARTBEAT
    settings.JOBTASTIC_LOST_AFTER = LOST_AFTER
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 0


def read(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    return json.loads(response.content)["task"]


def stored(task_id: str) -> dict:
    return app.backend.get_task_meta(task_id)


def start_held_job(start_worker, queue: str, marker: str, worker_name: str):
    """A worker with the short intervals, and a job it runs held after step 1."""
    worker = start_worker(worker_name, queue, **SHORT)
    result = jobs.CountingJob.apply_async(kwargs={"marker": marker, "hold": True}, queue=queue)
    wait_until_held(result)
    return worker, result


def test_a_job_whose_worker_group_was_killed_is_reported_lost(
    short_intervals, start_worker, private_queue, marker
):
    doomed, result = start_held_job(start_worker, private_queue, marker, "doomed")
    follower = Client()
    url = status_url_for(follower, result.id)
    assert read(follower, url)["status"] == "PROGRESS"
    doomed.kill()  # SIGKILL to the whole process group: nothing records an end
    killed_at = time.time()

    task = wait_until(
        lambda: (seen := read(follower, url))["status"] != "PROGRESS" and seen,
        what="the lost verdict",
        timeout=LOST_AFTER + MARGIN + 30,
    )
    told_after = time.time() - killed_at
    print(f"lost verdict told {told_after:.1f} s after the kill (LOST_AFTER {LOST_AFTER} s)")
    assert task["status"] == "FAILURE"
    assert task["error"] == {
        "type": "JobLostError",
        "message": "The job stopped unexpectedly. Please try again.",
    }
    assert (task["ready"], task["successful"]) == (True, False)
    meta = stored(result.id)  # stored, so every reader agrees
    assert meta["status"] == states.FAILURE
    assert isinstance(meta["result"], JobLostError)
    another = Client()
    assert read(another, status_url_for(another, result.id))["status"] == "FAILURE"

    # An identical call starts a fresh run at once, rather than latching onto the dead one.
    start_worker("rescuer", private_queue, **SHORT)
    probe.release(marker)  # the new run must not wait
    again = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=private_queue)
    assert again.id != result.id
    assert again.get(timeout=60) == {"marker": marker, "steps": 4}
    assert probe.runs(marker) == 2
    assert stored(result.id)["status"] == states.FAILURE  # a redelivery changed nothing


def test_an_identical_call_notices_a_lost_job_nobody_followed(
    short_intervals, start_worker, private_queue, marker
):
    doomed, result = start_held_job(start_worker, private_queue, marker, "doomed")
    doomed.kill()
    last_alive = last_sign_of_life(stored(result.id)["result"])
    assert last_alive is not None
    wait_until(
        lambda: time.time() - last_alive > LOST_AFTER,
        what="the job's silence to outlast LOST_AFTER",
        timeout=LOST_AFTER + MARGIN,
    )
    assert stored(result.id)["status"] == "PROGRESS"  # nobody has looked yet

    probe.release(marker)  # the new run must not wait
    again = jobs.CountingJob.apply_async(kwargs={"marker": marker}, queue=private_queue)
    assert again.id != result.id
    assert stored(result.id)["status"] == states.FAILURE  # the submitter stored the verdict
    # RabbitMQ hands the killed run's unacknowledged message to the next worker: it is not
    # run again (its followers were told to try again), and the verdict stays.
    start_worker("rescuer", private_queue, **SHORT)
    assert again.get(timeout=60) == {"marker": marker, "steps": 4}
    assert probe.runs(marker) == 2
    assert stored(result.id)["status"] == states.FAILURE


def test_a_job_quiet_in_a_long_step_is_not_lost(
    short_intervals, start_worker, private_queue, marker
):
    _, result = start_held_job(start_worker, private_queue, marker, "quiet")
    written = stored(result.id)["result"]
    follower = Client()
    url = status_url_for(follower, result.id)
    try:
        # Held with no progress call for longer than LOST_AFTER: its heartbeat speaks for it.
        def quiet_for_long() -> dict | None:
            meta = stored(result.id)["result"]
            alive = last_sign_of_life(meta)
            assert alive is not None
            return meta if alive - last_sign_of_life(written) > LOST_AFTER + 1 else None

        meta = wait_until(quiet_for_long, what="heartbeats past LOST_AFTER", timeout=60)
        assert meta["updated_at"] == written["updated_at"]  # no progress was written
        assert meta["completed"] == 1
        task = read(follower, url)
        assert task["status"] == "PROGRESS"
        assert task["progress"]["completed"] == 1
    finally:
        probe.release(marker)
    assert result.get(timeout=60) == {"marker": marker, "steps": 4}
    assert read(follower, url)["status"] == "SUCCESS"


def test_a_frozen_job_reported_lost_keeps_the_verdict_when_it_thaws(
    short_intervals, start_worker, private_queue, marker
):
    """SIGSTOP stands for a process that cannot prove it lives (frozen, or C code holding
    the GIL): reported lost meanwhile, it learns so at its next write and ends without
    storing anything over the verdict."""
    frozen, result = start_held_job(start_worker, private_queue, marker, "frozen")
    follower = Client()
    url = status_url_for(follower, result.id)
    os.killpg(frozen.process.pid, signal.SIGSTOP)
    try:
        task = wait_until(
            lambda: (seen := read(follower, url))["status"] != "PROGRESS" and seen,
            what="the lost verdict",
            timeout=LOST_AFTER + MARGIN + 30,
        )
    finally:
        os.killpg(frozen.process.pid, signal.SIGCONT)
    assert task["error"]["type"] == "JobLostError"
    probe.release(marker)  # it thaws, and runs on to its next update_progress
    later = jobs.CountingJob.apply_async(kwargs={"marker": marker + "-next"}, queue=private_queue)
    later.get(timeout=60)  # a solo worker: the thawed job has ended by now

    assert read(follower, url) == task, "every reader still agrees on the verdict"
    assert "was reported lost while it was silent" in frozen.log.read_text()
