"""The embedded broker's transport: messages appear whole, in-progress writes are invisible."""

from __future__ import annotations

import threading
from queue import Empty

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from django_jobtastic.filesystem_transport import Transport, broker_folders


@pytest.fixture
def channel(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }
    with Connection("filesystem://", transport=Transport, transport_options=options) as conn:
        yield conn.default_channel


def test_put_then_get_round_trips_the_payload(channel):
    channel._put("jobs", {"body": "x" * 100_000})
    assert channel._get("jobs") == {"body": "x" * 100_000}


def test_put_leaves_only_the_finished_message(channel, tmp_path):
    channel._put("jobs", {"n": 1})
    [name] = [path.name for path in (tmp_path / "queue").iterdir()]
    assert name.endswith(".jobs.msg")
    assert not name.startswith(".")


def test_get_ignores_a_message_still_being_written(channel, tmp_path):
    (tmp_path / "queue" / ".partial-0123abcd").write_bytes(b'{"half": ')
    with pytest.raises(Empty):
        channel._get("jobs")


def test_reader_racing_a_writer_never_sees_a_partial_message(channel):
    count = 1000
    payload = {"body": "y" * 20_000}  # large enough that a write takes a while
    writer = threading.Thread(target=lambda: [channel._put("race", payload) for _ in range(count)])
    writer.start()
    received = 0
    while received < count:
        try:
            assert channel._get("race") == payload
            received += 1
        except Empty:
            continue
    writer.join()


def test_put_into_a_missing_folder_is_a_channel_error(channel, tmp_path):
    channel.data_folder_out = str(tmp_path / "gone")
    with pytest.raises(ChannelError, match="Cannot add file"):
        channel._put("jobs", {"n": 1})


def test_broker_folders_creates_the_folders_and_names_them(tmp_path):
    options = broker_folders(tmp_path / "broker", polling_interval=0.25)
    assert options == {
        "data_folder_in": str(tmp_path / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "broker" / "queue"),
        "processed_folder": str(tmp_path / "broker" / "processed"),
        "control_folder": str(tmp_path / "broker" / "control"),
        "polling_interval": 0.25,
    }
    assert sorted(path.name for path in (tmp_path / "broker").iterdir()) == [
        "control",
        "processed",
        "queue",
    ]
