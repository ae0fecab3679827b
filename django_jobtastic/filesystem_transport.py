"""kombu's filesystem transport, with messages that appear whole.

kombu's own transport creates a message file and then writes into it, so a consumer polling
the folder can pick up an empty or half-written file; the worker then dies on the JSON error
("Unrecoverable error"). This one writes under a name consumers ignore and renames it into
place, which is atomic on one filesystem. Use it for the embedded, server-less set-up:

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "django_jobtastic.filesystem_transport:Transport"
"""

from __future__ import annotations

import os
import uuid
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
