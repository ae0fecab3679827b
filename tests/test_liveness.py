"""Lost jobs, in-process: the rule, the heartbeat, the status view's verdict, a redelivery."""

from __future__ import annotations

import json
import threading
import time

import pytest
from celery import states
from django.utils import translation

from django_jobtastic.exceptions import JobLostError
from django_jobtastic.liveness import epoch_of, is_lost, is_lost_verdict, last_sign_of_life
from django_jobtastic.task.progress import ProgressTracker
from tests.celery_app import app
from tests.helpers import wait_until
from tests.jobs import CountingJob
from tests.statuses import new_id, read, status_url_for, store

pytestmark = pytest.mark.django_db

WRITTEN = epoch_of("2026-11-25T00:00:00Z")


def meta(alive_at="2026-11-25T00:00:00Z", updated_at="2026-11-25T00:00:00Z"):
    return {"progress_percent": 10.0, "updated_at": updated_at, "alive_at": alive_at}


@pytest.mark.parametrize(
    ("state", "seconds_later", "lost"),
    [
        ("PROGRESS", 60, False),
        ("PROGRESS", 60.5, True),
        ("UPLOADING", 61, True),  # a custom state of ours, written by update_state
        ("SUCCESS", 3600, False),
        ("FAILURE", 3600, False),
        ("PENDING", 3600, False),
        ("RETRY", 3600, False),
    ],
)
def test_only_a_running_job_silent_for_longer_than_lost_after_is_lost(state, seconds_later, lost):
    assert is_lost(state, meta(), WRITTEN + seconds_later, 60) is lost


def test_the_last_sign_of_life_is_the_later_heartbeat():
    beat = meta(alive_at="2026-11-25T00:00:50Z")
    assert last_sign_of_life(beat) == WRITTEN + 50
    assert not is_lost("PROGRESS", beat, WRITTEN + 100, 60)
    assert last_sign_of_life({"updated_at": "2026-11-25T00:00:00Z"}) == WRITTEN


@pytest.mark.parametrize("written", [None, "soon", {"stage": "upload"}, "not a mapping"])
def test_a_meta_without_a_time_of_writing_is_never_lost(written):
    if isinstance(written, dict) or written is None or written == "not a mapping":
        info = written
    else:
        info = meta(alive_at=written, updated_at=written)
    assert not is_lost("PROGRESS", info, WRITTEN + 10**6, 60)


def test_the_heartbeat_rewrites_the_last_meta_with_a_new_alive_at_until_closed():
    writes = Writes()
    tracker = ProgressTracker(60, writes, heartbeat=0.05)
    tracker.write_initial()
    tracker.write(1, 10, "one")
    wait_until(lambda: len(writes) >= 4, what="heartbeats of a quiet job")
    tracker.close()
    count = len(writes)  # a beat under way when close() took the lock has landed by now
    first, beats = writes[1], writes[2:]
    assert all(beat["completed"] == 1 and beat["message"] == "one" for beat in beats)
    assert all(beat["updated_at"] == first["updated_at"] for beat in beats)  # no new estimate
    assert [b["alive_at"] for b in beats] == sorted(b["alive_at"] for b in beats)
    assert beats[-1]["alive_at"] > first["alive_at"]
    wait_until(
        lambda: not any(t.name == "jobtastic-heartbeat" for t in threading.enumerate()),
        what="the heartbeat to end with the run",
    )
    assert len(writes) == count


def test_every_progress_write_is_a_sign_of_life():
    writes = Writes()
    tracker = ProgressTracker(0, writes, heartbeat=60)
    tracker.write_initial()
    for done in range(1, 4):
        tracker.write(done, 3, None)
    tracker.close()
    assert [w.get("completed") for w in writes] == [None, 1, 2, 3]
    assert all(w["alive_at"] == w["updated_at"] for w in writes)


def test_the_status_view_reports_a_silent_job_lost_and_stores_the_verdict(client, settings):
    settings.JOBTASTIC_LOST_AFTER = 60
    task_id = new_id()
    long_ago = "2020-01-01T00:00:00Z"
    store(task_id, {**meta(long_ago, long_ago), "completed": 3, "total": 10}, "PROGRESS")
    status, body = read(client, status_url_for(client, task_id))
    assert status == 200
    assert body["task"]["status"] == "FAILURE"
    assert body["task"]["error"] == {
        "type": "JobLostError",
        "message": "The job stopped unexpectedly. Please try again.",
    }
    stored = app.backend.get_task_meta(task_id)
    assert is_lost_verdict(stored["status"], stored["result"])


def test_a_job_that_wrote_recently_is_not_lost(client, settings):
    settings.JOBTASTIC_LOST_AFTER = 60
    task_id = new_id()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store(task_id, meta(now, now), "PROGRESS")
    assert read(client, status_url_for(client, task_id))[1]["task"]["status"] == "PROGRESS"


def test_the_lost_message_is_said_in_the_readers_language(client):
    task_id = new_id()
    app.backend.store_result(task_id, JobLostError(JobLostError.user_message), states.FAILURE)
    url = status_url_for(client, task_id)
    with translation.override("de"):
        german = json.loads(client.get(url).content)["task"]["error"]["message"]
    assert german == "Der Auftrag wurde unerwartet beendet. Bitte versuchen Sie es erneut."


def test_a_redelivered_message_of_a_lost_job_is_not_run_again(eager, marker):
    task_id = new_id()
    app.backend.store_result(task_id, JobLostError(JobLostError.user_message), states.FAILURE)
    result = CountingJob.apply(kwargs={"marker": marker}, task_id=task_id)
    assert result.state == states.IGNORED
    stored = app.backend.get_task_meta(task_id)
    assert is_lost_verdict(stored["status"], stored["result"])  # the verdict stays


