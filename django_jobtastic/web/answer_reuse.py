"""Status answers one process re-uses for a moment: many pollers of one job, one read.

Herd avoidance sends everyone who asks for the same expensive job to the same task id, so
its status is polled by many browsers at once. For ``JOBTASTIC_STATUS_REUSE_SECONDS`` after
reading it, a process answers further polls of that task with the same JSON instead of
reading the result backend again. The widget polls every ``JOBTASTIC_POLL_INTERVAL`` (1 s),
so an answer a fraction of that old is as good as a fresh one. The owner check runs on every
request before this is consulted: an answer is only ever re-used for someone allowed to see
it.

Bounded: at most ``MAX_ANSWERS`` answers of up to ``MAX_ANSWER_BYTES`` each per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable

#: Bigger answers (large results) are read afresh each time: memory stays small.
MAX_ANSWER_BYTES = 16 * 1024
MAX_ANSWERS = 256


class RecentAnswers:
    """A small, thread-safe map of key -> (expiry, body), emptied of stale entries when full.

    An answer expires ``seconds`` after its read began, and a slow read never replaces the
    answer of a read that began later: whatever is served was read at most ``seconds`` ago.
    """

    def __init__(
        self,
        max_answers: int = MAX_ANSWERS,
        max_bytes: int = MAX_ANSWER_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._answers: dict[Hashable, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._max_answers = max_answers
        self._max_bytes = max_bytes
        self.clock = clock

    def get(self, key: Hashable) -> bytes | None:
        """The body stored under ``key`` if it has not expired."""
        found = self._answers.get(key)  # a dict read is atomic: no lock on the hot path
        if found is None or found[0] <= self.clock():
            return None
        return found[1]

    def put(self, key: Hashable, body: bytes, seconds: float, read_at: float) -> None:
        """Keep ``body``, read at ``read_at`` (``clock()``), until ``seconds`` after that,
        unless it is too big, the map is full of live answers, or a later read is held."""
        if not 0 < seconds < math.inf or len(body) > self._max_bytes:
            return
        expiry = read_at + seconds
        with self._lock:
            held = self._answers.get(key)
            if held is not None and held[0] >= expiry:
                return  # a read that started later already answered
            if held is None and len(self._answers) >= self._max_answers:
                now = self.clock()
                self._answers = {
                    kept: entry for kept, entry in self._answers.items() if entry[0] > now
                }
                if len(self._answers) >= self._max_answers:
                    return  # all live: this one is simply read again next time
            self._answers[key] = (expiry, body)

    def clear(self) -> None:
        with self._lock:
            self._answers = {}


answers = RecentAnswers()
