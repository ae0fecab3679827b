"""The status payload for every state, by exact equality (pure: no backend involved)."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest

from django_jobtastic import UserFacingError
from django_jobtastic.web.payloads import GENERIC_FAILURE, jsonable, status_body, task_payload
from tests.statuses import DONE_PROGRESS

#: 2024-11-24T21:35:05Z, as epoch seconds: "now" for the aging tests.
WRITTEN = 1732484105.0


def payload(state, info=None, traceback=None, debug=False, now=None):
    return task_payload("t-1", state, info, traceback, debug=debug, now=now)


@pytest.mark.parametrize("state", ["PENDING", "STARTED", "RECEIVED", "RETRY"])
def test_payload_waiting_states_have_nothing_to_show(state):
    assert payload(state, info={"pid": 12}) == {
        "id": "t-1",
        "status": state,
        "ready": False,
        "successful": None,
        "result": None,
        "progress": None,
        "error": None,
        **({"queued_at": None} if state == "PENDING" else {}),
    }


@pytest.mark.parametrize(
    ("info", "queued_at"),
    [
        ({"queued_at": "2024-11-24T21:35:05Z"}, "2024-11-24T21:35:05Z"),
        ({"queued_at": 1732484105}, None),  # not ours: a time is a string
        ("2024-11-24T21:35:05Z", None),
        (None, None),
    ],
)
def test_payload_pending_carries_when_jobtastic_queued_it(info, queued_at):
    shown = payload("PENDING", info=info)
    assert shown["queued_at"] == queued_at
    assert shown["result"] is None


def test_payload_progress_carries_meta_and_progress():
    meta = {
        "progress_percent": 42.0,
        "time_remaining": 12.5,
        "completed": 42,
        "total": 100,
        "message": None,
        "started_at": "2026-11-24T21:35:05Z",
    }
    assert payload("PROGRESS", meta) == {
        "id": "t-1",
        "status": "PROGRESS",
        "ready": False,
        "successful": None,
        "result": meta,
        "progress": {
            "percent": 42.0,
            "time_remaining": 12.5,
            "completed": 42,
            "total": 100,
            "message": None,
            "started_at": "2026-11-24T21:35:05Z",
            "updated_at": None,
            "overdue": False,
        },
        "error": None,
    }


def test_payload_initial_progress_has_nulls_for_missing_keys():
    meta = {"progress_percent": 0, "time_remaining": -1, "message": None, "started_at": "s"}
    assert payload("PROGRESS", meta)["progress"] == {
        "percent": 0,
        "time_remaining": -1,
        "completed": None,
        "total": None,
        "message": None,
        "started_at": "s",
        "updated_at": None,
        "overdue": False,
    }


def test_payload_custom_state_is_treated_like_progress():
    result = payload("EXPORTING", {"progress_percent": 5, "rows": 10})
    assert (result["ready"], result["result"], result["progress"]["percent"]) == (
        False,
        {"progress_percent": 5, "rows": 10},
        5,
    )


def test_payload_custom_state_with_non_mapping_meta_has_no_progress():
    assert payload("EXPORTING", "half way")["progress"] is None


def test_payload_success():
    assert payload("SUCCESS", {"url": "/media/export.csv"}) == {
        "id": "t-1",
        "status": "SUCCESS",
        "ready": True,
        "successful": True,
        "result": {"url": "/media/export.csv"},
        "progress": DONE_PROGRESS,
        "error": None,
    }


def test_payload_failure_user_facing_message_is_shown():
    assert payload("FAILURE", UserFacingError("The file has no header row.")) == {
        "id": "t-1",
        "status": "FAILURE",
        "ready": True,
        "successful": False,
        "result": "The file has no header row.",
        "progress": None,
        "error": {"type": "UserFacingError", "message": "The file has no header row."},
    }


def test_payload_failure_other_exception_is_generic_without_debug():
    result = payload("FAILURE", KeyError("secret_column"), traceback="Traceback ...")
    assert result["error"] == {"type": "KeyError", "message": GENERIC_FAILURE}
    assert result["result"] == GENERIC_FAILURE
    assert "traceback" not in result


def test_payload_failure_with_debug_shows_message_and_traceback():
    result = payload("FAILURE", ValueError("bad input"), traceback="Traceback ...", debug=True)
    assert result["error"] == {"type": "ValueError", "message": "bad input"}
    assert result["traceback"] == "Traceback ..."


def test_payload_revoked():
    assert payload("REVOKED", "whatever") == {
        "id": "t-1",
        "status": "REVOKED",
        "ready": True,
        "successful": False,
        "result": "The job was cancelled.",
        "progress": None,
        "error": {"type": "TaskRevokedError", "message": "The job was cancelled."},
    }


def test_payload_debug_without_traceback_has_null_key():
    assert payload("SUCCESS", 1, debug=True)["traceback"] is None


def test_jsonable_uses_django_encoder_and_strings_for_the_rest():
    value = {
        "when": datetime.datetime(2026, 11, 24, 21, 35, tzinfo=datetime.timezone.utc),
        "amount": decimal.Decimal("1.50"),
        "id": uuid.UUID(int=1),
        "other": object,
    }
    assert jsonable(value) == {
        "when": "2026-11-24T21:35:00Z",
        "amount": "1.50",
        "id": "00000000-0000-0000-0000-000000000001",
        "other": "<class 'object'>",
    }


def test_status_body_wraps_task_and_poll_interval():
    assert status_body({"id": "t-1"}, 1.0) == {"task": {"id": "t-1"}, "poll_interval": 1.0}


def test_payload_failure_without_an_exception_object_is_generic():
    result = payload("FAILURE", {"exc_type": "Gone", "exc_message": ["x"]})
    assert result["error"] == {"type": "Exception", "message": GENERIC_FAILURE}


def test_jsonable_returns_small_plain_json_as_is():
    meta = {"progress_percent": 5.0, "message": None, "steps": [1, True, "x"]}
    assert jsonable(meta) is meta


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, 2), [1, 2]),
        ({"a": [1.5, float("nan")]}, {"a": [1.5, "NaN"]}),
        ({"deep": [float("-inf")]}, {"deep": ["-Infinity"]}),
        ({1: "int key"}, {"1": "int key"}),
        ({(1, 2): "tuple key"}, "{(1, 2): 'tuple key'}"),
        (list(range(100)), list(range(100))),
    ],
)
def test_jsonable_converts_what_is_not_plain_json(value, expected):
    assert jsonable(value) == expected


def progress_written_at(remaining, updated_at="2024-11-24T21:35:05Z"):
    return {"progress_percent": 40.0, "time_remaining": remaining, "updated_at": updated_at}


@pytest.mark.parametrize(
    ("remaining", "seconds_later", "aged", "overdue"),
    [
        (12.5, 0, 12.5, False),
        (12.5, 2.25, 10.2, False),  # rounded to tenths
        (12.5, 12.5, 0, False),  # exactly run out: not over yet
        (12.5, 12.6, 0, True),
        (12.5, 3600, 0, True),
        (0, 1, 0, True),
        (-1, 3600, -1, False),  # no estimate: nothing to age, nothing overdue
    ],
)
def test_time_remaining_is_aged_to_the_answer_and_overdue_once_run_out(
    remaining, seconds_later, aged, overdue
):
    task = payload("PROGRESS", progress_written_at(remaining), now=WRITTEN + seconds_later)
    assert (task["progress"]["time_remaining"], task["progress"]["overdue"]) == (aged, overdue)
    assert task["result"]["time_remaining"] == remaining  # the meta as written


@pytest.mark.parametrize(
    "updated_at", [None, "yesterday", "2024-11-24T21:35:05", 17, "2024-13-45T00:00:00Z"]
)
def test_an_estimate_without_a_readable_time_of_writing_is_not_aged(updated_at):
    task = payload("PROGRESS", progress_written_at(12.5, updated_at), now=WRITTEN + 60)
    assert (task["progress"]["time_remaining"], task["progress"]["overdue"]) == (12.5, False)


def test_a_writer_clock_ahead_of_ours_ages_nothing():
    task = payload("PROGRESS", progress_written_at(12.5), now=WRITTEN - 30)
    assert (task["progress"]["time_remaining"], task["progress"]["overdue"]) == (12.5, False)


def test_updated_at_with_an_offset_is_read_too():
    written_in_berlin = progress_written_at(12.5, "2024-11-24T22:35:05+01:00")
    task = payload("PROGRESS", written_in_berlin, now=WRITTEN + 2.5)
    assert task["progress"]["time_remaining"] == 10.0
