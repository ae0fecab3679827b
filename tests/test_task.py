"""The task class in eager mode: fast, in this process, against the real configured stores."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from celery import shared_task
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jobtastic import JobtasticTask, UserFacingError
from django_jobtastic.task.registration import registered_instance
from tests import jobs, probe
from tests.celery_app import app

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingJob(JobtasticTask):
    """Records every progress write in memory instead of the backend (which keeps the last)."""

    significant_kwargs = ["marker"]
    herd_avoidance_timeout = 0
    writes: list[dict[str, Any]] = []

    def calculate_result(
        self, marker: str, calls: list[tuple[int, int, int]], pause: float = 0
    ) -> int:
        for completed, total, frequency in calls:
            self.update_progress(completed, total, update_frequency=frequency)
            if pause:
                time.sleep(pause)  # calls far apart compared to a write's cost
        return len(calls)

    def _store_progress(self, task_id: str, request: Any, meta: dict[str, Any]) -> None:
        type(self).writes.append(meta)


@pytest.fixture
def writes() -> list[dict[str, Any]]:
    RecordingJob.writes = []
    return RecordingJob.writes


def test_class_call_returns_the_calculation_result(eager, marker):
    result = jobs.DivisionJob.delay_or_fail([2, 9], [1, 3])
    assert (result.state, result.result) == ("SUCCESS", [2.0, 3.0])


def test_positional_and_keyword_calls_share_the_cached_result(eager, marker):
    first = jobs.DivisionJob.delay([4, 9, 1], [2, 3, 1])
    second = jobs.DivisionJob.delay_or_eager(numerators=[4, 9, 1], denominators=(2, 3, 1))
    assert second.id == first.id


def test_decorator_style_binds_positional_arguments(eager, marker):
    result = jobs.decorated_job.delay(marker, 3)
    assert result.result == len(marker) * 3
    assert probe.runs(marker) == 1


def test_cache_hit_in_eager_mode_runs_once(eager, marker):
    first = jobs.CachedJob.delay(marker=marker)
    second = jobs.CachedJob.apply_async(kwargs={"marker": marker}, countdown=10)
    assert second.id == first.id
    assert probe.runs(marker) == 1


def test_cache_hit_ignored_options_logged_at_debug(eager, marker, caplog):
    jobs.CachedJob.delay(marker=marker)
    with caplog.at_level(logging.DEBUG, logger="django_jobtastic"):
        jobs.CachedJob.apply_async(kwargs={"marker": marker}, queue="elsewhere")
    assert "options ['queue'] ignored" in caplog.text


def test_without_caching_identical_calls_run_again(eager, marker):
    jobs.CountingJob.delay(marker=marker)
    jobs.CountingJob.delay(marker=marker)
    assert probe.runs(marker) == 2


def test_failure_is_not_cached(eager, marker):
    first = jobs.FailingJob.delay(marker=marker)
    second = jobs.FailingJob.delay(marker=marker)
    assert (first.state, second.state) == ("FAILURE", "FAILURE")
    assert isinstance(first.result, UserFacingError)
    assert second.id != first.id
    assert probe.runs(marker) == 2


def test_missing_significant_argument_raises_type_error(eager):
    with pytest.raises(TypeError, match="missing significant argument\\(s\\) 'marker'"):
        jobs.CountingJob.delay_or_fail()


def test_retry_in_eager_mode_ends_in_success(eager, marker):
    assert jobs.RetryingJob.delay(marker=marker).result == "done after 1 retries"


def test_update_progress_outside_a_run_is_a_no_op():
    registered_instance(jobs.CountingJob).update_progress(1, 2)


def test_update_progress_initial_and_final_writes(eager, marker, writes):
    RecordingJob.delay(marker=marker, calls=[(1, 10, 1), (10, 10, 1)])
    assert [(w["progress_percent"], w["time_remaining"]) for w in writes] == [
        (0, -1),
        (100.0, 0.0),
    ]


def test_update_progress_throttled_by_count(eager, marker, writes):
    RecordingJob.progress_interval = 0
    try:
        RecordingJob.delay(marker=marker, calls=[(n, 100, 10) for n in range(1, 100)], pause=0.001)
    finally:
        RecordingJob.progress_interval = None
    assert [w["completed"] for w in writes[1:]] == list(range(10, 100, 10))


@override_settings(JOBTASTIC_PROGRESS_INTERVAL=60)  # the whole loop fits in one interval
def test_update_progress_repeated_completion_is_throttled(eager, marker, writes):
    RecordingJob.delay(marker=marker, calls=[(n, 10, 1) for n in range(10, 5000)])
    assert [w["completed"] for w in writes[1:]] == [10]


def test_update_progress_slow_writes_are_spaced_out(eager, marker, writes):
    class SlowBackendJob(RecordingJob):
        progress_interval = 0

        def _store_progress(self, task_id: str, request: Any, meta: dict[str, Any]) -> None:
            time.sleep(0.05)  # a slow result backend: each write takes 50 ms
            super()._store_progress(task_id, request, meta)

    started = time.monotonic()
    SlowBackendJob.delay(marker=marker, calls=[(n, 10**9, 1) for n in range(1, 400_000)])
    elapsed = time.monotonic() - started
    # Without spacing every call would write (interval 0): 400,000 writes of 50 ms.
    assert len(writes) <= 2 + elapsed / 0.5


def test_update_progress_held_back_point_is_written_during_a_long_step(eager, marker, writes):
    # (1, 4) comes right after the initial write, inside the interval; the next step is long.
    RecordingJob.delay(marker=marker, calls=[(1, 4, 1)], pause=0.5)
    assert [w.get("completed") for w in writes] == [None, 1]


def test_update_progress_no_write_after_the_run_ends(eager, marker, writes):
    RecordingJob.delay(marker=marker, calls=[(1, 4, 1)])
    time.sleep(0.2)  # several intervals: a flush, had one been left scheduled, would be done
    assert [w.get("completed") for w in writes] == [None]


@override_settings(JOBTASTIC_PROGRESS_INTERVAL=60)  # the whole loop fits in one interval
def test_update_progress_throttled_by_time(eager, marker, writes):
    RecordingJob.delay(marker=marker, calls=[(n, 10**6, 1) for n in range(1, 5000)])
    assert len(writes) == 1  # 5,000 calls within one interval: only the initial write


def test_progress_state_written_before_the_calculation(eager, marker):
    class PeekingJob(JobtasticTask):
        significant_kwargs = ["marker"]
        herd_avoidance_timeout = 0

        def calculate_result(self, marker: str) -> dict[str, Any]:
            seen = self.AsyncResult(self.request.id)
            return {"state": seen.state, "info": seen.info}

    result = PeekingJob.delay(marker=marker).result
    assert result["state"] == "PROGRESS"
    assert result["info"] == {
        "progress_percent": 0,
        "time_remaining": -1,
        "message": None,
        "started_at": result["info"]["started_at"],
        "updated_at": result["info"]["updated_at"],
        "alive_at": result["info"]["updated_at"],
    }


def test_memleak_default_hook_logs_one_warning(eager, marker, caplog):
    class Leaky(JobtasticTask):
        significant_kwargs = ["marker"]
        herd_avoidance_timeout = 0
        memleak_threshold = 10
        kept: list[bytes] = []

        def calculate_result(self, marker: str) -> None:
            self.kept.append(b"\x01" * 30_000_000)

    result = Leaky.delay(marker=marker)
    records = [r for r in caplog.records if "memleak_detected" in r.getMessage()]
    assert len(records) == 1
    message = records[0].getMessage()
    assert message.startswith(
        f"Jobtastic:memleak memleak_detected task={Leaky.name} id={result.id} growth="
    )
    assert records[0].levelno == logging.WARNING


def test_memleak_under_threshold_is_silent(eager, marker, caplog):
    class Frugal(JobtasticTask):
        significant_kwargs = ["marker"]
        herd_avoidance_timeout = 0
        memleak_threshold = 500

        def calculate_result(self, marker: str) -> None:
            return None

    Frugal.delay(marker=marker)
    assert "memleak_detected" not in caplog.text


def test_cache_down_submits_uncached_with_a_warning(eager, marker, caplog):
    first = jobs.UnreachableCacheJob.delay(marker=marker)
    second = jobs.UnreachableCacheJob.delay(marker=marker)
    assert (first.state, second.state) == ("SUCCESS", "SUCCESS")
    assert second.id != first.id
    assert "cache unavailable" in caplog.text
    assert "not cached" in caplog.text


@override_settings(JOBTASTIC_CACHE="missing-alias")
def test_unknown_cache_alias_degrades_like_a_dead_cache(eager, marker, caplog):
    assert jobs.CachedJob.delay(marker=marker).state == "SUCCESS"
    assert "cache unavailable" in caplog.text


def test_registered_under_module_and_class_name():
    assert jobs.CountingJob.name == "tests.jobs.CountingJob"
    assert isinstance(app.tasks["tests.jobs.CountingJob"], jobs.CountingJob)


def test_class_call_uses_the_registered_instance():
    assert jobs.CountingJob.delay.__self__ is app.tasks["tests.jobs.CountingJob"]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"herd_avoidance_timeout": 1}, "Broken.significant_kwargs is required"),
        ({"significant_kwargs": []}, "Broken.herd_avoidance_timeout is required"),
        ({"significant_kwargs": [], "herd_avoidance_timeout": -1}, "must be an int >= 0"),
        ({"significant_kwargs": [3], "herd_avoidance_timeout": 1}, "is malformed"),
        (
            {"significant_kwargs": [], "herd_avoidance_timeout": 1, "cache_duration": "x"},
            "Broken.cache_duration must be an int >= -1",
        ),
        (
            {"significant_kwargs": [], "herd_avoidance_timeout": 1, "memleak_threshold": "x"},
            "Broken.memleak_threshold must be a number",
        ),
    ],
)
def test_misconfigured_class_raises_naming_class_and_attribute(attributes, message):
    def calculate_result(self: JobtasticTask) -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match=message):
        type("Broken", (JobtasticTask,), {**attributes, "calculate_result": calculate_result})


def test_misconfigured_decorator_raises_by_first_use():
    with pytest.raises(  # noqa: PT012 - definition or first call, whichever validates
        ImproperlyConfigured, match="unkeyed.significant_kwargs is required"
    ):

        @shared_task(base=JobtasticTask, bind=True, herd_avoidance_timeout=1)
        def unkeyed(self: JobtasticTask) -> None:
            return None

        unkeyed.delay()


def test_abstract_base_is_neither_validated_nor_registered():
    class Base(JobtasticTask):
        abstract = True

        def calculate_result(self) -> None:
            return None

    assert Base.__dict__.get("name") is None
    assert f"{__name__}.Base" not in app.tasks


def test_direct_call_runs_without_writing_state(marker):
    task = registered_instance(jobs.CountingJob)
    assert task(marker=marker, steps=2) == {"marker": marker, "steps": 2}
    assert probe.runs(marker) == 1


def test_base_class_calculation_is_not_implemented():
    with pytest.raises(NotImplementedError, match="must define calculate_result"):
        JobtasticTask().calculate_result()


def test_failed_publish_releases_its_herd_entry(marker):
    from kombu.exceptions import EncodeError

    from tests.integration.harness import herd_entry

    with pytest.raises(EncodeError):
        jobs.CountingJob.apply_async(kwargs={"marker": marker, "steps": object()})
    assert herd_entry(jobs.CountingJob, marker=marker) is None


def test_class_call_registers_with_an_app_missing_the_task():
    del app.tasks[jobs.CountingJob.name]
    try:
        task = registered_instance(jobs.CountingJob)
        assert app.tasks[jobs.CountingJob.name] is task
    finally:
        app.tasks[jobs.CountingJob.name] = task


def test_run_finishing_between_cache_read_and_claim_is_reused(eager, marker, monkeypatch):
    first = jobs.CachedJob.delay(marker=marker)
    task = registered_instance(jobs.CachedJob)
    reads = []
    real_read = task._cached_success

    def first_read_misses(entries: Any) -> str | None:
        # The first read happens just before the earlier run cached its result.
        reads.append(entries)
        return None if len(reads) == 1 else real_read(entries)

    monkeypatch.setattr(task, "_cached_success", first_read_misses)
    again = jobs.CachedJob.delay(marker=marker)

    assert again.id == first.id
    assert len(reads) == 2
    assert probe.runs(marker) == 1
    assert reads[0].cache.get(reads[0].herd_key) is None  # the claim was given back


def test_update_progress_repeated_completion_message_is_not_lost(eager, marker, writes):
    class SavingJob(RecordingJob):
        def calculate_result(self, marker: str) -> None:
            self.update_progress(10, 10)
            self.update_progress(10, 10, message="saving")  # within the interval
            time.sleep(0.3)  # the long final step

    SavingJob.delay(marker=marker)
    assert [(w.get("completed"), w.get("message")) for w in writes] == [
        (None, None),
        (10, None),
        (10, "saving"),
    ]


def test_abstract_base_methods_are_plain_functions_on_the_class():
    assert JobtasticTask.delay_or_fail.__name__ == "delay_or_fail"
    assert not hasattr(JobtasticTask.delay_or_fail, "__self__")
    assert "django_jobtastic.task.base.JobtasticTask" not in app.tasks