class Writes(list):
    """A store keeping every meta it takes; while ``down``, it takes none (a result backend
    that is down), and says so as the job's store does."""

    down = False

    def __call__(self, meta: dict) -> bool:
        if self.down:
            return False
        self.append(meta)
        return True


# --- a run that outlived its verdict ------------------------------------------------------


class Verdicts:
    """A stand-in for the result backend's answers, in order (the last one repeats): was
    this run reported lost? None: the backend is down and cannot tell."""

    def __init__(self, *answers: bool | None) -> None:
        self.answers, self.asked = answers, 0

    def __call__(self) -> bool | None:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


def silent_tracker(verdicts: Verdicts, writes: list[dict]) -> ProgressTracker:
    """A run that wrote once, then was silent for longer than half its ``lost_after``."""
    tracker = ProgressTracker(0, writes, lost_after=0.1, declared_lost=verdicts)
    tracker.write_initial()
    time.sleep(0.06)  # silent for at least this long; longer only under load
    return tracker


def test_a_silent_run_reported_lost_writes_nothing_more_and_its_next_report_ends_it():
    verdicts, writes = Verdicts(True), Writes()
    tracker = silent_tracker(verdicts, writes)
    with pytest.raises(JobLostError):
        tracker.report(1, 10)
    assert len(writes) == 1
    assert tracker.disowned
    assert tracker.reported_lost()
    assert verdicts.asked == 1, "asked once: the answer is kept"


def test_a_silent_run_not_reported_lost_goes_on_and_asks_again_only_after_new_silence():
    verdicts, writes = Verdicts(False), Writes()
    tracker = silent_tracker(verdicts, writes)
    tracker.report(1, 10)
    tracker.report(10, 10)  # right after a write: not silent, so not asked
    assert [meta.get("completed") for meta in writes] == [None, 1, 10]
    assert verdicts.asked == 1
    assert not tracker.reported_lost()


def test_a_run_that_keeps_writing_never_asks():
    verdicts, writes = Verdicts(True), Writes()
    tracker = ProgressTracker(0, writes, lost_after=60, declared_lost=verdicts)
    tracker.write_initial()
    for done in range(1, 11):
        tracker.report(done, 10)
    assert writes[-1]["completed"] == 10
    assert not tracker.reported_lost()
    assert verdicts.asked == 0


def test_the_heartbeat_of_a_run_reported_lost_stops_without_writing():
    verdicts, writes = Verdicts(True), Writes()
    # A beat is due after 0.08 s of silence: always past half of lost_after, so it asks.
    tracker = ProgressTracker(60, writes, heartbeat=0.08, lost_after=0.1, declared_lost=verdicts)
    tracker.write_initial()
    try:
        wait_until(lambda: tracker.disowned, what="the heartbeat asking")
    finally:
        tracker.close()
    assert len(writes) == 1
    assert verdicts.asked == 1


# --- a result backend that is down while the run writes, or as it ends -------------------


def test_writes_the_backend_refused_are_no_sign_of_life():
    """Silent for the backend, though writing: the run asks before writing again."""
    verdicts, writes = Verdicts(False), Writes()
    tracker = ProgressTracker(0, writes, lost_after=0.2, declared_lost=verdicts)
    tracker.write_initial()
    writes.down = True
    for done in (1, 2, 3):  # each refused write 0.06 s after the last, 0.12 s in all
        tracker.write(done, 10, None)
        time.sleep(0.06)
    tracker.write(4, 10, None)  # past half of lost_after since the last stored write
    assert verdicts.asked >= 1


def test_a_run_ending_while_the_backend_is_down_waits_for_it_to_tell_the_verdict():
    """Its outcome cannot be stored now, and Celery would store its own record of that
    failure later, over any verdict: so it asks until the backend answers."""
    verdicts, writes = Verdicts(None, None, True), Writes()
    tracker = ProgressTracker(0, writes, lost_after=60, declared_lost=verdicts)
    tracker.write_initial()
    writes.down = True
    tracker.write(5, 10, None)
    assert tracker.reported_lost(patience=60)
    assert verdicts.asked == 3
    assert tracker.disowned


def test_a_run_ending_while_the_backend_is_down_gives_up_after_its_patience():
    verdicts, writes = Verdicts(None), Writes()
    tracker = ProgressTracker(0, writes, lost_after=60, declared_lost=verdicts)
    tracker.write_initial()
    writes.down = True
    tracker.write(5, 10, None)
    assert not tracker.reported_lost(patience=0)
    assert verdicts.asked == 1
    assert not tracker.disowned


def test_a_run_whose_last_write_was_stored_does_not_wait():
    verdicts, writes = Verdicts(None), Writes()
    tracker = ProgressTracker(0, writes, lost_after=60, declared_lost=verdicts)
    tracker.write_initial()
    tracker.write(5, 10, None)
    assert not tracker.reported_lost(patience=60)
    assert verdicts.asked == 0


def test_asking_a_backend_that_never_answers_for_the_verdict_gives_up_in_a_heartbeat(
    monkeypatch, silent_port, settings
):
    """None (cannot tell), after about JOBTASTIC_HEARTBEAT_INTERVAL, not Redis's 120 s."""
    from celery.backends.redis import RedisBackend

    from django_jobtastic.task.registration import registered_instance

    settings.JOBTASTIC_HEARTBEAT_INTERVAL = 1
    task = registered_instance(CountingJob)
    monkeypatch.setattr(
        task, "_backend", RedisBackend(app=app, url=f"redis://127.0.0.1:{silent_port}/0")
    )
    started = time.monotonic()
    assert task._declared_lost(new_id()) is None
    assert time.monotonic() - started < 30  # bounded by 1 s a socket operation: generous
