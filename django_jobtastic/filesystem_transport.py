"""kombu's filesystem transport, with messages that appear whole.

kombu's own transport creates a message file and then writes into it, so a consumer polling
the folder can pick up an empty or half-written file; the worker then dies on the JSON error
("Unrecoverable error"). This one writes under a name consumers ignore and renames it into
place, which is atomic on one filesystem. Use it for the embedded, server-less set-up:

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "django_jobtastic.filesystem_transport:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = broker_folders(BASE_DIR / "var" / "broker")
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # No ".<queue>.msg" in this name: no kombu version's consumer takes it for a message.
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4().hex}")
        try:
            with open(partial, "wb") as message_file:
                message_file.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


def broker_folders(folder: str | os.PathLike[str], polling_interval: float = 0.1) -> dict[str, Any]:
    """Transport options keeping the broker's messages under ``folder`` (created if missing).

    Web processes and workers must all use the same folder; ``polling_interval`` is how often
    a worker looks for new messages, in seconds (kombu's default, 1 s, feels slow in a UI).
    """
    root = Path(folder)
    for name in ("queue", "processed", "control"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "polling_interval": polling_interval,
    }
